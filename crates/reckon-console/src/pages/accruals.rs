//! The overview's accruals: a month's cost, revenue and margin per UTC day, as the service's
//! `GET /v1/accruals?group_by=day` answers them (handed to the console as an
//! [`AccrualSource`](crate::AccrualSource)), drawn as columns per day and written as a table
//! (the chart's text equivalent) with the month's totals, one per pair of currencies: cost in
//! the carrier deck's currency, revenue and margin in the price plan's.

use crate::chart::{day_columns, DayColumns, Series};
use crate::html::{escape, margin_cell, plain_money_cell};
use crate::Console;
use reckon_core::accrual::AccrualSums;
use reckon_core::period::Month;
use reckon_core::Currency;
use std::collections::BTreeMap;
use std::fmt::Write;

/// How long the overview waits for the month's accruals before it shows the rest without them.
const ACCRUALS_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// A pair of currencies: the cost's (`None`: records without a rate) and the price's (`None`:
/// records without a price).
type Currencies = (Option<Currency>, Option<Currency>);

/// The section: the month form, then a chart and a table per pair of currencies.
pub async fn section(console: &Console, month: Month) -> String {
    let form = format!(
        "<form method=\"get\" action=\"/\" class=\"filters\" id=\"month-form\">\
         <label for=\"month\">Month<input id=\"month\" name=\"month\" value=\"{month}\" placeholder=\"YYYY-MM\" size=\"8\"></label>\
         <button type=\"submit\" id=\"show-month\">Show</button></form>"
    );
    let heading = format!("<h2 id=\"accruals-heading\">Accruals of {month} per day</h2>");
    let Some((from, to)) = month.bounds() else {
        return format!(
            "<section class=\"card\" id=\"accruals\">{heading}{form}<p>{month}: past the last month.</p></section>"
        );
    };
    let groups = match tokio::time::timeout(ACCRUALS_WAIT, console.settings.accruals.daily_accruals(from, to)).await {
        Ok(Ok(groups)) => groups,
        Err(_) => {
            // The month is being rated again (usage stored by `reckon import usage`, or other
            // decks): the service finishes that on its own; the rest of the page need not wait.
            return format!(
                "<section class=\"card\" id=\"accruals\">{heading}{form}<p class=\"muted\" id=\"accruals-pending\">\
                 The accruals of {month} are being made again from its usage (imported outside the service, or \
                 rated with other decks since): reload in a moment.</p></section>"
            );
        }
        Ok(Err(message)) => {
            return format!(
                "<section class=\"card\" id=\"accruals\">{heading}{form}<p class=\"message refused\" role=\"alert\">\
                 The accruals could not be read: {}</p></section>",
                escape(&message)
            )
        }
    };
    let mut pairs: BTreeMap<Currencies, BTreeMap<String, AccrualSums>> = BTreeMap::new();
    for ((day, currency, price_currency), sums) in groups {
        pairs.entry((currency, price_currency)).or_default().insert(day, sums);
    }
    let mut body = String::new();
    if pairs.is_empty() {
        body.push_str("<p>No usage in this month.</p>");
    }
    // Priced pairs first, then the cost alone, then records with neither a rate nor a price.
    let mut ordered: Vec<(&Currencies, &BTreeMap<String, AccrualSums>)> = pairs.iter().collect();
    ordered.sort_by_key(|((currency, price_currency), _)| (price_currency.is_none(), currency.is_none()));
    for (currencies, days) in ordered {
        body.push_str(&pair_section(month, *currencies, days));
    }
    format!(
        "<section class=\"card\" id=\"accruals\">{heading}{form}<p class=\"muted\">What the stored usage costs us \
         (carrier decks), earns (customer price plans) and leaves as margin (price minus the cost converted at the \
         record's date), per UTC day, as <code>GET /v1/accruals?group_by=day</code> answers. Cost is in the carrier \
         deck's currency, revenue and margin in the price plan's.</p>{body}</section>"
    )
}

fn code(currency: Option<Currency>) -> String {
    currency.map_or(String::new(), |currency| currency.to_string())
}

/// The id part of a pair: `EUR-EUR`, `USD-none`.
fn pair_id((currency, price_currency): Currencies) -> String {
    let name = |currency: Option<Currency>| currency.map_or("none".to_owned(), |currency| currency.to_string());
    format!("{}-{}", name(currency), name(price_currency))
}

fn pair_section(month: Month, currencies: Currencies, days: &BTreeMap<String, AccrualSums>) -> String {
    let (currency, price_currency) = currencies;
    let cost_legend = currency.map_or("cost (no rate)".to_owned(), |currency| format!("cost {currency}"));
    let (revenue_legend, margin_legend) = match price_currency {
        Some(price_currency) => (format!("revenue {price_currency}"), format!("margin {price_currency}")),
        None => ("revenue (no price)".to_owned(), "margin (no price)".to_owned()),
    };
    let series = [
        Series { legend: cost_legend.clone(), class: "cost" },
        Series { legend: revenue_legend.clone(), class: "revenue" },
        Series { legend: margin_legend.clone(), class: "margin" },
    ];
    let columns: Vec<DayColumns> = month_days(month)
        .into_iter()
        .map(|day| {
            let sums = days.get(&day.to_string()).copied().unwrap_or_default();
            DayColumns { label: day.day().to_string(), amounts: vec![sums.cost, sums.revenue, sums.margin] }
        })
        .collect();
    let title = format!("{month} per day: {cost_legend}, {revenue_legend}, {margin_legend}");
    let id = pair_id(currencies);
    if currency.is_none() && price_currency.is_none() {
        // Nothing to draw: no cost and no price.
        return format!(
            "<h3>Records without a carrier rate or a customer price</h3>{}",
            day_table(&id, currencies, days)
        );
    }
    format!(
        "<h3>{}</h3>{}{}",
        escape(&format!("{cost_legend}; {revenue_legend}, {margin_legend}")),
        day_columns(&title, &series, &columns),
        day_table(&id, currencies, days)
    )
}

/// The chart's figures as a table: a row per day with usage, then the month's totals (added by
/// `AccrualSums::add`, the accruals' own sum).
fn day_table(id: &str, (currency, price_currency): Currencies, days: &BTreeMap<String, AccrualSums>) -> String {
    let (cost_code, price_code) = (code(currency), code(price_currency));
    let (cost_code, price_code) = (cost_code.as_str(), price_code.as_str());
    let mut rows = String::new();
    let mut total = AccrualSums::default();
    let mut total_overflow = false;
    for (day, sums) in days {
        total_overflow |= total.add(sums).is_err();
        let _ = write!(
            rows,
            "<tr id=\"day-{id}-{}\"><th scope=\"row\">{}</th>{}</tr>",
            escape(day),
            escape(day),
            cells(sums, cost_code, price_code)
        );
    }
    let totals = if total_overflow {
        "<td colspan=\"7\">out of range</td>".to_owned()
    } else {
        cells(&total, cost_code, price_code)
    };
    format!(
        "<table id=\"accruals-{id}\" class=\"accruals\"><caption class=\"muted\">The chart's figures: days with usage.</caption>\
         <thead><tr><th scope=\"col\">Day</th><th scope=\"col\" class=\"number\">Records</th>\
         <th scope=\"col\" class=\"money\">Cost</th><th scope=\"col\" class=\"money\">Revenue</th>\
         <th scope=\"col\" class=\"money\">Margin</th><th scope=\"col\" class=\"number\">Without price</th>\
         <th scope=\"col\" class=\"number\">Below cost</th><th scope=\"col\" class=\"number\">Without rate</th></tr></thead>\
         <tbody>{rows}</tbody><tfoot><tr id=\"total-{id}\"><th scope=\"row\">Total</th>{totals}</tr></tfoot></table>"
    )
}

fn cells(sums: &AccrualSums, cost_code: &str, price_code: &str) -> String {
    let missing = || "<td class=\"money muted\">–</td>".to_owned();
    let cost = if cost_code.is_empty() { missing() } else { plain_money_cell(sums.cost, cost_code) };
    let (revenue, margin) = if price_code.is_empty() {
        (missing(), missing())
    } else {
        (plain_money_cell(sums.revenue, price_code), margin_cell(sums.margin, price_code))
    };
    format!(
        "<td class=\"number\">{}</td>{cost}{revenue}{margin}<td class=\"number\">{}</td><td class=\"number\">{}</td>\
         <td class=\"number\">{}</td>",
        sums.records, sums.unpriced, sums.below_cost, sums.unrated,
    )
}

/// The UTC days of a month, in order.
fn month_days(month: Month) -> Vec<jiff::civil::Date> {
    let Ok(first) = jiff::civil::Date::new(month.year, month.month, 1) else { return Vec::new() };
    (0..first.days_in_month()).filter_map(|offset| first.checked_add(jiff::Span::new().days(offset)).ok()).collect()
}
