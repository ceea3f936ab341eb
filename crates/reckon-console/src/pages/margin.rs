//! Margin and leakage: for a month of stored usage, cost, revenue, margin and margin % per
//! customer, carrier and destination, and the leaking records (priced below their cost,
//! unpriced, unrated or unconvertible), paged, with their CSV (`reckon margin`'s
//! `leakage.csv`). Every figure is `Ledger::period_margins`', which applies
//! `reckon_core::margin` as `reckon margin` does; the page only renders.

use super::{month, when};
use crate::html::{amount, escape, margin_cell, plain_money_cell, url_component};
use crate::session::signed_in;
use crate::{Console, PageResult, Refusal};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use reckon_core::margin::{Leakage, MarginDimension, MarginTotals};
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal};
use reckon_store::{LeakingRecord, PeriodMargins};
use std::fmt::Write;

/// Leaking records per page.
const PAGE_ROWS: usize = 50;

/// Groups shown per dimension at most.
const GROUP_ROWS_MAX: usize = 100;

#[derive(serde::Deserialize)]
pub struct MarginQuery {
    /// `YYYY-MM`; by default the latest month with usage.
    period: Option<String>,
    /// 1-based.
    page: Option<String>,
}

type QueryResult = Result<Query<MarginQuery>, axum::extract::rejection::QueryRejection>;

/// The month asked for, else the latest with usage, else this one.
async fn chosen_period(console: &Console, query: &MarginQuery) -> Result<Month, Refusal> {
    match query.period.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => month("period", text),
        None => {
            Ok(console.ledger.latest_usage_month().await?.unwrap_or_else(|| Month::of(reckon_core::Timestamp::now())))
        }
    }
}

pub async fn page(State(console): State<Console>, headers: HeaderMap, query: QueryResult) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let Query(query) = query.map_err(|rejection| Refusal::BadRequest(rejection.body_text()))?;
    let period = chosen_period(&console, &query).await?;
    let mut page_number = match query.page.as_deref().map(str::trim).filter(|text| !text.is_empty()) {
        Some(text) => text
            .parse::<usize>()
            .ok()
            .filter(|number| *number >= 1)
            .ok_or_else(|| Refusal::BadRequest(format!("page: {text:?} is not a page number (1, 2, ...)")))?,
        None => 1,
    };
    let reference = console.settings.reference.reference();
    let report_currency = reference.config.report_currency;
    let kept = |page_number: usize| (page_number - 1) * PAGE_ROWS..page_number * PAGE_ROWS;
    let mut margins = console.ledger.period_margins(period, &reference, kept(page_number)).await?;
    let pages = margins.leaking_total.div_ceil(PAGE_ROWS).max(1);
    if page_number > pages {
        // A page past the last (the month changed since the link was made): the last page, as
        // the pager shows it.
        page_number = pages;
        margins = console.ledger.period_margins(period, &reference, kept(page_number)).await?;
    }
    let mut body = format!(
        "<section class=\"card\"><form method=\"get\" action=\"/margin\" class=\"filters\" id=\"period-form\">\
         <label for=\"period\">Month<input id=\"period\" name=\"period\" value=\"{period}\" placeholder=\"YYYY-MM\" size=\"8\"></label>\
         <button type=\"submit\" id=\"show-period\">Show</button></form>\
         <p>{} usage records of {period} (UTC), each rated against its carrier's deck and its customer's price plan, as \
         <code>reckon margin</code> rates them. Margin is revenue minus cost, the cost converted into the price's currency \
         at the record's date; a record without a price lowers the margin by its cost.</p>{}</section>",
        margins.records,
        leakage_summary(&margins),
    );
    for (dimension, heading, id) in [
        (MarginDimension::Customer, "Customer", "customer"),
        (MarginDimension::Carrier, "Carrier", "carrier"),
        (MarginDimension::Destination, "Destination", "destination"),
    ] {
        let _ = write!(
            body,
            "<section class=\"card\"><h2>By {id}</h2>{}</section>",
            dimension_table(&margins, dimension, (heading, id), report_currency)
        );
    }
    body.push_str(&leaking_section(&margins, page_number));
    Ok(crate::html::page(&format!("Margin and leakage {period}"), "/margin", &signed, &body).into_response())
}

fn leakage_summary(margins: &PeriodMargins) -> String {
    let count = |leakage: Leakage| margins.leaking_counts[leakage as usize];
    format!(
        "<p id=\"leakage-counts\"><strong>{} leaking records</strong>: {} below cost, {} without a customer price, \
         {} without a carrier rate, {} unconvertible.</p>",
        margins.leaking_total,
        count(Leakage::BelowCost),
        count(Leakage::NoPrice),
        count(Leakage::NoRate),
        count(Leakage::Unconvertible),
    )
}

fn dimension_table(
    margins: &PeriodMargins,
    dimension: MarginDimension,
    (heading, id): (&str, &str),
    report_currency: Option<Currency>,
) -> String {
    // The lowest margins first (no revenue: a pure leak, first of all), at most
    // GROUP_ROWS_MAX of them: a month may have thousands of destinations.
    let mut groups: Vec<_> = margins.report.groups.iter().filter(|((kept, ..), _)| *kept == dimension).collect();
    groups.sort_by(|(a_key, a), (b_key, b)| {
        let percent =
            |totals: &MarginTotals| totals.margin_percent().map_or((0, Decimal::ZERO), |percent| (1, percent));
        percent(a).cmp(&percent(b)).then_with(|| a_key.cmp(b_key))
    });
    let group_count = groups.len();
    let mut rows = String::new();
    for ((_, name, currency), totals) in groups.into_iter().take(GROUP_ROWS_MAX) {
        let code = currency.as_ref().map_or("", Currency::as_str);
        let _ = write!(
            rows,
            "<tr><th scope=\"row\">{}</th><td class=\"number\">{}</td>{}{}{}{}<td class=\"number\">{}</td>\
             <td>{}</td>{}</tr>",
            escape(name),
            totals.records,
            plain_money_cell(totals.revenue, code),
            plain_money_cell(totals.cost, code),
            plain_money_cell(totals.unpriced_cost, code),
            margin_cell(totals.margin, code),
            totals.margin_percent().map_or("–".to_owned(), |percent| format!("{} %", amount(percent))),
            leaking_text(totals),
            report_cells(totals, report_currency),
        );
    }
    if rows.is_empty() {
        return "<p>No usage in this month.</p>".to_owned();
    }
    let shown = if group_count > GROUP_ROWS_MAX {
        format!(
            "<p class=\"muted\">The {GROUP_ROWS_MAX} lowest margins of {group_count} groups; <code>reckon margin</code> \
             lists them all.</p>"
        )
    } else {
        format!("<p class=\"muted\">{group_count} groups, the lowest margin % first (no revenue first of all).</p>")
    };
    let report_head = report_currency.map_or(String::new(), |currency| {
        format!(
            "<th scope=\"col\" class=\"money\">Revenue ({currency})</th><th scope=\"col\" class=\"money\">Cost ({currency})</th>\
             <th scope=\"col\" class=\"money\">Margin ({currency})</th>"
        )
    });
    format!(
        "<table id=\"margin-{id}\" class=\"margins\"><thead><tr><th scope=\"col\">{heading}</th><th scope=\"col\" class=\"number\">Records</th>\
         <th scope=\"col\" class=\"money\">Revenue</th><th scope=\"col\" class=\"money\">Cost</th>\
         <th scope=\"col\" class=\"money\">Unpriced cost</th><th scope=\"col\" class=\"money\">Margin</th>\
         <th scope=\"col\" class=\"number\">Margin %</th><th scope=\"col\">Leaking</th>{report_head}</tr></thead>\
         <tbody>{rows}</tbody></table>{shown}"
    )
}

/// The group's leaking records by kind, those it has: `5 below cost, 1 no price`, or `none`.
fn leaking_text(totals: &MarginTotals) -> String {
    let kinds = [
        (Leakage::BelowCost, "below cost"),
        (Leakage::NoPrice, "no price"),
        (Leakage::NoRate, "no rate"),
        (Leakage::Unconvertible, "unconvertible"),
    ];
    let parts: Vec<String> = kinds
        .iter()
        .filter(|(leakage, _)| totals.leakage_counts[*leakage as usize] > 0)
        .map(|(leakage, name)| format!("{} {name}", totals.leakage_counts[*leakage as usize]))
        .collect();
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The group's figures in the report currency, or why they could not be converted.
fn report_cells(totals: &MarginTotals, report_currency: Option<Currency>) -> String {
    if report_currency.is_none() {
        return String::new();
    }
    match &totals.report {
        Some(Ok((currency, revenue, cost, margin))) => format!(
            "{}{}{}",
            plain_money_cell(*revenue, currency.as_str()),
            plain_money_cell(*cost, currency.as_str()),
            margin_cell(*margin, currency.as_str())
        ),
        Some(Err(error)) => format!("<td colspan=\"3\" class=\"muted\">{}</td>", escape(&error.to_string())),
        None => "<td colspan=\"3\" class=\"muted\">–</td>".to_owned(),
    }
}

/// The leaking records of the page (`margins.leaking`, the page's), with the pager.
fn leaking_section(margins: &PeriodMargins, page_number: usize) -> String {
    let pages = margins.leaking_total.div_ceil(PAGE_ROWS).max(1);
    let mut rows = String::new();
    for LeakingRecord { record, margin, .. } in &margins.leaking {
        let code = margin.currency.as_ref().map_or("", Currency::as_str);
        let optional = |value: Option<Decimal>| {
            value.map_or("<td class=\"money muted\">–</td>".to_owned(), |value| plain_money_cell(value, code))
        };
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td>\
             <td class=\"number\">{}</td>{}{}{}<td>{}</td></tr>",
            escape(&record.record_id),
            escape(&record.carrier),
            escape(record.customer.as_deref().unwrap_or("")),
            record.service.as_str(),
            when(record.started_at),
            escape(record.destination.digits()),
            amount(record.quantity),
            optional(margin.cost),
            optional(margin.price),
            margin.margin.map_or("<td class=\"money muted\">–</td>".to_owned(), |value| margin_cell(value, code)),
            margin.leakage.map_or("", Leakage::as_str),
        );
    }
    let period = margins.period.to_string();
    let link = |page: usize, label: &str, rel: &str| {
        format!("<a href=\"/margin?period={}&amp;page={page}\" rel=\"{rel}\">{label}</a>", url_component(&period))
    };
    let previous = if page_number > 1 { link(page_number - 1, "← Previous", "prev") } else { String::new() };
    let next = if page_number < pages { link(page_number + 1, "Next →", "next") } else { String::new() };
    let table = if margins.leaking_total == 0 {
        "<p>No record leaks: every record is priced at or above its cost.</p>".to_owned()
    } else {
        format!(
            "<table id=\"leaking\"><thead><tr><th scope=\"col\">Record</th><th scope=\"col\">Carrier</th>\
             <th scope=\"col\">Customer</th><th scope=\"col\">Service</th><th scope=\"col\">Started</th>\
             <th scope=\"col\">Destination</th><th scope=\"col\" class=\"number\">Quantity</th>\
             <th scope=\"col\" class=\"money\">Cost</th><th scope=\"col\" class=\"money\">Price</th>\
             <th scope=\"col\" class=\"money\">Margin</th><th scope=\"col\">Leakage</th></tr></thead><tbody>{rows}</tbody></table>\
             <nav class=\"pager\" aria-label=\"Pages\">{previous}<span>Page {page_number} of {pages}</span>{next}</nav>"
        )
    };
    format!(
        "<section class=\"card\"><h2>Leaking records</h2><p><span id=\"leaking-count\">{}</span> records · \
         <a href=\"/margin/leakage.csv?period={}\" id=\"leakage-csv\">Download them (CSV, as <code>reckon margin</code>'s \
         leakage.csv)</a></p>{table}</section>",
        margins.leaking_total,
        url_component(&period),
    )
}

/// The leaking records of the month as `reckon margin` writes `leakage.csv`.
pub async fn leakage_csv(State(console): State<Console>, headers: HeaderMap, query: QueryResult) -> PageResult {
    signed_in(&console, &headers).await?;
    let Query(query) = query.map_err(|rejection| Refusal::BadRequest(rejection.body_text()))?;
    let period = chosen_period(&console, &query).await?;
    let reference = console.settings.reference.reference();
    let margins = console.ledger.period_margins(period, &reference, 0..usize::MAX).await?;
    let mut bytes = Vec::new();
    let written = (|| -> Result<(), Box<dyn std::error::Error>> {
        let mut writer = reckon_export::margin::RatedWriter::new(&mut bytes, true)?;
        for leaking in &margins.leaking {
            let rated = reckon_export::margin::RatedRecord {
                record: &leaking.record,
                cost: leaking.cost.as_ref(),
                price: leaking.price.as_ref(),
                margin: &leaking.margin,
            };
            writer.write(&rated, &margins.carrier_deck, &margins.price_deck)?;
        }
        writer.finish()?;
        Ok(())
    })();
    written.map_err(|error| Refusal::Internal(error.to_string()))?;
    let disposition = format!("attachment; filename=\"leakage-{period}.csv\"");
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}
