//! Disputes: the list by state and age, a dispute with its lines and history, its evidence,
//! opening a run's disputes, and the lifecycle steps (submit, accept with or without credits
//! per line, reject, close) through `Ledger::act_on_dispute`, so the transitions and their
//! refusals are the CLI's.

use super::{see_other, when};
use crate::html::{amount, escape, plain_money_cell, url_component};
use crate::session::{action_form, check_action, field, signed_in, Fields};
use crate::{Console, PageResult, Refusal};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::IntoResponse;
use axum::Form;
use reckon_core::dispute::{DisputeAction, DisputeState};
use reckon_core::{Decimal, Timestamp};
use reckon_store::DisputeRecord;
use std::collections::BTreeMap;
use std::fmt::Write;

fn decimal(name: &str, text: &str) -> Result<Decimal, Refusal> {
    text.trim().parse::<Decimal>().map_err(|_| Refusal::BadRequest(format!("{name}: {text:?} is not a decimal")))
}

/// The states in the order the list shows them: what needs work first.
const STATE_ORDER: [DisputeState; 6] = [
    DisputeState::Open,
    DisputeState::Submitted,
    DisputeState::PartiallyAccepted,
    DisputeState::Accepted,
    DisputeState::Rejected,
    DisputeState::Closed,
];

fn opened_at(dispute: &DisputeRecord) -> Option<Timestamp> {
    dispute.events.first().map(|event| event.at)
}

pub async fn list(State(console): State<Console>, headers: HeaderMap) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let mut disputes = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for period in console.ledger.periods_with_runs().await? {
        if seen.insert((period.carrier.clone(), period.period.clone())) {
            disputes.extend(console.ledger.disputes_of(&period.carrier, &period.period).await?);
        }
    }
    let now = Timestamp::now();
    disputes.sort_by_key(|dispute| {
        (STATE_ORDER.iter().position(|state| *state == dispute.state), opened_at(dispute), dispute.dispute_id.clone())
    });
    let mut rows = String::new();
    for dispute in &disputes {
        let age_days = opened_at(dispute).map_or(0, |at| now.duration_since(at).as_secs().max(0) / 86_400);
        let _ = write!(
            rows,
            "<tr><td>{state}</td><td><a href=\"/disputes/{id}\">{short}</a></td><td>{carrier}</td><td>{invoice}</td>\
             <td>{period}</td>{claimed}{credited}<td class=\"number\">{age_days}</td></tr>",
            state = dispute.state.as_str(),
            id = url_component(&dispute.dispute_id),
            short = escape(dispute.dispute_id.get(..12).unwrap_or(&dispute.dispute_id)),
            carrier = escape(&dispute.carrier),
            invoice = escape(&dispute.invoice_id),
            period = escape(&dispute.period),
            claimed = plain_money_cell(dispute.claimed_total, &dispute.currency),
            credited = plain_money_cell(dispute.credited_total(), &dispute.currency),
        );
    }
    let body = if disputes.is_empty() {
        "<section class=\"card\"><p>No dispute yet: open them from a run's page.</p></section>".to_owned()
    } else {
        format!(
            "<section class=\"card\"><table id=\"disputes\"><thead><tr><th scope=\"col\">State</th><th scope=\"col\">Dispute</th>\
             <th scope=\"col\">Carrier</th><th scope=\"col\">Invoice</th><th scope=\"col\">Period</th>\
             <th scope=\"col\" class=\"money\">Claimed</th><th scope=\"col\" class=\"money\">Credited</th>\
             <th scope=\"col\" class=\"number\">Age (days)</th></tr></thead><tbody>{rows}</tbody></table></section>"
        )
    };
    Ok(crate::html::page("Disputes", "/disputes", &signed, &body).into_response())
}

pub async fn page(State(console): State<Console>, headers: HeaderMap, Path(dispute_id): Path<String>) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let dispute = console.ledger.dispute(&dispute_id).await?;
    let path = format!("/disputes/{}", url_component(&dispute.dispute_id));
    let form = action_form(&signed, &path, "dispute-actions");
    let currency = dispute.currency.as_str();
    let mut lines = String::new();
    for (line, credited) in &dispute.lines {
        let credit_input = if form.is_some() {
            format!(
                "<td><label class=\"muted\" for=\"credit-{id}\">credit line {id}</label> \
                 <input id=\"credit-{id}\" name=\"credit:{id}\" inputmode=\"decimal\"></td>",
                id = escape(&line.line_id)
            )
        } else {
            String::new()
        };
        let _ = write!(
            lines,
            "<tr><td>{}</td><td>{}</td><td>{}</td>{}{}{}{}{credit_input}</tr>",
            escape(&line.line_id),
            escape(line.record_id.as_deref().unwrap_or("")),
            line.kind.as_str(),
            plain_money_cell(line.billed_amount, currency),
            plain_money_cell(line.expected_amount, currency),
            plain_money_cell(line.claimed, currency),
            plain_money_cell(*credited, currency),
        );
    }
    let credit_header = if form.is_some() { "<th scope=\"col\">Credit granted now</th>" } else { "" };
    let lines_table = format!(
        "<table id=\"dispute-lines\"><thead><tr><th scope=\"col\">Line</th><th scope=\"col\">Record</th><th scope=\"col\">Kind</th>\
         <th scope=\"col\" class=\"money\">Billed</th><th scope=\"col\" class=\"money\">Expected</th>\
         <th scope=\"col\" class=\"money\">Claimed</th><th scope=\"col\" class=\"money\">Credited</th>{credit_header}</tr></thead>\
         <tbody>{lines}</tbody></table>"
    );
    let mut body = format!(
        "<section class=\"card\"><p>{} · invoice {} (version {}) · {} · state <strong id=\"state\">{}</strong> · \
         claimed <span id=\"claimed\">{} {currency}</span> · credited <span id=\"credited\">{} {currency}</span> · \
         <a href=\"{path}/evidence.csv\" id=\"evidence\">Evidence (CSV)</a> · <a href=\"/runs/{}\">Run</a></p></section>",
        escape(&dispute.carrier),
        escape(&dispute.invoice_id),
        dispute.invoice_version,
        escape(&dispute.period),
        dispute.state.as_str(),
        amount(dispute.claimed_total),
        amount(dispute.credited_total()),
        url_component(&dispute.run_id),
    );
    match form {
        Some(form) => {
            let _ = write!(
                body,
                "<section class=\"card\"><h2>Lines and answer</h2>{form}{lines_table}\
                 <p class=\"muted\">Accept with credits on some lines for a partial acceptance; leave them empty to accept the whole claim.</p>\
                 <label for=\"reason\">Reason (kept in the history)<input id=\"reason\" name=\"reason\"></label>\
                 <button type=\"submit\" name=\"action\" value=\"submit\" id=\"submit\">Submit to the carrier</button>\
                 <button type=\"submit\" name=\"action\" value=\"accept\" id=\"accept\">Accept</button>\
                 <button type=\"submit\" name=\"action\" value=\"reject\" id=\"reject\" class=\"secondary\">Reject</button>\
                 <button type=\"submit\" name=\"action\" value=\"close\" id=\"close\" class=\"secondary\">Close</button></form></section>"
            );
        }
        None => {
            let _ = write!(body, "<section class=\"card\"><h2>Lines</h2>{lines_table}</section>");
        }
    }
    body.push_str(&history(&dispute));
    Ok(crate::html::page("Dispute", "/disputes", &signed, &body).into_response())
}

fn history(dispute: &DisputeRecord) -> String {
    let mut rows = String::new();
    for event in &dispute.events {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{} → {}</td><td>{}</td></tr>",
            when(event.at),
            escape(&event.actor),
            escape(&event.action),
            escape(event.from_state.as_deref().unwrap_or("")),
            escape(&event.to_state),
            escape(&event.reason),
        );
    }
    format!(
        "<section class=\"card\"><h2>History</h2><table id=\"history\"><thead><tr><th scope=\"col\">At</th><th scope=\"col\">Who</th>\
         <th scope=\"col\">Action</th><th scope=\"col\">State</th><th scope=\"col\">Reason</th></tr></thead><tbody>{rows}</tbody></table></section>"
    )
}

pub async fn evidence(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(dispute_id): Path<String>,
) -> PageResult {
    signed_in(&console, &headers).await?;
    let evidence = console.ledger.dispute_evidence(&dispute_id).await?;
    let mut bytes = Vec::new();
    reckon_export::disputes::write_evidence(&mut bytes, &evidence)
        .map_err(|error| Refusal::Internal(error.to_string()))?;
    let disposition = format!("attachment; filename=\"evidence-{}.csv\"", dispute_id.get(..12).unwrap_or("dispute"));
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
        bytes,
    )
        .into_response())
}

/// Opens a run's disputes (as `reckon dispute open --run --threshold`).
pub async fn open(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(run_id): Path<String>,
    Form(fields): Form<Fields>,
) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    check_action(&signed, &headers, &fields, "opening disputes")?;
    let threshold = match field(&fields, "threshold") {
        Some(text) if !text.is_empty() => decimal("threshold", text)?,
        _ => Decimal::ZERO,
    };
    let opened = console.ledger.open_disputes(&run_id, threshold, &signed.actor(), Timestamp::now()).await?;
    Ok(match opened.as_slice() {
        [(dispute_id, _)] => see_other(&format!("/disputes/{}", url_component(dispute_id))),
        _ => see_other("/disputes"),
    })
}

/// The step a form asks for, as the API reads its JSON: credits only with an accept.
fn dispute_action(fields: &Fields) -> Result<DisputeAction, Refusal> {
    let mut credits = BTreeMap::new();
    for (name, value) in fields {
        if let Some(line_id) = name.strip_prefix("credit:") {
            if value.trim().is_empty() {
                continue;
            }
            if credits.insert(line_id.to_owned(), decimal(&format!("credit of line {line_id}"), value)?).is_some() {
                return Err(Refusal::BadRequest(format!(
                    "credits: line {line_id} is credited twice; give each line once"
                )));
            }
        }
    }
    let action = field(fields, "action").unwrap_or("");
    Ok(match (action, credits.is_empty()) {
        ("submit", true) => DisputeAction::Submit,
        ("accept", true) => DisputeAction::Accept,
        ("accept", false) => DisputeAction::AcceptPartially { credits },
        ("reject", true) => DisputeAction::Reject,
        ("close", true) => DisputeAction::Close,
        ("submit" | "reject" | "close", false) => {
            return Err(Refusal::BadRequest("credits: only an accept grants credits".into()))
        }
        (other, _) => {
            return Err(Refusal::BadRequest(format!("action: {other:?} is not one of submit, accept, reject, close")))
        }
    })
}

pub async fn act(
    State(console): State<Console>,
    headers: HeaderMap,
    Path(dispute_id): Path<String>,
    Form(fields): Form<Fields>,
) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    check_action(&signed, &headers, &fields, "acting on a dispute")?;
    let action = dispute_action(&fields)?;
    let reason = field(&fields, "reason").unwrap_or("");
    console.ledger.act_on_dispute(&dispute_id, &action, &signed.actor(), reason, Timestamp::now()).await?;
    Ok(see_other(&format!("/disputes/{}", url_component(&dispute_id))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> Fields {
        pairs.iter().map(|(name, value)| ((*name).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn a_form_reads_as_the_api_reads_its_json() {
        let partial =
            dispute_action(&fields(&[("action", "accept"), ("credit:40", "0.03"), ("credit:41", "")])).unwrap();
        assert_eq!(
            partial,
            DisputeAction::AcceptPartially { credits: BTreeMap::from([("40".to_owned(), Decimal::new(3, 2))]) }
        );
        assert_eq!(
            dispute_action(&fields(&[("action", "accept"), ("credit:41", " ")])).unwrap(),
            DisputeAction::Accept
        );
        assert!(dispute_action(&fields(&[("action", "reject"), ("credit:40", "1")])).is_err());
        assert!(dispute_action(&fields(&[("action", "accept"), ("credit:40", "1"), ("credit:40", "2")])).is_err());
        assert!(dispute_action(&fields(&[("action", "escalate")])).is_err());
        assert!(dispute_action(&fields(&[("action", "accept"), ("credit:40", "1,5")])).is_err());
    }
}
