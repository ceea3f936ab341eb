//! The web console of `reckon serve` (issue 16): server-rendered pages over the ledger for the
//! people who dispute and settle carrier invoices.
//!
//! Every figure and refusal comes from the `reckon-store` call the CLI and the API make, and
//! from `reckon-core`; the console only reads forms, calls, and renders. Sign-in takes an API
//! key (its scopes apply: `read` sees, `admin` acts) and keeps a server-side session; every form
//! carries the session's CSRF token; every response carries a strict Content-Security-Policy.
//! Assets are embedded: no JavaScript, one stylesheet, charts drawn as SVG on the server.

mod chart;
mod html;
mod pages;
mod run_rows;
mod session;

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use reckon_store::{ExplainSettings, Ledger, StoreError};
use std::sync::Arc;

/// The settings the service reconciles, settles and explains with: implemented by the
/// service's own settings value, which the console and the API's handlers then share (the
/// console keeps no copy of them).
pub trait ServiceReference: Send + Sync {
    /// Contracts (settlement currencies, report currency), FX rates, networks and holidays, as a
    /// run of the service uses them.
    fn reference(&self) -> ExplainSettings<'_>;
}

/// A future the service hands back to the console.
pub type Pending<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// The service's running accruals: implemented by the service with the code that answers
/// `GET /v1/accruals`, so the console's chart shows that very answer (the console adds no rule,
/// and reaches none of the service's private code).
pub trait AccrualSource: Send + Sync {
    /// The accruals of `[from, to)` (UTC midnights) of every carrier and customer, grouped per
    /// UTC day (`YYYY-MM-DD`) and currencies; the error is a message fit to show.
    fn daily_accruals(
        &self,
        from: reckon_core::Timestamp,
        to: reckon_core::Timestamp,
    ) -> Pending<'_, Result<reckon_core::accrual::AccrualGroups, String>>;
}

/// What the console is started with besides the ledger.
#[derive(Clone)]
pub struct ConsoleSettings {
    /// Mark the session cookie `Secure`: set when the service is served over TLS.
    pub secure_cookies: bool,
    /// The service's settings, so that a settlement or an explanation from the console is the
    /// API's.
    pub reference: Arc<dyn ServiceReference>,
    /// The service's accruals, for the overview's chart.
    pub accruals: Arc<dyn AccrualSource>,
}

/// What every page shares.
#[derive(Clone)]
struct Console {
    ledger: Arc<Ledger>,
    settings: Arc<ConsoleSettings>,
    runs: Arc<run_rows::RunCache>,
}

/// The console's routes, to merge into the service's router (they live beside `/v1/...`).
pub fn router(ledger: Arc<Ledger>, settings: ConsoleSettings) -> Router {
    let console = Console { ledger, settings: Arc::new(settings), runs: Arc::new(run_rows::RunCache::default()) };
    Router::new()
        .route("/", get(pages::overview::page))
        .route("/console.css", get(stylesheet))
        .route("/sign-in", get(session::sign_in_page).post(session::sign_in))
        .route("/sign-out", post(session::sign_out))
        .route("/runs/{run_id}", get(pages::run::page))
        .route("/runs/{run_id}/discrepancies.csv", get(pages::run::csv))
        .route("/runs/{run_id}/lines/{seq}", get(pages::line::page))
        .route("/runs/{run_id}/disputes", post(pages::disputes::open))
        .route("/disputes", get(pages::disputes::list))
        .route("/disputes/{dispute_id}", get(pages::disputes::page).post(pages::disputes::act))
        .route("/disputes/{dispute_id}/evidence.csv", get(pages::disputes::evidence))
        .route("/settlements", get(pages::settlements::page).post(pages::settlements::settle))
        .route("/settlements/{carrier}/{period}/journal", get(pages::settlements::journal))
        .route("/margin", get(pages::margin::page))
        .route("/margin/leakage.csv", get(pages::margin::leakage_csv))
        .route("/alerts", get(pages::alerts::page))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(console)
}

const STYLESHEET: &str = include_str!("../assets/console.css");

async fn stylesheet() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "max-age=3600")], STYLESHEET)
        .into_response()
}

/// The console ships no script, no inline style and no frame: the policy says so, so that an
/// injected tag could do nothing.
const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

async fn security_headers(request: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    // `same-origin`, not `no-referrer`: under `no-referrer` a browser sends `Origin: null` on
    // its form posts, and the origin check could not tell our own forms from another site's.
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::CACHE_CONTROL).or_insert(HeaderValue::from_static("no-store"));
    response
}

/// Why a page is not shown: each renders as a page saying so, with its status.
#[derive(Debug)]
enum Refusal {
    /// No session (or it ended): to the sign-in page.
    SignIn,
    /// The key lacks the scope of the action.
    Forbidden(String),
    BadRequest(String),
    NotFound(String),
    /// The ledger refuses: an illegal transition, changed figures.
    Conflict(String),
    Internal(String),
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        match error {
            StoreError::Conflict(_) | StoreError::IllegalTransition(_) => Refusal::Conflict(error.to_string()),
            StoreError::NotFound(_) => Refusal::NotFound(error.to_string()),
            StoreError::Invalid(_) => Refusal::BadRequest(error.to_string()),
            _ => Refusal::Internal(error.to_string()),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            Refusal::SignIn => return Redirect::to("/sign-in").into_response(),
            Refusal::Forbidden(message) => (StatusCode::FORBIDDEN, message),
            Refusal::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            Refusal::NotFound(message) => (StatusCode::NOT_FOUND, message),
            Refusal::Conflict(message) => (StatusCode::CONFLICT, message),
            Refusal::Internal(detail) => {
                log(&format!("console: internal error: {detail}"));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
        };
        (status, html::refusal_page(status, &message)).into_response()
    }
}

type PageResult = Result<Response, Refusal>;

/// A line on stderr, the service's log.
fn log(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{} {message}", jiff::Timestamp::now());
}
