//! `invoice-summary.csv`: a carrier's summary invoice, one row per destination group of a period
//! (FORMATS.md, "invoice-summary.csv"): `carrier,invoice_id,invoice_date,line_id,period_start,
//! period_end,service,prefix,destination_name,calls,quantity,minutes,rate,amount,currency`.
//!
//! Summary invoices are small (a row per destination), so they are read whole.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::names::Names;
use crate::{BadRowPolicy, Loaded, Position, Progress};
use reckon_core::summary_invoice::SummaryLine;
use reckon_core::{bounds, Service};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::PathBuf;

const COLUMNS: [ColumnSpec; 15] = [
    ColumnSpec { name: "carrier", required: true },
    ColumnSpec { name: "invoice_id", required: true },
    ColumnSpec { name: "invoice_date", required: false },
    ColumnSpec { name: "line_id", required: false },
    ColumnSpec { name: "period_start", required: true },
    ColumnSpec { name: "period_end", required: true },
    ColumnSpec { name: "service", required: true },
    ColumnSpec { name: "prefix", required: false },
    ColumnSpec { name: "destination_name", required: false },
    ColumnSpec { name: "calls", required: false },
    ColumnSpec { name: "quantity", required: false },
    ColumnSpec { name: "minutes", required: false },
    ColumnSpec { name: "rate", required: false },
    ColumnSpec { name: "amount", required: true },
    ColumnSpec { name: "currency", required: true },
];

/// The most calls one summary line may count: far beyond any month of traffic, and within what
/// the ledger's 64-bit integers and exact totals hold.
pub const SUMMARY_CALLS_MAX: u64 = 1_000_000_000_000;

/// Loads the summary invoices of a run, lines in file order (files in the order given).
///
/// # Errors
/// A file-level error, or under [`BadRowPolicy::Fail`] the first bad row: a value that does not
/// parse or is past its bound, a row with neither `quantity` nor `minutes` (or both), minutes
/// for a service not counted in seconds, a period that ends before it starts, a row naming
/// neither a prefix nor a destination, or a `(carrier, invoice_id, line_id)` that repeats.
pub fn load_invoice_summaries(
    paths: &[PathBuf],
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<Loaded<SummaryLine>, ImportError> {
    let mut loaded = Loaded::default();
    let mut names = Names::default();
    let mut seen: HashMap<(String, String, String), Position> = HashMap::new();
    for (file_index, path) in paths.iter().enumerate() {
        let mut table = CsvTable::open(path)?;
        let columns = table.resolve(COLUMNS)?;
        let file_index = u32::try_from(file_index).expect("fewer than 2^32 files");
        while let Some(row) = table.next_row(progress)? {
            let outcome = row.and_then(|row| {
                let line = parse_line(&row, &columns, &mut names)?;
                let position = Position { file_index, line_number: row.line_number };
                let key = (line.carrier.to_string(), line.invoice_id.to_string(), line.line_id.to_string());
                if let Some(first) = seen.get(&key) {
                    return Err(repeated_line(paths, &key, position, *first));
                }
                seen.insert(key, position);
                Ok((line, position))
            });
            match outcome {
                Ok((line, position)) => {
                    loaded.items.push(line);
                    loaded.positions.push(position);
                }
                Err(error) => match policy {
                    BadRowPolicy::Fail => return Err(error),
                    BadRowPolicy::Quarantine => loaded.rejected.push(error.to_rejection()),
                },
            }
        }
    }
    Ok(loaded)
}

fn parse_line(row: &Row<'_>, columns: &[Option<usize>; 15], names: &mut Names) -> Result<SummaryLine, ImportError> {
    let [carrier, invoice_id, invoice_date, line_id, period_start, period_end, service, prefix, destination_name, calls, quantity, minutes, rate, amount, currency] =
        *columns;
    let service_value = row.service(service)?;
    let start = required_date(row, period_start)?;
    let end = required_date(row, period_end)?;
    if end < start {
        let text = row.required(period_end)?;
        return Err(row.invalid(period_end, text, &format!("a last day on or after period_start ({start})")));
    }
    let prefix = match row.get(prefix) {
        None => None,
        Some(text) => {
            let digits = text.strip_prefix('+').unwrap_or(text);
            if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(row.invalid(prefix, text, "a dial-code prefix of digits only, like 447"));
            }
            Some(digits.to_owned())
        }
    };
    let destination_name = row.optional_text(destination_name);
    let line_id = match (row.optional_id(line_id), &prefix, &destination_name) {
        (Some(id), _, _) => id,
        (None, Some(prefix), _) => prefix.as_str().into(),
        (None, None, Some(name)) => name.as_str().into(),
        (None, None, None) => {
            return Err(row.error(
                None,
                ImportErrorKind::Rule("the row names neither a prefix nor a destination_name: one is needed".into()),
            ))
        }
    };
    Ok(SummaryLine {
        carrier: row.name(carrier, names)?,
        invoice_id: row.name(invoice_id, names)?,
        invoice_date: row.optional_date(invoice_date)?,
        line_id,
        period_start: start,
        period_end: end,
        service: service_value,
        prefix,
        destination_name,
        calls: calls_of(row, calls)?,
        quantity: billed_quantity(row, service_value, quantity, minutes)?,
        rate: row.optional_bounded_decimal(rate, bounds::check_rate)?,
        amount: row.bounded_decimal(amount, bounds::check_amount)?,
        currency: row.currency(currency)?,
    })
}

fn required_date(row: &Row<'_>, column: Option<usize>) -> Result<jiff::civil::Date, ImportError> {
    match row.optional_date(column)? {
        Some(date) => Ok(date),
        None => Err(row.error(column, ImportErrorKind::MissingValue)),
    }
}

fn calls_of(row: &Row<'_>, column: Option<usize>) -> Result<Option<u64>, ImportError> {
    let Some(text) = row.get(column) else {
        return Ok(None);
    };
    text.parse::<u64>()
        .ok()
        .filter(|calls| *calls <= SUMMARY_CALLS_MAX)
        .map(Some)
        .ok_or_else(|| row.invalid(column, text, "a whole number of calls from 0 to 10^12"))
}

/// The billed quantity in base units: `quantity` as given, or `minutes` times 60 for a service
/// counted in seconds (voice, video). Exactly one of the two.
fn billed_quantity(
    row: &Row<'_>,
    service: Service,
    quantity: Option<usize>,
    minutes: Option<usize>,
) -> Result<Decimal, ImportError> {
    match (row.get(quantity), row.get(minutes)) {
        (Some(_), None) => row.bounded_decimal(quantity, bounds::check_quantity),
        (None, Some(text)) => {
            if !matches!(service, Service::Voice | Service::Video) {
                return Err(row.error(
                    minutes,
                    ImportErrorKind::Rule(format!(
                        "minutes are for services counted in seconds (voice, video): give {service} as quantity, in its base unit"
                    )),
                ));
            }
            let minutes_value = row.bounded_decimal(minutes, bounds::check_quantity)?;
            let seconds = minutes_value.checked_mul(Decimal::from(60)).unwrap_or(Decimal::MAX);
            bounds::check_quantity(seconds)
                .map_err(|expected| row.invalid(minutes, text, &format!("minutes whose seconds are {expected}")))
        }
        (Some(_), Some(_)) => Err(row.error(
            minutes,
            ImportErrorKind::Rule("give the billed quantity once: quantity (base units) or minutes, not both".into()),
        )),
        (None, None) => Err(row.error(
            quantity,
            ImportErrorKind::Rule("the billed quantity is missing: give quantity (base units) or minutes".into()),
        )),
    }
}

fn repeated_line(
    paths: &[PathBuf],
    key: &(String, String, String),
    position: Position,
    first: Position,
) -> ImportError {
    let (carrier, invoice_id, line_id) = key;
    ImportErrorDetail {
        path: paths[position.file_index as usize].clone(),
        line_number: Some(position.line_number),
        column: None,
        kind: ImportErrorKind::Repeated {
            what: format!("line {line_id:?} of summary invoice {invoice_id:?} of carrier {carrier:?}"),
            first_path: paths[first.file_index as usize].display().to_string(),
            first_line: first.line_number,
        },
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::NoProgress;

    fn load(text: &str, policy: BadRowPolicy) -> Result<Loaded<SummaryLine>, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("invoice-summary.csv");
        std::fs::write(&path, text).unwrap();
        load_invoice_summaries(&[path], policy, &mut NoProgress)
    }

    const HEADER: &str = "invoice_id,carrier,period_start,period_end,service,destination_name,prefix,calls,minutes,rate,amount,currency\n";

    #[test]
    fn reads_minutes_as_seconds_and_names_lines_by_their_group() {
        let text = format!(
            "{HEADER}INV-0311,acme,2026-03-01,2026-03-31,voice,United Kingdom - Mobile,447,1843,5210.40,0.0120,62.5248,USD\n\
             INV-0311,acme,2026-03-01,2026-03-31,voice,France - Mobile,,412,901.20,0.0350,31.5420,usd\n"
        );
        let lines = load(&text, BadRowPolicy::Fail).unwrap().items;
        assert_eq!(lines.len(), 2);
        // 5210.40 minutes are 312624 seconds.
        assert_eq!(lines[0].quantity.normalize().to_string(), "312624");
        assert_eq!(
            (lines[0].line_id.as_str(), lines[0].prefix.as_deref(), lines[0].calls),
            ("447", Some("447"), Some(1843))
        );
        assert_eq!((lines[1].line_id.as_str(), lines[1].prefix.as_deref()), ("France - Mobile", None));
        assert_eq!(lines[1].currency.as_str(), "USD");
        assert_eq!(lines[1].period_end.to_string(), "2026-03-31");
    }

    #[test]
    fn bad_rows_name_file_line_column_and_what_was_expected() {
        let cases = [
            ("INV,acme,2026-03-01,2026-02-28,voice,UK,447,1,1,,1,USD", "invoice-summary.csv:2:4: column \"period_end\": \"2026-02-28\" is not a last day on or after period_start (2026-03-01)"),
            ("INV,acme,2026-03-01,2026-03-31,voice,UK,44x,1,1,,1,USD", "invoice-summary.csv:2:7: column \"prefix\": \"44x\" is not a dial-code prefix of digits only, like 447"),
            ("INV,acme,2026-03-01,2026-03-31,voice,UK,447,-3,1,,1,USD", "invoice-summary.csv:2:8: column \"calls\": \"-3\" is not a whole number of calls from 0 to 10^12"),
            ("INV,acme,2026-03-01,2026-03-31,sms,UK,447,1,1,,1,USD", "invoice-summary.csv:2:9: column \"minutes\": minutes are for services counted in seconds (voice, video): give sms as quantity"),
            ("INV,acme,2026-03-01,2026-03-31,voice,,,1,1,,1,USD", "invoice-summary.csv:2: the row names neither a prefix nor a destination_name"),
            ("INV,acme,2026-03-01,2026-03-31,voice,UK,447,1,,,1,USD", "invoice-summary.csv:2: the billed quantity is missing"),
        ];
        for (row, expected) in cases {
            let error = load(&format!("{HEADER}{row}\n"), BadRowPolicy::Fail).unwrap_err().to_string();
            assert!(error.contains(expected), "{row}: {error}");
        }
    }

    #[test]
    fn a_repeated_line_is_refused_or_set_aside() {
        let row = "INV,acme,2026-03-01,2026-03-31,voice,UK,447,1,1,0.01,0.01,USD\n";
        let text = format!("{HEADER}{row}{row}");
        let error = load(&text, BadRowPolicy::Fail).unwrap_err().to_string();
        assert!(
            error.contains("invoice-summary.csv:3: line \"447\" of summary invoice \"INV\" of carrier \"acme\""),
            "{error}"
        );
        let loaded = load(&text, BadRowPolicy::Quarantine).unwrap();
        assert_eq!((loaded.items.len(), loaded.rejected.len()), (1, 1));
        assert_eq!(loaded.rejected[0].line_number, 3);
    }
}
