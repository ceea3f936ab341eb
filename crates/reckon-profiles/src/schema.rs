//! The TOML schema of a profile (PROFILES.md), read with serde: unknown keys are refused, so a
//! misspelt key is an error naming it rather than a setting silently ignored.

use serde::Deserialize;
use std::collections::BTreeMap;

/// A whole profile file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileSpec {
    /// Short name (`asterisk`); a built-in profile is found by it.
    pub name: String,
    /// One line saying what the profile reads.
    pub description: String,
    /// The canonical file it produces: `usage`, `invoice` or `rates`.
    pub target: TargetName,
    #[serde(default)]
    pub source: SourceSpec,
    #[serde(default)]
    pub time: TimeSpecToml,
    /// Rows are converted only when every one of these holds.
    #[serde(default)]
    pub keep: Vec<ConditionSpec>,
    /// Rows are left out when any one of these holds (after `keep`).
    #[serde(default)]
    pub skip: Vec<ConditionSpec>,
    /// Values gathered from other rows of the same file in a first pass (delivery receipts).
    #[serde(default)]
    pub lookups: BTreeMap<String, LookupSpec>,
    /// What is done to a source row before its fields are read (decks, exports): rows.rs.
    #[serde(default)]
    pub rows: Option<crate::rows::RowsSpec>,
    /// Each canonical column produced, by its canonical name.
    pub fields: BTreeMap<String, FieldSpec>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetName {
    Usage,
    Invoice,
    Rates,
}

/// How the source file is cut into rows and columns.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    /// `csv` (delimited rows), `lines` (one row per line, cut by `line_pattern`) or `xlsx` (a
    /// sheet of a workbook, XLSX, XLS or ODS).
    #[serde(default)]
    pub format: SourceFormat,
    /// One character; `\t` for tab.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// The quote character, or `""` for none.
    #[serde(default = "default_quote")]
    pub quote: String,
    /// Whether the first row (after `skip_lines`) names the columns.
    #[serde(default)]
    pub header: bool,
    /// `xlsx`: the sheet's name; default: the first sheet.
    #[serde(default)]
    pub sheet: Option<String>,
    /// Lines (sheet rows) to skip before anything is read (a title block).
    #[serde(default)]
    pub skip_lines: u64,
    /// A value in a field written ` "like this"` (after a space) loses its quotes: FreeSWITCH's
    /// built-in template puts a space before its last quoted field, which RFC 4180 reads as
    /// part of the value.
    #[serde(default)]
    pub strip_quotes: bool,
    /// Lines starting with this character are comments (`#`).
    #[serde(default)]
    pub comment: Option<String>,
    /// Headerless files: the column names of each accepted field count.
    #[serde(default)]
    pub layouts: Vec<LayoutSpec>,
    /// `lines` format: a regular expression with named groups, matched against each line;
    /// every group is a column named as the group.
    #[serde(default)]
    pub line_pattern: Option<String>,
    /// `lines` format: what a line that does not match is: `error` (default) or `skip` (counted).
    #[serde(default)]
    pub unmatched_lines: UnmatchedLines,
}

impl Default for SourceSpec {
    fn default() -> SourceSpec {
        SourceSpec {
            format: SourceFormat::Csv,
            delimiter: default_delimiter(),
            quote: default_quote(),
            header: false,
            sheet: None,
            skip_lines: 0,
            strip_quotes: false,
            comment: None,
            layouts: Vec::new(),
            line_pattern: None,
            unmatched_lines: UnmatchedLines::Error,
        }
    }
}

fn default_delimiter() -> String {
    ",".to_owned()
}

fn default_quote() -> String {
    "\"".to_owned()
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFormat {
    #[default]
    Csv,
    Lines,
    Xlsx,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnmatchedLines {
    #[default]
    Error,
    Skip,
}

/// The column names of a headerless file with this many fields.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutSpec {
    pub columns: Vec<String>,
}

/// How times are read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeSpecToml {
    /// The IANA zone of times written without an offset (`Europe/Paris`); none: such a time
    /// needs `--time-zone`.
    #[serde(default)]
    pub zone: Option<String>,
    /// The formats tried in order: `rfc3339`, `rfc2822`, `epoch` (seconds, decimals allowed),
    /// `epoch_ms`, or a strftime pattern (`%Y-%m-%d %H:%M:%S`).
    #[serde(default)]
    pub formats: Vec<String>,
}

/// A test on one column of a row.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    pub column: ColumnRef,
    /// A pattern applied first; the test looks at its `value` group (or group 1).
    #[serde(default)]
    pub capture: Option<String>,
    /// The value is one of these (case-insensitive, trimmed).
    #[serde(default)]
    pub equals: Option<Vec<String>>,
    /// The value matches this regular expression.
    #[serde(default)]
    pub matches: Option<String>,
    /// The value is empty (`true`) or not (`false`).
    #[serde(default)]
    pub empty: Option<bool>,
    /// The value is a key of this lookup (another row names it: an A leg whose B leg is in the
    /// file). Not in a lookup's own `when`.
    #[serde(default)]
    pub in_lookup: Option<String>,
}

/// Values taken from other rows: rows meeting `when` give `key` → `value`; the last non-empty
/// value of a key wins.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LookupSpec {
    #[serde(default)]
    pub when: Vec<ConditionSpec>,
    pub key: FieldSpec,
    pub value: FieldSpec,
}

/// A column by its name (header, layout or line-pattern group) or its 1-based number.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ColumnRef {
    Number(usize),
    Name(String),
}

impl std::fmt::Display for ColumnRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ColumnRef::Number(number) => write!(f, "column {number}"),
            ColumnRef::Name(name) => write!(f, "column {name:?}"),
        }
    }
}

/// How one canonical value is produced. Exactly one source (`column`, `join`, `value`,
/// `header_capture`, `line_number`, `lookup`, `option`), then in order: `capture`, `convert`,
/// `map`, and when the result is empty `fallback`, then `default`; then the target column's
/// type (`format`, `unit`, `sign`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldSpec {
    #[serde(default)]
    pub column: Option<ColumnRef>,
    /// The first header name matching this pattern is the column (`^Charged \(`).
    #[serde(default)]
    pub column_matching: Option<String>,
    #[serde(default)]
    pub join: Option<Vec<ColumnRef>>,
    /// Put between joined values (empty values are left out).
    #[serde(default)]
    pub separator: Option<String>,
    #[serde(default)]
    pub value: Option<String>,
    /// The `value` group (or group 1) of the first header name matching this pattern.
    #[serde(default)]
    pub header_capture: Option<String>,
    /// The row's line number in the source file.
    #[serde(default)]
    pub line_number: Option<bool>,
    /// The value a lookup holds for this row's `key`.
    #[serde(default)]
    pub lookup: Option<String>,
    #[serde(default)]
    pub key: Option<Box<FieldSpec>>,
    /// The value must be given on the command line (`--set FIELD=VALUE`); the text says what it is.
    #[serde(default)]
    pub option: Option<String>,
    /// A regular expression; the value becomes its `value` group (or group 1).
    #[serde(default)]
    pub capture: Option<String>,
    #[serde(default)]
    pub convert: Option<Convert>,
    /// Source value → canonical value (keys compared case-insensitively).
    #[serde(default)]
    pub map: Option<BTreeMap<String, String>>,
    /// The value of a source value `map` does not list; without it such a value is an error.
    #[serde(default)]
    pub map_default: Option<String>,
    #[serde(default)]
    pub fallback: Option<Box<FieldSpec>>,
    #[serde(default)]
    pub default: Option<String>,
    /// Time (or date) formats of this field, replacing `[time] formats`.
    #[serde(default)]
    pub format: Option<Vec<String>>,
    /// The value is a list of dial codes or ranges (`44, 447`, `4470-4479`): the row gives one
    /// canonical row per code (one field of a profile at most).
    #[serde(default)]
    pub expand_codes: Option<bool>,
    #[serde(default)]
    pub unit: Option<Unit>,
    #[serde(default)]
    pub sign: Option<Sign>,
}

/// A rewrite of a value's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Convert {
    /// `0A1B2C3D` → `169552957` (SMSC ids written in hex on one side, decimal on the other).
    HexToDecimal,
    /// `169552957` → `0A1B2C3D` (upper case, no padding).
    DecimalToHex,
    Lowercase,
    Uppercase,
    /// Only the digits are kept (`+1 (555) 123` → `1555123`).
    Digits,
}

/// The unit a source quantity is written in (converted to the service's base unit, seconds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Seconds,
    Milliseconds,
    Minutes,
    Hours,
    /// `h:mm:ss`, `mm:ss` (seconds may have decimals).
    Hms,
}

/// What to do with a number's sign.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sign {
    Keep,
    /// Twilio writes a charge as a negative price: `-0.02000` is 0.02 billed.
    Negate,
    Abs,
}
