//! The reports of a summary reconciliation (FORMATS.md, "Summary invoices"):
//! `summary-groups.csv` (every group, both sides), `summary-evidence.csv` (our figures per day
//! for the groups that differ) and `summary-detail.csv` (the records of a group).

use crate::plain_decimal;
use reckon_core::rating::Rating;
use reckon_core::summary_invoice::GroupComparison;
use reckon_core::UsageRecord;
use std::io::Write;

/// The header of `summary-groups.csv`.
pub const GROUP_COLUMNS: [&str; 17] = [
    "carrier",
    "invoice_id",
    "line_id",
    "service",
    "group",
    "kind",
    "billed_calls",
    "expected_calls",
    "billed_quantity",
    "expected_quantity",
    "billed_rate",
    "expected_rate",
    "billed_amount",
    "expected_amount",
    "difference",
    "currency",
    "period_start",
];

fn optional(value: Option<rust_decimal::Decimal>) -> String {
    value.map(plain_decimal).unwrap_or_default()
}

/// Writes every group compared, lines first (in file order), then the unbilled groups.
///
/// # Errors
/// When the writer fails.
pub fn write_group_comparisons<W: Write>(writer: W, groups: &[GroupComparison]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(GROUP_COLUMNS)?;
    for group in groups {
        let billed = group.billed.as_ref();
        csv_writer.write_record([
            group.carrier.to_string(),
            group.invoice_id.to_string(),
            group.line_id.as_deref().unwrap_or("").to_owned(),
            group.service.as_str().to_owned(),
            group.group.clone(),
            group.kind.map(|kind| kind.as_str().to_owned()).unwrap_or_default(),
            billed.and_then(|billed| billed.calls).map(|calls| calls.to_string()).unwrap_or_default(),
            group.expected.calls.to_string(),
            billed.map(|billed| plain_decimal(billed.quantity)).unwrap_or_default(),
            plain_decimal(group.expected.quantity),
            optional(billed.and_then(|billed| billed.rate)),
            optional(group.expected.rate),
            billed.map(|billed| plain_decimal(billed.amount)).unwrap_or_default(),
            optional(group.expected.amount),
            optional(group.difference()),
            group.currency.as_str().to_owned(),
            group.period_start.to_string(),
        ])?;
    }
    csv_writer.flush()?;
    Ok(())
}

/// The header of `summary-evidence.csv`.
pub const EVIDENCE_COLUMNS: [&str; 10] =
    ["carrier", "invoice_id", "line_id", "group", "kind", "date", "calls", "quantity", "expected_amount", "currency"];

/// Writes our figures per UTC day for every group that differs (a kind other than none), in
/// the groups' order.
///
/// # Errors
/// When the writer fails, or a day's total overflows.
pub fn write_day_evidence<W: Write>(
    writer: W,
    groups: &[GroupComparison],
    usage: &[UsageRecord],
    ratings: &[Option<Rating>],
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(EVIDENCE_COLUMNS)?;
    for group in groups {
        let Some(kind) = group.kind else { continue };
        for day in group.evidence_by_day(usage, ratings)? {
            csv_writer.write_record([
                group.carrier.to_string(),
                group.invoice_id.to_string(),
                group.line_id.as_deref().unwrap_or("").to_owned(),
                group.group.clone(),
                kind.as_str().to_owned(),
                day.date.to_string(),
                day.calls.to_string(),
                plain_decimal(day.quantity),
                optional(day.expected_amount),
                group.currency.as_str().to_owned(),
            ])?;
        }
    }
    csv_writer.flush()?;
    Ok(())
}

/// The header of `summary-detail.csv`.
pub const DETAIL_COLUMNS: [&str; 13] = [
    "carrier",
    "invoice_id",
    "line_id",
    "group",
    "record_id",
    "started_at",
    "destination",
    "quantity",
    "billed_quantity",
    "rate",
    "cost",
    "expected_amount",
    "currency",
];

/// Writes the records of the groups given, in usage order within each: what a carrier asks for
/// once the days that differ are known. `cost` is in the deck's currency, `expected_amount` in
/// the group's.
///
/// # Errors
/// When the writer fails.
pub fn write_group_records<W: Write>(
    writer: W,
    groups: &[&GroupComparison],
    usage: &[UsageRecord],
    ratings: &[Option<Rating>],
) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(DETAIL_COLUMNS)?;
    for group in groups {
        for (index, expected) in &group.records {
            let (record, rating) = (&usage[*index], ratings[*index].as_ref());
            csv_writer.write_record([
                group.carrier.to_string(),
                group.invoice_id.to_string(),
                group.line_id.as_deref().unwrap_or("").to_owned(),
                group.group.clone(),
                record.record_id.to_string(),
                record.started_at.to_string(),
                record.destination.digits().to_owned(),
                plain_decimal(record.quantity),
                optional(rating.map(|rating| rating.billed_quantity)),
                optional(rating.map(|rating| rating.rate)),
                optional(rating.map(|rating| rating.cost)),
                optional(*expected),
                group.currency.as_str().to_owned(),
            ])?;
        }
    }
    csv_writer.flush()?;
    Ok(())
}
