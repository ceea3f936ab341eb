//! Run: the discrepancies by kind with their money impact, the table with filters, sorting and
//! paging on the server, the CSV of the filtered rows, and the form that opens its disputes.

use super::when;
use crate::chart::{bars, Bar};
use crate::html::{amount, escape, money_cell, plain_money_cell, url_component};
use crate::run_rows::{RunOrder, RunQuery, RunRows, PAGE_ROWS};
use crate::session::{action_form, signed_in, Signed};
use crate::{Console, PageResult, Refusal};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use reckon_core::{Discrepancy, DiscrepancyKind, Service};
use std::fmt::Write;

fn query(query: Result<Query<RunQuery>, axum::extract::rejection::QueryRejection>) -> Result<RunQuery, Refusal> {
    query.map(|Query(query)| query).map_err(|rejection| Refusal::BadRequest(rejection.body_text()))
}

pub async fn page(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    parameters: Result<Query<RunQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let parameters = query(parameters)?;
    let filter = parameters.filter()?;
    let header = console
        .ledger
        .run_header(&run_id)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("run {run_id} not found")))?;
    let held = console.runs.rows_or_read_later(&console.ledger, &run_id, header.discrepancies).await?;
    let run_path = format!("/runs/{}", url_component(&run_id));
    // A large run not yet held: its first pages come from the ledger, a page at a time, while
    // it is read whole in the background (the totals per kind then follow).
    let from_ledger = match (&held, filter.in_ledger()) {
        (None, Some(in_ledger)) => {
            let page = |number: usize| {
                let offset = u64::try_from(number.saturating_sub(1).saturating_mul(PAGE_ROWS)).unwrap_or(u64::MAX);
                console.ledger.run_discrepancy_page(&run_id, in_ledger, offset, PAGE_ROWS as u64)
            };
            let not_found = || Refusal::NotFound(format!("run {run_id} not found"));
            let (kept, mut shown) = page(filter.page).await?.ok_or_else(not_found)?;
            let pages = usize::try_from(kept).unwrap_or(usize::MAX).div_ceil(PAGE_ROWS).max(1);
            if filter.page > pages {
                shown = page(pages).await?.ok_or_else(not_found)?.1;
            }
            let counts = console.ledger.run_kind_counts(&run_id).await?;
            console.runs.read_later(&console.ledger, &run_id);
            Some((kept, shown, pages, counts))
        }
        _ => None,
    };
    let rows = match (held, &from_ledger) {
        (Some(rows), _) => Some(rows),
        (None, Some(_)) => None,
        // Another order or an amount range needs the whole run: read it now.
        (None, None) => Some(console.runs.rows(&console.ledger, &run_id).await?),
    };
    let (chart, kept, shown, pages): (String, usize, Vec<&Discrepancy>, usize) = match (&rows, &from_ledger) {
        (Some(rows), _) => {
            let kept = filter.apply(rows);
            let pages = kept.len().div_ceil(PAGE_ROWS).max(1);
            let number = filter.page.min(pages);
            let shown = kept[(number - 1) * PAGE_ROWS..(number * PAGE_ROWS).min(kept.len())].to_vec();
            (kind_chart(rows), kept.len(), shown, pages)
        }
        (None, Some((kept, shown, pages, counts))) => {
            (kind_counts_chart(counts), usize::try_from(*kept).unwrap_or(usize::MAX), shown.iter().collect(), *pages)
        }
        (None, None) => return Err(Refusal::Internal("a run page with neither rows nor a page".into())),
    };
    let page_number = filter.page.min(pages);
    let total = header.discrepancies;
    let mut body = format!(
        "<section class=\"card\"><p>Run <code id=\"run-id\">{}</code> of {} for {}, recorded {}: \
         <strong id=\"discrepancy-count\">{}</strong> discrepancies.</p>{chart}</section>",
        escape(&run_id),
        escape(&header.carrier),
        escape(&header.period),
        when(header.created_at),
        total,
    );
    body.push_str(&open_disputes_form(&signed, &run_path));
    body.push_str(&filter_form(&parameters, &run_path));
    let _ = write!(
        body,
        "<section class=\"card\"><p><span id=\"shown\">{kept} of {total} rows</span> · \
         <a href=\"{run_path}/discrepancies.csv?{}\" id=\"csv\">Download these rows (CSV)</a></p>{}{}</section>",
        escape(&parameters.with_page(1)),
        discrepancy_table(&shown, &run_path),
        pager(&parameters, &run_path, page_number, pages)
    );
    let title = format!("Run {} {}", header.carrier, header.period);
    Ok(crate::html::page(&title, "", &signed, &body).into_response())
}

pub async fn csv(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    parameters: Result<Query<RunQuery>, axum::extract::rejection::QueryRejection>,
) -> PageResult {
    signed_in(&console, &headers).await?;
    let filter = query(parameters)?.filter()?;
    let rows = console.runs.rows(&console.ledger, &run_id).await?;
    let kept: Vec<Discrepancy> = filter.apply(&rows).into_iter().cloned().collect();
    let mut bytes = Vec::new();
    reckon_export::discrepancies::write_discrepancies(&mut bytes, &kept)
        .map_err(|error| Refusal::Internal(error.to_string()))?;
    let disposition = format!("attachment; filename=\"discrepancies-{}.csv\"", run_id.get(..12).unwrap_or("run"));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

fn kind_chart(rows: &RunRows) -> String {
    if rows.kinds.is_empty() {
        return "<p>No discrepancies: the invoices match the usage.</p>".to_owned();
    }
    let bar_list: Vec<Bar> = rows
        .kinds
        .iter()
        .map(|totals| {
            let impact: Vec<String> = totals
                .impact
                .iter()
                .map(|(currency, impact)| match impact {
                    Some((over, under)) => {
                        format!("+{} / -{} {}", amount(*over), amount(*under), currency.as_str())
                    }
                    None => format!("out of range {}", currency.as_str()),
                })
                .collect();
            Bar {
                label: totals.kind.as_str().to_owned(),
                count: totals.count,
                value_text: format!("{} · {}", totals.count, impact.join(", ")),
            }
        })
        .collect();
    format!(
        "<h2>Discrepancies by kind</h2><p class=\"muted\">Bars: how many; text: overbilled / underbilled.</p>{}",
        bars("Discrepancies by kind, with overbilled and underbilled amounts", &bar_list)
    )
}

/// The chart of a run not yet read whole: counts per kind from the ledger; the amounts follow.
fn kind_counts_chart(counts: &[(String, u64)]) -> String {
    if counts.is_empty() {
        return "<p>No discrepancies: the invoices match the usage.</p>".to_owned();
    }
    let mut bar_list: Vec<(usize, Bar)> = counts
        .iter()
        .map(|(kind, count)| {
            let precedence = DiscrepancyKind::parse(kind).map_or(usize::MAX, DiscrepancyKind::precedence);
            (precedence, Bar { label: kind.clone(), count: *count, value_text: count.to_string() })
        })
        .collect();
    bar_list.sort_by_key(|(precedence, _)| *precedence);
    let bar_list: Vec<Bar> = bar_list.into_iter().map(|(_, bar)| bar).collect();
    format!(
        "<h2>Discrepancies by kind</h2><p class=\"muted\" id=\"totals-pending\">Bars: how many. The overbilled and \
         underbilled amounts per kind are being added up from the whole run: reload in a few seconds.</p>{}",
        bars("Discrepancies by kind", &bar_list)
    )
}

fn open_disputes_form(signed: &Signed, run_path: &str) -> String {
    match action_form(signed, &format!("{run_path}/disputes"), "open-disputes") {
        Some(form) => format!(
            "<section class=\"card\"><h2>Open disputes</h2>{form}\
             <label for=\"threshold\">Only differences above<input id=\"threshold\" name=\"threshold\" value=\"0\" \
             inputmode=\"decimal\"></label><button type=\"submit\">Open disputes from this run</button></form>\
             <p class=\"muted\">One dispute per invoice and currency, with the overbilled lines (as \
             <code>reckon dispute open</code>).</p></section>"
        ),
        None => String::new(),
    }
}

fn option(value: &str, label: &str, selected: bool) -> String {
    format!("<option value=\"{}\"{}>{}</option>", escape(value), if selected { " selected" } else { "" }, escape(label))
}

fn filter_form(parameters: &RunQuery, run_path: &str) -> String {
    let chosen = |value: &Option<String>| value.as_deref().unwrap_or("").trim().to_owned();
    let (kind, service, sort) = (chosen(&parameters.kind), chosen(&parameters.service), chosen(&parameters.sort));
    let mut kinds = option("", "All kinds", kind.is_empty());
    for each in DiscrepancyKind::ALL {
        kinds.push_str(&option(each.as_str(), each.as_str(), kind == each.as_str()));
    }
    let mut services = option("", "All services", service.is_empty());
    for each in Service::ALL {
        services.push_str(&option(each.as_str(), each.as_str(), service == each.as_str()));
    }
    let mut orders = String::new();
    for (value, label) in RunOrder::ALL {
        orders.push_str(&option(value, label, sort == value || (sort.is_empty() && value == "report")));
    }
    format!(
        "<section class=\"card\"><h2>Discrepancies</h2><form method=\"get\" action=\"{run_path}\" class=\"filters\" id=\"filters\">\
         <label for=\"kind\">Kind<select id=\"kind\" name=\"kind\">{kinds}</select></label>\
         <label for=\"service\">Service<select id=\"service\" name=\"service\">{services}</select></label>\
         <label for=\"destination\">Destination starts with<input id=\"destination\" name=\"destination\" value=\"{}\" inputmode=\"numeric\"></label>\
         <label for=\"min\">Difference from<input id=\"min\" name=\"min\" value=\"{}\" inputmode=\"decimal\"></label>\
         <label for=\"max\">Difference to<input id=\"max\" name=\"max\" value=\"{}\" inputmode=\"decimal\"></label>\
         <label for=\"sort\">Order<select id=\"sort\" name=\"sort\">{orders}</select></label>\
         <button type=\"submit\" id=\"apply\">Apply</button> <a href=\"{run_path}\">Clear</a></form></section>",
        escape(&chosen(&parameters.destination)),
        escape(&chosen(&parameters.min)),
        escape(&chosen(&parameters.max)),
    )
}

fn optional_cell(value: Option<reckon_core::Decimal>, currency: &str) -> String {
    value.map_or("<td class=\"money muted\">–</td>".to_owned(), |value| plain_money_cell(value, currency))
}

fn discrepancy_table(shown: &[&Discrepancy], run_path: &str) -> String {
    let mut rows = String::new();
    for discrepancy in shown {
        let currency = discrepancy.currency.as_str();
        let line = match (&discrepancy.line_id, discrepancy.line_index) {
            (Some(line_id), Some(seq)) => format!("<a href=\"{run_path}/lines/{seq}\">{}</a>", escape(line_id)),
            (None, Some(seq)) => format!("<a href=\"{run_path}/lines/{seq}\">record</a>"),
            _ => String::new(),
        };
        let quantity = |value: Option<reckon_core::Decimal>| value.map_or("–".to_owned(), amount);
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{line}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=\"number\">{}</td><td class=\"number\">{}</td>{}{}{}</tr>",
            discrepancy.kind.as_str(),
            escape(discrepancy.invoice_id.as_deref().unwrap_or("")),
            escape(discrepancy.record_id.as_deref().unwrap_or("")),
            discrepancy.service.as_str(),
            escape(&discrepancy.destination),
            when(discrepancy.started_at),
            amount(discrepancy.billed_quantity),
            quantity(discrepancy.expected_quantity),
            plain_money_cell(discrepancy.billed_amount, currency),
            optional_cell(discrepancy.expected_amount, currency),
            discrepancy
                .difference
                .map_or("<td class=\"money muted\">–</td>".to_owned(), |difference| money_cell(difference, currency)),
        );
    }
    format!(
        "<table id=\"discrepancies\"><thead><tr><th scope=\"col\">Kind</th><th scope=\"col\">Invoice</th>\
         <th scope=\"col\">Line</th><th scope=\"col\">Record</th><th scope=\"col\">Service</th>\
         <th scope=\"col\">Destination</th><th scope=\"col\">Started</th><th scope=\"col\" class=\"number\">Billed qty</th>\
         <th scope=\"col\" class=\"number\">Expected qty</th><th scope=\"col\" class=\"money\">Billed</th>\
         <th scope=\"col\" class=\"money\">Expected</th><th scope=\"col\" class=\"money\">Difference</th></tr></thead>\
         <tbody>{rows}</tbody></table>"
    )
}

fn pager(parameters: &RunQuery, run_path: &str, page_number: usize, pages: usize) -> String {
    let link = |page: usize, label: &str, rel: &str| {
        format!("<a href=\"{run_path}?{}\" rel=\"{rel}\">{label}</a>", escape(&parameters.with_page(page)))
    };
    let previous = if page_number > 1 { link(page_number - 1, "← Previous", "prev") } else { String::new() };
    let next = if page_number < pages { link(page_number + 1, "Next →", "next") } else { String::new() };
    format!(
        "<nav class=\"pager\" aria-label=\"Pages\">{previous}<span>Page {page_number} of {pages}</span>{next}</nav>"
    )
}
