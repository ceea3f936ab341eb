//! Bearer API keys with scopes, checked by the extractors handlers take: a handler that names
//! `Caller<Read>` among its arguments runs only for a key with the `read` scope (or `admin`),
//! so no handler can forget the check and every one answers a missing key or scope alike. The
//! key's rate limit is taken here too (see `rate_limit`).

use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use std::marker::PhantomData;

/// A scope a route needs; `admin` grants every scope.
pub trait Scope {
    const NAME: &'static str;
}

/// Sends usage and invoices.
pub struct Ingest;
/// Reads accruals, runs, disputes, settlements, alerts.
pub struct Read;
/// Corrects usage, runs reconciliations, moves disputes, settles.
pub struct Admin;

impl Scope for Ingest {
    const NAME: &'static str = "ingest";
}
impl Scope for Read {
    const NAME: &'static str = "read";
}
impl Scope for Admin {
    const NAME: &'static str = "admin";
}

/// A request made with a known, unrevoked key, whatever its scopes: for a route whose scope
/// depends on the request (replacing invoices needs `admin`, adding them `ingest`).
pub struct Key {
    key_id: String,
    scopes: Vec<String>,
}

/// A request made with a key that has scope `S` (or `admin`): who made it.
pub struct Caller<S> {
    key: Key,
    scope: PhantomData<S>,
}

impl Key {
    /// The actor recorded in audit trails and dispute histories.
    pub fn actor(&self) -> String {
        format!("api-key:{}", self.key_id)
    }

    /// This key, when it has `scope` or `admin`.
    pub fn require(self, scope: &'static str) -> Result<Key, ApiError> {
        if self.scopes.iter().any(|granted| granted == scope || granted == "admin") {
            Ok(self)
        } else {
            Err(ApiError::Forbidden(scope))
        }
    }
}

impl<S> Caller<S> {
    /// The actor recorded in audit trails and dispute histories.
    pub fn actor(&self) -> String {
        self.key.actor()
    }
}

impl FromRequestParts<AppState> for Key {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Key, ApiError> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().split_once(' '))
            // The scheme is case-insensitive (RFC 9110 section 11.1): `bearer` too.
            .and_then(|(scheme, token)| scheme.eq_ignore_ascii_case("bearer").then_some(token.trim()))
            .ok_or(ApiError::Unauthorized)?;
        let scopes =
            state.ledger.api_key_scopes(token, reckon_core::Timestamp::now()).await?.ok_or(ApiError::Unauthorized)?;
        // A known token has the form rk_<key id>_<secret>.
        let key_id = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')).map_or("", |(id, _)| id);
        if let Some(slot) = parts.extensions.get::<crate::ops::CallerSlot>() {
            slot.set(key_id);
        }
        // Counted once the key is known, so that a stranger cannot spend a key's rate.
        if let Some(buckets) = &state.key_buckets {
            buckets.take(key_id, std::time::Instant::now()).map_err(|wait| {
                state.metrics.count_rate_limited();
                ApiError::TooManyRequests(wait)
            })?;
        }
        Ok(Key { key_id: key_id.to_owned(), scopes })
    }
}

impl<S: Scope> FromRequestParts<AppState> for Caller<S> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Caller<S>, ApiError> {
        let key = Key::from_request_parts(parts, state).await?.require(S::NAME)?;
        Ok(Caller { key, scope: PhantomData })
    }
}
