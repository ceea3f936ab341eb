//! `discrepancies.csv`: one row per discrepancy, in the order FORMATS.md fixes.

use crate::plain_decimal;
use reckon_core::Discrepancy;
use std::io::Write;

/// The header of `discrepancies.csv`.
pub const COLUMNS: [&str; 14] = [
    "carrier",
    "invoice_id",
    "line_id",
    "record_id",
    "kind",
    "service",
    "destination",
    "started_at",
    "billed_quantity",
    "expected_quantity",
    "billed_amount",
    "expected_amount",
    "difference",
    "currency",
];

/// Writes the rows (already in report order) with their header.
///
/// # Errors
/// When the writer fails.
pub fn write_discrepancies<W: Write>(writer: W, discrepancies: &[Discrepancy]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(COLUMNS)?;
    for discrepancy in discrepancies {
        csv_writer.write_record(discrepancy_fields(discrepancy))?;
    }
    csv_writer.flush()?;
    Ok(())
}

/// A discrepancy's fields in [`COLUMNS`] order, as `discrepancies.csv` writes them (empty:
/// no value).
pub fn discrepancy_fields(discrepancy: &Discrepancy) -> [String; 14] {
    let optional = |value: Option<rust_decimal::Decimal>| value.map(plain_decimal).unwrap_or_default();
    [
        discrepancy.carrier.to_string(),
        discrepancy.invoice_id.as_deref().unwrap_or("").to_owned(),
        discrepancy.line_id.as_deref().unwrap_or("").to_owned(),
        discrepancy.record_id.as_deref().unwrap_or("").to_owned(),
        discrepancy.kind.as_str().to_owned(),
        discrepancy.service.as_str().to_owned(),
        discrepancy.destination.clone(),
        discrepancy.started_at.to_string(),
        plain_decimal(discrepancy.billed_quantity),
        optional(discrepancy.expected_quantity),
        plain_decimal(discrepancy.billed_amount),
        optional(discrepancy.expected_amount),
        optional(discrepancy.difference),
        discrepancy.currency.as_str().to_owned(),
    ]
}
