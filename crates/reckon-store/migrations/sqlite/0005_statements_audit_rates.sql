-- Statements in a contract's settlement currency: each other currency's figures, as billed, and
-- the rate (units of the statement's currency per unit, exact, as text) and date that converted
-- them. Immutable, like the statements.
CREATE TABLE statement_conversions (
    statement_id TEXT NOT NULL,
    from_currency TEXT NOT NULL,
    invoiced TEXT NOT NULL,
    accepted_credits TEXT NOT NULL,
    withheld TEXT NOT NULL,
    receivable TEXT NOT NULL,
    rate TEXT NOT NULL,
    rate_date TEXT NOT NULL,
    PRIMARY KEY (statement_id, from_currency)
);

-- Append-only tables refuse UPDATE and DELETE in the database itself, not only by convention:
-- a dispute's history, its credits, the audit log, statements and their conversions.
CREATE TRIGGER dispute_events_append_only_update BEFORE UPDATE ON dispute_events
BEGIN SELECT RAISE(ABORT, 'dispute_events is append-only: UPDATE refused'); END;
CREATE TRIGGER dispute_events_append_only_delete BEFORE DELETE ON dispute_events
BEGIN SELECT RAISE(ABORT, 'dispute_events is append-only: DELETE refused'); END;
CREATE TRIGGER dispute_credits_append_only_update BEFORE UPDATE ON dispute_credits
BEGIN SELECT RAISE(ABORT, 'dispute_credits is append-only: UPDATE refused'); END;
CREATE TRIGGER dispute_credits_append_only_delete BEFORE DELETE ON dispute_credits
BEGIN SELECT RAISE(ABORT, 'dispute_credits is append-only: DELETE refused'); END;
CREATE TRIGGER audit_log_append_only_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: UPDATE refused'); END;
CREATE TRIGGER audit_log_append_only_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: DELETE refused'); END;
CREATE TRIGGER statements_append_only_update BEFORE UPDATE ON statements
BEGIN SELECT RAISE(ABORT, 'statements is append-only: UPDATE refused'); END;
CREATE TRIGGER statements_append_only_delete BEFORE DELETE ON statements
BEGIN SELECT RAISE(ABORT, 'statements is append-only: DELETE refused'); END;
CREATE TRIGGER statement_conversions_append_only_update BEFORE UPDATE ON statement_conversions
BEGIN SELECT RAISE(ABORT, 'statement_conversions is append-only: UPDATE refused'); END;
CREATE TRIGGER statement_conversions_append_only_delete BEFORE DELETE ON statement_conversions
BEGIN SELECT RAISE(ABORT, 'statement_conversions is append-only: DELETE refused'); END;

-- Rate rows and price plan rows as typed columns, one row per tier line (tier_index 0, 1, ...),
-- named as the rates.csv columns: a new rates.csv column needs a new column here, and stored
-- decks never misalign. Decimals are exact (TEXT).
-- The rows kept as CSV text until now (rate_rows, price_rows) are moved into these tables when
-- the ledger opens (the text needs the deck reader), which leaves the old tables empty.
CREATE TABLE rate_row_lines (
    row_key TEXT NOT NULL,              -- sha256 of party, service, prefix, conditions, effective_from
    tier_index BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    service TEXT,
    prefix TEXT,
    destination_name TEXT,
    rate TEXT,
    currency TEXT,
    rate_unit TEXT,
    increments TEXT,
    connect_fee TEXT,
    min_charge TEXT,
    per_record_fee TEXT,
    time_zone TEXT,
    days TEXT,
    time_from TEXT,
    time_to TEXT,
    origin_prefix TEXT,
    mcc TEXT,
    mnc TEXT,
    tier_from TEXT,
    tier_mode TEXT,
    effective_from_ns BIGINT,
    effective_to_ns BIGINT,
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (row_key, tier_index)
);
CREATE INDEX rate_row_lines_by_carrier ON rate_row_lines (carrier);
CREATE TABLE price_row_lines (
    row_key TEXT NOT NULL,              -- sha256 of party, service, prefix, conditions, effective_from
    tier_index BIGINT NOT NULL,
    plan TEXT NOT NULL,
    service TEXT,
    prefix TEXT,
    destination_name TEXT,
    rate TEXT,
    currency TEXT,
    rate_unit TEXT,
    increments TEXT,
    connect_fee TEXT,
    min_charge TEXT,
    per_record_fee TEXT,
    time_zone TEXT,
    days TEXT,
    time_from TEXT,
    time_to TEXT,
    origin_prefix TEXT,
    mcc TEXT,
    mnc TEXT,
    tier_from TEXT,
    tier_mode TEXT,
    effective_from_ns BIGINT,
    effective_to_ns BIGINT,
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (row_key, tier_index)
);
CREATE INDEX price_row_lines_by_plan ON price_row_lines (plan);
