//! The real-time service (`reckon serve`): usage events over HTTP, rated on arrival against the
//! contracts in the ledger, and running accruals. It adds no rule of its own: events become
//! `reckon-core` usage records with the same parsers as the files, storage is the ledger's, and
//! accruals are `rating::rate_all` over the stored events, so they equal a batch `reckon rate`.
//!
//! Every route but `/healthz` needs a bearer API key with the right scope (`ingest`, `read`,
//! `admin`). An event is acknowledged only after its batch is committed.

mod accruals;
mod auth;
mod error;
mod ingest;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use reckon_store::Ledger;
use std::sync::Arc;

pub use error::ApiError;

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
}

/// The service's routes.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/openapi.json", get(openapi))
        .route("/v1/usage", post(ingest::post_usage))
        .route("/v1/usage/corrections", post(ingest::post_corrections))
        .route("/v1/accruals", get(accruals::get_accruals))
        .layer(DefaultBodyLimit::max(HTTP_BODY_BYTES_MAX))
        .layer(axum::middleware::from_fn(timeout))
        .with_state(state)
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

async fn openapi() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::from_str(include_str!("openapi.json")).expect("the bundled document is JSON"))
}

/// Serves until SIGTERM or Ctrl-C, then stops accepting and finishes the requests in flight.
///
/// # Errors
/// When the address cannot be bound.
pub async fn serve(ledger: Ledger, listen: &str, ready: impl FnOnce(std::net::SocketAddr)) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await?;
    ready(listener.local_addr()?);
    let state = AppState { ledger: Arc::new(ledger) };
    axum::serve(listener, app(state)).with_graceful_shutdown(shutdown_signal()).await
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
