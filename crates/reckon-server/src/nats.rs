//! The second real-time source: a durable NATS JetStream pull consumer. Each message carries one
//! event or an array of them, as the HTTP body does; a fetched batch goes through the same
//! ingest path in transactions of at most [`INGEST_BATCH_EVENTS_MAX`] events, and its messages
//! are acknowledged only after their transaction is committed. A message redelivered after a
//! crash is then a harmless duplicate. Bad events (a field that does not parse, a conflict, a
//! message that is not JSON or holds more than the cap) are published to the dead-letter subject
//! and kept in the ledger as rejected events, to list and replay.

use crate::ingest::ReceivedEvent;
use crate::{AppState, INGEST_BATCH_EVENTS_MAX};
use async_nats::jetstream;
use futures_util::StreamExt;
use reckon_store::RejectedEvent;
use serde_json::Value;
use std::time::Duration;
use tokio::sync::watch;

/// Where to consume from.
#[derive(Clone, Debug)]
pub struct NatsSource {
    /// `nats://host:port`.
    pub url: String,
    /// Subject filter, like `usage.>`.
    pub subject: String,
    /// The stream holding the subject (created when missing).
    pub stream: String,
    /// The durable consumer's name: its position survives restarts.
    pub durable: String,
    /// Where bad events are published (each as `{"subject", "reason", "event"}`).
    pub dead_letter: String,
    /// How long a fetched message may stay unacknowledged before it is redelivered.
    pub ack_wait: Duration,
}

/// The consumer and a client to publish dead letters with.
pub struct NatsConnection {
    consumer: jetstream::consumer::PullConsumer,
    client: async_nats::Client,
    dead_letter: String,
}

/// What `/readyz` and `/metrics` read: the connection's state and the consumer's info.
pub struct NatsProbe {
    pub client: async_nats::Client,
    pub consumer: jetstream::consumer::PullConsumer,
}

impl NatsConnection {
    pub fn probe(&self) -> NatsProbe {
        NatsProbe { client: self.client.clone(), consumer: self.consumer.clone() }
    }
}

/// Messages fetched per batch.
const FETCH_MESSAGES_MAX: usize = 1_000;

/// Connects and binds the durable consumer.
///
/// # Errors
/// When the server cannot be reached or the stream or consumer cannot be created.
pub async fn connect(source: &NatsSource) -> Result<NatsConnection, String> {
    let client =
        async_nats::connect(&source.url).await.map_err(|error| format!("connecting to {}: {error}", source.url))?;
    let context = jetstream::new(client.clone());
    let stream = context
        .get_or_create_stream(jetstream::stream::Config {
            name: source.stream.clone(),
            subjects: vec![source.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|error| format!("stream {}: {error}", source.stream))?;
    // Create or update: a consumer left by an earlier run takes this run's `ack_wait`.
    let consumer = stream
        .create_consumer(jetstream::consumer::pull::Config {
            durable_name: Some(source.durable.clone()),
            filter_subject: source.subject.clone(),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: source.ack_wait,
            ..Default::default()
        })
        .await
        .map_err(|error| format!("consumer {}: {error}", source.durable))?;
    Ok(NatsConnection { consumer, client, dead_letter: source.dead_letter.clone() })
}

/// Consumes until `stop` turns true; the batch in hand is committed and acknowledged first.
pub async fn consume(state: AppState, connection: NatsConnection, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let fetched = tokio::select! {
            fetched = fetch(&connection.consumer) => fetched,
            _ = stop.changed() => break,
        };
        let messages = match fetched {
            Ok(messages) => messages,
            Err(error) => {
                tracing::warn!("nats: fetching: {error}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let mut group = Group::default();
        for message in messages {
            if message.info().is_ok_and(|info| info.delivered > 1) {
                state.metrics.count_nats_redelivery();
            }
            let events = match crate::ingest::message_events(&message.payload) {
                Ok(events) => events,
                Err(error) => {
                    let reason = format!("the message is not JSON: {error}");
                    state.metrics.count_rejected_message("nats", crate::metrics::RejectionReason::NotJson);
                    group.dead.push(dead_letter(
                        &message,
                        String::from_utf8_lossy(&message.payload).into_owned(),
                        reason,
                    ));
                    group.whole_messages.push(message);
                    continue;
                }
            };
            if events.len() > INGEST_BATCH_EVENTS_MAX {
                let reason = format!("{} events in one message; at most {INGEST_BATCH_EVENTS_MAX}", events.len());
                state.metrics.count_rejected_message("nats", crate::metrics::RejectionReason::BatchTooLarge);
                group.dead.push(dead_letter(&message, String::from_utf8_lossy(&message.payload).into_owned(), reason));
                group.whole_messages.push(message);
                continue;
            }
            // The cap holds for every transaction: a full group is stored before this message
            // joins the next one.
            if group.events.len() + events.len() > INGEST_BATCH_EVENTS_MAX
                && !store_group(&state, &connection, std::mem::take(&mut group)).await
            {
                break;
            }
            let message_index = group.messages.len();
            group.events.extend(
                events.into_iter().enumerate().map(|(index, event)| (message_index, index, event.into_owned())),
            );
            group.messages.push(message);
        }
        store_group(&state, &connection, group).await;
    }
}

/// Messages stored together in one transaction, with the dead letters found so far.
#[derive(Default)]
struct Group {
    messages: Vec<jetstream::Message>,
    /// Each event with the index of its message in `messages` and its index in the message.
    events: Vec<(usize, usize, ReceivedEvent<'static>)>,
    /// Messages refused whole (not JSON, over the cap), acknowledged with the group.
    whole_messages: Vec<jetstream::Message>,
    dead: Vec<RejectedEvent>,
}

/// The text of a message's `index`th event (the message's one event when it is not an
/// array), for a dead letter: read again from the message, on this rare path only.
fn event_text(message: &jetstream::Message, index: usize) -> String {
    match serde_json::from_slice::<Value>(&message.payload) {
        Ok(Value::Array(mut batch)) if index < batch.len() => batch.swap_remove(index).to_string(),
        Ok(event) => event.to_string(),
        Err(_) => String::from_utf8_lossy(&message.payload).into_owned(),
    }
}

fn dead_letter(message: &jetstream::Message, payload: String, reason: String) -> RejectedEvent {
    RejectedEvent { source: "nats".to_owned(), subject: message.subject.to_string(), payload, reason }
}

/// Stores a group's events in one transaction, dead-letters its bad ones, then acknowledges its
/// messages. Returns false when it was not stored (its messages come back).
async fn store_group(state: &AppState, connection: &NatsConnection, mut group: Group) -> bool {
    if group.messages.is_empty() && group.whole_messages.is_empty() {
        return true;
    }
    let mut places = Vec::with_capacity(group.events.len());
    let events: Vec<ReceivedEvent<'static>> = group
        .events
        .drain(..)
        .map(|(message, index, event)| {
            places.push((message, index));
            event
        })
        .collect();
    if !events.is_empty() {
        match crate::ingest::ingest_events(state, &events, "nats").await {
            Ok(report) => {
                state.metrics.count_ingest("nats", &report);
                for (&(message_index, event_index), result) in places.iter().zip(&report.results) {
                    let Some(reason) = result.reason.as_deref() else { continue };
                    tracing::warn!(
                        "nats: event {} rejected: {reason}; dead-lettered to {}",
                        result.record_id.as_deref().unwrap_or("(no id)"),
                        connection.dead_letter
                    );
                    let message = &group.messages[message_index];
                    group.dead.push(dead_letter(message, event_text(message, event_index), reason.to_owned()));
                }
            }
            Err(error) => {
                // Not committed: leave the messages unacknowledged, they come back.
                tracing::warn!("nats: storing {} events failed: {error:?}; they will be redelivered", events.len());
                tokio::time::sleep(Duration::from_secs(1)).await;
                return false;
            }
        }
    }
    if !group.dead.is_empty() {
        if let Err(error) = state.ledger.store_rejected_events(&group.dead, reckon_core::Timestamp::now()).await {
            tracing::warn!("nats: keeping {} rejected events failed: {error}; redelivered", group.dead.len());
            return false;
        }
        for dead in &group.dead {
            let letter = serde_json::json!({ "subject": dead.subject, "reason": dead.reason, "event": dead.payload });
            if let Err(error) =
                connection.client.publish(connection.dead_letter.clone(), letter.to_string().into()).await
            {
                tracing::warn!("nats: publishing to {}: {error} (kept in the ledger)", connection.dead_letter);
            }
        }
    }
    for message in group.messages.into_iter().chain(group.whole_messages) {
        if let Err(error) = message.ack().await {
            tracing::warn!("nats: acknowledging: {error} (the message comes back as a duplicate)");
        }
    }
    true
}

async fn fetch(consumer: &jetstream::consumer::PullConsumer) -> Result<Vec<jetstream::Message>, String> {
    let mut batch = consumer
        .fetch()
        .max_messages(FETCH_MESSAGES_MAX)
        .expires(Duration::from_secs(1))
        .messages()
        .await
        .map_err(|error| error.to_string())?;
    let mut messages = Vec::new();
    while let Some(message) = batch.next().await {
        messages.push(message.map_err(|error| error.to_string())?);
    }
    Ok(messages)
}
