//! `invoice.csv`: a carrier's itemised invoice, one line per billed record.

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::names::Names;
use crate::{repeated_keys, BadRowPolicy, Loaded, Position, Progress};
use reckon_core::InvoiceLine;
use std::path::PathBuf;

/// Loads the invoices of a run, in the order given, lines in file order.
///
/// # Errors
/// A file-level error, or under [`BadRowPolicy::Fail`] the first bad row: a value that does not
/// parse, an unknown service, or a `(carrier, invoice_id, line_id)` that repeats across the
/// files.
pub fn load_invoices(
    paths: &[PathBuf],
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<Loaded<InvoiceLine>, ImportError> {
    let mut loaded = Loaded::default();
    let mut names = Names::default();
    for (file_index, path) in paths.iter().enumerate() {
        let mut table = CsvTable::open(path)?;
        let [carrier, invoice_id, invoice_date, line_id, carrier_ref, service, started_at, destination, quantity, rate, amount, currency] =
            table.resolve([
                ColumnSpec {
                    name: "carrier",
                    required: true,
                },
                ColumnSpec {
                    name: "invoice_id",
                    required: true,
                },
                ColumnSpec {
                    name: "invoice_date",
                    required: false,
                },
                ColumnSpec {
                    name: "line_id",
                    required: true,
                },
                ColumnSpec {
                    name: "carrier_ref",
                    required: false,
                },
                ColumnSpec {
                    name: "service",
                    required: true,
                },
                ColumnSpec {
                    name: "started_at",
                    required: true,
                },
                ColumnSpec {
                    name: "destination",
                    required: true,
                },
                ColumnSpec {
                    name: "quantity",
                    required: true,
                },
                ColumnSpec {
                    name: "rate",
                    required: false,
                },
                ColumnSpec {
                    name: "amount",
                    required: true,
                },
                ColumnSpec {
                    name: "currency",
                    required: true,
                },
            ])?;
        while let Some(row) = table.next_row(progress)? {
            let row = match row {
                Ok(row) => row,
                Err(error) => {
                    loaded.reject(error, policy)?;
                    continue;
                }
            };
            let position = Position {
                file_index: u32::try_from(file_index).expect("fewer than 2^32 files"),
                line_number: row.line_number,
            };
            let line = (|| {
                Ok(InvoiceLine {
                    carrier: row.name(carrier, &mut names)?,
                    invoice_id: row.name(invoice_id, &mut names)?,
                    invoice_date: row.optional_date(invoice_date)?,
                    line_id: row.id(line_id)?,
                    carrier_ref: row.optional_id(carrier_ref),
                    service: row.service(service)?,
                    started_at: row.timestamp(started_at)?,
                    destination: row.destination(destination)?,
                    quantity: row.decimal(quantity)?,
                    rate: row.optional_decimal(rate)?,
                    amount: row.decimal(amount)?,
                    currency: row.currency(currency)?,
                })
            })();
            loaded.accept(line, position, policy)?;
        }
    }
    reject_repeated_lines(paths, &mut loaded, policy)?;
    Ok(loaded)
}

fn reject_repeated_lines(
    paths: &[PathBuf],
    loaded: &mut Loaded<InvoiceLine>,
    policy: BadRowPolicy,
) -> Result<(), ImportError> {
    let repeats = repeated_keys(&loaded.items, |line| {
        (&*line.carrier, &*line.invoice_id, &*line.line_id)
    });
    let mut repeat_indexes = Vec::with_capacity(repeats.len());
    for (first, repeat) in repeats {
        let line = &loaded.items[repeat];
        let first_position = loaded.positions[first];
        let repeat_position = loaded.positions[repeat];
        let error = ImportErrorDetail {
            path: paths[repeat_position.file_index as usize].clone(),
            line_number: Some(repeat_position.line_number),
            column: None,
            kind: ImportErrorKind::Repeated {
                what: format!(
                    "line {:?} of invoice {:?} of carrier {:?}",
                    line.line_id, line.invoice_id, line.carrier
                ),
                first_path: paths[first_position.file_index as usize]
                    .display()
                    .to_string(),
                first_line: first_position.line_number,
            },
        }
        .into();
        loaded.reject(error, policy)?;
        repeat_indexes.push(repeat);
    }
    loaded.remove_indexes(&repeat_indexes);
    Ok(())
}
