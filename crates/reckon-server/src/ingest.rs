//! `POST /v1/usage`: one event or a batch, each answered `accepted`, `duplicate` or `rejected`
//! with its reason; a bad event never sinks the good ones of its batch.

use crate::{auth, ApiError, AppState, INGEST_BATCH_EVENTS_MAX};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::Json;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{CompactString, Decimal, Destination, Service, Timestamp, UsageRecord};
use reckon_store::IngestStatus;
use serde_json::{json, Map, Value};
use std::str::FromStr;

pub async fn post_usage(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    auth::require(&state, &headers, "ingest").await?;
    let events = events_of(body)?;
    let parsed: Vec<Result<UsageRecord, String>> =
        events.iter().enumerate().map(|(index, event)| parse_event(index, event)).collect();
    let good: Vec<UsageRecord> = parsed.iter().filter_map(|event| event.as_ref().ok().cloned()).collect();
    let statuses = state.ledger.ingest_usage(&good, Timestamp::now()).await?;
    let costs = rate_on_arrival(&state, &good).await?;
    let mut good_statuses = statuses.into_iter().zip(costs);
    let mut counts = [0_u64; 3];
    let results: Vec<Value> = parsed
        .iter()
        .zip(&events)
        .map(|(event, raw)| match event {
            Ok(record) => {
                let (status, cost) = good_statuses.next().expect("one status per good event");
                let (name, index, reason) = match status {
                    IngestStatus::Accepted => ("accepted", 0, None),
                    IngestStatus::Duplicate => ("duplicate", 1, None),
                    IngestStatus::Conflict => {
                        ("rejected", 2, Some("conflict: this record_id is stored with other content"))
                    }
                };
                counts[index] += 1;
                let mut result = json!({ "record_id": record.record_id.as_str(), "status": name });
                if let Some(reason) = reason {
                    result["reason"] = json!(reason);
                }
                if let (Some((amount, currency)), "accepted" | "duplicate") = (cost, name) {
                    result["cost"] = json!(amount.normalize().to_string());
                    result["currency"] = json!(currency);
                }
                result
            }
            Err(reason) => {
                counts[2] += 1;
                json!({ "record_id": raw.get("record_id"), "status": "rejected", "reason": reason })
            }
        })
        .collect();
    Ok(Json(json!({ "accepted": counts[0], "duplicates": counts[1], "rejected": counts[2], "results": results })))
}

/// `POST /v1/usage/corrections`: events that supersede stored ones of the same `record_id`
/// (the old content is kept in the audit log), all or nothing; needs the `admin` scope.
pub async fn post_corrections(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Value>, ApiError> {
    auth::require(&state, &headers, "admin").await?;
    let events = events_of(body)?;
    // A correction is applied whole: one bad event refuses the request.
    let records = events
        .iter()
        .enumerate()
        .map(|(index, event)| parse_event(index, event))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::BadRequest)?;
    let outcome = state.ledger.import_usage(&records, "http correction", "api", true, Timestamp::now()).await?;
    let costs = rate_on_arrival(&state, &records).await?;
    let results: Vec<Value> = records
        .iter()
        .zip(costs)
        .map(|(record, cost)| {
            let mut result = json!({ "record_id": record.record_id.as_str() });
            if let Some((amount, currency)) = cost {
                result["cost"] = json!(amount.normalize().to_string());
                result["currency"] = json!(currency);
            }
            result
        })
        .collect();
    Ok(Json(
        json!({ "replaced": outcome.replaced, "inserted": outcome.inserted, "unchanged": outcome.unchanged, "results": results }),
    ))
}

/// The events of a request body: one object or an array of them, at most
/// [`INGEST_BATCH_EVENTS_MAX`].
fn events_of(body: Result<Bytes, BytesRejection>) -> Result<Vec<Value>, ApiError> {
    let body = body.map_err(|rejection| ApiError::PayloadTooLarge(format!("the body is refused: {rejection}")))?;
    let value: Value = serde_json::from_slice(&body).map_err(|error| {
        ApiError::BadRequest(format!(
            "the body is not JSON: {error} (line {}, column {})",
            error.line(),
            error.column()
        ))
    })?;
    let events = match value {
        Value::Array(events) => events,
        Value::Object(event) => vec![Value::Object(event)],
        _ => return Err(ApiError::BadRequest("expected an event object or an array of events".into())),
    };
    if events.len() > INGEST_BATCH_EVENTS_MAX {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} events in one batch; at most {INGEST_BATCH_EVENTS_MAX}",
            events.len()
        )));
    }
    Ok(events)
}

/// Each event's carrier cost, rated against its carrier's deck in the ledger as it stands (a
/// tiered price is settled per month in accruals).
async fn rate_on_arrival(
    state: &AppState,
    records: &[UsageRecord],
) -> Result<Vec<Option<(Decimal, String)>>, ApiError> {
    let mut carriers: Vec<&str> = records.iter().map(|record| &*record.carrier).collect();
    carriers.sort_unstable();
    carriers.dedup();
    let mut costs = vec![None; records.len()];
    for carrier in carriers {
        let deck = state.ledger.rate_deck(carrier).await?;
        let indexes: Vec<usize> = (0..records.len()).filter(|index| &*records[*index].carrier == carrier).collect();
        let batch: Vec<UsageRecord> = indexes.iter().map(|index| records[*index].clone()).collect();
        let ratings = rate_all(&deck, &batch, Party::Carrier, &reckon_core::network::NetworkMap::new());
        for (index, rating) in indexes.into_iter().zip(ratings) {
            costs[index] = rating.map(|rating| (rating.cost, rating.currency.to_string()));
        }
    }
    Ok(costs)
}

/// An event, fields as in `usage.csv`, into a usage record; the error names event and field.
fn parse_event(index: usize, event: &Value) -> Result<UsageRecord, String> {
    let fail = |field: &str, reason: &str| format!("event {index}: field {field}: {reason}");
    let object = event.as_object().ok_or_else(|| format!("event {index}: expected an object"))?;
    let text = |field: &str| -> Result<Option<String>, String> {
        match object.get(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) if text.trim().is_empty() => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.trim().to_owned())),
            Some(Value::Number(number)) if number.is_i64() || number.is_u64() => Ok(Some(number.to_string())),
            Some(Value::Number(_)) => Err(fail(field, "give decimals as strings (\"61.4\") so they stay exact")),
            Some(_) => Err(fail(field, "expected a string")),
        }
    };
    let required = |field: &str| text(field)?.ok_or_else(|| fail(field, "a value is required"));
    check_known_fields(index, object)?;
    let service_text = required("service")?;
    let started_text = required("started_at")?;
    let quantity_text = required("quantity")?;
    let quantity = Decimal::from_str(&quantity_text)
        .map_err(|_| fail("quantity", &format!("{quantity_text:?} is not a decimal")))?;
    if quantity.is_sign_negative() && !quantity.is_zero() {
        return Err(fail("quantity", "must be >= 0"));
    }
    let destination_text = required("destination")?;
    Ok(UsageRecord {
        record_id: CompactString::from(required("record_id")?),
        service: Service::parse(&service_text).ok_or_else(|| {
            fail("service", &format!("{service_text:?} is not one of voice, video, sms, mms, email, data"))
        })?,
        carrier: required("carrier")?.into(),
        carrier_ref: text("carrier_ref")?.map(CompactString::from),
        customer: text("customer")?.map(Into::into),
        started_at: Timestamp::from_str(&started_text).map_err(|_| {
            fail("started_at", &format!("{started_text:?} is not an RFC 3339 timestamp with an offset"))
        })?,
        origin: text("origin")?
            .map(|origin| Destination::parse(&origin).map_err(|error| fail("origin", &error.to_string())))
            .transpose()?,
        destination: Destination::parse(&destination_text).map_err(|error| fail("destination", &error.to_string()))?,
        quantity,
        network: text("network")?.map(CompactString::from),
    })
}

const FIELDS: [&str; 10] = reckon_import::usage::USAGE_COLUMN_NAMES;

fn check_known_fields(index: usize, object: &Map<String, Value>) -> Result<(), String> {
    match object.keys().find(|key| !FIELDS.contains(&key.as_str())) {
        Some(unknown) => Err(format!("event {index}: unknown field {unknown:?} (fields: {})", FIELDS.join(", "))),
        None => Ok(()),
    }
}
