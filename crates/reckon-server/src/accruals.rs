//! `GET /v1/accruals`: the expected carrier cost of the stored events of a carrier over a time
//! range, grouped by day, destination or service. The same `rate_all` as `reckon rate`, over the
//! same events, so the figures are the batch figures.

use crate::{auth, ApiError, AppState};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::Json;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{Decimal, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::str::FromStr;

#[derive(Deserialize)]
pub struct AccrualQuery {
    carrier: String,
    from: String,
    to: String,
    #[serde(default)]
    group_by: Option<String>,
}

pub async fn get_accruals(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AccrualQuery>,
) -> Result<Json<Value>, ApiError> {
    auth::require(&state, &headers, "read").await?;
    let instant = |name: &str, text: &str| {
        Timestamp::from_str(text)
            .map_err(|_| ApiError::BadRequest(format!("{name}: {text:?} is not an RFC 3339 timestamp with an offset")))
    };
    let (from, to) = (instant("from", &query.from)?, instant("to", &query.to)?);
    let group_by = query.group_by.as_deref().unwrap_or("day");
    if !["day", "destination", "service"].contains(&group_by) {
        return Err(ApiError::BadRequest(format!("group_by: {group_by:?} is not one of day, destination, service")));
    }
    let usage = state.ledger.usage_between(&query.carrier, from, to).await?;
    let deck = state.ledger.rate_deck(&query.carrier).await?;
    let ratings = rate_all(&deck, &usage, Party::Carrier, &reckon_core::network::NetworkMap::new());
    let mut groups: BTreeMap<(String, String), (u64, Decimal)> = BTreeMap::new();
    let mut unrated = 0_u64;
    for (record, rating) in usage.iter().zip(&ratings) {
        let Some(rating) = rating else {
            unrated += 1;
            continue;
        };
        let key = match group_by {
            "day" => record.started_at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
            "service" => record.service.to_string(),
            _ => {
                let row = deck.row(rating.row);
                row.destination_name.clone().unwrap_or_else(|| format!("+{}", row.prefix))
            }
        };
        let entry = groups.entry((key, rating.currency.to_string())).or_default();
        entry.0 += 1;
        entry.1 += rating.cost;
    }
    let rows: Vec<Value> = groups
        .into_iter()
        .map(|((key, currency), (records, cost))| json!({ "key": key, "currency": currency, "records": records, "cost": cost.normalize().to_string() }))
        .collect();
    Ok(Json(
        json!({ "carrier": query.carrier, "from": query.from, "to": query.to, "group_by": group_by, "groups": rows, "unrated_records": unrated }),
    ))
}
