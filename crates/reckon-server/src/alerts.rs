//! Alerts: months that received usage are checked against the rules every so often (not per
//! event), invoices when they are reconciled. A new alert is stored once per rule, subject and
//! period (the ledger refuses a second), written to the log, and POSTed to the webhook (http or
//! https) with retries and exponential backoff; every attempt is recorded. With a secret, each
//! POST is signed: `Reckon-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.
//!
//! Replicas on one ledger share the work through leases in the ledger: one replica at a time
//! checks the months (lease `alert-checks`), and one at a time delivers a given alert (lease
//! `alert-delivery:<id>`, taken again before each attempt, with the alert's state read again
//! under it). Every replica sweeps the ledger for alerts not yet delivered, so an alert raised
//! by a replica that died, or left undelivered when the service stopped, is delivered by
//! another (or after the restart) once its lease lapses.

use crate::settings::AlertSettings;
use crate::AppState;
use reckon_core::alert::{month_alerts, Alert, MonthFigures};
use reckon_core::period::Month;
use reckon_core::Timestamp;
use reckon_store::{Ledger, StoreError, StoredAlert};
use serde::Serialize;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the webhook receives for an alert.
#[derive(Clone, Debug, Serialize)]
pub struct Delivery {
    pub alert_id: String,
    pub rule: String,
    pub subject: String,
    pub period: String,
    pub message: String,
}

/// The alerting state shared by the handlers. The months waiting for a check and the alerts
/// waiting for delivery are in the ledger (written with what caused them), so a restart or a
/// dead replica loses neither.
#[derive(Debug)]
pub struct Alerts {
    month_rules: bool,
    /// Wakes this replica's delivery sweep when it raised an alert.
    raised: tokio::sync::Notify,
}

/// The lease of the month checks.
const CHECK_LEASE: &str = "alert-checks";
/// How often each replica looks for alerts waiting for delivery (besides when it raised one).
const DELIVERY_SWEEP_MAX: Duration = Duration::from_secs(1);
/// Longest between two attempts to take or renew the check lease.
const LEASE_POLL_MAX: Duration = Duration::from_secs(1);
/// Longest a webhook may take to answer one attempt.
const WEBHOOK_ANSWER_MAX: Duration = Duration::from_secs(10);

impl Alerts {
    /// The alerting state.
    pub fn new(settings: &AlertSettings) -> Alerts {
        let month_rules =
            settings.rules.iter().any(|rule| rule.kind != reckon_core::alert::AlertKind::OverbilledShareOver);
        Alerts { month_rules, raised: tokio::sync::Notify::new() }
    }

    /// Whether a rule looks at months, so that stored usage must queue its month for a check.
    pub fn month_rules(&self) -> bool {
        self.month_rules
    }

    /// Stores the alerts that are new, logs them and wakes the delivery sweep.
    ///
    /// # Errors
    /// A database error.
    pub async fn raise(&self, ledger: &Ledger, alerts: Vec<Alert>) -> Result<(), StoreError> {
        for alert in alerts {
            let Some(alert_id) = ledger.raise_alert(&alert, Timestamp::now()).await? else {
                continue; // fired before for this subject and period, here or in another replica
            };
            tracing::info!(alert_id = %alert_id, rule = %alert.rule, "alert raised: {}", alert.message);
            self.raised.notify_one();
        }
        Ok(())
    }
}

/// Checks the months waiting in the ledger against the rules, in the replica that holds the
/// check lease: at once when it takes the lease (what a previous holder left unchecked), then
/// every `check_interval`, until the process ends. The holder renews the lease every poll
/// (a third of the lease time, at most a second); the others try to take it as often, so a dead
/// holder's checks pass to another within a lease time. A month leaves the queue only once
/// checked; a failed check is retried next time.
pub async fn check_months(state: AppState) {
    let interval = state.settings.alerts.check_interval;
    let replica = &state.settings.replica;
    let poll = (replica.lease_ttl / 3).min(LEASE_POLL_MAX).min(interval);
    let mut next_check: Option<tokio::time::Instant> = None;
    loop {
        match state.ledger.take_lease(CHECK_LEASE, &replica.holder, replica.lease_ttl, Timestamp::now()).await {
            Ok(true) => {
                if next_check.is_none_or(|at| tokio::time::Instant::now() >= at) {
                    check_pending_months(&state).await;
                    next_check = Some(tokio::time::Instant::now() + interval);
                }
            }
            // Another replica checks; when the lease comes to this one, it checks at once.
            Ok(false) => next_check = None,
            Err(error) => tracing::warn!("taking the alert-check lease: {error}"),
        }
        tokio::time::sleep(poll).await;
    }
}

/// Gives up this replica's check lease (on shutdown), so that another replica, or this one
/// restarted, need not wait for it to lapse.
pub async fn release_check_lease(state: &AppState) {
    let _ = state.ledger.release_lease(CHECK_LEASE, &state.settings.replica.holder).await;
}

/// Checks each month waiting in the ledger, and takes it off the queue once checked.
async fn check_pending_months(state: &AppState) {
    let pending = match state.ledger.pending_alert_months().await {
        Ok(pending) => pending,
        Err(error) => return tracing::warn!("reading the months waiting for an alert check: {error}"),
    };
    for waiting in pending {
        let checked = match check_month(state, waiting.month).await {
            Ok(()) => state.ledger.clear_alert_month(waiting).await,
            Err(error) => Err(error),
        };
        if let Err(error) = checked {
            tracing::warn!("alert check of {} failed (retried next time): {error}", waiting.month);
        }
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
    let rules = &state.settings.alerts.rules;
    let mut alerts = month_alerts(rules, &month.to_string(), &figures);
    // Commitments projected to fall short (issue 17), as of today within the month.
    if rules.iter().any(|rule| rule.kind == reckon_core::alert::AlertKind::CommitmentAtRisk) {
        let today = Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
        if let Some(day) = reckon_core::contract_terms::forecast_day(Some(month), today) {
            for carrier in figures.carriers.keys() {
                // The accruals a forecast reads made fresh first, as `GET /v1/commitments` does;
                // a carrier whose forecast fails is said and skipped, the month's other alerts
                // still raised.
                let statuses = match crate::commitments::forecasts_made_fresh(state, carrier, day).await {
                    Ok(statuses) => statuses,
                    Err(error) => {
                        tracing::warn!("forecasting the commitments of {carrier} for {month}: {error:?}");
                        continue;
                    }
                };
                for status in statuses {
                    if let Ok(forecast) = &status.forecast {
                        alerts.extend(reckon_core::alert::commitment_alerts(rules, carrier, &status.term, forecast));
                    }
                }
            }
        }
    }
    state.alerts.raise(&state.ledger, alerts).await
}

/// The client alerts are POSTed with, when there is a webhook.
///
/// # Errors
/// The webhook's CA file cannot be read, or the system has no root certificates.
pub fn webhook_client(settings: &AlertSettings) -> Result<Option<HttpClient>, String> {
    if settings.webhook.is_none() {
        return Ok(None);
    }
    let connector = crate::tls::webhook_connector(settings.webhook_ca.as_deref())?;
    Ok(Some(hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector)))
}

/// Delivers the alerts waiting in the ledger to the webhook (without one, they are in the log
/// only): sweeps for them every second, and at once when this replica raised one; each alert in
/// a task of its own, so a failing one does not hold up the others.
pub async fn deliver(state: AppState, client: HttpClient) {
    let Some(url) = state.settings.alerts.webhook.clone() else { return };
    let in_hand: Arc<Mutex<HashSet<String>>> = Arc::default();
    let sweep = state.settings.alerts.check_interval.min(DELIVERY_SWEEP_MAX);
    loop {
        match waiting_alerts(&state).await {
            Ok(waiting) => {
                for alert in waiting {
                    if !in_hand.lock().expect("not poisoned").insert(alert.alert_id.clone()) {
                        continue; // this replica is on it already
                    }
                    let (state, client, url, in_hand) = (state.clone(), client.clone(), url.clone(), in_hand.clone());
                    tokio::spawn(async move {
                        deliver_one(&state, &client, &url, &alert.alert_id).await;
                        in_hand.lock().expect("not poisoned").remove(&alert.alert_id);
                    });
                }
            }
            Err(error) => tracing::warn!("reading the alerts waiting for delivery: {error}"),
        }
        tokio::select! {
            () = state.alerts.raised.notified() => {}
            () = tokio::time::sleep(sweep) => {}
        }
    }
}

/// The alerts neither delivered nor out of attempts.
async fn waiting_alerts(state: &AppState) -> Result<Vec<StoredAlert>, StoreError> {
    let attempts_max = i64::from(state.settings.alerts.webhook_attempts);
    let mut alerts = state.ledger.alerts().await?;
    alerts.retain(|alert| !alert.delivered && alert.attempts < attempts_max);
    Ok(alerts)
}

pub type HttpClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    http_body_util::Full<axum::body::Bytes>,
>;

/// Delivers one alert, attempt after attempt with backoff, for as long as this replica holds
/// its lease: the lease is taken again before each attempt, and the alert read again under it,
/// so an attempt is never made on an alert another replica delivered or is delivering.
async fn deliver_one(state: &AppState, client: &HttpClient, url: &str, alert_id: &str) {
    let (settings, replica, ledger) = (&state.settings.alerts, &state.settings.replica, &state.ledger);
    let lease = format!("alert-delivery:{alert_id}");
    // An attempt must end well within the lease, or another replica could start one meanwhile.
    let answer_max = WEBHOOK_ANSWER_MAX.min(replica.lease_ttl / 2);
    let mut backoff = settings.webhook_backoff;
    loop {
        let attempt = match next_attempt(ledger, &lease, &replica.holder, replica.lease_ttl, alert_id, settings).await {
            Ok(Some(attempt)) => attempt,
            Ok(None) => return,
            Err(error) => {
                tracing::warn!("alert {alert_id}: {error} (tried again later)");
                return;
            }
        };
        let (number, delivery) = attempt;
        let body = serde_json::to_vec(&delivery).expect("an alert serializes");
        let signature = settings.webhook_secret.as_deref().map(|secret| signature(secret, Timestamp::now(), &body));
        let outcome = post(client, url, body, signature, answer_max).await;
        state.metrics.count_webhook_attempt(outcome.is_ok());
        let recorded = match &outcome {
            Ok(()) => "delivered".to_owned(),
            Err(reason) => format!("failed: {reason}"),
        };
        if let Err(error) = ledger.record_alert_delivery(alert_id, number, &recorded, Timestamp::now()).await {
            tracing::warn!("alert {alert_id}: recording attempt {number}: {error}");
        }
        match outcome {
            Ok(()) => {
                // Delivered and recorded: the next holder would find it delivered anyway.
                let _ = ledger.release_lease(&lease, &replica.holder).await;
                return;
            }
            Err(reason) => {
                tracing::warn!(
                    "alert {alert_id}: webhook attempt {number} of {} failed: {reason}",
                    settings.webhook_attempts
                );
                if number >= i64::from(settings.webhook_attempts) {
                    tracing::warn!("alert {alert_id}: not delivered after {number} attempts");
                    let _ = ledger.release_lease(&lease, &replica.holder).await;
                    return;
                }
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(60));
            }
        }
    }
}

/// Under the alert's lease, the number of the next attempt and what to send; `None` when
/// another replica holds the lease, or the alert is delivered or out of attempts.
async fn next_attempt(
    ledger: &Ledger,
    lease: &str,
    holder: &str,
    lease_ttl: Duration,
    alert_id: &str,
    settings: &AlertSettings,
) -> Result<Option<(i64, Delivery)>, StoreError> {
    if !ledger.take_lease(lease, holder, lease_ttl, Timestamp::now()).await? {
        return Ok(None);
    }
    let Some(alert) = ledger.alert(alert_id).await? else { return Ok(None) };
    if alert.delivered || alert.attempts >= i64::from(settings.webhook_attempts) {
        ledger.release_lease(lease, holder).await?;
        return Ok(None);
    }
    let delivery = Delivery {
        alert_id: alert.alert_id,
        rule: alert.rule,
        subject: alert.subject,
        period: alert.period,
        message: alert.message,
    };
    Ok(Some((alert.attempts + 1, delivery)))
}

/// The `Reckon-Signature` header's value for `body` sent at `now`: `t=<unix seconds>,v1=<hex
/// HMAC-SHA256 with the secret of "<t>.<body>">`. The timestamp is signed with the body so that
/// a receiver can refuse a replayed POST by its age.
pub fn signature(secret: &str, now: Timestamp, body: &[u8]) -> String {
    let seconds = now.as_second();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret.as_bytes());
    let mut context = ring::hmac::Context::with_key(&key);
    context.update(format!("{seconds}.").as_bytes());
    context.update(body);
    let tag = context.sign();
    let hex: String = tag.as_ref().iter().map(|byte| format!("{byte:02x}")).collect();
    format!("t={seconds},v1={hex}")
}

async fn post(
    client: &HttpClient,
    url: &str,
    body: Vec<u8>,
    signature: Option<String>,
    answer_max: Duration,
) -> Result<(), String> {
    let mut request = axum::http::Request::post(url);
    if let Some(signature) = signature {
        request = request.header("reckon-signature", signature);
    }
    let request = request
        .header(axum::http::header::CONTENT_TYPE, "application/json")
        .body(http_body_util::Full::new(axum::body::Bytes::from(body)))
        .map_err(|error| error.to_string())?;
    match tokio::time::timeout(answer_max, client.request(request)).await {
        Err(_) => Err(format!("no answer within {answer_max:?}")),
        Ok(Err(error)) => Err(error.to_string()),
        Ok(Ok(response)) if response.status().is_success() => Ok(()),
        Ok(Ok(response)) => Err(format!("status {}", response.status())),
    }
}
