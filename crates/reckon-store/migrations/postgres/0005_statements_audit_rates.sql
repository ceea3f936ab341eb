-- Statements in a contract's settlement currency: each other currency's figures, as billed, and
-- the rate (units of the statement's currency per unit, exact, as text: a cross rate has more
-- decimals than NUMERIC(38, 12) keeps) and date that converted them. Immutable, like the statements.
CREATE TABLE statement_conversions (
    statement_id TEXT NOT NULL,
    from_currency TEXT NOT NULL,
    invoiced NUMERIC(38, 12) NOT NULL,
    accepted_credits NUMERIC(38, 12) NOT NULL,
    withheld NUMERIC(38, 12) NOT NULL,
    receivable NUMERIC(38, 12) NOT NULL,
    rate TEXT NOT NULL,
    rate_date TEXT NOT NULL,
    PRIMARY KEY (statement_id, from_currency)
);

-- Append-only tables refuse UPDATE, DELETE and TRUNCATE in the database itself, not only by
-- convention: a dispute's history, its credits, the audit log, statements and their conversions.
CREATE FUNCTION reckon_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP;
END;
$$;
CREATE TRIGGER dispute_events_append_only BEFORE UPDATE OR DELETE ON dispute_events
    FOR EACH ROW EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER dispute_events_append_only_truncate BEFORE TRUNCATE ON dispute_events
    FOR EACH STATEMENT EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER dispute_credits_append_only BEFORE UPDATE OR DELETE ON dispute_credits
    FOR EACH ROW EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER dispute_credits_append_only_truncate BEFORE TRUNCATE ON dispute_credits
    FOR EACH STATEMENT EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER audit_log_append_only_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER statements_append_only BEFORE UPDATE OR DELETE ON statements
    FOR EACH ROW EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER statements_append_only_truncate BEFORE TRUNCATE ON statements
    FOR EACH STATEMENT EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER statement_conversions_append_only BEFORE UPDATE OR DELETE ON statement_conversions
    FOR EACH ROW EXECUTE FUNCTION reckon_refuse_change();
CREATE TRIGGER statement_conversions_append_only_truncate BEFORE TRUNCATE ON statement_conversions
    FOR EACH STATEMENT EXECUTE FUNCTION reckon_refuse_change();

-- Rate rows and price plan rows as typed columns, one row per tier line (tier_index 0, 1, ...),
-- named as the rates.csv columns: a new rates.csv column needs a new column here, and stored
-- decks never misalign. Decimals are exact (NUMERIC, unconstrained: a rate keeps every decimal).
-- The rows kept as CSV text until now (rate_rows, price_rows) are moved into these tables when
-- the ledger opens (the text needs the deck reader), which leaves the old tables empty.
CREATE TABLE rate_row_lines (
    row_key TEXT NOT NULL,              -- sha256 of party, service, prefix, conditions, effective_from
    tier_index BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    service TEXT,
    prefix TEXT,
    destination_name TEXT,
    rate NUMERIC,
    currency TEXT,
    rate_unit NUMERIC,
    increments TEXT,
    connect_fee NUMERIC,
    min_charge NUMERIC,
    per_record_fee NUMERIC,
    time_zone TEXT,
    days TEXT,
    time_from TEXT,
    time_to TEXT,
    origin_prefix TEXT,
    mcc TEXT,
    mnc TEXT,
    tier_from NUMERIC,
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
    rate NUMERIC,
    currency TEXT,
    rate_unit NUMERIC,
    increments TEXT,
    connect_fee NUMERIC,
    min_charge NUMERIC,
    per_record_fee NUMERIC,
    time_zone TEXT,
    days TEXT,
    time_from TEXT,
    time_to TEXT,
    origin_prefix TEXT,
    mcc TEXT,
    mnc TEXT,
    tier_from NUMERIC,
    tier_mode TEXT,
    effective_from_ns BIGINT,
    effective_to_ns BIGINT,
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    PRIMARY KEY (row_key, tier_index)
);
CREATE INDEX price_row_lines_by_plan ON price_row_lines (plan);
