//! Line: our usage record beside the carrier's invoice line, what the run found, and the
//! explanation of the expected amount.

use super::when;
use crate::html::{amount, escape, money_cell, plain_money_cell, url_component};
use crate::session::signed_in;
use crate::{Console, PageResult, Refusal};
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use reckon_core::explain::Explanation;
use reckon_core::{Discrepancy, InvoiceLine, UsageRecord};
use reckon_store::StoreError;
use std::fmt::Write;

pub async fn page(
    State(console): State<Console>,
    headers: HeaderMap,
    Path((run_id, seq)): Path<(String, String)>,
) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let not_found = || Refusal::NotFound(format!("run {run_id} has no discrepancy {seq}"));
    let seq: usize = seq.parse().map_err(|_| not_found())?;
    // From the run when it is held, else the one row from the ledger.
    let discrepancy = match console.runs.held(&run_id) {
        Some(rows) => rows.at_seq(seq).cloned(),
        None => console.ledger.run_discrepancy(&run_id, u64::try_from(seq).unwrap_or(u64::MAX)).await?,
    };
    let discrepancy = &discrepancy.ok_or_else(not_found)?;
    let line = match (&discrepancy.invoice_id, &discrepancy.line_id) {
        (Some(invoice_id), Some(line_id)) => {
            console.ledger.run_invoice_line(&run_id, &discrepancy.carrier, invoice_id, line_id).await?
        }
        _ => None,
    };
    let record = match &discrepancy.record_id {
        Some(record_id) => console.ledger.usage_record(record_id).await?,
        None => None,
    };
    let mut body = format!("<p><a href=\"/runs/{}\">← Back to the run</a></p>", url_component(&run_id));
    body.push_str(&finding(discrepancy));
    body.push_str(&side_by_side(record.as_ref(), line.as_ref()));
    let settings = console.settings.reference.reference();
    let explanation = match (&discrepancy.invoice_id, &discrepancy.line_id, &discrepancy.record_id) {
        (Some(invoice_id), Some(line_id), _) => {
            Some(console.ledger.explain_line_with(&discrepancy.carrier, invoice_id, line_id, settings).await)
        }
        (_, _, Some(record_id)) => Some(console.ledger.explain_record_with(record_id, settings).await),
        _ => None,
    };
    body.push_str(&explanation_section(explanation));
    let title = match (&discrepancy.invoice_id, &discrepancy.line_id) {
        (Some(invoice_id), Some(line_id)) => format!("Line {line_id} of {invoice_id}"),
        _ => format!("Record {}", discrepancy.record_id.as_deref().unwrap_or("")),
    };
    Ok(crate::html::page(&title, "", &signed, &body).into_response())
}

/// What the run found: the kind, both amounts, the difference, and the comparison in words
/// (`reckon-core`'s, as on the dispute evidence).
fn finding(discrepancy: &Discrepancy) -> String {
    let currency = discrepancy.currency.as_str();
    let reason = reckon_core::dispute::evidence_reason(
        discrepancy.kind,
        discrepancy.billed_quantity,
        discrepancy.expected_quantity,
    );
    let expected = discrepancy
        .expected_amount
        .map_or("<td class=\"money muted\">–</td>".to_owned(), |value| plain_money_cell(value, currency));
    let difference = discrepancy
        .difference
        .map_or("<td class=\"money muted\">–</td>".to_owned(), |value| money_cell(value, currency));
    format!(
        "<section class=\"card\"><h2>What the run found</h2><p><strong id=\"kind\">{}</strong>: <span id=\"reason\">{}</span></p>\
         <table><thead><tr><th scope=\"col\" class=\"money\">Billed</th><th scope=\"col\" class=\"money\">Expected</th>\
         <th scope=\"col\" class=\"money\">Difference</th></tr></thead><tbody><tr>{}{expected}{difference}</tr></tbody></table></section>",
        discrepancy.kind.as_str(),
        escape(&reason),
        plain_money_cell(discrepancy.billed_amount, currency),
    )
}

fn side_by_side(record: Option<&UsageRecord>, line: Option<&InvoiceLine>) -> String {
    let text = |value: Option<String>| {
        value.map_or("<td class=\"muted\">–</td>".to_owned(), |value| format!("<td>{}</td>", escape(&value)))
    };
    let rows: [(&str, Option<String>, Option<String>); 9] = [
        ("Id", record.map(|r| r.record_id.to_string()), line.map(|l| format!("{} / {}", l.invoice_id, l.line_id))),
        (
            "Carrier reference",
            record.and_then(|r| r.carrier_ref.as_ref().map(ToString::to_string)),
            line.and_then(|l| l.carrier_ref.as_ref().map(ToString::to_string)),
        ),
        ("Service", record.map(|r| r.service.as_str().to_owned()), line.map(|l| l.service.as_str().to_owned())),
        ("Destination", record.map(|r| r.destination.to_string()), line.map(|l| l.destination.to_string())),
        ("Started", record.map(|r| when(r.started_at)), line.map(|l| when(l.started_at))),
        ("Quantity", record.map(|r| amount(r.quantity)), line.map(|l| amount(l.quantity))),
        ("Rate", None, line.and_then(|l| l.rate.map(amount))),
        ("Amount", None, line.map(|l| format!("{} {}", amount(l.amount), l.currency.as_str()))),
        ("Customer", record.and_then(|r| r.customer.as_ref().map(ToString::to_string)), None),
    ];
    let mut body = String::new();
    for (name, ours, theirs) in rows {
        let _ = write!(body, "<tr><th scope=\"row\">{name}</th>{}{}</tr>", text(ours), text(theirs));
    }
    format!(
        "<section class=\"card\"><h2>Our record and their line</h2><table class=\"side-by-side\" id=\"side-by-side\">\
         <thead><tr><th scope=\"col\"></th><th scope=\"col\">Our usage record</th><th scope=\"col\">Their invoice line</th></tr></thead>\
         <tbody>{body}</tbody></table></section>"
    )
}

/// The explanation of the expected amount (`reckon explain`'s rating trace, built by
/// reckon-core as the run rates and checks): the deck row, increments, connect fee, minimum, FX
/// rate, rounding, and the comparison that failed.
fn explanation_section(explanation: Option<Result<Explanation, StoreError>>) -> String {
    let body = match explanation {
        Some(Ok(explanation)) => {
            let mut steps = String::new();
            for step in &explanation.steps {
                let _ = write!(steps, "<li><strong>{}</strong>: {}</li>", escape(&step.title), escape(&step.detail));
            }
            format!(
                "<p id=\"explanation-subject\">{}</p><ol class=\"steps\">{steps}</ol>",
                escape(&explanation.subject)
            )
        }
        // The page still shows what the run found; the reason the trace could not be made is said.
        Some(Err(error)) => {
            format!("<p class=\"muted\">No explanation: {}</p>", escape(&error.to_string()))
        }
        None => "<p class=\"muted\">Nothing to explain: neither a line nor a record.</p>".to_owned(),
    };
    format!("<section class=\"card\" id=\"explanation\"><h2>Why this amount</h2>{body}</section>")
}
