//! CGRateS tariff plans (the `master`/`v0.10` CSV layout): a folder holding `Destinations.csv`
//! (`#Id,Prefix`), `Rates.csv` (`#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart`,
//! one row per tier) and `DestinationRates.csv` (`#Id,DestinationId,RatesTag,RoundingMethod,
//! RoundingDecimals,MaxCost,MaxCostStrategy`), joined into one row per destination prefix.
//!
//! The tiers of a rate become `rates.csv` terms where they mean the same, and nothing is
//! guessed otherwise:
//! - one tier from `0s`, price `Rate` per `RateUnit` in steps of `RateIncrement`: `rate`,
//!   `rate_unit`, increments `I/I`;
//! - two tiers, the first from `0s` in steps equal to the second's start `S` (so any call up to
//!   `S` bills `S`), the second in steps of `B`: increments `S/B`, `rate` the second tier's
//!   price, `first_rate` the first's where it differs, both per the same `RateUnit`;
//! - anything else (three tiers, a first tier not from `0s` or stepping otherwise, tiers priced
//!   per different units or with different connect fees) is refused with an error naming the
//!   `Rates.csv` line, never approximated.
//!
//! The connect fee is the first tier's; `RoundingMethod` `*up`, `*middle`, `*down` with
//! `RoundingDecimals` become `rounding_mode` `up`, `half_up`, `down` and `rounding_decimals`
//! (applied to each record's cost); a `MaxCost` above 0 (`*free` or `*disconnect`: either way
//! a call costs at most that) becomes `max_cost`.
//!
//! The joined table's columns: `Prefix`, `DestinationId`, `DestinationRatesId`, `RatesTag`,
//! `ConnectFee`, `Rate`, `RateUnit`, `Increments`, `FirstRate`, `RoundingMode`,
//! `RoundingDecimals`, `MaxCost`; a row's line is its `DestinationRates.csv` line.

use crate::sheet::Table;
use reckon_import::{ImportError, ImportErrorDetail, ImportErrorKind};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The joined table's columns, in order.
pub(crate) const COLUMNS: [&str; 12] = [
    "Prefix",
    "DestinationId",
    "DestinationRatesId",
    "RatesTag",
    "ConnectFee",
    "Rate",
    "RateUnit",
    "Increments",
    "FirstRate",
    "RoundingMode",
    "RoundingDecimals",
    "MaxCost",
];

/// Whether `path` is a CGRateS tariff plan folder (it holds `DestinationRates.csv`).
pub(crate) fn is_tariff_plan(path: &Path) -> bool {
    path.is_dir() && path.join("DestinationRates.csv").is_file()
}

/// One file of the plan: its rows with their lines, the `#` header checked.
struct PlanFile {
    path: PathBuf,
    rows: Vec<(u64, Vec<String>)>,
}

impl PlanFile {
    fn open(folder: &Path, name: &str, columns: &[&str]) -> Result<PlanFile, ImportError> {
        let path = folder.join(name);
        let file_error = |kind: ImportErrorKind| -> ImportError {
            ImportErrorDetail { path: path.clone(), line_number: None, column: None, kind }.into()
        };
        let file = fs_err::File::open(&path).map_err(|error| file_error(ImportErrorKind::Io(error)))?;
        let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(file);
        let mut rows = Vec::new();
        let mut header_seen = false;
        for record in reader.records() {
            let record = record.map_err(|error| file_error(ImportErrorKind::Malformed(error.to_string())))?;
            let line = record.position().map_or(0, csv::Position::line);
            let cells: Vec<String> = record.iter().map(|cell| cell.trim().to_owned()).collect();
            if cells.iter().all(String::is_empty) {
                continue;
            }
            if !header_seen {
                header_seen = true;
                let names: Vec<&str> = cells.iter().map(|cell| cell.trim_start_matches('#').trim()).collect();
                if names.len() < columns.len()
                    || names[..columns.len()]
                        .iter()
                        .zip(columns)
                        .any(|(found, wanted)| !found.eq_ignore_ascii_case(wanted))
                {
                    return Err(ImportErrorDetail {
                        path: path.clone(),
                        line_number: Some(line),
                        column: None,
                        kind: ImportErrorKind::Malformed(format!(
                            "expected the CGRateS header #{} (found {})",
                            columns.join(","),
                            cells.join(",")
                        )),
                    }
                    .into());
                }
                continue;
            }
            if cells[0].starts_with('#') {
                continue;
            }
            rows.push((line, cells));
        }
        if !header_seen {
            return Err(file_error(ImportErrorKind::Empty));
        }
        Ok(PlanFile { path, rows })
    }

    fn error(&self, line: u64, column: usize, name: &str, value: &str, expected: &str) -> Fault {
        Fault {
            path: self.path.clone(),
            line,
            column: column + 1,
            name: name.to_owned(),
            value: value.to_owned(),
            expected: expected.to_owned(),
        }
    }
}

/// A value of the plan that does not convert: where it is, what it is, what was expected. Kept
/// as data, since one rate's fault is reported for every destination rate that uses it.
#[derive(Clone, Debug)]
struct Fault {
    path: PathBuf,
    line: u64,
    /// 1-based.
    column: usize,
    name: String,
    value: String,
    expected: String,
}

impl From<Fault> for ImportError {
    fn from(fault: Fault) -> ImportError {
        ImportErrorDetail {
            path: fault.path,
            line_number: Some(fault.line),
            column: Some((fault.column, fault.name)),
            kind: ImportErrorKind::Invalid { value: fault.value, expected: fault.expected },
        }
        .into()
    }
}

/// One tier of a rate (a `Rates.csv` row).
#[derive(Clone, Debug)]
struct Tier {
    line: u64,
    connect_fee: Decimal,
    rate: Decimal,
    unit: Decimal,
    increment: Decimal,
    start: Decimal,
}

/// The terms of a rate, as `rates.csv` writes them.
#[derive(Clone, Debug)]
struct Terms {
    connect_fee: Decimal,
    rate: Decimal,
    unit: Decimal,
    increments: String,
    first_rate: Option<Decimal>,
}

const EXPECTED_DECIMAL: &str = "a decimal number like 0.012";
const EXPECTED_DURATION: &str = "a duration like 60s, 1m or 0s";

/// Reads and joins a tariff plan folder.
///
/// # Errors
/// A file is missing or has another header. A row that does not convert is not an error here:
/// it is in the table as its error, for the converter's bad-row policy.
pub(crate) fn read(folder: &Path) -> Result<Table, ImportError> {
    let destinations = PlanFile::open(folder, "Destinations.csv", &["Id", "Prefix"])?;
    let rates = PlanFile::open(
        folder,
        "Rates.csv",
        &["Id", "ConnectFee", "Rate", "RateUnit", "RateIncrement", "GroupIntervalStart"],
    )?;
    let destination_rates = PlanFile::open(
        folder,
        "DestinationRates.csv",
        &["Id", "DestinationId", "RatesTag", "RoundingMethod", "RoundingDecimals", "MaxCost", "MaxCostStrategy"],
    )?;
    let mut prefixes: HashMap<&str, Vec<String>> = HashMap::new();
    let mut bad = Vec::new();
    for (line, cells) in &destinations.rows {
        let prefix = cells.get(1).map_or("", |prefix| prefix.trim_start_matches('+'));
        if prefix.is_empty() || !prefix.bytes().all(|byte| byte.is_ascii_digit()) {
            bad.push(ImportError::from(destinations.error(
                *line,
                1,
                "Prefix",
                prefix,
                "a dial-code prefix, digits only",
            )));
            continue;
        }
        prefixes.entry(cells[0].as_str()).or_default().push(prefix.to_owned());
    }
    let mut tiers: HashMap<&str, Result<Vec<Tier>, Fault>> = HashMap::new();
    for (line, cells) in &rates.rows {
        let tier = read_tier(&rates, *line, cells);
        let entry = tiers.entry(cells[0].as_str()).or_insert_with(|| Ok(Vec::new()));
        match (entry.as_mut(), tier) {
            (Ok(list), Ok(tier)) => list.push(tier),
            (Ok(_), Err(error)) => *entry = Err(error),
            (Err(_), _) => {}
        }
    }
    let mut table = Table {
        path: folder.to_owned(),
        header: COLUMNS.iter().map(|name| (*name).to_owned()).collect(),
        rows: bad.into_iter().map(Err).collect(),
        footer: None,
    };
    for (line, cells) in &destination_rates.rows {
        let cell = |at: usize| cells.get(at).map_or("", String::as_str);
        let (id, destination, rates_tag) = (cell(0), cell(1), cell(2));
        let error =
            |at: usize, name: &str, expected: &str| destination_rates.error(*line, at, name, cell(at), expected);
        let terms = match tiers.get(rates_tag) {
            None => Err(error(2, "RatesTag", "the Id of rows in Rates.csv")),
            Some(Err(fault)) => Err(fault.clone()),
            Some(Ok(list)) => terms(&rates, list),
        };
        let rounding = rounding(cell(3), cell(4)).map_err(|(at, name, expected)| error(at, name, expected));
        let max_cost = match cell(5) {
            "" => Ok(None),
            text => match reckon_import::parse_decimal(text) {
                Some(value) if value.is_zero() => Ok(None),
                Some(value) if value > Decimal::ZERO => match cell(6) {
                    "*free" | "*disconnect" | "" => Ok(Some(value)),
                    _ => Err(error(6, "MaxCostStrategy", "*free or *disconnect")),
                },
                _ => Err(error(5, "MaxCost", "a decimal number >= 0 (0: no cap)")),
            },
        };
        let Some(codes) = prefixes.get(destination) else {
            table.rows.push(Err(error(1, "DestinationId", "the Id of rows in Destinations.csv").into()));
            continue;
        };
        let (terms, (rounding_mode, rounding_decimals), max_cost) = match (terms, rounding, max_cost) {
            (Ok(terms), Ok(rounding), Ok(max_cost)) => (terms, rounding, max_cost),
            (Err(fault), _, _) | (_, Err(fault), _) | (_, _, Err(fault)) => {
                table.rows.push(Err(fault.into()));
                continue;
            }
        };
        for prefix in codes {
            table.rows.push(Ok((
                *line,
                vec![
                    prefix.clone(),
                    destination.to_owned(),
                    id.to_owned(),
                    rates_tag.to_owned(),
                    terms.connect_fee.to_string(),
                    terms.rate.to_string(),
                    terms.unit.to_string(),
                    terms.increments.clone(),
                    terms.first_rate.map(|rate| rate.to_string()).unwrap_or_default(),
                    rounding_mode.to_owned(),
                    rounding_decimals.to_owned(),
                    max_cost.map(|cost| cost.to_string()).unwrap_or_default(),
                ],
            )));
        }
    }
    Ok(table)
}

fn read_tier(rates: &PlanFile, line: u64, cells: &[String]) -> Result<Tier, Fault> {
    let cell = |at: usize| cells.get(at).map_or("", String::as_str);
    let names = ["Id", "ConnectFee", "Rate", "RateUnit", "RateIncrement", "GroupIntervalStart"];
    let decimal = |at: usize| {
        reckon_import::parse_decimal(cell(at))
            .filter(|value| !value.is_sign_negative())
            .ok_or_else(|| rates.error(line, at, names[at], cell(at), EXPECTED_DECIMAL))
    };
    let duration = |at: usize| {
        go_duration_seconds(cell(at)).ok_or_else(|| rates.error(line, at, names[at], cell(at), EXPECTED_DURATION))
    };
    let tier = Tier {
        line,
        connect_fee: decimal(1)?,
        rate: decimal(2)?,
        unit: duration(3)?,
        increment: duration(4)?,
        start: duration(5)?,
    };
    if tier.unit.is_zero() {
        return Err(rates.error(line, 3, names[3], cell(3), "a rate unit above 0s"));
    }
    if tier.increment.is_zero() {
        return Err(rates.error(line, 4, names[4], cell(4), "an increment above 0s"));
    }
    Ok(tier)
}

/// The `rates.csv` terms of a rate's tiers, or why they have none.
fn terms(rates: &PlanFile, tiers: &[Tier]) -> Result<Terms, Fault> {
    let mut tiers = tiers.to_vec();
    tiers.sort_by_key(|tier| tier.start);
    let refuse = |tier: &Tier, at: usize, name: &str, value: String, why: &str| {
        rates.error(tier.line, at, name, &value, &format!("{why} (rates.csv cannot express it: not converted)"))
    };
    let first = &tiers[0];
    if !first.start.is_zero() {
        return Err(refuse(first, 5, "GroupIntervalStart", format!("{}s", first.start), "a first tier from 0s"));
    }
    match tiers.as_slice() {
        [only] => Ok(Terms {
            connect_fee: only.connect_fee,
            rate: only.rate,
            unit: only.unit,
            increments: format!("{}/{}", only.increment, only.increment),
            first_rate: None,
        }),
        [first, second] => {
            if first.increment != second.start {
                return Err(refuse(
                    first,
                    4,
                    "RateIncrement",
                    format!("{}s", first.increment),
                    &format!("a first tier stepping by the second tier's start ({}s)", second.start),
                ));
            }
            if first.unit != second.unit {
                return Err(refuse(
                    second,
                    3,
                    "RateUnit",
                    format!("{}s", second.unit),
                    "tiers priced per the same rate unit",
                ));
            }
            if first.connect_fee != second.connect_fee {
                return Err(refuse(
                    second,
                    1,
                    "ConnectFee",
                    second.connect_fee.to_string(),
                    "tiers with the same connect fee",
                ));
            }
            Ok(Terms {
                connect_fee: first.connect_fee,
                rate: second.rate,
                unit: second.unit,
                increments: format!("{}/{}", second.start, second.increment),
                first_rate: (first.rate != second.rate).then_some(first.rate),
            })
        }
        [_, _, third, ..] => {
            Err(refuse(third, 5, "GroupIntervalStart", format!("{}s", third.start), "at most two tiers"))
        }
        [] => unreachable!("a rate has at least one tier"),
    }
}

/// `RoundingMethod` and `RoundingDecimals` as `rounding_mode` and `rounding_decimals` (both empty
/// when neither is given); an error names the column (its index and name) and what it expects.
fn rounding<'a>(
    method: &str,
    decimals: &'a str,
) -> Result<(&'static str, &'a str), (usize, &'static str, &'static str)> {
    if method.is_empty() && decimals.is_empty() {
        return Ok(("", ""));
    }
    let mode = match method {
        "*up" => "up",
        "*middle" => "half_up",
        "*down" => "down",
        _ => return Err((3, "RoundingMethod", "*up, *middle or *down")),
    };
    match decimals.parse::<u8>() {
        Ok(places) if places <= 12 => Ok((mode, decimals)),
        _ => Err((4, "RoundingDecimals", "a number of decimal places from 0 to 12")),
    }
}

/// A Go duration (`60s`, `1m`, `1m30s`, `500ms`, `0`) in seconds.
fn go_duration_seconds(text: &str) -> Option<Decimal> {
    if text == "0" {
        return Some(Decimal::ZERO);
    }
    let mut rest = text;
    let mut total = Decimal::ZERO;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let digits = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if digits == 0 {
            return None;
        }
        let value = reckon_import::parse_decimal(&rest[..digits])?;
        rest = &rest[digits..];
        let unit_length = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let per_second = match &rest[..unit_length] {
            "h" => Decimal::from(3600),
            "m" => Decimal::from(60),
            "s" => Decimal::ONE,
            "ms" => Decimal::new(1, 3),
            _ => return None,
        };
        rest = &rest[unit_length..];
        total = total.checked_add(value.checked_mul(per_second)?)?;
    }
    Some(total.normalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_in_seconds() {
        assert_eq!(go_duration_seconds("60s"), Some(Decimal::from(60)));
        assert_eq!(go_duration_seconds("1m"), Some(Decimal::from(60)));
        assert_eq!(go_duration_seconds("1m30s"), Some(Decimal::from(90)));
        assert_eq!(go_duration_seconds("500ms"), Some(Decimal::new(5, 1)));
        assert_eq!(go_duration_seconds("0s"), Some(Decimal::ZERO));
        assert_eq!(go_duration_seconds("0"), Some(Decimal::ZERO));
        for bad in ["", "60", "s", "1x", "-1s"] {
            assert_eq!(go_duration_seconds(bad), None, "{bad}");
        }
    }
}
