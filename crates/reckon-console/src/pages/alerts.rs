//! Alerts: the alerts raised (by the service's checks of the rules), newest first, with their
//! deliveries to the webhook.

use crate::html::escape;
use crate::session::signed_in;
use crate::{Console, PageResult};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use std::fmt::Write;

pub async fn page(State(console): State<Console>, headers: HeaderMap) -> PageResult {
    let signed = signed_in(&console, &headers).await?;
    let alerts = console.ledger.alerts().await?;
    let mut rows = String::new();
    for alert in &alerts {
        let _ = write!(
            rows,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"number\">{}</td><td>{}</td></tr>",
            super::when(alert.raised_at),
            escape(&alert.rule),
            escape(&alert.subject),
            escape(&alert.period),
            escape(&alert.message),
            alert.attempts,
            if alert.delivered { "delivered" } else { "not delivered" },
        );
    }
    let body = if alerts.is_empty() {
        "<section class=\"card\"><p>No alert raised.</p></section>".to_owned()
    } else {
        format!(
            "<section class=\"card\"><table id=\"alerts\"><thead><tr><th scope=\"col\">Raised</th><th scope=\"col\">Rule</th>\
             <th scope=\"col\">Subject</th><th scope=\"col\">Period</th><th scope=\"col\">Message</th>\
             <th scope=\"col\" class=\"number\">Delivery attempts</th><th scope=\"col\">Delivery</th></tr></thead>\
             <tbody>{rows}</tbody></table></section>"
        )
    };
    Ok(crate::html::page("Alerts", "/alerts", &signed, &body).into_response())
}
