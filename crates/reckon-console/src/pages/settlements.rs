//! Settlements: each carrier period's statements (corrections after what they supersede), the
//! settle form (as `reckon settle`, through `Ledger::settle_period_with` with the contract's
//! settlement currency), and the journal downloads.

use super::{month, see_other, when};
use crate::html::{escape, plain_money_cell, url_component};
use crate::session::{action_form, check_action, field, signed_in, Fields, Signed};
use crate::{Console, PageResult, Refusal};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Form;
use reckon_core::Timestamp;
use reckon_store::StoredStatement;
use std::fmt::Write;

pub async fn page(State(console): State<Console>, headers: HeaderMap) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let periods = console.ledger.periods_with_runs().await?;
    let mut rows = String::new();
    for period in &periods {
        for chain in console.ledger.statement_chains(&period.carrier, &period.period).await? {
            for stored in &chain {
                rows.push_str(&statement_row(stored));
            }
        }
    }
    let mut body = settle_form(&signed, &periods);
    let _ = write!(
        body,
        "<section class=\"card\"><h2>Statements</h2>{}</section>",
        if rows.is_empty() {
            "<p>No statement yet.</p>".to_owned()
        } else {
            format!(
                "<table id=\"statements\"><thead><tr><th scope=\"col\">Carrier</th><th scope=\"col\">Period</th>\
                 <th scope=\"col\" class=\"money\">Invoiced</th><th scope=\"col\" class=\"money\">Accepted credits</th>\
                 <th scope=\"col\" class=\"money\">Withheld</th><th scope=\"col\" class=\"money\">Receivable</th>\
                 <th scope=\"col\" class=\"money\">Net</th><th scope=\"col\">Statement</th><th scope=\"col\">Journal</th></tr></thead>\
                 <tbody>{rows}</tbody></table>"
            )
        }
    );
    Ok(crate::html::page("Settlements", "/settlements", &signed, &body).into_response())
}

fn statement_row(stored: &StoredStatement) -> String {
    let inputs = &stored.statement.inputs;
    let currency = inputs.currency.as_str();
    let journal = format!("/settlements/{}/{}/journal", url_component(&stored.carrier), url_component(&stored.period));
    let supersedes = stored
        .supersedes
        .as_deref()
        .map(|id| format!(" <span class=\"muted\">corrects {}</span>", escape(id.get(..12).unwrap_or(id))))
        .unwrap_or_default();
    format!(
        "<tr><td>{}</td><td>{}</td>{}{}{}{}<td class=\"money net\">{} {currency}</td>\
         <td><code>{}</code>{supersedes} <span class=\"muted\">{}</span></td>\
         <td><a href=\"{journal}?format=csv\">CSV</a> · <a href=\"{journal}?format=hledger\">hledger</a> · \
         <a href=\"{journal}?format=beancount\">beancount</a></td></tr>",
        escape(&stored.carrier),
        escape(&stored.period),
        plain_money_cell(inputs.invoiced, currency),
        plain_money_cell(inputs.accepted_credits, currency),
        plain_money_cell(inputs.withheld, currency),
        plain_money_cell(inputs.receivable, currency),
        escape(&reckon_core::currency::format_amount(stored.statement.net, inputs.currency)),
        escape(stored.statement_id.get(..12).unwrap_or(&stored.statement_id)),
        when(stored.created_at),
    )
}

fn settle_form(signed: &Signed, periods: &[reckon_store::PeriodRun]) -> String {
    let Some(form) = action_form(signed, "/settlements", "settle") else { return String::new() };
    let mut carriers: Vec<&str> = periods.iter().map(|period| period.carrier.as_str()).collect();
    carriers.sort_unstable();
    carriers.dedup();
    let options: String =
        carriers.iter().map(|carrier| format!("<option value=\"{0}\">{0}</option>", escape(carrier))).collect();
    let latest = periods.first().map(|period| period.period.as_str()).unwrap_or("");
    format!(
        "<section class=\"card\"><h2>Settle a period</h2>{form}\
         <label for=\"carrier\">Carrier<select id=\"carrier\" name=\"carrier\">{options}</select></label>\
         <label for=\"period\">Period<input id=\"period\" name=\"period\" value=\"{}\" placeholder=\"YYYY-MM\" required></label>\
         <label for=\"currency\">Currency (when billed in several)<input id=\"currency\" name=\"currency\" size=\"4\"></label>\
         <label for=\"correct\"><span>Correct the statement in force</span><input type=\"checkbox\" id=\"correct\" name=\"correct\" value=\"true\"></label>\
         <button type=\"submit\" id=\"settle-button\">Settle</button></form>\
         <p class=\"muted\">As <code>reckon settle</code>: statements are immutable; when the figures changed, a correction supersedes.</p></section>",
        escape(latest)
    )
}

pub async fn settle(State(console): State<Console>, headers: HeaderMap, Form(fields): Form<Fields>) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    check_action(&signed, &headers, &fields, "settling")?;
    let carrier = field(&fields, "carrier").unwrap_or("").to_owned();
    let period = month("period", field(&fields, "period").unwrap_or(""))?;
    let currency = match field(&fields, "currency").filter(|text| !text.is_empty()) {
        Some(text) => Some(reckon_core::Currency::parse(text).ok_or_else(|| {
            Refusal::BadRequest(format!("currency: {text:?} is not an ISO 4217 currency code, like EUR"))
        })?),
        None => None,
    };
    let reference = console.settings.reference.reference();
    let settlement_currency = reference.config.terms(&carrier).settlement_currency;
    let options = reckon_store::SettleOptions {
        correct: field(&fields, "correct") == Some("true"),
        currency,
        settlement_currency: settlement_currency.map(|settlement| (settlement, reference.fx)),
    };
    console.ledger.settle_period_with(&carrier, period, &options, Timestamp::now()).await?;
    Ok(see_other("/settlements"))
}

#[derive(serde::Deserialize)]
pub struct JournalQuery {
    format: Option<String>,
}

pub async fn journal(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((carrier, period)): Path<(String, String)>,
    Query(options): Query<JournalQuery>,
) -> PageResult {
    signed_in(&console, &headers).await?;
    let format = reckon_export::journal::JournalFormat::parse(options.format.as_deref().unwrap_or("csv"))
        .map_err(Refusal::BadRequest)?;
    let period = month("period", &period)?;
    let entries = console.ledger.journal(&carrier, &period.to_string()).await?;
    let mut bytes = Vec::new();
    reckon_export::journal::write_journal(&mut bytes, format, &entries)
        .map_err(|error| Refusal::Internal(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}
