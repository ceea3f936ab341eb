//! `rates.csv`: a carrier's contracted rate deck.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorKind};
use crate::{BadRowPolicy, Progress, Rejection};
use reckon_core::rate_deck::RateDeckError;
use reckon_core::{Increments, RateDeck, RateRow};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};

/// A deck loaded from one or more files.
#[derive(Debug, Default)]
pub struct LoadedDeck {
    pub deck: RateDeck,
    /// Where each row of the deck came from: `(file index, line)`, parallel to its rows.
    pub positions: Vec<(usize, u64)>,
    pub rejected: Vec<Rejection>,
}

/// Loads rate decks into one [`RateDeck`].
///
/// # Errors
/// A file-level error, or under [`BadRowPolicy::Fail`] the first bad row: a value that does not
/// parse, a prefix that is not all digits, or a row with the carrier, service, prefix and
/// `effective_from` of an earlier one.
pub fn load_rates(
    paths: &[PathBuf],
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<LoadedDeck, ImportError> {
    let mut loaded = LoadedDeck::default();
    for file_index in 0..paths.len() {
        load_file(&mut loaded, paths, file_index, policy, progress)?;
    }
    Ok(loaded)
}

fn load_file(
    loaded: &mut LoadedDeck,
    paths: &[PathBuf],
    file_index: usize,
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<(), ImportError> {
    let path: &Path = &paths[file_index];
    let mut table = CsvTable::open(path)?;
    let columns = table.resolve([
        ColumnSpec {
            name: "carrier",
            required: true,
        },
        ColumnSpec {
            name: "service",
            required: true,
        },
        ColumnSpec {
            name: "prefix",
            required: true,
        },
        ColumnSpec {
            name: "destination_name",
            required: false,
        },
        ColumnSpec {
            name: "rate",
            required: true,
        },
        ColumnSpec {
            name: "currency",
            required: true,
        },
        ColumnSpec {
            name: "rate_unit",
            required: false,
        },
        ColumnSpec {
            name: "increments",
            required: false,
        },
        ColumnSpec {
            name: "connect_fee",
            required: false,
        },
        ColumnSpec {
            name: "min_charge",
            required: false,
        },
        ColumnSpec {
            name: "effective_from",
            required: true,
        },
        ColumnSpec {
            name: "effective_to",
            required: false,
        },
    ])?;
    while let Some(row) = table.next_row(progress)? {
        let outcome = row.and_then(|row| {
            let rate_row = parse_row(&row, &columns)?;
            let line_number = row.line_number;
            match loaded.deck.insert(rate_row) {
                Ok(_) => {
                    loaded.positions.push((file_index, line_number));
                    Ok(())
                }
                Err(error) => Err(deck_error(&row, &columns, error, paths, &loaded.positions)),
            }
        });
        if let Err(error) = outcome {
            match policy {
                BadRowPolicy::Fail => return Err(error),
                BadRowPolicy::Quarantine => loaded.rejected.push(error.to_rejection()),
            }
        }
    }
    Ok(())
}

fn parse_row(row: &Row<'_>, columns: &[Option<usize>; 12]) -> Result<RateRow, ImportError> {
    let [carrier, service, prefix, destination_name, rate, currency, rate_unit, increments, connect_fee, min_charge, effective_from, effective_to] =
        *columns;
    let service_value = row.service(service)?;
    let prefix_value = row.required(prefix)?;
    let prefix_digits = prefix_value.strip_prefix('+').unwrap_or(prefix_value);
    if !prefix_digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return Err(row.invalid(
            prefix,
            prefix_value,
            "a dial-code prefix of digits only, like 447",
        ));
    }
    let rate_value = row.decimal(rate)?;
    if rate_value.is_sign_negative() && !rate_value.is_zero() {
        return Err(row.invalid(rate, row.required(rate)?, "a rate >= 0"));
    }
    let rate_unit_value = row
        .optional_decimal(rate_unit)?
        .unwrap_or(service_value.default_rate_unit());
    if rate_unit_value <= Decimal::ZERO {
        return Err(row.invalid(rate_unit, row.required(rate_unit)?, "a rate unit > 0"));
    }
    let effective_from_value = row.timestamp(effective_from)?;
    let effective_to_value = row.optional_timestamp(effective_to)?;
    if effective_to_value.is_some_and(|to| to <= effective_from_value) {
        return Err(row.invalid(
            effective_to,
            row.required(effective_to)?,
            "an instant after effective_from",
        ));
    }
    Ok(RateRow {
        carrier: row.text(carrier)?,
        service: service_value,
        prefix: prefix_digits.to_owned(),
        destination_name: row.optional_text(destination_name),
        rate: rate_value,
        currency: row.currency(currency)?,
        rate_unit: rate_unit_value,
        increments: row
            .optional_increments(increments)?
            .unwrap_or(Increments::PER_UNIT),
        connect_fee: row.optional_decimal(connect_fee)?.unwrap_or_default(),
        min_charge: row.optional_decimal(min_charge)?.unwrap_or_default(),
        effective_from: effective_from_value,
        effective_to: effective_to_value,
    })
}

fn deck_error(
    row: &Row<'_>,
    columns: &[Option<usize>; 12],
    error: RateDeckError,
    paths: &[PathBuf],
    positions: &[(usize, u64)],
) -> ImportError {
    match error {
        RateDeckError::DuplicateRow { existing } => {
            let (file_index, first_line) = positions[existing.0 as usize];
            row.error(
                None,
                ImportErrorKind::Repeated {
                    what: "a rate row with the same carrier, service, prefix and effective_from"
                        .into(),
                    first_path: paths[file_index].display().to_string(),
                    first_line,
                },
            )
        }
        other => row.error(columns[2], ImportErrorKind::Malformed(other.to_string())),
    }
}
