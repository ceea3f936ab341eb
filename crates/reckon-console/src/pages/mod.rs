//! The console's pages, one module per section; each handler reads its request, calls the
//! ledger as the API does, and renders.

pub mod accruals;
pub mod alerts;
pub mod disputes;
pub mod line;
pub mod margin;
pub mod overview;
pub mod run;
pub mod settlements;

use crate::Refusal;
use reckon_core::period::Month;

/// A period named in a request (`YYYY-MM`).
fn month(name: &str, text: &str) -> Result<Month, Refusal> {
    Month::parse(text.trim()).map_err(|error| Refusal::BadRequest(format!("{name}: {text:?}: {error}")))
}

/// An instant as the pages show it: to the second, UTC.
fn when(instant: reckon_core::Timestamp) -> String {
    instant.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// A redirect after a form (303: the browser follows with a GET, so reloading repeats nothing).
fn see_other(location: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    axum::response::Redirect::to(location).into_response()
}
