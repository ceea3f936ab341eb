//! Prometheus metrics, served at `GET /metrics` in the OpenMetrics text format: events by
//! outcome and rejection reason, request latency by route and status, requests refused by the
//! rate limit, NATS consumer state, webhook attempts and the database pool.
//!
//! Counters count this process since it started (each replica is scraped on its own and
//! Prometheus sums them); the NATS and pool gauges are read when scraped.

use crate::ingest::{EventStatus, IngestReport};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EventLabels {
    /// http, nats.
    source: String,
    /// accepted, duplicate, rejected.
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RejectionLabels {
    source: String,
    /// One of [`RejectionReason`]'s names: a field that does not parse, a conflict, ...
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    /// The route's pattern (`/v1/disputes/{dispute_id}`), never the path itself, so that the
    /// number of series stays bounded; `unmatched` for a path no route serves.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    /// delivered, failed.
    outcome: &'static str,
}

/// Why an event was rejected, as a metric label (a bounded set, unlike the reasons' text).
#[derive(Clone, Copy, Debug)]
pub enum RejectionReason {
    /// A field is missing, unknown or does not parse.
    InvalidEvent,
    /// Its record_id is stored with other content.
    Conflict,
    /// A NATS message that is not JSON.
    NotJson,
    /// A NATS message holding more events than a batch may.
    BatchTooLarge,
}

impl RejectionReason {
    fn label(self) -> &'static str {
        match self {
            RejectionReason::InvalidEvent => "invalid_event",
            RejectionReason::Conflict => "conflict",
            RejectionReason::NotJson => "not_json",
            RejectionReason::BatchTooLarge => "batch_too_large",
        }
    }
}

/// The service's metrics and their registry.
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    rejections: Family<RejectionLabels, Counter>,
    requests: Family<RequestLabels, Histogram, fn() -> Histogram>,
    rate_limited: Counter,
    webhook_attempts: Family<AttemptLabels, Counter>,
    nats_redeliveries: Counter,
    nats_pending: Gauge,
    nats_ack_pending: Gauge,
    nats_redelivered_pending: Gauge,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

/// Latency buckets from 1 ms to about 33 s (the request time limit is 30 s).
fn latency_histogram() -> Histogram {
    Histogram::new(prometheus_client::metrics::histogram::exponential_buckets(0.001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Metrics {
        let mut registry = Registry::with_prefix("reckon");
        let events = Family::<EventLabels, Counter>::default();
        registry.register("events", "Usage events by source and outcome", events.clone());
        let rejections = Family::<RejectionLabels, Counter>::default();
        registry.register("events_rejected", "Rejected usage events by source and reason", rejections.clone());
        let requests: Family<RequestLabels, Histogram, fn() -> Histogram> =
            Family::new_with_constructor(latency_histogram);
        registry.register_with_unit(
            "http_request_duration",
            "HTTP request latency by method, route and status",
            prometheus_client::registry::Unit::Seconds,
            requests.clone(),
        );
        let rate_limited = Counter::default();
        registry.register("http_rate_limited", "Requests answered 429 by the per-key rate limit", rate_limited.clone());
        let webhook_attempts = Family::<AttemptLabels, Counter>::default();
        registry.register("webhook_attempts", "Alert webhook attempts by outcome", webhook_attempts.clone());
        let nats_redeliveries = Counter::default();
        registry.register(
            "nats_redeliveries",
            "NATS messages this process received more than once",
            nats_redeliveries.clone(),
        );
        let nats_pending = Gauge::default();
        registry.register(
            "nats_pending_messages",
            "Messages of the stream the consumer has not fetched",
            nats_pending.clone(),
        );
        let nats_ack_pending = Gauge::default();
        registry.register(
            "nats_ack_pending_messages",
            "Messages fetched and not yet acknowledged (any replica)",
            nats_ack_pending.clone(),
        );
        let nats_redelivered_pending = Gauge::default();
        registry.register(
            "nats_redelivered_messages",
            "Messages redelivered and not yet acknowledged (any replica)",
            nats_redelivered_pending.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register("db_pool_connections", "Database connections open in the pool", pool_connections.clone());
        let pool_idle = Gauge::default();
        registry.register("db_pool_idle_connections", "Database connections open and idle", pool_idle.clone());
        Metrics {
            registry,
            events,
            rejections,
            requests,
            rate_limited,
            webhook_attempts,
            nats_redeliveries,
            nats_pending,
            nats_ack_pending,
            nats_redelivered_pending,
            pool_connections,
            pool_idle,
        }
    }
}

impl Metrics {
    /// Counts what became of each event of an ingested batch.
    pub fn count_ingest(&self, source: &str, report: &IngestReport) {
        for (outcome, count) in
            [("accepted", report.accepted), ("duplicate", report.duplicates), ("rejected", report.rejected)]
        {
            if count > 0 {
                self.events.get_or_create(&EventLabels { source: source.to_owned(), outcome }).inc_by(count);
            }
        }
        for result in report.results.iter().filter(|result| result.status == EventStatus::Rejected) {
            let reason = match result.reason.as_deref() {
                Some(reason) if reason.starts_with("conflict") => RejectionReason::Conflict,
                _ => RejectionReason::InvalidEvent,
            };
            self.count_rejection(source, reason);
        }
    }

    /// Counts an event (or a whole message) rejected before it reached the ingest path.
    pub fn count_rejected_message(&self, source: &str, reason: RejectionReason) {
        self.events.get_or_create(&EventLabels { source: source.to_owned(), outcome: "rejected" }).inc();
        self.count_rejection(source, reason);
    }

    fn count_rejection(&self, source: &str, reason: RejectionReason) {
        self.rejections.get_or_create(&RejectionLabels { source: source.to_owned(), reason: reason.label() }).inc();
    }

    /// Records a request's latency.
    pub fn observe_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.requests
            .get_or_create(&RequestLabels { method: method.to_owned(), route: route.to_owned(), status })
            .observe(seconds);
    }

    pub fn count_rate_limited(&self) {
        self.rate_limited.inc();
    }

    pub fn count_webhook_attempt(&self, delivered: bool) {
        self.webhook_attempts
            .get_or_create(&AttemptLabels { outcome: if delivered { "delivered" } else { "failed" } })
            .inc();
    }

    pub fn count_nats_redelivery(&self) {
        self.nats_redeliveries.inc();
    }

    /// Sets the NATS consumer's gauges from its info.
    pub fn set_nats_consumer(&self, pending: u64, ack_pending: usize, redelivered: usize) {
        self.nats_pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        self.nats_ack_pending.set(i64::try_from(ack_pending).unwrap_or(i64::MAX));
        self.nats_redelivered_pending.set(i64::try_from(redelivered).unwrap_or(i64::MAX));
    }

    /// Sets the database pool's gauges.
    pub fn set_pool(&self, connections: u32, idle: usize) {
        self.pool_connections.set(i64::from(connections));
        self.pool_idle.set(i64::try_from(idle).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry).expect("writing to a String cannot fail");
        text
    }
}
