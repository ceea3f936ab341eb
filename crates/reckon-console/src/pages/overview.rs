//! Overview: per carrier and period, what was billed against what was expected (the run's
//! stored summary), over- and underbilled, the disputes open and what they withhold, the
//! settlement and the last run; then the chosen month's accruals per day (cost, revenue,
//! margin), from the service's `GET /v1/accruals` code, as a chart and a table.

use super::{month, when};
use crate::html::{escape, money_cell, plain_money_cell, url_component};
use crate::session::signed_in;
use crate::{Console, PageResult};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use reckon_core::dispute::{dispute_share, DisputeState};
use reckon_core::{Currency, Decimal};
use std::collections::BTreeMap;
use std::fmt::Write;

/// A period's figures in one currency.
#[derive(Default)]
struct CurrencyFigures {
    /// `None` without lines in the currency.
    billed: Option<Decimal>,
    /// What the run expected (over its summary's groups in the currency) and what it could not
    /// check; `None` when the run kept no summary (recorded before summaries were kept).
    expected: Option<(Decimal, Decimal)>,
    expected_overflow: bool,
    over_under: Option<Option<(Decimal, Decimal)>>,
    disputes_open: u64,
    withheld: Decimal,
    /// A sum passed Decimal's range: shown as such, never as a wrong figure.
    billed_overflow: bool,
    withheld_overflow: bool,
}

/// A sum cell: the amount, or that it passed Decimal's range.
fn sum_cell(sum: Decimal, overflow: bool, currency: &str) -> String {
    if overflow {
        "<td class=\"money\">out of range</td>".to_owned()
    } else {
        plain_money_cell(sum, currency)
    }
}

#[derive(serde::Deserialize)]
pub struct OverviewQuery {
    /// The month of the accruals chart (`YYYY-MM`); by default the latest period with a run.
    month: Option<String>,
}

pub async fn page(
    State(console): State<Console>,
    headers: HeaderMap,
    query: Result<Query<OverviewQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let Query(query) = query.map_err(|rejection| crate::Refusal::BadRequest(rejection.body_text()))?;
    let periods = console.ledger.periods_with_runs().await?;
    let chart_month = match query.month.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => month("month", text)?,
        None => match periods.first() {
            Some(latest) => month("period", &latest.period)?,
            None => reckon_core::period::Month::of(reckon_core::Timestamp::now()),
        },
    };
    let mut rows = String::new();
    for period_run in &periods {
        let period = month("period", &period_run.period)?;
        let mut figures: BTreeMap<Currency, CurrencyFigures> = BTreeMap::new();
        // The run's summary as `reckon reconcile` printed it, kept with the run: billed and
        // expected side by side. A run recorded before summaries were kept adds up the
        // period's lines for what was billed.
        let summary = console.ledger.run_summary(&period_run.run_id).await?;
        if summary.is_none() {
            for line in console.ledger.invoice_lines_of_period(&period_run.carrier, period).await? {
                add_billed(figures.entry(line.currency).or_default(), line.amount);
            }
        }
        for group in summary.iter().flatten() {
            let entry = figures.entry(group.currency).or_default();
            if group.lines_billed > 0 {
                add_billed(entry, group.billed_total);
            }
            let (expected, unverified) = entry.expected.unwrap_or((Decimal::ZERO, Decimal::ZERO));
            match (expected.checked_add(group.expected_total), unverified.checked_add(group.unverified_total)) {
                (Some(expected), Some(unverified)) => entry.expected = Some((expected, unverified)),
                _ => entry.expected_overflow = true,
            }
        }
        let summary_kept = summary.is_some();
        // A large run not read yet: its amounts follow once it is (read in the background).
        let run =
            console.runs.rows_or_read_later(&console.ledger, &period_run.run_id, period_run.discrepancies).await?;
        let adding_up = run.is_none();
        if adding_up {
            console.runs.read_later(&console.ledger, &period_run.run_id);
        }
        for (currency, impact) in run.iter().flat_map(|run| run.totals.iter()) {
            figures.entry(*currency).or_default().over_under = Some(*impact);
        }
        for dispute in console.ledger.disputes_of(&period_run.carrier, &period_run.period).await? {
            let Some(currency) = Currency::parse(&dispute.currency) else { continue };
            let entry = figures.entry(currency).or_default();
            if matches!(dispute.state, DisputeState::Open | DisputeState::Submitted) {
                entry.disputes_open += 1;
            }
            let share = dispute_share(dispute.state, dispute.claimed_total, dispute.credited_total());
            match entry.withheld.checked_add(share.withheld) {
                Some(withheld) => entry.withheld = withheld,
                None => entry.withheld_overflow = true,
            }
        }
        let statement = console.ledger.latest_statement(&period_run.carrier, &period_run.period).await?;
        for (currency, figure) in &figures {
            let code = currency.as_str();
            let (over, under) = match figure.over_under {
                Some(Some((over, under))) => (money_cell(over, code), money_cell(-under, code)),
                Some(None) => ("<td>out of range</td>".to_owned(), "<td>out of range</td>".to_owned()),
                None if adding_up => {
                    let pending = "<td class=\"muted\">adding up: reload</td>".to_owned();
                    (pending.clone(), pending)
                }
                None => (money_cell(Decimal::ZERO, code), money_cell(Decimal::ZERO, code)),
            };
            let billed = figure.billed.map_or("<td class=\"money\">–</td>".to_owned(), |billed| {
                sum_cell(billed, figure.billed_overflow, code)
            });
            let expected = expected_cell(figure, summary_kept, code);
            let settled = statement.as_ref().filter(|stored| stored.statement.inputs.currency == *currency).map_or(
                "<td class=\"muted\">not settled</td>".to_owned(),
                |stored| {
                    format!(
                        "<td class=\"money\">{} {code}</td>",
                        escape(&reckon_core::currency::format_amount(stored.statement.net, *currency))
                    )
                },
            );
            let _ = write!(
                rows,
                "<tr><td>{carrier}</td><td class=\"nowrap\">{period}</td>{billed}{expected}{over}{under}<td class=\"number\">{open}</td>{withheld}{settled}\
                 <td><a href=\"/runs/{run}\">{short}</a> <span class=\"muted\">{at} · {count} discrepancies</span></td></tr>",
                carrier = escape(&period_run.carrier),
                period = escape(&period_run.period),
                open = figure.disputes_open,
                withheld = sum_cell(figure.withheld, figure.withheld_overflow, code),
                run = url_component(&period_run.run_id),
                short = escape(period_run.run_id.get(..12).unwrap_or(&period_run.run_id)),
                at = when(period_run.created_at),
                count = period_run.discrepancies,
            );
        }
    }
    let body = if periods.is_empty() {
        "<section class=\"card\"><p>No run yet. Import usage, rates and an invoice, then \
         <code>reckon reconcile --carrier C --period YYYY-MM</code> (or upload the invoice to the API).</p></section>"
            .to_owned()
    } else {
        format!(
            "<section class=\"card\"><table id=\"overview\"><caption class=\"muted\">Latest run of each carrier's period; \
             expected is what the run expected for the lines it could check and for the usage no line billed \
             (as <code>reckon reconcile</code> reports it; — for a run recorded before runs kept their summary); \
             overbilled is what the carrier billed above the expected amounts, underbilled below; amounts in the invoices' currency.</caption>\
             <thead><tr><th scope=\"col\">Carrier</th><th scope=\"col\">Period</th><th scope=\"col\" class=\"money\">Billed</th>\
             <th scope=\"col\" class=\"money\">Expected</th><th scope=\"col\" class=\"money\">Overbilled</th><th scope=\"col\" class=\"money\">Underbilled</th>\
             <th scope=\"col\" class=\"number\">Open disputes</th><th scope=\"col\" class=\"money\">Withheld</th>\
             <th scope=\"col\" class=\"money\">Settled (net)</th><th scope=\"col\">Last run</th></tr></thead><tbody>{rows}</tbody></table></section>",
        )
    };
    let mut body = body;
    body.push_str(&super::accruals::section(&console, chart_month).await);
    Ok(crate::html::page("Overview", "/", &signed, &body).into_response())
}

fn add_billed(figure: &mut CurrencyFigures, amount: Decimal) {
    match figure.billed.unwrap_or(Decimal::ZERO).checked_add(amount) {
        Some(billed) => figure.billed = Some(billed),
        None => figure.billed_overflow = true,
    }
}

/// The expected cell: the summary's sum, with what could not be checked; "—" without a kept
/// summary, never a figure of the console's own.
fn expected_cell(figure: &CurrencyFigures, summary_kept: bool, code: &str) -> String {
    if figure.expected_overflow {
        return "<td class=\"money\">out of range</td>".to_owned();
    }
    match figure.expected {
        Some((expected, unverified)) if unverified.is_zero() => plain_money_cell(expected, code),
        Some((expected, unverified)) => format!(
            "<td class=\"money\">{} {code}<br><span class=\"muted\">{} {code} not checked</span></td>",
            escape(&crate::html::amount(expected)),
            escape(&crate::html::amount(unverified)),
        ),
        None if summary_kept => plain_money_cell(Decimal::ZERO, code),
        None => "<td class=\"money muted\" title=\"recorded before runs kept their summary\">—</td>".to_owned(),
    }
}
