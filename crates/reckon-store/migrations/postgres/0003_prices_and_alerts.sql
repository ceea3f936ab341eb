-- Customer price plans (prices.csv rows, tiers as several lines), apart from the carriers'
-- decks: a plan may carry a carrier's name. `*` is the default plan.
CREATE TABLE price_rows (
    row_key TEXT PRIMARY KEY,           -- sha256 of plan, service, prefix, conditions, effective_from
    plan TEXT NOT NULL,
    row_csv TEXT NOT NULL,
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL
);

-- The service reads the deck epoch (how many rate and price imports there were) per request:
-- an index keeps that count off the ever-growing ingest batches.
CREATE INDEX import_batches_by_kind ON import_batches (kind);

-- Alerts raised by the service: one row per rule, subject and period, so a condition fires once
-- per period, across restarts too. Delivery attempts are appended to alert_deliveries.
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,          -- sha256 of rule, subject and period
    rule TEXT NOT NULL,
    subject TEXT NOT NULL,
    period TEXT NOT NULL,
    message TEXT NOT NULL,
    raised_at_ns BIGINT NOT NULL
);

CREATE TABLE alert_deliveries (
    alert_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at_ns BIGINT NOT NULL,
    outcome TEXT NOT NULL,              -- delivered | failed: reason
    PRIMARY KEY (alert_id, attempt)
);
