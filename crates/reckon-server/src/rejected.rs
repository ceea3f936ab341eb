//! Rejected events: what the NATS consumer could not store, kept as received. An operator lists
//! them and replays one once the cause is fixed (a deck that now rates it is not needed; a
//! parse error needs the publisher's fix, a conflict a correction).

use crate::ingest::{ingest_events, EventResult, EventStatus};
use crate::{auth, ApiError, AppState};
use axum::extract::{Path, Query, State};
use axum::Json;
use reckon_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A rejected event as kept.
#[derive(Serialize, ToSchema)]
pub struct RejectedView {
    rejected_id: String,
    /// Where it came from: `nats`.
    source: String,
    subject: String,
    /// The event as received (or the whole message when it was not JSON).
    payload: String,
    reason: String,
    rejected_at: String,
    /// When a replay stored it (absent: still rejected).
    #[serde(skip_serializing_if = "Option::is_none")]
    replayed_at: Option<String>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RejectedQuery {
    /// Only those not replayed yet.
    pending: Option<bool>,
}

/// The rejected events, oldest first.
#[utoipa::path(
    get,
    path = "/v1/rejected",
    tag = "usage",
    params(RejectedQuery),
    responses(
        (status = 200, description = "The rejected events", body = Vec<RejectedView>),
        (status = 400, description = "A malformed query", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key lacks the read scope", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_rejected(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    query: Result<Query<RejectedQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<RejectedView>>, ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let stored = state.ledger.rejected_events(query.pending.unwrap_or(false)).await?;
    Ok(Json(
        stored
            .into_iter()
            .map(|stored| RejectedView {
                rejected_id: stored.rejected_id,
                source: stored.event.source,
                subject: stored.event.subject,
                payload: stored.event.payload,
                reason: stored.event.reason,
                rejected_at: stored.rejected_at.to_string(),
                replayed_at: stored.replayed_at.map(|instant| instant.to_string()),
            })
            .collect(),
    ))
}

/// Ingests a rejected event again, as received; once accepted (or found stored), it is marked
/// replayed.
#[utoipa::path(
    post,
    path = "/v1/rejected/{rejected_id}/replay",
    tag = "usage",
    params(("rejected_id" = String, Path, description = "The rejected event's id")),
    responses(
        (status = 200, description = "What became of the event: accepted, duplicate or rejected again", body = EventResult),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key lacks the ingest scope", body = crate::error::ErrorBody),
        (status = 404, description = "No such rejected event", body = crate::error::ErrorBody),
        (status = 409, description = "The payload is not one JSON event: it cannot be replayed", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_replay(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Ingest>,
    Path(rejected_id): Path<String>,
) -> Result<Json<EventResult>, ApiError> {
    let stored = state.ledger.rejected_event(&rejected_id).await?;
    let event: crate::ingest::ReceivedEvent<'_> = serde_json::from_str(&stored.event.payload)
        .ok()
        .filter(|event: &crate::ingest::ReceivedEvent<'_>| event.is_object())
        .ok_or_else(|| {
            ApiError::Conflict(format!("rejected event {rejected_id}: its payload is not one JSON event"))
        })?;
    let mut report = ingest_events(&state, &[event], "replay").await?;
    let result = report.results.pop().ok_or_else(|| ApiError::Internal("no result for a replayed event".into()))?;
    if result.status != EventStatus::Rejected {
        state.ledger.mark_rejected_replayed(&rejected_id, Timestamp::now()).await?;
    }
    Ok(Json(result))
}
