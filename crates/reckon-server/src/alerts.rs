//! Alerts: months that received usage are checked against the rules every so often (not per
//! event), invoices when they are reconciled. A new alert is stored once per rule, subject and
//! period (the ledger refuses a second), written to the log, and POSTed to the webhook with
//! retries and exponential backoff; every attempt is recorded. Alerts not yet delivered when the
//! service stopped are delivered after a restart.

use crate::settings::AlertSettings;
use crate::AppState;
use reckon_core::alert::{month_alerts, Alert, MonthFigures};
use reckon_core::period::Month;
use reckon_core::Timestamp;
use reckon_store::{Ledger, StoreError};
use serde::Serialize;
use std::time::Duration;
use tokio::sync::mpsc;

/// An alert to deliver.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub alert_id: String,
    pub rule: String,
    pub subject: String,
    pub period: String,
    pub message: String,
    /// Attempts made before this one (after a restart).
    #[serde(skip)]
    pub attempts_before: u32,
}

/// The alerting state shared by the handlers. The months waiting for a check are in the
/// ledger (queued with the events that changed them), so a restart does not lose them.
#[derive(Debug)]
pub struct Alerts {
    month_rules: bool,
    outbox: mpsc::UnboundedSender<Delivery>,
}

impl Alerts {
    /// The alerting state and the receiving end of its deliveries.
    pub fn new(settings: &AlertSettings) -> (Alerts, mpsc::UnboundedReceiver<Delivery>) {
        let (outbox, deliveries) = mpsc::unbounded_channel();
        let month_rules =
            settings.rules.iter().any(|rule| rule.kind != reckon_core::alert::AlertKind::OverbilledShareOver);
        (Alerts { month_rules, outbox }, deliveries)
    }

    /// Whether a rule looks at months, so that stored usage must queue its month for a check.
    pub fn month_rules(&self) -> bool {
        self.month_rules
    }

    /// Stores the alerts that are new, logs them and queues them for the webhook.
    ///
    /// # Errors
    /// A database error.
    pub async fn raise(&self, ledger: &Ledger, alerts: Vec<Alert>) -> Result<(), StoreError> {
        for alert in alerts {
            let Some(alert_id) = ledger.raise_alert(&alert, Timestamp::now()).await? else {
                continue; // fired before for this subject and period
            };
            crate::log(&format!("alert {alert_id}: {}", alert.message));
            let _ = self.outbox.send(Delivery {
                alert_id,
                rule: alert.rule,
                subject: alert.subject,
                period: alert.period,
                message: alert.message,
                attempts_before: 0,
            });
        }
        Ok(())
    }
}

/// Checks the months waiting in the ledger against the rules: once at start (what a previous
/// run left unchecked), then every `check_interval`, until the process ends. A month leaves the
/// queue only once checked; a failed check is retried next time.
pub async fn check_months(state: AppState) {
    let interval = state.settings.alerts.check_interval;
    loop {
        match state.ledger.pending_alert_months().await {
            Ok(pending) => {
                for waiting in pending {
                    let checked = match check_month(&state, waiting.month).await {
                        Ok(()) => state.ledger.clear_alert_month(waiting).await,
                        Err(error) => Err(error),
                    };
                    if let Err(error) = checked {
                        crate::log(&format!("alert check of {} failed (retried next time): {error}", waiting.month));
                    }
                }
            }
            Err(error) => crate::log(&format!("reading the months waiting for an alert check: {error}")),
        }
        tokio::time::sleep(interval).await;
    }
}

async fn check_month(state: &AppState, month: Month) -> Result<(), StoreError> {
    let (start, end) = month.bounds().ok_or_else(|| StoreError::Invalid(format!("{month}: past the last month")))?;
    let usage = state.ledger.usage_of(None, start, end).await?;
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let rated = crate::decks::rate_records(&decks, &usage, &state.settings.networks, &state.settings.fx);
    let mut figures = MonthFigures::default();
    for (index, record) in usage.iter().enumerate() {
        figures.add(record, rated.costs[index].as_ref(), &decks.carriers, &rated.margins[index]);
    }
    let alerts = month_alerts(&state.settings.alerts.rules, &month.to_string(), &figures);
    state.alerts.raise(&state.ledger, alerts).await
}

/// Re-queues the alerts a previous run did not deliver.
///
/// # Errors
/// A database error.
pub async fn requeue_undelivered(state: &AppState) -> Result<(), StoreError> {
    if state.settings.alerts.webhook.is_none() {
        return Ok(());
    }
    for stored in state.ledger.alerts().await? {
        let attempts = u32::try_from(stored.attempts).unwrap_or(u32::MAX);
        if !stored.delivered && attempts < state.settings.alerts.webhook_attempts {
            let _ = state.alerts.outbox.send(Delivery {
                alert_id: stored.alert_id,
                rule: stored.rule,
                subject: stored.subject,
                period: stored.period,
                message: stored.message,
                attempts_before: attempts,
            });
        }
    }
    Ok(())
}

/// Delivers queued alerts to the webhook, each in its own task so a failing one does not hold
/// up the others.
pub async fn deliver(
    ledger: std::sync::Arc<Ledger>,
    settings: AlertSettings,
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
) {
    let Some(url) = settings.webhook.clone() else {
        while deliveries.recv().await.is_some() {} // the log has them
        return;
    };
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    while let Some(delivery) = deliveries.recv().await {
        let (ledger, client, url, settings) = (ledger.clone(), client.clone(), url.clone(), settings.clone());
        tokio::spawn(async move { deliver_one(&ledger, &client, &url, &settings, delivery).await });
    }
}

type HttpClient = hyper_util::client::legacy::Client<
    hyper_util::client::legacy::connect::HttpConnector,
    http_body_util::Full<axum::body::Bytes>,
>;

async fn deliver_one(ledger: &Ledger, client: &HttpClient, url: &str, settings: &AlertSettings, delivery: Delivery) {
    let body = serde_json::to_vec(&delivery).expect("an alert serializes");
    let mut backoff = settings.webhook_backoff;
    for attempt in delivery.attempts_before + 1..=settings.webhook_attempts {
        let outcome = post(client, url, body.clone()).await;
        let recorded = match &outcome {
            Ok(()) => "delivered".to_owned(),
            Err(reason) => format!("failed: {reason}"),
        };
        if let Err(error) =
            ledger.record_alert_delivery(&delivery.alert_id, i64::from(attempt), &recorded, Timestamp::now()).await
        {
            crate::log(&format!("alert {}: recording attempt {attempt}: {error}", delivery.alert_id));
        }
        match outcome {
            Ok(()) => return,
            Err(reason) => {
                crate::log(&format!(
                    "alert {}: webhook attempt {attempt} of {} failed: {reason}",
                    delivery.alert_id, settings.webhook_attempts
                ));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
    crate::log(&format!("alert {}: not delivered after {} attempts", delivery.alert_id, settings.webhook_attempts));
}

async fn post(client: &HttpClient, url: &str, body: Vec<u8>) -> Result<(), String> {
    let request = axum::http::Request::post(url)
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
        .map_err(|error| error.to_string())?;
    match tokio::time::timeout(Duration::from_secs(10), client.request(request)).await {
        Err(_) => Err("no answer within 10 s".to_owned()),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(response)) if response.status().is_success() => Ok(()),
        Ok(Ok(response)) => Err(format!("status {}", response.status())),
    }
}
