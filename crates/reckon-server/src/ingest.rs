//! `POST /v1/usage`: one event or a batch, each answered `accepted`, `duplicate` or `rejected`
//! with its reason; a bad event never sinks the good ones of its batch.

use crate::{auth, ApiError, AppState, INGEST_BATCH_EVENTS_MAX};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use reckon_core::accrual::{AccrualKey, AccrualSums};
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, Timestamp, UsageRecord};
use reckon_import::usage::{UsageEventReader, USAGE_COLUMN_COUNT};
use reckon_store::{AccrualUpdate, IngestStatus};
use serde::Serialize;
use std::borrow::Cow;
use std::path::Path;
use utoipa::ToSchema;

/// A usage event: the fields of a `usage.csv` row. Decimals are strings (`"61.4"`) so they stay
/// exact; an integer quantity may be a JSON number.
#[derive(serde::Deserialize, ToSchema)]
#[serde(deny_unknown_fields)] // as the server: an unknown field is refused, naming it
#[allow(dead_code)] // documents the body; events are read field by field to name the bad one
pub struct UsageEvent {
    /// Unique forever: a repeat is a duplicate, or a conflict when its content differs.
    #[schema(min_length = 1, pattern = r"\S", example = "cdr-000001")]
    record_id: String,
    /// voice, video, sms, mms, email or data.
    #[schema(pattern = r"^(voice|video|sms|mms|email|data)$", example = "voice")]
    service: String,
    #[schema(min_length = 1, pattern = r"\S", example = "acme")]
    carrier: String,
    carrier_ref: Option<String>,
    customer: Option<String>,
    /// RFC 3339 with an offset.
    #[schema(format = DateTime, example = "2026-03-02T10:00:00Z")]
    started_at: String,
    /// E.164 digits, `+` optional.
    #[schema(pattern = r"^\+?[0-9]{1,15}$")]
    origin: Option<String>,
    /// E.164 digits, `+` optional.
    #[schema(pattern = r"^\+?[0-9]{1,15}$", example = "+442071234567")]
    destination: String,
    /// Seconds, messages or bytes, >= 0.
    #[schema(pattern = r"^[0-9]*\.?[0-9]+$|^[0-9]+\.$", example = "61.4")]
    quantity: String,
    /// MCC and MNC digits joined, for rates priced per network.
    #[schema(pattern = r"^[0-9]{5,6}$", example = "23410")]
    network: Option<String>,
    /// What the message's delivery receipt says: delivered, failed, expired, rejected or unknown.
    #[schema(pattern = r"^(delivered|failed|expired|rejected|unknown)$", example = "delivered")]
    status: Option<String>,
}

/// One event or a batch of at most 10,000.
#[derive(serde::Deserialize, ToSchema)]
#[serde(untagged)]
#[allow(dead_code)]
pub enum UsageBody {
    One(Box<UsageEvent>),
    Batch(Vec<UsageEvent>),
}

/// What became of an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Accepted,
    Duplicate,
    Rejected,
}

/// One event's answer, with its rating when it is stored.
#[derive(Debug, Serialize, ToSchema)]
pub struct EventResult {
    /// The event's id, when it had a readable one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<String>,
    pub status: EventStatus,
    /// Why it was rejected: the field, or a conflict with the stored event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Carrier cost, in `currency` (absent: no rate applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub cost: Option<AmountText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<CurrencyText>,
    /// Customer price, in `price_currency` (absent: no price plan applies).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub price: Option<AmountText>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub price_currency: Option<CurrencyText>,
    /// Price minus cost converted into the price's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub margin: Option<AmountText>,
}

/// An exact amount of an answer, as its shortest text (`"0.0135"`). It is written straight into
/// the answer's JSON: a batch's answer has thousands, and a string of its own for each was a
/// measurable share of the ingest's CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AmountText(Decimal);

impl AmountText {
    fn of(amount: Decimal) -> AmountText {
        AmountText(amount.normalize())
    }
}

impl Serialize for AmountText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// A currency code of an answer (`"USD"`), written straight into its JSON like [`AmountText`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CurrencyText(Currency);

impl Serialize for CurrencyText {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.0.as_str())
    }
}

/// The answer to an ingest request.
#[derive(Debug, Serialize, ToSchema)]
pub struct IngestReport {
    pub accepted: u64,
    pub duplicates: u64,
    pub rejected: u64,
    /// One per event, in the request's order.
    pub results: Vec<EventResult>,
}

/// Ingests usage: each event answered `accepted`, `duplicate` or `rejected` with the reason.
#[utoipa::path(
    post,
    path = "/v1/usage",
    tag = "usage",
    request_body(content = UsageBody, description = "One event or an array of at most 10,000"),
    responses(
        (status = 200, description = "Per event: accepted, duplicate or rejected; acknowledged after commit", body = IngestReport),
        (status = 400, description = "Not JSON, or not an event or an array of events", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key lacks the ingest scope", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 8 MiB or batch over 10,000 events", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_usage(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Ingest>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let body = body.map_err(|rejection| ApiError::PayloadTooLarge(format!("the body is refused: {rejection}")))?;
    let events = events_of(&body)?;
    let report = ingest_events(&state, &events, "http").await?;
    state.metrics.count_ingest("http", &report);
    report_response(&report)
}

/// An ingest report as a JSON answer, written into a body sized for it at once (a batch's
/// answer is about 120 bytes an event: grown from empty, it was copied a dozen times).
fn report_response(report: &IngestReport) -> Result<Response, ApiError> {
    const BYTES_PER_RESULT: usize = 128;
    let mut body = Vec::with_capacity(64 + report.results.len() * BYTES_PER_RESULT);
    serde_json::to_writer(&mut body, report)
        .map_err(|error| ApiError::Internal(format!("writing the ingest report: {error}")))?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The one ingest path of every source (HTTP, NATS): parses each event, stores the good ones in
/// one transaction, rates them, and marks their months for the alert rules.
///
/// # Errors
/// A database error: then nothing of the batch is stored.
pub async fn ingest_events(
    state: &AppState,
    events: &[ReceivedEvent<'_>],
    source: &str,
) -> Result<IngestReport, ApiError> {
    let parsed: Vec<Result<UsageRecord, String>> = {
        let mut reader = UsageEventReader::default();
        events.iter().enumerate().map(|(index, event)| parse_event(&mut reader, index, event)).collect()
    };
    let good: Vec<UsageRecord> = parsed.iter().filter_map(|event| event.as_ref().ok().cloned()).collect();
    // Rated before they are stored: their accrual contributions go into the same transaction.
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let rated = crate::decks::rate_records(&decks, &good, &state.settings.networks, &state.settings.fx);
    let contributions = contributions(&decks, &good, &rated);
    let rated_with = state.decks.rated_with(&decks, &state.settings);
    let update = AccrualUpdate {
        contributions: &contributions,
        rated_with: &rated_with,
        tiered: decks.tiered(),
        rate_superseded: None,
    };
    let statuses =
        state.ledger.ingest_usage(&good, Some(&update), source, state.alerts.month_rules(), Timestamp::now()).await?;
    let mut ratings = arrival_ratings(rated).into_iter();
    let mut statuses = statuses.into_iter();
    let mut report =
        IngestReport { accepted: 0, duplicates: 0, rejected: 0, results: Vec::with_capacity(events.len()) };
    for (event, raw) in parsed.iter().zip(events) {
        let result = match event {
            Ok(record) => {
                let status = statuses.next().expect("one status per good event");
                let rating = ratings.next().expect("one rating per good event");
                let (status, reason) = match status {
                    IngestStatus::Accepted => (EventStatus::Accepted, None),
                    IngestStatus::Duplicate => (EventStatus::Duplicate, None),
                    IngestStatus::Conflict => (
                        EventStatus::Rejected,
                        Some("conflict: this record_id is stored with other content".to_owned()),
                    ),
                };
                let mut result = EventResult {
                    record_id: Some(record.record_id.to_string()),
                    status,
                    reason,
                    ..EventResult::empty()
                };
                if status != EventStatus::Rejected {
                    rating.fill(&mut result);
                }
                result
            }
            Err(reason) => EventResult {
                record_id: raw.record_id().map(str::to_owned),
                status: EventStatus::Rejected,
                reason: Some(reason.clone()),
                ..EventResult::empty()
            },
        };
        match result.status {
            EventStatus::Accepted => report.accepted += 1,
            EventStatus::Duplicate => report.duplicates += 1,
            EventStatus::Rejected => report.rejected += 1,
        }
        report.results.push(result);
    }
    Ok(report)
}

impl EventResult {
    fn empty() -> EventResult {
        EventResult {
            record_id: None,
            status: EventStatus::Rejected,
            reason: None,
            cost: None,
            currency: None,
            price: None,
            price_currency: None,
            margin: None,
        }
    }
}

/// A record's figures on arrival.
struct ArrivalRating {
    cost: Option<(Decimal, Currency)>,
    price: Option<(Decimal, Currency)>,
    margin: Option<Decimal>,
}

impl ArrivalRating {
    fn fill(self, result: &mut EventResult) {
        if let Some((amount, currency)) = self.cost {
            result.cost = Some(AmountText::of(amount));
            result.currency = Some(CurrencyText(currency));
        }
        if let Some((amount, currency)) = self.price {
            result.price = Some(AmountText::of(amount));
            result.price_currency = Some(CurrencyText(currency));
        }
        result.margin = self.margin.map(AmountText::of);
    }
}

/// The result of a correction.
#[derive(Debug, Serialize, ToSchema)]
pub struct CorrectionReport {
    pub replaced: u64,
    pub inserted: u64,
    pub unchanged: u64,
    pub results: Vec<EventResult>,
}

/// Supersedes stored events of the same `record_id` (the old content is kept in the audit log)
/// and re-rates them; all or nothing.
#[utoipa::path(
    post,
    path = "/v1/usage/corrections",
    tag = "usage",
    request_body(content = UsageBody, description = "One event or an array of at most 10,000"),
    responses(
        (status = 200, description = "Stored; each event re-rated", body = CorrectionReport),
        (status = 400, description = "Not JSON, or an event is invalid (the request is refused whole)", body = crate::error::ErrorBody),
        (status = 401, description = "No or unknown API key", body = crate::error::ErrorBody),
        (status = 403, description = "The key lacks the admin scope", body = crate::error::ErrorBody),
        (status = 413, description = "Body over 8 MiB or batch over 10,000 events", body = crate::error::ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_corrections(
    State(state): State<AppState>,
    caller: auth::Caller<auth::Admin>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CorrectionReport>, ApiError> {
    let body = body.map_err(|rejection| ApiError::PayloadTooLarge(format!("the body is refused: {rejection}")))?;
    let events = events_of(&body)?;
    // A correction is applied whole: one bad event refuses the request.
    let mut reader = UsageEventReader::default();
    let records = events
        .iter()
        .enumerate()
        .map(|(index, event)| parse_event(&mut reader, index, event))
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::BadRequest)?;
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let rated = crate::decks::rate_records(&decks, &records, &state.settings.networks, &state.settings.fx);
    let contributions = contributions(&decks, &records, &rated);
    let rated_with = state.decks.rated_with(&decks, &state.settings);
    // The superseded content is rated with the same decks, so its contribution is the one its
    // month's sums hold when they were made with them (otherwise the month is stale anyway).
    let rate_superseded = |superseded: &[UsageRecord]| {
        crate::decks::accrual_table(&decks, superseded, &state.settings.networks, &state.settings.fx)
    };
    let update = AccrualUpdate {
        contributions: &contributions,
        rated_with: &rated_with,
        tiered: decks.tiered(),
        rate_superseded: Some(&rate_superseded),
    };
    let outcome = state
        .ledger
        .import_usage_rated(&records, Some(&update), "http correction", &caller.actor(), true, Timestamp::now())
        .await?;
    if state.alerts.month_rules() {
        state.ledger.queue_alert_months(records.iter().map(|record| Month::of(record.started_at))).await?;
    }
    let ratings = arrival_ratings(rated);
    let results = records
        .iter()
        .zip(ratings)
        .map(|(record, rating)| {
            let mut result = EventResult {
                record_id: Some(record.record_id.to_string()),
                status: EventStatus::Accepted,
                ..EventResult::empty()
            };
            rating.fill(&mut result);
            result
        })
        .collect();
    Ok(Json(CorrectionReport {
        replaced: outcome.replaced,
        inserted: outcome.inserted,
        unchanged: outcome.unchanged,
        results,
    }))
}

/// The events of a request body: one object or an array of them, at most
/// [`INGEST_BATCH_EVENTS_MAX`], read into [`ReceivedEvent`]s that borrow their fields from the
/// body.
pub(crate) fn events_of(body: &[u8]) -> Result<Vec<ReceivedEvent<'_>>, ApiError> {
    let events = match serde_json::from_slice::<ReceivedBody<'_>>(body) {
        Ok(ReceivedBody::Batch(events)) => events,
        Ok(ReceivedBody::One(event)) => vec![*event],
        Ok(ReceivedBody::Neither) => {
            return Err(ApiError::BadRequest("expected an event object or an array of events".into()))
        }
        Err(error) => {
            return Err(ApiError::BadRequest(format!(
                "the body is not JSON: {error} (line {}, column {})",
                error.line(),
                error.column()
            )))
        }
    };
    if events.len() > INGEST_BATCH_EVENTS_MAX {
        return Err(ApiError::PayloadTooLarge(format!(
            "{} events in one batch; at most {INGEST_BATCH_EVENTS_MAX}",
            events.len()
        )));
    }
    Ok(events)
}

/// The events of a NATS message: one event (any JSON value but an array: what is not an object
/// is rejected as such) or an array of them. The cap is the caller's.
///
/// # Errors
/// The message is not JSON.
pub(crate) fn message_events(payload: &[u8]) -> Result<Vec<ReceivedEvent<'_>>, serde_json::Error> {
    Ok(match serde_json::from_slice::<ReceivedBody<'_>>(payload)? {
        ReceivedBody::Batch(events) => events,
        ReceivedBody::One(event) => vec![*event],
        ReceivedBody::Neither => vec![ReceivedEvent::not_an_object()],
    })
}

/// An event as received, before its fields are checked: each known field's text borrowed from
/// the body (owned only when the JSON string has escapes, or for an integer), with no JSON tree
/// in between. Whatever the JSON value, it reads: what is wrong with it is kept for
/// [`parse_event`] to name, so that one bad event never fails its batch.
#[derive(Debug)]
pub struct ReceivedEvent<'a> {
    fields: [ReceivedField<'a>; USAGE_COLUMN_COUNT],
    /// The first field that is not an event field.
    unknown: Option<Cow<'a, str>>,
    /// Whether it was a JSON object.
    object: bool,
}

/// A field of a received event.
#[derive(Debug, Default)]
enum ReceivedField<'a> {
    /// Absent or `null`.
    #[default]
    Absent,
    Text(Cow<'a, str>),
    /// A number with a fraction or an exponent: decimals must come as strings.
    Fraction,
    /// An object, array or boolean.
    NotText,
}

/// A request body as received.
enum ReceivedBody<'a> {
    One(Box<ReceivedEvent<'a>>),
    Batch(Vec<ReceivedEvent<'a>>),
    /// Neither an object nor an array.
    Neither,
}

impl<'a> ReceivedEvent<'a> {
    /// The event's `record_id`, when it has a readable one.
    pub fn record_id(&self) -> Option<&str> {
        match &self.fields[0] {
            ReceivedField::Text(text) => Some(text),
            _ => None,
        }
    }

    /// Whether it was a JSON object.
    pub fn is_object(&self) -> bool {
        self.object
    }

    /// The same event, its fields owned (to outlive the body).
    pub fn into_owned(self) -> ReceivedEvent<'static> {
        let owned = |field: ReceivedField<'a>| match field {
            ReceivedField::Text(text) => ReceivedField::Text(Cow::Owned(text.into_owned())),
            ReceivedField::Absent => ReceivedField::Absent,
            ReceivedField::Fraction => ReceivedField::Fraction,
            ReceivedField::NotText => ReceivedField::NotText,
        };
        ReceivedEvent {
            fields: self.fields.map(owned),
            unknown: self.unknown.map(|name| Cow::Owned(name.into_owned())),
            object: self.object,
        }
    }

    fn not_an_object() -> ReceivedEvent<'a> {
        ReceivedEvent { fields: Default::default(), unknown: None, object: false }
    }
}

/// Reads any JSON value: an object as an event, anything else as "not an object".
struct EventVisitor;

impl<'de> serde::de::Visitor<'de> for EventVisitor {
    type Value = ReceivedEvent<'de>;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a usage event")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut event = ReceivedEvent { fields: Default::default(), unknown: None, object: true };
        while let Some(Text(name)) = map.next_key::<Text<'de>>()? {
            match FIELDS.iter().position(|field| *field == name) {
                Some(index) => event.fields[index] = map.next_value::<ReceivedField<'de>>()?,
                None => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    event.unknown.get_or_insert(name);
                }
            }
        }
        Ok(event)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(ReceivedEvent::not_an_object())
    }
}

impl<'de> serde::Deserialize<'de> for ReceivedEvent<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EventVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for ReceivedBody<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct BodyVisitor;
        impl<'de> serde::de::Visitor<'de> for BodyVisitor {
            type Value = ReceivedBody<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("an event object or an array of events")
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut events = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(INGEST_BATCH_EVENTS_MAX));
                while let Some(event) = seq.next_element::<ReceivedEvent<'de>>()? {
                    events.push(event);
                }
                Ok(ReceivedBody::Batch(events))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                EventVisitor.visit_map(map).map(|event| ReceivedBody::One(Box::new(event)))
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }

            fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }

            fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ReceivedBody::Neither)
            }
        }
        deserializer.deserialize_any(BodyVisitor)
    }
}

/// A JSON string, borrowed from the input when it has no escapes.
struct Text<'a>(Cow<'a, str>);

impl<'de> serde::Deserialize<'de> for Text<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> serde::de::Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a string")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(text)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

impl<'de> serde::Deserialize<'de> for ReceivedField<'de> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl<'de> serde::de::Visitor<'de> for FieldVisitor {
            type Value = ReceivedField<'de>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a field of a usage event")
            }

            fn visit_borrowed_str<E: serde::de::Error>(self, text: &'de str) -> Result<Self::Value, E> {
                Ok(ReceivedField::Text(Cow::Borrowed(text)))
            }

            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Self::Value, E> {
                Ok(ReceivedField::Text(Cow::Owned(text.to_owned())))
            }

            fn visit_string<E: serde::de::Error>(self, text: String) -> Result<Self::Value, E> {
                Ok(ReceivedField::Text(Cow::Owned(text)))
            }

            // An integer may stand for a quantity: its digits, as `usage.csv` has them.
            fn visit_i64<E: serde::de::Error>(self, number: i64) -> Result<Self::Value, E> {
                Ok(ReceivedField::Text(Cow::Owned(number.to_string())))
            }

            fn visit_u64<E: serde::de::Error>(self, number: u64) -> Result<Self::Value, E> {
                Ok(ReceivedField::Text(Cow::Owned(number.to_string())))
            }

            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(ReceivedField::Fraction)
            }

            fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
                Ok(ReceivedField::Absent)
            }

            fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(ReceivedField::NotText)
            }

            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(ReceivedField::NotText)
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Ok(ReceivedField::NotText)
            }
        }
        deserializer.deserialize_any(FieldVisitor)
    }
}

/// Each event's carrier cost, customer price and margin against the ledger's decks as they
/// stand, the batch rated together (a tiered price is settled per month in accruals).
fn arrival_ratings(rated: crate::decks::RatedRecords) -> Vec<ArrivalRating> {
    rated
        .costs
        .into_iter()
        .zip(rated.prices)
        .zip(rated.margins)
        .map(|((cost, price), margin)| ArrivalRating {
            cost: cost.map(|rating| (rating.cost, rating.currency)),
            price: price.map(|rating| (rating.cost, rating.currency)),
            margin: margin.margin,
        })
        .collect()
}

/// What each rated record adds to the accrual sums.
fn contributions(
    decks: &crate::decks::Decks,
    records: &[UsageRecord],
    rated: &crate::decks::RatedRecords,
) -> Vec<(AccrualKey, AccrualSums)> {
    records
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let (cost, price) = (rated.costs[index].as_ref(), rated.prices[index].as_ref());
            reckon_core::accrual::contribution(record, cost, price, &rated.margins[index], &decks.carriers)
        })
        .collect()
}

/// An event, fields as in `usage.csv`, into a usage record with the file reader's own field
/// parsers; the error names event and field.
pub(crate) fn parse_event(
    reader: &mut UsageEventReader,
    index: usize,
    event: &ReceivedEvent<'_>,
) -> Result<UsageRecord, String> {
    let fail = |field: &str, reason: &str| format!("event {index}: field {field}: {reason}");
    if !event.object {
        return Err(format!("event {index}: expected an object"));
    }
    if let Some(unknown) = &event.unknown {
        return Err(format!("event {index}: unknown field {unknown:?} (fields: {})", FIELDS.join(", ")));
    }
    let mut fields: [Option<&str>; USAGE_COLUMN_COUNT] = [None; USAGE_COLUMN_COUNT];
    for ((slot, field), name) in fields.iter_mut().zip(&event.fields).zip(FIELDS) {
        *slot = match field {
            ReceivedField::Absent => None,
            ReceivedField::Text(text) => Some(text.as_ref()),
            ReceivedField::Fraction => {
                return Err(fail(name, "give decimals as strings (\"61.4\") so they stay exact"));
            }
            ReceivedField::NotText => return Err(fail(name, "expected a string")),
        };
    }
    reader.read(Path::new("event"), index as u64, fields).map_err(|error| match &error.column {
        Some((_, name)) => fail(name, &error.kind.to_string()),
        None => format!("event {index}: {}", error.kind),
    })
}

const FIELDS: [&str; USAGE_COLUMN_COUNT] = reckon_import::usage::USAGE_COLUMN_NAMES;
