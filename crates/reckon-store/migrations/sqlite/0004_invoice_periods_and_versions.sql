-- Issue 11. Every invoice version belongs to exactly one period (YYYY-MM): the one given at
-- import, or else the UTC month holding most of its lines, the earliest on a tie. Versions
-- stored before get it by that rule.
ALTER TABLE invoices ADD COLUMN period TEXT;
UPDATE invoices SET period = (
    SELECT strftime('%Y-%m', l.started_at_ns / 1000000000, 'unixepoch') AS month
    FROM invoice_lines l
    WHERE l.carrier = invoices.carrier AND l.invoice_id = invoices.invoice_id AND l.version = invoices.version
    GROUP BY month
    ORDER BY COUNT(*) DESC, month ASC
    LIMIT 1
);
CREATE INDEX invoices_by_period ON invoices (carrier, period);

-- The invoice versions each run reconciled (a dispute belongs to an invoice version).
CREATE TABLE run_invoices (
    run_id TEXT NOT NULL,
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    PRIMARY KEY (run_id, carrier, invoice_id)
);

-- The invoice version a dispute claims against; disputes stored before get the version that
-- was current when they were opened.
ALTER TABLE disputes ADD COLUMN invoice_version BIGINT;
UPDATE disputes SET invoice_version = COALESCE((
    SELECT MAX(i.version) FROM invoices i
    WHERE i.carrier = disputes.carrier AND i.invoice_id = disputes.invoice_id AND i.imported_at_ns <= disputes.created_at_ns
), 1);
