//! The evidence file a carrier receives for a dispute.

use crate::plain_decimal;
use reckon_core::dispute::EvidenceRow;
use std::io::Write;

/// Writes the evidence of a dispute: per disputed line, the carrier's line, our record, the
/// expected and billed figures, the claim and the reason.
///
/// # Errors
/// When the writer fails.
pub fn write_evidence<W: Write>(writer: W, rows: &[EvidenceRow]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record([
        "line_id",
        "kind",
        "service",
        "destination",
        "billed_started_at",
        "billed_quantity",
        "billed_amount",
        "our_record_id",
        "our_started_at",
        "our_quantity",
        "expected_quantity",
        "expected_amount",
        "claimed",
        "currency",
        "reason",
    ])?;
    let optional = |value: Option<reckon_core::Decimal>| value.map(plain_decimal).unwrap_or_default();
    for row in rows {
        csv_writer.write_record([
            row.line_id.as_str(),
            row.kind.as_str(),
            &row.service,
            &row.destination,
            &row.billed_started_at.to_string(),
            &plain_decimal(row.billed_quantity),
            &plain_decimal(row.billed_amount),
            row.record_id.as_deref().unwrap_or(""),
            &row.our_started_at.map(|at| at.to_string()).unwrap_or_default(),
            &optional(row.our_quantity),
            &optional(row.expected_quantity),
            &plain_decimal(row.expected_amount),
            &plain_decimal(row.claimed),
            &row.currency,
            &row.reason,
        ])?;
    }
    csv_writer.flush()?;
    Ok(())
}
