//! A profile read from TOML and checked, and its plan for one file: every column reference
//! resolved against the file's header (or layout, or line pattern), every pattern compiled.

use crate::schema::{ColumnRef, ConditionSpec, Convert, FieldSpec, ProfileSpec, Sign, SourceFormat, Unit};
use crate::target::{CanonicalColumn, Kind, Target};
use crate::time::{TimeFormat, TimeReader};
use regex::Regex;
use std::collections::BTreeMap;
use std::path::Path;

/// A profile that is not usable: the TOML does not parse, a key is unknown, a pattern does not
/// compile, a field is not a column of the target, or an option was not given.
#[derive(Debug, thiserror::Error)]
#[error("profile {origin}: {message}")]
pub struct ProfileError {
    /// `built-in profile asterisk` or the file's path.
    pub origin: String,
    pub message: String,
}

/// A checked profile.
#[derive(Clone, Debug)]
pub struct Profile {
    pub(crate) spec: ProfileSpec,
    pub(crate) origin: String,
    target: Target,
}

/// What a conversion adds to or changes in a profile (the command line's `--set`, `--map` and
/// `--time-zone`).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    /// `FIELD=VALUE`: the field is this constant (also answers a field's `option`).
    pub sets: Vec<(String, String)>,
    /// `FIELD=COLUMN`: the field is read from this column (a name, or a 1-based number), its
    /// other settings kept (`--map quantity=duration`, `--map started_at=start`).
    pub maps: Vec<(String, String)>,
    /// The IANA zone of times written without an offset, replacing the profile's.
    pub time_zone: Option<String>,
}

impl Profile {
    /// Reads and checks a profile's TOML; `origin` names it in errors.
    ///
    /// # Errors
    /// The TOML does not parse or breaks the schema (PROFILES.md).
    pub fn from_toml(origin: &str, text: &str) -> Result<Profile, ProfileError> {
        let spec: ProfileSpec = toml::from_str(text).map_err(|error| ProfileError {
            origin: origin.to_owned(),
            message: error.to_string().trim().to_owned(),
        })?;
        let profile = Profile { target: Target::from_name(spec.target), spec, origin: origin.to_owned() };
        profile.check()?;
        Ok(profile)
    }

    /// A built-in profile by name, else a profile file at this path.
    ///
    /// # Errors
    /// Neither a built-in name nor a readable profile file.
    pub fn resolve(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some(profile) = crate::builtin::find(name_or_path) {
            return profile;
        }
        let path = Path::new(name_or_path);
        let looks_like_a_path = name_or_path.contains(['/', '\\', '.']);
        match fs_err::read_to_string(path) {
            Ok(text) => Profile::from_toml(&path.display().to_string(), &text),
            Err(error) if !looks_like_a_path && error.kind() == std::io::ErrorKind::NotFound => Err(ProfileError {
                origin: name_or_path.to_owned(),
                message: format!(
                    "not a built-in profile ({}) nor a profile file",
                    crate::builtin::names().collect::<Vec<_>>().join(", ")
                ),
            }),
            Err(error) => Err(ProfileError { origin: name_or_path.to_owned(), message: error.to_string() }),
        }
    }

    pub fn name(&self) -> &str {
        &self.spec.name
    }

    pub fn description(&self) -> &str {
        &self.spec.description
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// `built-in profile asterisk` or the profile file's path.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The fields that must be given with `--set` (name and what the value is).
    pub fn options(&self) -> Vec<(String, String)> {
        self.spec
            .fields
            .iter()
            .filter_map(|(name, field)| field.option.as_ref().map(|what| (name.clone(), what.clone())))
            .collect()
    }

    fn error(&self, message: String) -> ProfileError {
        ProfileError { origin: self.origin.clone(), message }
    }

    /// Checks what does not depend on a file: field names, one source per field, patterns,
    /// formats, layouts.
    fn check(&self) -> Result<(), ProfileError> {
        let spec = &self.spec;
        let columns = self.target.columns();
        for (name, field) in &spec.fields {
            let Some(column) = columns.iter().find(|column| column.name == name) else {
                return Err(self.error(format!(
                    "[fields] {name:?} is not a column of {} ({})",
                    self.target.file_name(),
                    self.target.column_names()
                )));
            };
            check_field(field, &format!("fields.{name}"), column.kind, spec).map_err(|message| self.error(message))?;
        }
        let expanding: Vec<&String> =
            spec.fields.iter().filter(|(_, field)| field.expand_codes == Some(true)).map(|(name, _)| name).collect();
        if expanding.len() > 1 {
            return Err(self.error(format!("expand_codes is on {expanding:?}: one field at most")));
        }
        for column in columns.iter().filter(|column| column.required) {
            if !spec.fields.contains_key(column.name) {
                return Err(self.error(format!(
                    "[fields] has no {:?}, a required column of {}",
                    column.name,
                    self.target.file_name()
                )));
            }
        }
        for (index, condition) in spec.keep.iter().chain(&spec.skip).enumerate() {
            check_condition(condition, spec, true)
                .map_err(|message| self.error(format!("condition {}: {message}", index + 1)))?;
        }
        for (name, lookup) in &spec.lookups {
            for condition in &lookup.when {
                check_condition(condition, spec, false)
                    .map_err(|message| self.error(format!("lookups.{name}.when: {message}")))?;
            }
            check_field(&lookup.key, &format!("lookups.{name}.key"), Kind::Text, spec)
                .map_err(|message| self.error(message))?;
            check_field(&lookup.value, &format!("lookups.{name}.value"), Kind::Text, spec)
                .map_err(|message| self.error(message))?;
        }
        if let Some(rows) = &spec.rows {
            crate::rows::check(rows).map_err(|message| self.error(message))?;
        }
        self.check_source()?;
        for format in &spec.time.formats {
            TimeFormat::parse(format).map_err(|message| self.error(format!("[time] formats: {message}")))?;
        }
        if let Some(zone) = &spec.time.zone {
            jiff::tz::TimeZone::get(zone)
                .map_err(|_| self.error(format!("[time] zone {zone:?} is not an IANA time zone like Europe/Paris")))?;
        }
        Ok(())
    }

    fn check_source(&self) -> Result<(), ProfileError> {
        let source = &self.spec.source;
        single_byte(&source.delimiter, "delimiter").map_err(|message| self.error(message))?;
        if !source.quote.is_empty() {
            single_byte(&source.quote, "quote").map_err(|message| self.error(message))?;
        }
        match source.format {
            SourceFormat::Lines => {
                let Some(pattern) = &source.line_pattern else {
                    return Err(self.error("[source] format \"lines\" needs a line_pattern".to_owned()));
                };
                compile(pattern, "[source] line_pattern").map_err(|message| self.error(message))?;
            }
            SourceFormat::Csv | SourceFormat::Xlsx if source.line_pattern.is_some() => {
                return Err(self.error("[source] line_pattern needs format = \"lines\"".to_owned()));
            }
            SourceFormat::Csv | SourceFormat::Xlsx => {}
        }
        if source.sheet.is_some() && source.format != SourceFormat::Xlsx {
            return Err(self.error("[source] sheet needs format = \"xlsx\"".to_owned()));
        }
        if source.header && !source.layouts.is_empty() {
            return Err(self.error("[source] a file with a header row has no layouts".to_owned()));
        }
        for (index, layout) in source.layouts.iter().enumerate() {
            if source.layouts[..index].iter().any(|earlier| earlier.columns.len() == layout.columns.len()) {
                return Err(self.error(format!("[source] two layouts have {} columns", layout.columns.len())));
            }
        }
        Ok(())
    }

    /// The plan for a file whose columns are named `names` (a header, a layout, a line
    /// pattern's groups; empty: columns by number only).
    pub(crate) fn plan(
        &self,
        columns: &ColumnNames,
        overrides: &Overrides,
        placeholder_options: bool,
    ) -> Result<RowPlan, ProfileError> {
        let spec = &self.spec;
        let mut fields_spec = spec.fields.clone();
        for (name, value) in &overrides.sets {
            self.target_column(name)?;
            fields_spec.insert(name.clone(), FieldSpec { value: Some(value.clone()), ..FieldSpec::default() });
        }
        for (name, column) in &overrides.maps {
            self.target_column(name)?;
            let field = fields_spec.entry(name.clone()).or_default();
            let column = column.parse::<usize>().map_or_else(|_| ColumnRef::Name(column.clone()), ColumnRef::Number);
            *field = FieldSpec {
                column: Some(column),
                column_matching: None,
                join: None,
                value: None,
                header_capture: None,
                line_number: None,
                lookup: None,
                key: None,
                option: None,
                ..field.clone()
            };
        }
        let zone_name = overrides.time_zone.clone().or_else(|| spec.time.zone.clone());
        let zone = match zone_name {
            Some(name) => {
                let zone = jiff::tz::TimeZone::get(&name).map_err(|_| {
                    self.error(format!("time zone {name:?} is not an IANA time zone like Europe/Paris"))
                })?;
                Some((name, zone))
            }
            None => None,
        };
        let formats: Vec<TimeFormat> = if spec.time.formats.is_empty() {
            vec![TimeFormat::Rfc3339]
        } else {
            spec.time.formats.iter().map(|text| TimeFormat::parse(text).expect("checked")).collect()
        };
        // Columns a `[rows]` table computes are read like the file's own.
        let mut extended = columns.clone();
        crate::rows::extend_names(spec.rows.as_ref(), &mut extended);
        let context = PlanContext { columns: &extended, zone, formats, placeholder_options, profile: self };
        let mut fields = Vec::new();
        for column in self.target.columns() {
            if let Some(field) = fields_spec.get(column.name) {
                let compiled = context.field(field, column.name, column.kind)?;
                fields.push((*column, compiled));
            }
        }
        let conditions = |conditions: &[ConditionSpec]| -> Result<Vec<Condition>, ProfileError> {
            conditions.iter().map(|condition| context.condition(condition)).collect()
        };
        let mut lookups = Vec::new();
        for (name, lookup) in &spec.lookups {
            lookups.push(LookupPlan {
                name: name.clone(),
                when: conditions(&lookup.when)?,
                key: context.field(&lookup.key, &format!("lookups.{name}.key"), Kind::Text)?,
                value: context.field(&lookup.value, &format!("lookups.{name}.value"), Kind::Text)?,
            });
        }
        let mut plan = RowPlan {
            fields,
            keep: conditions(&spec.keep)?,
            skip: conditions(&spec.skip)?,
            lookups,
            rows: crate::rows::RowsPlan::default(),
        };
        plan.rows =
            crate::rows::RowsPlan::new(spec.rows.as_ref(), columns, &plan).map_err(|message| self.error(message))?;
        Ok(plan)
    }

    fn target_column(&self, name: &str) -> Result<CanonicalColumn, ProfileError> {
        self.target.columns().iter().copied().find(|column| column.name == name).ok_or_else(|| {
            self.error(format!(
                "{name:?} is not a column of {} ({})",
                self.target.file_name(),
                self.target.column_names()
            ))
        })
    }
}

fn single_byte(text: &str, key: &str) -> Result<u8, String> {
    match text.as_bytes() {
        [byte] => Ok(*byte),
        _ => Err(format!("[source] {key} {text:?} must be one ASCII character")),
    }
}

fn compile(pattern: &str, what: &str) -> Result<Regex, String> {
    Regex::new(pattern).map_err(|error| format!("{what}: {pattern:?} is not a regular expression: {error}"))
}

fn check_condition(condition: &ConditionSpec, spec: &ProfileSpec, in_lookup_allowed: bool) -> Result<(), String> {
    let tests = usize::from(condition.equals.is_some())
        + usize::from(condition.matches.is_some())
        + usize::from(condition.empty.is_some())
        + usize::from(condition.in_lookup.is_some());
    if tests != 1 {
        return Err(format!("on {} needs exactly one of equals, matches, empty, in_lookup", condition.column));
    }
    if let Some(lookup) = &condition.in_lookup {
        if !in_lookup_allowed {
            return Err(format!("on {}: in_lookup cannot be used in a lookup's when", condition.column));
        }
        if !spec.lookups.contains_key(lookup) {
            return Err(format!("on {}: lookup {lookup:?} is not in [lookups]", condition.column));
        }
    }
    if let Some(pattern) = &condition.matches {
        compile(pattern, "matches")?;
    }
    if let Some(pattern) = &condition.capture {
        compile(pattern, "capture")?;
    }
    Ok(())
}

fn check_field(field: &FieldSpec, key: &str, kind: Kind, spec: &ProfileSpec) -> Result<(), String> {
    let sources = [
        field.column.is_some(),
        field.column_matching.is_some(),
        field.join.is_some(),
        field.value.is_some(),
        field.header_capture.is_some(),
        field.line_number == Some(true),
        field.lookup.is_some(),
        field.option.is_some(),
    ];
    let source_count = sources.iter().filter(|given| **given).count();
    if source_count != 1 {
        return Err(format!(
            "{key} needs exactly one source of column, column_matching, join, value, header_capture, line_number, \
             lookup, option (it has {source_count})"
        ));
    }
    if let Some(lookup) = &field.lookup {
        if !spec.lookups.contains_key(lookup) {
            return Err(format!("{key}: lookup {lookup:?} is not in [lookups]"));
        }
        let Some(lookup_key) = &field.key else {
            return Err(format!("{key}: lookup needs a key (the field of this row to look up)"));
        };
        check_field(lookup_key, &format!("{key}.key"), Kind::Text, spec)?;
    } else if field.key.is_some() {
        return Err(format!("{key}: key goes with lookup"));
    }
    for (pattern, what) in [
        (&field.capture, "capture"),
        (&field.column_matching, "column_matching"),
        (&field.header_capture, "header_capture"),
    ] {
        if let Some(pattern) = pattern {
            compile(pattern, &format!("{key}.{what}"))?;
        }
    }
    if field.map_default.is_some() && field.map.is_none() {
        return Err(format!("{key}: map_default goes with map"));
    }
    if field.separator.is_some() && field.join.is_none() {
        return Err(format!("{key}: separator goes with join"));
    }
    let numeric = matches!(kind, Kind::Quantity { .. } | Kind::Amount | Kind::Rate | Kind::RateUnit);
    if field.unit.is_some() && !matches!(kind, Kind::Quantity { .. }) {
        return Err(format!("{key}: unit applies to quantities only"));
    }
    if field.sign.is_some() && !numeric {
        return Err(format!("{key}: sign applies to numbers only"));
    }
    if field.format.is_some() && !matches!(kind, Kind::Instant { .. } | Kind::Date) {
        return Err(format!("{key}: format applies to times and dates only"));
    }
    for format in field.format.iter().flatten() {
        TimeFormat::parse(format).map_err(|message| format!("{key}.format: {message}"))?;
    }
    if let Some(fallback) = &field.fallback {
        check_field(fallback, &format!("{key}.fallback"), kind, spec)?;
    }
    Ok(())
}

/// The column names of one file shape.
#[derive(Clone, Debug, Default)]
pub(crate) struct ColumnNames {
    pub names: Vec<String>,
    /// Whether the names come from the file's own header (`header_capture`, `column_matching`
    /// need one).
    pub from_header: bool,
    /// Whether names are compared ignoring case (headers written by people).
    pub ignore_case: bool,
}

impl ColumnNames {
    fn find(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|candidate| candidate == name).or_else(|| {
            self.ignore_case
                .then(|| self.names.iter().position(|candidate| candidate.eq_ignore_ascii_case(name)))
                .flatten()
        })
    }
}

struct PlanContext<'a> {
    columns: &'a ColumnNames,
    zone: Option<(String, jiff::tz::TimeZone)>,
    formats: Vec<TimeFormat>,
    placeholder_options: bool,
    profile: &'a Profile,
}

impl PlanContext<'_> {
    fn slot(&self, column: &ColumnRef) -> Slot {
        match column {
            ColumnRef::Number(number) => Slot {
                index: number.checked_sub(1),
                number: *number,
                name: self.columns.names.get(number.wrapping_sub(1)).cloned().unwrap_or_else(|| format!("{number}")),
            },
            ColumnRef::Name(name) => {
                let index = self.columns.find(name);
                Slot { index, number: index.map_or(0, |index| index + 1), name: name.clone() }
            }
        }
    }

    fn header_match(&self, pattern: &str, key: &str) -> Result<(usize, regex::Captures<'_>), ProfileError> {
        let regex = Regex::new(pattern).expect("checked");
        if !self.columns.from_header {
            return Err(self.profile.error(format!("{key}: {pattern:?} needs a file with a header row")));
        }
        for (index, name) in self.columns.names.iter().enumerate() {
            if let Some(captures) = regex.captures(name) {
                return Ok((index, captures));
            }
        }
        Err(self.profile.error(format!(
            "{key}: no column of the header matches {pattern:?} (the header has: {})",
            self.columns.names.join(",")
        )))
    }

    fn field(&self, spec: &FieldSpec, name: &str, kind: Kind) -> Result<Field, ProfileError> {
        let source = if let Some(column) = &spec.column {
            Source::Column(self.slot(column))
        } else if let Some(pattern) = &spec.column_matching {
            let (index, _) = self.header_match(pattern, name)?;
            Source::Column(Slot { index: Some(index), number: index + 1, name: self.columns.names[index].clone() })
        } else if let Some(columns) = &spec.join {
            Source::Join(
                columns.iter().map(|column| self.slot(column)).collect(),
                spec.separator.clone().unwrap_or_default(),
            )
        } else if let Some(value) = &spec.value {
            Source::Constant(value.clone())
        } else if let Some(pattern) = &spec.header_capture {
            let (_, captures) = self.header_match(pattern, name)?;
            Source::Constant(group(&captures).unwrap_or_default().to_owned())
        } else if spec.line_number == Some(true) {
            Source::LineNumber
        } else if let Some(lookup) = &spec.lookup {
            let key = spec.key.as_ref().expect("checked");
            Source::Lookup { name: lookup.clone(), key: Box::new(self.field(key, &format!("{name}.key"), Kind::Text)?) }
        } else if let Some(what) = &spec.option {
            if self.placeholder_options {
                // Detection converts a few rows without the options: a placeholder of the
                // field's type, so that a deck's `--set currency=` or `effective_from=` does
                // not make every row fail (never written anywhere).
                Source::Constant(match kind {
                    Kind::Currency => "EUR".to_owned(),
                    Kind::Instant { .. } => "2000-01-01T00:00:00Z".to_owned(),
                    _ => format!("<{name}>"),
                })
            } else {
                return Err(self.profile.error(format!("field {name} needs --set {name}=VALUE ({what})")));
            }
        } else {
            unreachable!("checked: one source")
        };
        let time = matches!(kind, Kind::Instant { .. } | Kind::Date).then(|| TimeReader {
            formats: match &spec.format {
                Some(formats) => formats.iter().map(|text| TimeFormat::parse(text).expect("checked")).collect(),
                None => self.formats.clone(),
            },
            zone: self.zone.clone(),
        });
        let fallback = match &spec.fallback {
            Some(fallback) => Some(Box::new(self.field(fallback, name, kind)?)),
            None => None,
        };
        Ok(Field {
            name: name.to_owned(),
            source,
            capture: spec.capture.as_deref().map(|pattern| Regex::new(pattern).expect("checked")),
            convert: spec.convert,
            map: spec.map.as_ref().map(|map| map.iter().map(|(from, to)| (from.to_lowercase(), to.clone())).collect()),
            map_default: spec.map_default.clone(),
            fallback,
            default: spec.default.clone(),
            expand_codes: spec.expand_codes == Some(true),
            time,
            unit: spec.unit,
            sign: spec.sign,
        })
    }

    fn condition(&self, spec: &ConditionSpec) -> Result<Condition, ProfileError> {
        let test = if let Some(values) = &spec.equals {
            Test::Equals(values.iter().map(|value| value.trim().to_lowercase()).collect())
        } else if let Some(pattern) = &spec.matches {
            Test::Matches(Regex::new(pattern).expect("checked"))
        } else if let Some(lookup) = &spec.in_lookup {
            Test::InLookup(lookup.clone())
        } else {
            Test::Empty(spec.empty.expect("checked"))
        };
        Ok(Condition {
            slot: self.slot(&spec.column),
            capture: spec.capture.as_deref().map(|pattern| Regex::new(pattern).expect("checked")),
            test,
        })
    }
}

/// The `value` group of a match, else its group 1, else the whole match.
pub(crate) fn group<'h>(captures: &regex::Captures<'h>) -> Option<&'h str> {
    captures.name("value").or_else(|| captures.get(1)).or_else(|| captures.get(0)).map(|found| found.as_str())
}

/// A column of the file, resolved.
#[derive(Clone, Debug)]
pub(crate) struct Slot {
    /// 0-based; `None` when the file has no such column.
    pub index: Option<usize>,
    /// 1-based, for messages (0 when absent).
    pub number: usize,
    pub name: String,
}

#[derive(Clone, Debug)]
pub(crate) enum Source {
    Column(Slot),
    Join(Vec<Slot>, String),
    Constant(String),
    LineNumber,
    Lookup { name: String, key: Box<Field> },
}

/// A canonical value's recipe, resolved for one file.
#[derive(Clone, Debug)]
pub(crate) struct Field {
    /// The profile field it produces (`started_at`), for messages.
    pub name: String,
    pub source: Source,
    pub capture: Option<Regex>,
    pub convert: Option<Convert>,
    pub map: Option<BTreeMap<String, String>>,
    pub map_default: Option<String>,
    pub fallback: Option<Box<Field>>,
    pub default: Option<String>,
    pub expand_codes: bool,
    pub time: Option<TimeReader>,
    pub unit: Option<Unit>,
    pub sign: Option<Sign>,
}

#[derive(Clone, Debug)]
pub(crate) enum Test {
    Equals(Vec<String>),
    Matches(Regex),
    Empty(bool),
    InLookup(String),
}

#[derive(Clone, Debug)]
pub(crate) struct Condition {
    pub slot: Slot,
    pub capture: Option<Regex>,
    pub test: Test,
}

#[derive(Clone, Debug)]
pub(crate) struct LookupPlan {
    pub name: String,
    pub when: Vec<Condition>,
    pub key: Field,
    pub value: Field,
}

/// Everything needed to turn a row of one file shape into a canonical row.
#[derive(Clone, Debug)]
pub(crate) struct RowPlan {
    pub fields: Vec<(CanonicalColumn, Field)>,
    pub keep: Vec<Condition>,
    pub skip: Vec<Condition>,
    pub lookups: Vec<LookupPlan>,
    /// The profile's `[rows]` table for this file shape.
    pub rows: crate::rows::RowsPlan,
}
