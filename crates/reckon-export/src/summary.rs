//! The run summary: `summary.json` for machines and a table for people.

use crate::plain_decimal;
use reckon_core::summary::{GroupTotals, Summary};
use reckon_core::DiscrepancyKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a run read and set aside, reported beside the totals.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunCounts {
    pub usage_records: u64,
    pub rate_rows: u64,
    pub invoice_lines: u64,
    pub rejected_rows: u64,
}

/// `summary.json`: counts, then one entry per carrier, invoice and currency.
#[derive(Serialize)]
struct SummaryJson<'a> {
    counts: &'a RunCounts,
    discrepancies: BTreeMap<&'static str, u64>,
    groups: Vec<GroupJson<'a>>,
}

#[derive(Serialize)]
struct GroupJson<'a> {
    carrier: &'a str,
    /// `null` for the carrier's unbilled usage.
    invoice_id: Option<&'a str>,
    currency: &'a str,
    lines_billed: u64,
    lines_matched: u64,
    billed_total: String,
    expected_total: String,
    unverified_total: String,
    overbilled: String,
    underbilled: String,
    discrepancies: BTreeMap<&'static str, u64>,
}

fn kind_map(counts: &[u64; DiscrepancyKind::ALL.len()]) -> BTreeMap<&'static str, u64> {
    DiscrepancyKind::ALL.iter().zip(counts).map(|(kind, count)| (kind.as_str(), *count)).collect()
}

/// Renders `summary.json`.
pub fn summary_json(summary: &Summary, counts: &RunCounts) -> String {
    let groups = summary
        .groups
        .iter()
        .map(|(key, totals)| GroupJson {
            carrier: &key.carrier,
            invoice_id: key.invoice_id.as_deref(),
            currency: key.currency.as_str(),
            lines_billed: totals.lines_billed,
            lines_matched: totals.lines_matched,
            billed_total: plain_decimal(totals.billed_total),
            expected_total: plain_decimal(totals.expected_total),
            unverified_total: plain_decimal(totals.unverified_total),
            overbilled: plain_decimal(totals.overbilled),
            underbilled: plain_decimal(totals.underbilled),
            discrepancies: kind_map(&totals.kind_counts),
        })
        .collect();
    let json = SummaryJson { counts, discrepancies: kind_map(&summary.kind_counts()), groups };
    let mut text = serde_json::to_string_pretty(&json).expect("summary serialises");
    text.push('\n');
    text
}

/// Renders the summary as an aligned text table, one row per carrier, invoice and currency.
pub fn summary_table(summary: &Summary, counts: &RunCounts) -> String {
    let kinds_present: Vec<usize> = (0..DiscrepancyKind::ALL.len())
        .filter(|index| summary.groups.values().any(|totals| totals.kind_counts[*index] > 0))
        .collect();
    let mut header = vec![
        "carrier".to_owned(),
        "invoice".to_owned(),
        "cur".to_owned(),
        "lines".to_owned(),
        "matched".to_owned(),
        "billed".to_owned(),
        "expected".to_owned(),
        "overbilled".to_owned(),
        "underbilled".to_owned(),
    ];
    header.extend(kinds_present.iter().map(|index| short_label(DiscrepancyKind::ALL[*index]).to_owned()));
    let mut rows = vec![header];
    for (key, totals) in &summary.groups {
        rows.push(group_cells(&key.carrier, key.invoice_id.as_deref(), key.currency.as_str(), totals, &kinds_present));
    }
    let mut text = crate::table::render_aligned(&rows, 3);
    let _ = writeln!(
        text,
        "\n{} usage records, {} rate rows, {} invoice lines read; {} rows rejected; {} discrepancies",
        counts.usage_records,
        counts.rate_rows,
        counts.invoice_lines,
        counts.rejected_rows,
        summary.kind_counts().iter().sum::<u64>(),
    );
    text
}

fn group_cells(
    carrier: &str,
    invoice_id: Option<&str>,
    currency: &str,
    totals: &GroupTotals,
    kinds: &[usize],
) -> Vec<String> {
    let mut cells = vec![
        carrier.to_owned(),
        invoice_id.unwrap_or("(unbilled)").to_owned(),
        currency.to_owned(),
        totals.lines_billed.to_string(),
        totals.lines_matched.to_string(),
        plain_decimal(totals.billed_total),
        plain_decimal(totals.expected_total),
        plain_decimal(totals.overbilled),
        plain_decimal(totals.underbilled),
    ];
    cells.extend(kinds.iter().map(|index| totals.kind_counts[*index].to_string()));
    cells
}

/// A kind's column header in the table: its name without the `_charge`/`_mismatch`/`_usage`
/// suffix (the full names are in the CSV and JSON).
fn short_label(kind: DiscrepancyKind) -> &'static str {
    match kind {
        DiscrepancyKind::UnmatchedCharge => "unmatched",
        DiscrepancyKind::DuplicateCharge => "duplicate",
        DiscrepancyKind::NoRate => "no_rate",
        DiscrepancyKind::QuantityMismatch => "quantity",
        DiscrepancyKind::CurrencyMismatch => "currency",
        DiscrepancyKind::RateMismatch => "rate",
        DiscrepancyKind::AmountMismatch => "amount",
        DiscrepancyKind::UnbilledUsage => "unbilled",
    }
}
