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
