//! What operators watch: the access log and request metrics (one middleware around every
//! route), `GET /metrics` and `GET /readyz`. Both routes answer without a key, as `/healthz`
//! does: they show counts and states, never the ledger's data; a deployment that exposes the
//! service's port beyond its network blocks them at the load balancer.

use crate::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use utoipa::ToSchema;

/// Where the key extractor leaves the id of the request's key for the access log.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<String>>);

impl CallerSlot {
    pub fn set(&self, key_id: &str) {
        let _ = self.0.set(key_id.to_owned());
    }
}

/// Longest a readiness or metrics probe waits for the database or NATS.
const PROBE_SECONDS_MAX: Duration = Duration::from_secs(2);

/// Times each request, counts it by route and status, and writes its access-log line: method,
/// route, path, status, latency and the key's id (never its secret).
pub async fn observe(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let path = request.uri().path().to_owned();
    let caller = CallerSlot::default();
    request.extensions_mut().insert(caller.clone());
    let response = next.run(request).await;
    let seconds = started.elapsed().as_secs_f64();
    let status = response.status().as_u16();
    state.metrics.observe_request(method.as_str(), &route, status, seconds);
    tracing::info!(
        target: "reckon::access",
        method = %method,
        route,
        path,
        status,
        latency_ms = seconds * 1000.0,
        key_id = caller.0.get().map_or("-", String::as_str),
        "request"
    );
    response
}

/// The service's metrics in the OpenMetrics text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "service",
    responses((status = 200, description = "Prometheus metrics (OpenMetrics text)", body = String, content_type = "application/openmetrics-text"))
)]
pub async fn metrics(State(state): State<AppState>) -> Response {
    if let Some(nats) = state.nats.get() {
        match tokio::time::timeout(PROBE_SECONDS_MAX, nats.consumer.get_info()).await {
            Ok(Ok(info)) => {
                state.metrics.set_nats_consumer(info.num_pending, info.num_ack_pending, info.num_redelivered)
            }
            Ok(Err(error)) => tracing::warn!("metrics: reading the NATS consumer: {error}"),
            Err(_) => tracing::warn!("metrics: the NATS consumer's info took over {PROBE_SECONDS_MAX:?}"),
        }
    }
    let (connections, idle) = state.ledger.pool_status();
    state.metrics.set_pool(connections, idle);
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], state.metrics.encode())
        .into_response()
}

/// What `/readyz` found.
#[derive(Serialize, ToSchema)]
pub struct Readiness {
    /// `ok`, or why the database did not answer.
    database: String,
    /// `ok`, `not configured`, or the connection's state.
    nats: String,
}

/// Readiness: the database answers a query and NATS (when configured) is connected. A load
/// balancer sends requests only to a ready replica; `/healthz` is liveness.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "service",
    responses(
        (status = 200, description = "Ready", body = Readiness),
        (status = 503, description = "Not ready: what failed", body = Readiness),
    )
)]
pub async fn readiness(State(state): State<AppState>) -> (StatusCode, axum::Json<Readiness>) {
    let database = match tokio::time::timeout(PROBE_SECONDS_MAX, state.ledger.ping()).await {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error.to_string()),
        Err(_) => Some(format!("no answer within {PROBE_SECONDS_MAX:?}")),
    };
    let nats = match state.nats.get() {
        None if state.nats_configured => Some("not connected yet".to_owned()),
        None => None,
        Some(nats) => match nats.client.connection_state() {
            async_nats::connection::State::Connected => None,
            other => Some(format!("{other:?}").to_lowercase()),
        },
    };
    let status = if database.is_none() && nats.is_none() { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    if status != StatusCode::OK {
        tracing::warn!(
            database = database.as_deref().unwrap_or("ok"),
            nats = nats.as_deref().unwrap_or("ok"),
            "not ready"
        );
    }
    let nats_text = nats.unwrap_or_else(|| if state.nats_configured { "ok" } else { "not configured" }.to_owned());
    (status, axum::Json(Readiness { database: database.unwrap_or_else(|| "ok".to_owned()), nats: nats_text }))
}
