//! The real-time service (`reckon serve`): usage events over HTTP and from NATS JetStream, rated
//! on arrival against the contracts in the ledger; running accruals with revenue and margin;
//! alerts; and the ledger's invoices, runs, disputes and settlements over HTTP.
//!
//! It adds no rule of its own: events become `reckon-core` usage records with the same parsers
//! as the files, storage and every ledger operation are `reckon-store`'s, and accruals are
//! `rating::rate_all` over the stored events, so they equal a batch `reckon rate`.
//!
//! Every route but `/healthz`, `/readyz`, `/metrics` and `/openapi.json` needs a bearer API key
//! with the right scope (`ingest`, `read`, `admin`), taken by the extractors of `auth`, with the
//! key's rate limit. An event is acknowledged only after its batch is committed. The OpenAPI
//! document is generated from the handlers and types below. Every request is timed, counted
//! and logged (`ops`); the service speaks HTTPS when given a certificate (`tls`).

mod accruals;
mod alerts;
mod auth;
mod commitments;
mod decks;
mod error;
mod explain;
mod ingest;
mod jobs;
mod ledger_api;
mod metrics;
mod nats;
mod ops;
mod rate_limit;
mod rejected;
mod settings;
mod tls;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use reckon_store::Ledger;
use std::sync::{Arc, OnceLock};
use utoipa::OpenApi;

pub use error::ApiError;
pub use nats::NatsSource;
pub use rate_limit::RateLimit;
pub use settings::{AlertSettings, ConnectionLimits, ReplicaSettings, ServiceSettings};
pub use tls::TlsFiles;

/// Largest request body accepted.
pub const HTTP_BODY_BYTES_MAX: usize = 8 * 1024 * 1024;
/// Most events in one ingest request.
pub const INGEST_BATCH_EVENTS_MAX: usize = 10_000;
/// Longest a request may take before it is answered with a timeout.
pub const HTTP_REQUEST_SECONDS_MAX: u64 = 30;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub ledger: Arc<Ledger>,
    pub settings: Arc<ServiceSettings>,
    decks: Arc<decks::DeckCache>,
    alerts: Arc<alerts::Alerts>,
    metrics: Arc<metrics::Metrics>,
    /// Each key's token bucket, when keys are rate-limited.
    key_buckets: Option<Arc<rate_limit::KeyBuckets>>,
    /// The NATS connection, once made (for `/readyz` and `/metrics`).
    nats: Arc<OnceLock<nats::NatsProbe>>,
    nats_configured: bool,
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Reckon",
        description = "Carrier cost reconciliation: usage ingest, accruals, invoices, runs, disputes, settlements."
    ),
    paths(
        health,
        ops::readiness,
        ops::metrics,
        ingest::post_usage,
        ingest::post_corrections,
        accruals::get_accruals,
        ledger_api::post_invoices,
        ledger_api::get_runs,
        ledger_api::post_run,
        ledger_api::get_discrepancies,
        ledger_api::post_disputes,
        ledger_api::get_disputes,
        ledger_api::get_dispute,
        ledger_api::post_dispute_action,
        ledger_api::get_evidence,
        ledger_api::post_settlement,
        ledger_api::get_settlement,
        ledger_api::get_journal,
        get_alerts,
        rejected::get_rejected,
        rejected::post_replay,
        explain::get_explain,
        commitments::get_commitments,
        jobs::post_jobs,
        jobs::get_jobs,
    ),
    modifiers(&BearerKeys)
)]
struct ApiDoc;

struct BearerKeys;

impl utoipa::Modify for BearerKeys {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("rk_<id>_<secret>").build(),
            ),
        );
        // Every keyed route may answer 429 when its key is over its rate limit.
        let too_many = utoipa::openapi::ResponseBuilder::new()
            .description("This key is over its rate limit: retry after `Retry-After` seconds")
            .header(
                "Retry-After",
                utoipa::openapi::HeaderBuilder::new()
                    .schema(utoipa::openapi::ObjectBuilder::new().schema_type(utoipa::openapi::Type::Integer))
                    .build(),
            )
            .content(
                "application/json",
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build();
        for item in openapi.paths.paths.values_mut() {
            for operation in [&mut item.get, &mut item.post].into_iter().flatten() {
                if operation.security.is_some() {
                    operation.responses.responses.insert("429".to_owned(), too_many.clone().into());
                }
            }
        }
    }
}

/// The OpenAPI document of the service.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    let document = Arc::new(openapi_document());
    Router::new()
        .route("/healthz", get(health))
        .route("/readyz", get(ops::readiness))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(move || async move { axum::Json(document.as_ref().clone()) }))
        .route("/v1/usage", post(ingest::post_usage))
        .route("/v1/usage/corrections", post(ingest::post_corrections))
        .route("/v1/accruals", get(accruals::get_accruals))
        .route("/v1/invoices", post(ledger_api::post_invoices))
        .route("/v1/runs", get(ledger_api::get_runs).post(ledger_api::post_run))
        .route("/v1/runs/{run_id}/discrepancies", get(ledger_api::get_discrepancies))
        .route("/v1/runs/{run_id}/disputes", post(ledger_api::post_disputes))
        .route("/v1/disputes", get(ledger_api::get_disputes))
        .route("/v1/disputes/{dispute_id}", get(ledger_api::get_dispute))
        .route("/v1/disputes/{dispute_id}/actions", post(ledger_api::post_dispute_action))
        .route("/v1/disputes/{dispute_id}/evidence", get(ledger_api::get_evidence))
        .route("/v1/settlements", post(ledger_api::post_settlement))
        .route("/v1/settlements/{carrier}/{period}", get(ledger_api::get_settlement))
        .route("/v1/settlements/{carrier}/{period}/journal", get(ledger_api::get_journal))
        .route("/v1/alerts", get(get_alerts))
        .route("/v1/rejected", get(rejected::get_rejected))
        .route("/v1/rejected/{rejected_id}/replay", post(rejected::post_replay))
        .route("/v1/explain", get(explain::get_explain))
        .route("/v1/commitments", get(commitments::get_commitments))
        .route("/v1/jobs", post(jobs::post_jobs))
        .route("/v1/jobs/{batch_id}", get(jobs::get_jobs))
        .merge(console_router(&state).with_state(()))
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(timeout))
        .layer(axum::middleware::from_fn_with_state(state.clone(), ops::observe))
        .with_state(state)
}

/// The web console at `/` (`reckon-console`), over the same ledger and settings as the API.
fn console_router(state: &AppState) -> Router {
    let settings = reckon_console::ConsoleSettings {
        // Served over TLS, the session cookie travels only there.
        secure_cookies: state.settings.tls.is_some(),
        // The service's own settings value, shared with the API's handlers.
        reference: state.settings.clone(),
        // The accruals of `GET /v1/accruals`, by the same code.
        accruals: Arc::new(ConsoleAccruals(state.clone())),
    };
    reckon_console::router(state.ledger.clone(), settings)
}

/// The service's accruals as the console reads them: `accruals::daily_groups`, the code of
/// `GET /v1/accruals?group_by=day`.
struct ConsoleAccruals(AppState);

impl reckon_console::AccrualSource for ConsoleAccruals {
    fn daily_accruals(
        &self,
        from: jiff::Timestamp,
        to: jiff::Timestamp,
    ) -> reckon_console::Pending<'_, Result<reckon_core::accrual::AccrualGroups, String>> {
        Box::pin(async move {
            accruals::daily_groups(&self.0, from, to).await.map_err(|error| match error {
                ApiError::BadRequest(message) | ApiError::NotFound(message) | ApiError::Conflict(message) => message,
                ApiError::Timeout => "the accruals took too long".to_owned(),
                other => {
                    // Details to the log only, as the API does.
                    tracing::error!("console accruals: {other:?}");
                    "internal error".to_owned()
                }
            })
        })
    }
}

/// Liveness: answers without a key.
#[utoipa::path(get, path = "/healthz", tag = "service", responses((status = 200, description = "Serving", body = String, content_type = "text/plain")))]
async fn health() -> &'static str {
    "ok\n"
}

/// An alert as stored, with its delivery state.
#[derive(serde::Serialize, utoipa::ToSchema)]
struct AlertView {
    alert_id: String,
    rule: String,
    subject: String,
    /// YYYY-MM, or invoice:ID.
    period: String,
    message: String,
    raised_at: String,
    attempts: i64,
    delivered: bool,
}

/// The alerts raised so far, newest first.
#[utoipa::path(
    get,
    path = "/v1/alerts",
    tag = "alerts",
    responses(
        (status = 200, description = "The alerts", body = Vec<AlertView>),
        (status = 401, description = "No or unknown API key", body = error::ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = error::ErrorBody),
    ),
    security(("bearer" = []))
)]
async fn get_alerts(
    axum::extract::State(state): axum::extract::State<AppState>,
    _caller: auth::Caller<auth::Read>,
) -> Result<axum::Json<Vec<AlertView>>, ApiError> {
    let alerts = state.ledger.alerts().await?;
    Ok(axum::Json(
        alerts
            .into_iter()
            .map(|alert| AlertView {
                alert_id: alert.alert_id,
                rule: alert.rule,
                subject: alert.subject,
                period: alert.period,
                message: alert.message,
                raised_at: alert.raised_at.to_string(),
                attempts: alert.attempts,
                delivered: alert.delivered,
            })
            .collect(),
    ))
}

/// Answers 503 when a request runs past [`HTTP_REQUEST_SECONDS_MAX`], so a slow client or query
/// cannot hold a connection forever.
async fn timeout(request: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::response::IntoResponse;
    match tokio::time::timeout(std::time::Duration::from_secs(HTTP_REQUEST_SECONDS_MAX), next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::Timeout.into_response(),
    }
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting, finishes the requests in flight (for
/// at most the shutdown timeout) and the NATS batch in hand. The log goes through `tracing`:
/// the caller installs the subscriber (stdout carries `listening on ...` only).
///
/// # Errors
/// When the address cannot be bound, the TLS files or the webhook's CA cannot be read, or NATS
/// cannot be reached.
pub async fn serve(
    ledger: Ledger,
    settings: ServiceSettings,
    nats: Option<NatsSource>,
    listen: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let tls = settings.tls.as_ref().map(tls::acceptor).transpose().map_err(std::io::Error::other)?;
    let webhook_client = alerts::webhook_client(&settings.alerts).map_err(std::io::Error::other)?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let alerts = alerts::Alerts::new(&settings.alerts);
    let limits = settings.connections.clone();
    let state = AppState {
        ledger: Arc::new(ledger),
        key_buckets: settings.key_rate_limit.map(|limit| Arc::new(rate_limit::KeyBuckets::new(limit))),
        settings: Arc::new(settings),
        decks: Arc::default(),
        alerts: Arc::new(alerts),
        metrics: Arc::default(),
        nats: Arc::default(),
        nats_configured: nats.is_some(),
    };
    if let Some(client) = webhook_client {
        tokio::spawn(alerts::deliver(state.clone(), client));
    }
    tokio::spawn(jobs::work_jobs(state.clone()));
    if !state.settings.alerts.rules.is_empty() {
        tokio::spawn(alerts::check_months(state.clone()));
    }
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let consumer = match &nats {
        Some(source) => {
            let connection = nats::connect(source).await.map_err(std::io::Error::other)?;
            let _ = state.nats.set(connection.probe());
            Some(tokio::spawn(nats::consume(state.clone(), connection, stopped)))
        }
        None => None,
    };
    ready(listener.local_addr()?);
    accept_until_shutdown(listener, tls, app(state.clone()), &limits).await;
    alerts::release_check_lease(&state).await;
    let _ = stop.send(true);
    if let Some(consumer) = consumer {
        let _ = consumer.await;
    }
    Ok(())
}

/// Serves connections until the shutdown signal: at most `connections_max` at once (the next
/// waits in the backlog for a free slot), each closed when it takes longer than the header read
/// timeout to finish its TLS handshake or send a request head; then waits for open connections
/// at most the shutdown timeout.
async fn accept_until_shutdown(
    listener: tokio::net::TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    router: Router,
    limits: &ConnectionLimits,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.connections_max.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let shutdown = shutdown_signal();
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => slot.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: wait instead of spinning.
                    tracing::warn!("accepting a connection: {error}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let Some(tls) = tls.clone() else {
            let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
            tokio::spawn(async move {
                let _ = connection.await;
                drop(slot);
            });
            continue;
        };
        let (watcher, http, handshake_max) = (graceful.watcher(), http.clone(), limits.header_read_timeout);
        tokio::spawn(async move {
            // The handshake happens in the connection's task, so a slow one holds up no other.
            match tokio::time::timeout(handshake_max, tls.accept(stream)).await {
                Ok(Ok(stream)) => {
                    let _ = watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await;
                }
                Ok(Err(error)) => tracing::debug!("TLS handshake: {error}"),
                Err(_) => tracing::debug!("TLS handshake: not done within {handshake_max:?}"),
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(limits.shutdown_timeout) => {
            tracing::warn!("shutdown: connections still open after {:?} are closed", limits.shutdown_timeout);
        }
    }
}

async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
