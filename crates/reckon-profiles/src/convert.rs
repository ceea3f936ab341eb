//! The conversion: a source file read row by row through a profile into a canonical CSV.
//!
//! Rows stream: the reader holds one row, the writer one row. A profile with lookups reads the
//! file twice, and holds the lookups' keys and values in memory between the passes (the one
//! thing that grows with the file: a delivery receipt's id and status, some 40 bytes each).

use crate::profile::{group, Condition, Field, LookupPlan, Overrides, Profile, ProfileError, RowPlan, Source, Test};
use crate::schema::{Convert, Sign, Unit};
use crate::source::{line_error, Read_, SourceReader};
use crate::target::{Kind, Target};
use reckon_core::usage::DeliveryStatus;
use reckon_core::{Currency, Destination, Increments, Service};
use reckon_import::{BadRowPolicy, ImportError, ImportErrorDetail, ImportErrorKind, Rejection};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

/// How to convert.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    pub policy: BadRowPolicy,
    pub overrides: Overrides,
    /// Keep the source line of every row written ([`Conversion::source_lines`]), so that an
    /// error found later in the canonical file can name the source line (8 bytes a row).
    pub track_source_lines: bool,
    /// Convert at most this many rows (detection reads a file's first rows only).
    pub rows_max: Option<u64>,
    /// Fields that need `--set` get a placeholder instead of an error (detection).
    pub placeholder_options: bool,
}

impl Default for ConvertOptions {
    fn default() -> ConvertOptions {
        ConvertOptions {
            policy: BadRowPolicy::Fail,
            overrides: Overrides::default(),
            track_source_lines: false,
            rows_max: None,
            placeholder_options: false,
        }
    }
}

/// What a conversion did.
#[derive(Debug, Default)]
pub struct Conversion {
    /// Canonical rows written.
    pub rows_written: u64,
    /// Source rows left out by the profile's `keep`/`skip` conditions (not billable).
    pub rows_filtered: u64,
    /// Lines a `lines` profile's pattern did not match, skipped under `unmatched_lines = "skip"`.
    pub lines_unmatched: u64,
    /// Rows set aside under [`BadRowPolicy::Quarantine`], with their source positions.
    pub rejected: Vec<Rejection>,
    /// The source line of each canonical row written, in order (when tracked).
    pub source_lines: Vec<u64>,
}

/// Why a conversion stopped.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    /// A bad row (under [`BadRowPolicy::Fail`]) or an unreadable file, positioned in the source.
    #[error(transparent)]
    Import(#[from] ImportError),
    #[error("cannot write the canonical file: {0}")]
    Write(#[from] csv::Error),
}

/// Converts `input` through `profile`, writing the canonical CSV to `output`.
///
/// # Errors
/// The profile does not fit the file (a column it names is not in the header, an option was
/// not given), the file cannot be read, the output cannot be written, or (under
/// [`BadRowPolicy::Fail`]) a row does not convert: the error names the source file, line and
/// column, the value, the profile's field and what was expected.
pub fn convert(
    profile: &Profile,
    input: &Path,
    output: impl Write,
    options: &ConvertOptions,
) -> Result<Conversion, ConvertError> {
    let mut plans = Plans::open(profile, input, options)?;
    let mut conversion = Conversion::default();
    let mut lookups: HashMap<String, HashMap<String, String>> = HashMap::new();
    if !profile.spec.lookups.is_empty() {
        lookups = gather_lookups(profile, input, options, &mut conversion)?;
        plans = Plans::open(profile, input, options)?;
    }
    let header: Vec<&str> = plans.output_columns.iter().map(|name| &**name).collect();
    let mut writer = csv::WriterBuilder::new().from_writer(output);
    writer.write_record(&header)?;
    let mut record = csv::StringRecord::new();
    let mut values: Vec<String> = Vec::with_capacity(header.len());
    let mut rows_read = 0_u64;
    while let Some(read) = plans.reader.next(&mut record)? {
        let line_number = match read {
            Read_::Row { line_number } => line_number,
            Read_::Unmatched => {
                conversion.lines_unmatched += 1;
                continue;
            }
            Read_::Bad(error) => {
                reject(error, options.policy, &mut conversion)?;
                continue;
            }
        };
        if record.iter().all(|field| field.trim().is_empty()) {
            continue;
        }
        if options.rows_max.is_some_and(|max| rows_read >= max) {
            break;
        }
        rows_read += 1;
        let row =
            RowView { record: &record, line_number, reader: &plans.reader, path: plans.reader.display_path(), profile };
        let plan = match plans.plan_for(&row) {
            Ok(plan) => plan,
            Err(error) => {
                reject(error, options.policy, &mut conversion)?;
                continue;
            }
        };
        // A profile's `[rows]` table (rows.rs) rewrites the row first: computed columns
        // appended, a closed code made a closing entry.
        let prepared = match plan.rows.is_empty() {
            true => None,
            false => match plan.rows.prepare(&record, row.path, line_number) {
                Ok(prepared) => Some(prepared),
                Err(error) => {
                    reject(error, options.policy, &mut conversion)?;
                    continue;
                }
            },
        };
        let row = RowView { record: prepared.as_ref().unwrap_or(&record), ..row };
        match row
            .keeps(plan, &lookups)
            .and_then(|keeps| plan.rows.refuse(row.record, row.path, line_number).map(|()| keeps))
        {
            Ok(true) => {}
            Ok(false) => {
                conversion.rows_filtered += 1;
                continue;
            }
            Err(error) => {
                reject(error, options.policy, &mut conversion)?;
                continue;
            }
        }
        values.clear();
        match row.canonical(plan, &lookups, &mut values) {
            Ok(expansion) => {
                for code in expansion.codes.iter().map(Some).chain(expansion.codes.is_empty().then_some(None)) {
                    if let Some(code) = code {
                        values[expansion.column_index].clone_from(code);
                    }
                    writer.write_record(&values)?;
                    conversion.rows_written += 1;
                    if options.track_source_lines {
                        conversion.source_lines.push(line_number);
                    }
                }
            }
            Err(error) => reject(error, options.policy, &mut conversion)?,
        }
    }
    writer.flush().map_err(csv::Error::from)?;
    Ok(conversion)
}

fn reject(error: ImportError, policy: BadRowPolicy, conversion: &mut Conversion) -> Result<(), ImportError> {
    match policy {
        BadRowPolicy::Fail => Err(error),
        BadRowPolicy::Quarantine => {
            conversion.rejected.push(error.to_rejection());
            Ok(())
        }
    }
}

/// The first pass of a profile with lookups: every row meeting a lookup's `when` gives its key
/// and value.
fn gather_lookups(
    profile: &Profile,
    input: &Path,
    options: &ConvertOptions,
    conversion: &mut Conversion,
) -> Result<HashMap<String, HashMap<String, String>>, ConvertError> {
    let mut plans = Plans::open(profile, input, options)?;
    let mut lookups: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut record = csv::StringRecord::new();
    let empty = HashMap::new();
    let mut rows_read = 0_u64;
    while let Some(read) = plans.reader.next(&mut record)? {
        // Detection reads the first rows only, in both passes.
        if options.rows_max.is_some_and(|max| rows_read >= max) {
            break;
        }
        rows_read += 1;
        let Read_::Row { line_number } = read else {
            // Counted and rejected by the second pass, which reads every row.
            continue;
        };
        let row =
            RowView { record: &record, line_number, reader: &plans.reader, path: plans.reader.display_path(), profile };
        let Ok(plan) = plans.plan_for(&row) else { continue };
        for lookup in &plan.lookups {
            match row.lookup_entry(lookup, &empty) {
                Ok(Some((key, value))) => {
                    lookups.entry(lookup.name.clone()).or_default().insert(key, value);
                }
                Ok(None) => {}
                Err(error) => reject(error, options.policy, conversion)?,
            }
        }
    }
    Ok(lookups)
}

/// The open file and its plans: one, or one per layout (by field count).
struct Plans {
    reader: SourceReader,
    by_field_count: Vec<(usize, Result<RowPlan, String>)>,
    single: Option<RowPlan>,
    output_columns: Vec<&'static str>,
}

impl Plans {
    fn open(profile: &Profile, input: &Path, options: &ConvertOptions) -> Result<Plans, ConvertError> {
        let source = &profile.spec.source;
        let reader = crate::sheet::open_reader(profile, input, source)?;
        let overrides = &options.overrides;
        let placeholders = options.placeholder_options;
        let (single, by_field_count) = if let Some(header) = &reader.header {
            let names = crate::profile::ColumnNames { names: header.clone(), from_header: true, ignore_case: true };
            let plan = profile.plan(&names, overrides, placeholders)?;
            check_columns_present(profile, &plan, header)?;
            (Some(plan), Vec::new())
        } else if let Some(groups) = reader.group_names() {
            let names = crate::profile::ColumnNames { names: groups, from_header: false, ignore_case: false };
            (Some(profile.plan(&names, overrides, placeholders)?), Vec::new())
        } else if source.layouts.is_empty() {
            (Some(profile.plan(&crate::profile::ColumnNames::default(), overrides, placeholders)?), Vec::new())
        } else {
            let mut by_field_count = Vec::new();
            for layout in &source.layouts {
                let names = crate::profile::ColumnNames {
                    names: layout.columns.clone(),
                    from_header: false,
                    ignore_case: false,
                };
                let plan = profile.plan(&names, overrides, placeholders)?;
                let plan = check_columns_present(profile, &plan, &layout.columns)
                    .map(|()| plan)
                    .map_err(|error| error.message);
                by_field_count.push((layout.columns.len(), plan));
            }
            (None, by_field_count)
        };
        let any_plan = single.as_ref().or_else(|| by_field_count.iter().find_map(|(_, plan)| plan.as_ref().ok()));
        let output_columns = match any_plan {
            Some(plan) => plan.fields.iter().map(|(column, _)| column.name).collect(),
            None => {
                profile.target().columns().iter().filter(|column| column.required).map(|column| column.name).collect()
            }
        };
        Ok(Plans { reader, by_field_count, single, output_columns })
    }

    fn plan_for(&self, row: &RowView<'_>) -> Result<&RowPlan, ImportError> {
        if let Some(plan) = &self.single {
            if let Some(header) = &self.reader.header {
                if row.record.len() != header.len() {
                    return Err(line_error(
                        row.path,
                        row.line_number,
                        ImportErrorKind::Malformed(format!(
                            "the row has {} fields, expected {} like the header",
                            row.record.len(),
                            header.len()
                        )),
                    ));
                }
            }
            return Ok(plan);
        }
        match self.by_field_count.iter().find(|(count, _)| *count == row.record.len()) {
            Some((_, Ok(plan))) => Ok(plan),
            Some((_, Err(message))) => {
                Err(line_error(row.path, row.line_number, ImportErrorKind::Rule(message.clone())))
            }
            None => {
                let counts: Vec<String> = self.by_field_count.iter().map(|(count, _)| count.to_string()).collect();
                Err(line_error(
                    row.path,
                    row.line_number,
                    ImportErrorKind::Malformed(format!(
                        "the row has {} fields; profile {} reads rows of {} fields",
                        row.record.len(),
                        row.profile.name(),
                        counts.join(", ")
                    )),
                ))
            }
        }
    }
}

/// A required field read from a column the file does not have cannot produce anything: an
/// error before the first row, naming the column and what the file has.
fn check_columns_present(profile: &Profile, plan: &RowPlan, names: &[String]) -> Result<(), ProfileError> {
    for (column, field) in &plan.fields {
        if column.required {
            if let Some(missing) = missing_column(field) {
                return Err(ProfileError {
                    origin: profile.origin().to_owned(),
                    message: format!(
                        "field {} reads column {missing:?}, which the file does not have (its columns: {})",
                        column.name,
                        names.join(",")
                    ),
                });
            }
        }
    }
    Ok(())
}

/// The column a field reads that the file lacks, when nothing else can give it a value.
fn missing_column(field: &Field) -> Option<String> {
    if field.default.is_some() || field.fallback.as_ref().is_some_and(|fallback| missing_column(fallback).is_none()) {
        return None;
    }
    match &field.source {
        Source::Column(slot) if slot.index.is_none() => Some(slot.name.clone()),
        Source::Join(slots, _) => slots.iter().find(|slot| slot.index.is_none()).map(|slot| slot.name.clone()),
        _ => None,
    }
}

/// One source row being converted.
struct RowView<'r> {
    record: &'r csv::StringRecord,
    line_number: u64,
    reader: &'r SourceReader,
    path: &'r Path,
    profile: &'r Profile,
}

/// The codes a row's expanding field gives (none: the row is written once, as it is).
struct Expansion {
    column_index: usize,
    codes: Vec<String>,
}

/// A field that did not convert: the source column (when one), the value, what was expected.
struct FieldFailure {
    column: Option<(usize, String)>,
    value: String,
    expected: String,
}

impl RowView<'_> {
    fn get(&self, index: Option<usize>) -> &str {
        index.and_then(|index| self.record.get(index)).map_or("", |value| self.reader.clean(value))
    }

    fn error(&self, field: &str, failure: FieldFailure) -> ImportError {
        let expected = format!("{} (profile {}, field {field})", failure.expected, self.profile.name());
        let kind = if failure.value.is_empty() {
            ImportErrorKind::Rule(format!("a value is required: {expected}"))
        } else {
            ImportErrorKind::Invalid { value: failure.value, expected }
        };
        ImportErrorDetail {
            path: self.path.to_owned(),
            line_number: Some(self.line_number),
            column: failure.column,
            kind,
        }
        .into()
    }

    fn condition_holds(
        &self,
        condition: &Condition,
        lookups: &HashMap<String, HashMap<String, String>>,
    ) -> Result<bool, ImportError> {
        let raw = self.get(condition.slot.index);
        let value = match &condition.capture {
            Some(regex) => regex.captures(raw).and_then(|captures| group(&captures)).unwrap_or("").trim(),
            None => raw,
        };
        Ok(match &condition.test {
            Test::Equals(values) => values.iter().any(|candidate| candidate.eq_ignore_ascii_case(value)),
            Test::Matches(regex) => regex.is_match(value),
            Test::Empty(empty) => value.is_empty() == *empty,
            Test::InLookup(name) => lookups.get(name).is_some_and(|values| values.contains_key(value)),
        })
    }

    fn keeps(&self, plan: &RowPlan, lookups: &HashMap<String, HashMap<String, String>>) -> Result<bool, ImportError> {
        for condition in &plan.keep {
            if !self.condition_holds(condition, lookups)? {
                return Ok(false);
            }
        }
        for condition in &plan.skip {
            if self.condition_holds(condition, lookups)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    fn lookup_entry(
        &self,
        lookup: &LookupPlan,
        lookups: &HashMap<String, HashMap<String, String>>,
    ) -> Result<Option<(String, String)>, ImportError> {
        for condition in &lookup.when {
            if !self.condition_holds(condition, lookups)? {
                return Ok(None);
            }
        }
        let (key, _) = self.text(&lookup.key, lookups).map_err(|failure| self.error(&lookup.key.name, failure))?;
        let (value, _) =
            self.text(&lookup.value, lookups).map_err(|failure| self.error(&lookup.value.name, failure))?;
        Ok((!key.is_empty() && !value.is_empty()).then_some((key, value)))
    }

    /// Every canonical value of the row, in the plan's column order; with the codes of a field
    /// that expands to several rows (each typed), when one does.
    fn canonical(
        &self,
        plan: &RowPlan,
        lookups: &HashMap<String, HashMap<String, String>>,
        values: &mut Vec<String>,
    ) -> Result<Expansion, ImportError> {
        let mut expansion = Expansion { column_index: 0, codes: Vec::new() };
        for (column, field) in &plan.fields {
            let (text, producer) = self.text(field, lookups).map_err(|failure| self.error(&field.name, failure))?;
            if field.expand_codes && !text.is_empty() {
                let fail = |value: &str, expected: String| {
                    self.error(
                        &field.name,
                        FieldFailure { column: primary_column(field), value: value.to_owned(), expected },
                    )
                };
                let codes = reckon_import::xlsx::expand_codes(&text).map_err(|expected| fail(&text, expected))?;
                expansion.column_index = values.len();
                for code in codes {
                    expansion
                        .codes
                        .push(typed(column.kind, producer, &code).map_err(|expected| fail(&code, expected))?);
                }
                values.push(String::new());
                continue;
            }
            let value = if text.is_empty() {
                if column.required {
                    let failure = FieldFailure {
                        column: primary_column(field),
                        value: String::new(),
                        expected: "a value".to_owned(),
                    };
                    return Err(self.error(&field.name, failure));
                }
                String::new()
            } else {
                typed(column.kind, producer, &text).map_err(|expected| {
                    self.error(
                        &field.name,
                        FieldFailure { column: primary_column(producer), value: text.clone(), expected },
                    )
                })?
            };
            values.push(value);
        }
        Ok(expansion)
    }

    /// A field's text before its column's type is applied: source, capture, convert, map, then
    /// fallback and default when empty; with the field whose settings (time formats, unit,
    /// sign) apply to it: the fallback's when the fallback gave it.
    fn text<'f>(
        &self,
        field: &'f Field,
        lookups: &HashMap<String, HashMap<String, String>>,
    ) -> Result<(String, &'f Field), FieldFailure> {
        let raw: String = match &field.source {
            Source::Column(slot) => self.get(slot.index).to_owned(),
            Source::Join(slots, separator) => {
                let parts: Vec<&str> =
                    slots.iter().map(|slot| self.get(slot.index)).filter(|part| !part.is_empty()).collect();
                parts.join(separator)
            }
            Source::Constant(value) => value.clone(),
            Source::LineNumber => self.line_number.to_string(),
            Source::Lookup { name, key } => {
                let (key, _) = self.text(key, lookups)?;
                lookups.get(name).and_then(|values| values.get(&key)).cloned().unwrap_or_default()
            }
        };
        let mut text = raw.trim().to_owned();
        if let (Some(regex), false) = (&field.capture, text.is_empty()) {
            match regex.captures(&text).and_then(|captures| group(&captures)) {
                Some(found) => text = found.trim().to_owned(),
                None if field.fallback.is_some() || field.default.is_some() => text.clear(),
                None => {
                    return Err(FieldFailure {
                        column: primary_column(field),
                        value: text,
                        expected: format!("a value matching {:?}", regex.as_str()),
                    })
                }
            }
        }
        if let (Some(convert), false) = (field.convert, text.is_empty()) {
            text = converted(convert, &text).map_err(|expected| FieldFailure {
                column: primary_column(field),
                value: text.clone(),
                expected,
            })?;
        }
        if let (Some(map), false) = (&field.map, text.is_empty()) {
            text = match map.get(&text.to_lowercase()) {
                Some(mapped) => mapped.clone(),
                None => match &field.map_default {
                    Some(default) => default.clone(),
                    None => {
                        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
                        return Err(FieldFailure {
                            column: primary_column(field),
                            value: text,
                            expected: format!("one of {} (the profile's map)", keys.join(", ")),
                        });
                    }
                },
            };
        }
        if text.is_empty() {
            if let Some(fallback) = &field.fallback {
                let (fallback_text, producer) = self.text(fallback, lookups)?;
                if !fallback_text.is_empty() {
                    return Ok((fallback_text, producer));
                }
            }
        }
        if text.is_empty() {
            if let Some(default) = &field.default {
                text = default.clone();
            }
        }
        Ok((text, field))
    }
}

/// The first source column of a field, for messages.
fn primary_column(field: &Field) -> Option<(usize, String)> {
    match &field.source {
        Source::Column(slot) => slot.index.map(|_| (slot.number, slot.name.clone())),
        Source::Join(slots, _) => {
            slots.iter().find(|slot| slot.index.is_some()).map(|slot| (slot.number, slot.name.clone()))
        }
        Source::Lookup { key, .. } => primary_column(key),
        Source::Constant(_) | Source::LineNumber => None,
    }
}

fn converted(convert: Convert, text: &str) -> Result<String, String> {
    Ok(match convert {
        Convert::HexToDecimal => u128::from_str_radix(text, 16)
            .map_err(|_| "a hexadecimal id (at most 32 hex digits)".to_owned())?
            .to_string(),
        Convert::DecimalToHex => {
            format!("{:X}", text.parse::<u128>().map_err(|_| "a decimal id (digits only)".to_owned())?)
        }
        Convert::Lowercase => text.to_lowercase(),
        Convert::Uppercase => text.to_uppercase(),
        Convert::Digits => text.chars().filter(char::is_ascii_digit).collect(),
    })
}

/// The canonical text of a value for a column of `kind`.
fn typed(kind: Kind, field: &Field, text: &str) -> Result<String, String> {
    match kind {
        // A line break inside a value would shift the canonical file's line numbers, by which
        // later errors are traced back to source lines; a space says the same.
        Kind::Text => Ok(text.replace(['\r', '\n'], " ")),
        Kind::Service => Service::parse(text)
            .map(|service| service.as_str().to_owned())
            .ok_or_else(|| "a service: one of voice, video, sms, mms, email, data".to_owned()),
        Kind::Currency => Currency::parse(text)
            .map(|currency| currency.as_str().to_owned())
            .ok_or_else(|| "an ISO 4217 currency code like EUR".to_owned()),
        Kind::Number => Destination::parse(text)
            .map(|_| text.to_owned())
            .map_err(|error| format!("a phone number (E.164, `+` optional): it {error}")),
        Kind::Prefix => {
            if text.bytes().all(|byte| byte.is_ascii_digit()) {
                Ok(text.to_owned())
            } else {
                Err("a dial-code prefix, digits only".to_owned())
            }
        }
        Kind::Instant { usage } => {
            let reader = field.time.as_ref().expect("a time field has a time reader");
            let instant = reader.instant(text)?;
            if usage {
                reckon_core::usage::check_usage_instant(instant).map_err(str::to_owned)?;
            }
            Ok(instant.to_string())
        }
        Kind::Date => {
            let reader = field.time.as_ref().expect("a date field has a time reader");
            Ok(reader.date(text)?.to_string())
        }
        Kind::Quantity { non_negative } => {
            let value = signed(quantity(field.unit.unwrap_or(Unit::Seconds), text)?, field.sign);
            reckon_core::bounds::check_quantity(value).map_err(str::to_owned)?;
            if non_negative && value.is_sign_negative() && !value.is_zero() {
                return Err("a quantity >= 0".to_owned());
            }
            Ok(plain(value))
        }
        Kind::Amount => number(field, text, reckon_core::bounds::check_amount),
        Kind::Rate => number(field, text, reckon_core::bounds::check_rate),
        Kind::RateUnit => number(field, text, reckon_core::bounds::check_rate_unit),
        Kind::Increments => {
            // Decks write `60-60` as often as `60/60` (`deck from-xlsx` reads both too).
            let normalized = match text.split_once('-') {
                Some((first, next)) if !first.is_empty() && !next.contains('-') => format!("{first}/{next}"),
                _ => text.to_owned(),
            };
            let text = normalized.as_str();
            let increments = Increments::parse(text).map_err(|error| format!("billing increments: {error}"))?;
            reckon_core::bounds::check_increments(increments.first, increments.next).map_err(str::to_owned)?;
            Ok(text.to_owned())
        }
        Kind::Status => DeliveryStatus::parse(text)
            .map(|status| status.as_str().to_owned())
            .ok_or_else(|| "a delivery status: delivered, failed, expired, rejected or unknown".to_owned()),
        Kind::Network => {
            if (5..=6).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit()) {
                Ok(text.to_owned())
            } else {
                Err("a mobile network as MCC and MNC digits, like 23410".to_owned())
            }
        }
    }
}

const EXPECTED_DECIMAL: &str = "a decimal number like 12.5 (`.` as separator, no exponent)";

/// A bound of `reckon_core::bounds`: the value, or what was expected.
type BoundCheck = fn(Decimal) -> Result<Decimal, &'static str>;

fn number(field: &Field, text: &str, check: BoundCheck) -> Result<String, String> {
    let value = reckon_import::parse_decimal(text).ok_or_else(|| EXPECTED_DECIMAL.to_owned())?;
    let value = signed(value, field.sign);
    check(value).map_err(str::to_owned)?;
    Ok(plain(value))
}

fn signed(value: Decimal, sign: Option<Sign>) -> Decimal {
    match sign.unwrap_or(Sign::Keep) {
        Sign::Keep => value,
        Sign::Negate => -value,
        Sign::Abs => value.abs(),
    }
}

/// A decimal as canonical text: plain, never `-0`.
fn plain(mut value: Decimal) -> String {
    if value.is_zero() {
        value.set_sign_positive(true);
    }
    value.to_string()
}

/// A quantity in seconds (or the source's base unit) from its written unit.
fn quantity(unit: Unit, text: &str) -> Result<Decimal, String> {
    if unit == Unit::Hms {
        return hms_seconds(text).ok_or_else(|| "a duration written h:mm:ss or mm:ss".to_owned());
    }
    let value = reckon_import::parse_decimal(text).ok_or_else(|| EXPECTED_DECIMAL.to_owned())?;
    let converted = match unit {
        Unit::Seconds => Some(value),
        Unit::Milliseconds => value.checked_div(Decimal::from(1000)),
        Unit::Minutes => value.checked_mul(Decimal::from(60)),
        Unit::Hours => value.checked_mul(Decimal::from(3600)),
        Unit::Hms => unreachable!("handled above"),
    };
    converted.ok_or_else(|| "a quantity within 10^12 base units".to_owned())
}

/// `h:mm:ss` or `mm:ss` (seconds may have decimals) in seconds.
fn hms_seconds(text: &str) -> Option<Decimal> {
    let parts: Vec<&str> = text.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let (seconds, whole) = parts.split_last()?;
    let seconds = reckon_import::parse_decimal(seconds)?;
    if seconds.is_sign_negative() || seconds >= Decimal::from(60) {
        return None;
    }
    let mut total = Decimal::ZERO;
    for (index, part) in whole.iter().enumerate() {
        if part.is_empty() || !part.bytes().all(|byte| byte.is_ascii_digit()) || part.len() > 12 {
            return None;
        }
        let value = Decimal::from(part.parse::<u64>().ok()?);
        // Minutes of an `h:mm:ss` are below 60; the leading part may be any size.
        if index > 0 && value >= Decimal::from(60) {
            return None;
        }
        total = total.checked_mul(Decimal::from(60))?.checked_add(value)?;
    }
    total.checked_mul(Decimal::from(60))?.checked_add(seconds)
}

impl Target {
    /// The header of the canonical file a profile writes (its fields, in canonical order).
    pub fn header_for(self, profile: &Profile) -> Vec<&'static str> {
        self.columns()
            .iter()
            .filter(|column| profile.spec.fields.contains_key(column.name))
            .map(|column| column.name)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_every_unit() {
        assert_eq!(quantity(Unit::Milliseconds, "75250").unwrap(), Decimal::new(75250, 3));
        assert_eq!(quantity(Unit::Minutes, "1.5").unwrap(), Decimal::from(90));
        assert_eq!(quantity(Unit::Hms, "01:02:03").unwrap(), Decimal::from(3723));
        assert_eq!(quantity(Unit::Hms, "2:03.5").unwrap(), Decimal::new(1235, 1));
        for bad in ["1:60", "1:61:00", "a:00", "1", "1:2:3:4", "-1:00"] {
            assert!(quantity(Unit::Hms, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_convert_between_hex_and_decimal() {
        assert_eq!(converted(Convert::HexToDecimal, "0A1B2C3D").unwrap(), "169552957");
        assert_eq!(converted(Convert::DecimalToHex, "169552957").unwrap(), "A1B2C3D");
        assert!(converted(Convert::HexToDecimal, "XYZ").is_err());
    }

    #[test]
    fn a_negated_zero_is_written_without_its_sign() {
        assert_eq!(plain(signed(Decimal::new(0, 3), Some(Sign::Negate))), "0.000");
        assert_eq!(plain(signed(Decimal::new(-2000, 5), Some(Sign::Negate))), "0.02000");
    }
}
