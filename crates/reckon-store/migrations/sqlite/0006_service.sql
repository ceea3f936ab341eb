-- Months whose usage changed since the service last checked them against the alert rules.
-- Written in the transaction that stores the events, so a month waiting for its check survives
-- a crash; a check deletes the row only at the generation it saw (newer usage keeps it).
CREATE TABLE alert_pending_months (
    month TEXT PRIMARY KEY,             -- YYYY-MM
    generation BIGINT NOT NULL
);

-- Events the service could not store (a field that does not parse, a conflict, a message that
-- is not JSON), kept as received so an operator can list and replay them.
CREATE TABLE rejected_events (
    rejected_id TEXT PRIMARY KEY,       -- hash of source, subject, payload and reason
    source TEXT NOT NULL,               -- nats
    subject TEXT NOT NULL,
    payload TEXT NOT NULL,
    reason TEXT NOT NULL,
    rejected_at_ns BIGINT NOT NULL,
    replayed_at_ns BIGINT
);

-- API keys: optional expiry, revocation, and when each was last used (at most once a minute).
ALTER TABLE api_keys ADD COLUMN expires_at_ns BIGINT;
ALTER TABLE api_keys ADD COLUMN revoked_at_ns BIGINT;
ALTER TABLE api_keys ADD COLUMN last_used_at_ns BIGINT;
