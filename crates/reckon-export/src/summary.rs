//! The run summary: `summary.json` for machines and a table for people.

use crate::plain_decimal;
use reckon_core::summary::{GroupTotals, ReportTotals, Summary};
use reckon_core::DiscrepancyKind;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a run read and set aside, reported beside the totals.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunCounts {
    /// The currency the summary also shows amounts in.
    #[serde(skip)]
    pub report_currency: Option<reckon_core::Currency>,
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
    /// The amounts in the report currency, or why they could not be converted.
    #[serde(skip_serializing_if = "Option::is_none")]
    report: Option<ReportJson>,
}

#[derive(Serialize)]
struct ReportJson {
    currency: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    billed_total: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_total: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    overbilled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    underbilled: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

fn report_json(
    report: &Option<Result<ReportTotals, reckon_core::fx::FxError>>,
    currency: Option<reckon_core::Currency>,
) -> Option<ReportJson> {
    let currency = currency?.to_string();
    Some(match report {
        Some(Ok(totals)) => ReportJson {
            currency,
            billed_total: Some(plain_decimal(totals.billed_total)),
            expected_total: Some(plain_decimal(totals.expected_total)),
            overbilled: Some(plain_decimal(totals.overbilled)),
            underbilled: Some(plain_decimal(totals.underbilled)),
            error: None,
        },
        Some(Err(error)) => ReportJson {
            currency,
            billed_total: None,
            expected_total: None,
            overbilled: None,
            underbilled: None,
            error: Some(error.to_string()),
        },
        None => return None,
    })
}

/// Every itemised kind, and the contract-charge kinds found (a run without charges reads as it
/// always did).
fn kind_map(
    counts: &[u64; DiscrepancyKind::ALL.len()],
    charge_counts: &[u64; DiscrepancyKind::CHARGES.len()],
) -> BTreeMap<&'static str, u64> {
    let charges = DiscrepancyKind::CHARGES.iter().zip(charge_counts).filter(|(_, count)| **count > 0);
    DiscrepancyKind::ALL.iter().zip(counts).chain(charges).map(|(kind, count)| (kind.as_str(), *count)).collect()
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
            discrepancies: kind_map(&totals.kind_counts, &totals.charge_kind_counts),
            report: report_json(
                &totals.report,
                totals.report.as_ref().map(|report| match report {
                    Ok(totals) => totals.currency,
                    Err(_) => counts.report_currency.unwrap_or(reckon_core::Currency::EUR),
                }),
            ),
        })
        .collect();
    let json =
        SummaryJson { counts, discrepancies: kind_map(&summary.kind_counts(), &summary.charge_kind_counts()), groups };
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
    let charge_kinds_present: Vec<usize> = (0..DiscrepancyKind::CHARGES.len())
        .filter(|index| summary.groups.values().any(|totals| totals.charge_kind_counts[*index] > 0))
        .collect();
    header.extend(charge_kinds_present.iter().map(|index| short_label(DiscrepancyKind::CHARGES[*index]).to_owned()));
    let mut rows = vec![header];
    for (key, totals) in &summary.groups {
        let mut cells =
            group_cells(&key.carrier, key.invoice_id.as_deref(), key.currency.as_str(), totals, &kinds_present);
        cells.extend(charge_kinds_present.iter().map(|index| totals.charge_kind_counts[*index].to_string()));
        rows.push(cells);
    }
    let mut text = crate::table::render_aligned(&rows, 3);
    if let Some(report_currency) = counts.report_currency {
        text.push('\n');
        text.push_str(&report_table(summary, report_currency));
    }
    let _ = writeln!(
        text,
        "\n{} usage records, {} rate rows, {} invoice lines read; {} rows rejected; {} discrepancies",
        counts.usage_records,
        counts.rate_rows,
        counts.invoice_lines,
        counts.rejected_rows,
        summary.kind_counts().iter().chain(&summary.charge_kind_counts()).sum::<u64>(),
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
        DiscrepancyKind::UndeliveredCharge => "undelivered",
        DiscrepancyKind::QuantityMismatch => "quantity",
        DiscrepancyKind::CurrencyMismatch => "currency",
        DiscrepancyKind::RateMismatch => "rate",
        DiscrepancyKind::AmountMismatch => "amount",
        DiscrepancyKind::UnbilledUsage => "unbilled",
        DiscrepancyKind::SummaryUnexpectedGroup => "summary_unexpected",
        DiscrepancyKind::SummaryVolumeMismatch => "summary_volume",
        DiscrepancyKind::SummaryQuantityMismatch => "summary_quantity",
        DiscrepancyKind::SummaryRateMismatch => "summary_rate",
        DiscrepancyKind::SummaryAmountMismatch => "summary_amount",
        DiscrepancyKind::SummaryUnbilledGroup => "summary_unbilled",
        DiscrepancyKind::UnexpectedCharge => "unexpected",
        DiscrepancyKind::MissingCharge => "missing",
        DiscrepancyKind::RecurringMismatch => "recurring",
        DiscrepancyKind::ShortfallMismatch => "shortfall",
        DiscrepancyKind::RebateMissing => "rebate_missing",
        DiscrepancyKind::RebateMismatch => "rebate",
        DiscrepancyKind::TaxMismatch => "tax",
    }
}

/// The groups' amounts in the report currency, each converted at its own date.
fn report_table(summary: &Summary, report_currency: reckon_core::Currency) -> String {
    let mut rows = vec![vec![
        "carrier".to_owned(),
        "invoice".to_owned(),
        "cur".to_owned(),
        format!("billed {report_currency}"),
        format!("expected {report_currency}"),
        format!("overbilled {report_currency}"),
        format!("underbilled {report_currency}"),
    ]];
    for (key, totals) in &summary.groups {
        let mut cells = vec![
            key.carrier.to_string(),
            key.invoice_id.as_deref().unwrap_or("(unbilled)").to_owned(),
            key.currency.to_string(),
        ];
        match &totals.report {
            Some(Ok(report)) => cells.extend(
                [report.billed_total, report.expected_total, report.overbilled, report.underbilled].map(plain_decimal),
            ),
            Some(Err(error)) => cells.extend(["n/a".to_owned(), String::new(), String::new(), format!("({error})")]),
            None => continue,
        }
        rows.push(cells);
    }
    crate::table::render_aligned(&rows, 3)
}
