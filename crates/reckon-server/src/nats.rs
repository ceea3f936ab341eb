//! The second real-time source: a durable NATS JetStream pull consumer. Each message carries one
//! event or an array of them, as the HTTP body does; a fetched batch goes through the same
//! ingest path, and its messages are acknowledged only after the batch is committed. A message
//! redelivered after a crash is then a harmless duplicate.

use crate::AppState;
use async_nats::jetstream;
use futures_util::StreamExt;
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
}

/// Messages fetched per batch.
const FETCH_MESSAGES_MAX: usize = 1_000;

/// Connects and binds the durable consumer.
///
/// # Errors
/// When the server cannot be reached or the stream or consumer cannot be created.
pub async fn connect(source: &NatsSource) -> Result<jetstream::consumer::PullConsumer, String> {
    let client =
        async_nats::connect(&source.url).await.map_err(|error| format!("connecting to {}: {error}", source.url))?;
    let context = jetstream::new(client);
    let stream = context
        .get_or_create_stream(jetstream::stream::Config {
            name: source.stream.clone(),
            subjects: vec![source.subject.clone()],
            ..Default::default()
        })
        .await
        .map_err(|error| format!("stream {}: {error}", source.stream))?;
    stream
        .get_or_create_consumer(
            &source.durable,
            jetstream::consumer::pull::Config {
                durable_name: Some(source.durable.clone()),
                filter_subject: source.subject.clone(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                ..Default::default()
            },
        )
        .await
        .map_err(|error| format!("consumer {}: {error}", source.durable))
}

/// Consumes until `stop` turns true; the batch in hand is committed and acknowledged first.
pub async fn consume(state: AppState, consumer: jetstream::consumer::PullConsumer, mut stop: watch::Receiver<bool>) {
    while !*stop.borrow() {
        let fetched = tokio::select! {
            fetched = fetch(&consumer) => fetched,
            _ = stop.changed() => break,
        };
        let messages = match fetched {
            Ok(messages) => messages,
            Err(error) => {
                crate::log(&format!("nats: fetching: {error}; retrying"));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let mut events = Vec::new();
        for message in &messages {
            match serde_json::from_slice::<Value>(&message.payload) {
                Ok(Value::Array(batch)) => events.extend(batch),
                Ok(event) => events.push(event),
                // Kept in the stream's log line; redelivering it would never parse.
                Err(error) => crate::log(&format!(
                    "nats: message on {} is not JSON ({error}); dropped: {}",
                    message.subject,
                    String::from_utf8_lossy(&message.payload)
                )),
            }
        }
        match crate::ingest::ingest_events(&state, &events, "nats").await {
            Ok(report) => {
                for result in report.results.iter().filter(|result| result.reason.is_some()) {
                    crate::log(&format!(
                        "nats: event {} rejected: {}",
                        result.record_id.as_deref().unwrap_or("(no id)"),
                        result.reason.as_deref().unwrap_or("")
                    ));
                }
            }
            Err(error) => {
                // Not committed: leave the messages unacknowledged, they come back.
                crate::log(&format!(
                    "nats: storing {} events failed: {error:?}; they will be redelivered",
                    events.len()
                ));
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        }
        for message in messages {
            if let Err(error) = message.ack().await {
                crate::log(&format!("nats: acknowledging: {error} (the message comes back as a duplicate)"));
            }
        }
    }
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
