-- Issue 14: summary invoices. An invoice version is itemised (its lines in invoice_lines) or a
-- summary (its lines in invoice_summary_lines: totals per destination group of a period).
-- Versions stored before are itemised.
ALTER TABLE invoices ADD COLUMN form TEXT NOT NULL DEFAULT 'itemised';

CREATE TABLE invoice_summary_lines (
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    line_index BIGINT NOT NULL,
    line_id TEXT NOT NULL,
    invoice_date TEXT,
    period_start TEXT NOT NULL,         -- first day billed (UTC), YYYY-MM-DD
    period_end TEXT NOT NULL,           -- last day billed (UTC), inclusive
    service TEXT NOT NULL,
    prefix TEXT,
    destination_name TEXT,
    calls BIGINT,
    quantity NUMERIC(38, 12) NOT NULL,  -- base units (seconds for voice)
    rate NUMERIC(38, 12),
    amount NUMERIC(38, 12) NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (carrier, invoice_id, version, line_index)
);
