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
