//! Bearer API keys with scopes.

use crate::{ApiError, AppState};
use axum::http::HeaderMap;

/// Who made a request: the id of its key (never the secret).
pub struct Caller {
    key_id: String,
}

impl Caller {
    /// The actor recorded in audit trails and dispute histories.
    pub fn actor(&self) -> String {
        format!("api-key:{}", self.key_id)
    }
}

/// Checks that the request's bearer key exists and has `scope` (or `admin`).
pub async fn require(state: &AppState, headers: &HeaderMap, scope: &'static str) -> Result<Caller, ApiError> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().split_once(' '))
        // The scheme is case-insensitive (RFC 9110 section 11.1): `bearer` too.
        .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()))
        .ok_or(ApiError::Unauthorized)?;
    let scopes =
        state.ledger.api_key_scopes(token, reckon_core::Timestamp::now()).await?.ok_or(ApiError::Unauthorized)?;
    if !scopes.iter().any(|granted| granted == scope || granted == "admin") {
        return Err(ApiError::Forbidden(scope));
    }
    // A known token has the form rk_<key id>_<secret>.
    let key_id = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')).map_or("", |(id, _)| id);
    Ok(Caller { key_id: key_id.to_owned() })
}
