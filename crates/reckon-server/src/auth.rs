//! Bearer API keys with scopes.

use crate::{ApiError, AppState};
use axum::http::HeaderMap;

/// Checks that the request's bearer key exists and has `scope` (or `admin`).
pub async fn require(state: &AppState, headers: &HeaderMap, scope: &'static str) -> Result<(), ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let scopes = state.ledger.api_key_scopes(token.trim()).await?.ok_or(ApiError::Unauthorized)?;
    if scopes.iter().any(|granted| granted == scope || granted == "admin") {
        Ok(())
    } else {
        Err(ApiError::Forbidden(scope))
    }
}
