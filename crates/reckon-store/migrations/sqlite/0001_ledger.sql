-- The ledger, SQLite dialect. Money and quantities are TEXT holding exact decimals (SQLite has no
-- exact decimal type; REAL would be a float). Instants are BIGINT nanoseconds since the epoch.

CREATE TABLE import_batches (
    batch_id TEXT PRIMARY KEY,          -- sha256 of the kind and content
    kind TEXT NOT NULL,                 -- usage | rates | invoice | receivable
    source TEXT NOT NULL,
    rows_count BIGINT NOT NULL,
    imported_at_ns BIGINT NOT NULL
);

CREATE TABLE usage_records (
    record_id TEXT PRIMARY KEY,
    service TEXT NOT NULL,
    carrier TEXT NOT NULL,
    carrier_ref TEXT,
    customer TEXT,
    started_at_ns BIGINT NOT NULL,
    origin TEXT,
    destination TEXT NOT NULL,
    quantity TEXT NOT NULL,
    network TEXT,
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL
);
CREATE INDEX usage_by_carrier_and_start ON usage_records (carrier, started_at_ns);

CREATE TABLE rate_rows (
    row_key TEXT PRIMARY KEY,           -- sha256 of carrier, service, prefix, conditions, effective_from
    carrier TEXT NOT NULL,
    row_csv TEXT NOT NULL,              -- the row in rates.csv columns (tiers as several lines)
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL
);
CREATE INDEX rate_rows_by_carrier ON rate_rows (carrier);

CREATE TABLE invoices (
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    version BIGINT NOT NULL,            -- 1, then one more for each --replace
    content_sha256 TEXT NOT NULL,
    lines_count BIGINT NOT NULL,
    imported_at_ns BIGINT NOT NULL,
    PRIMARY KEY (carrier, invoice_id, version)
);

CREATE TABLE invoice_lines (
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    line_index BIGINT NOT NULL,
    line_id TEXT NOT NULL,
    invoice_date TEXT,
    carrier_ref TEXT,
    service TEXT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    destination TEXT NOT NULL,
    quantity TEXT NOT NULL,
    rate TEXT,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    PRIMARY KEY (carrier, invoice_id, version, line_index)
);

CREATE TABLE receivables (
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    period TEXT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    imported_at_ns BIGINT NOT NULL,
    PRIMARY KEY (carrier, invoice_id)
);

CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,            -- sha256 of the carrier, period, inputs and settings
    carrier TEXT NOT NULL,
    period TEXT NOT NULL,
    discrepancies_count BIGINT NOT NULL,
    created_at_ns BIGINT NOT NULL
);

CREATE TABLE run_discrepancies (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    carrier TEXT NOT NULL,
    invoice_id TEXT,
    line_id TEXT,
    record_id TEXT,
    kind TEXT NOT NULL,
    service TEXT NOT NULL,
    destination TEXT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    billed_quantity TEXT NOT NULL,
    expected_quantity TEXT,
    billed_amount TEXT NOT NULL,
    expected_amount TEXT,
    difference TEXT,
    currency TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);

CREATE TABLE disputes (
    dispute_id TEXT PRIMARY KEY,
    run_id TEXT NOT NULL,
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    period TEXT NOT NULL,
    currency TEXT NOT NULL,
    claimed_total TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL
);

CREATE TABLE dispute_lines (
    dispute_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    line_id TEXT NOT NULL,
    record_id TEXT,
    kind TEXT NOT NULL,
    billed_amount TEXT NOT NULL,
    expected_amount TEXT NOT NULL,
    claimed TEXT NOT NULL,
    PRIMARY KEY (dispute_id, seq)
);

-- Append-only: a dispute's state is its last event's.
CREATE TABLE dispute_events (
    dispute_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    at_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (dispute_id, seq)
);

-- Append-only: credits granted per line by an answer event.
CREATE TABLE dispute_credits (
    dispute_id TEXT NOT NULL,
    event_seq BIGINT NOT NULL,
    line_seq BIGINT NOT NULL,
    credited TEXT NOT NULL,
    PRIMARY KEY (dispute_id, event_seq, line_seq)
);

-- Immutable: a correction is a new statement that names the one it supersedes.
CREATE TABLE statements (
    statement_id TEXT PRIMARY KEY,
    carrier TEXT NOT NULL,
    period TEXT NOT NULL,
    currency TEXT NOT NULL,
    invoiced TEXT NOT NULL,
    accepted_credits TEXT NOT NULL,
    withheld TEXT NOT NULL,
    receivable TEXT NOT NULL,
    net_exact TEXT NOT NULL,
    net TEXT NOT NULL,
    supersedes TEXT,
    created_at_ns BIGINT NOT NULL
);
CREATE UNIQUE INDEX statements_one_successor ON statements (supersedes);

-- Append-only audit of changes to imported data (replacements).
CREATE TABLE audit_log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at_ns BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    subject TEXT NOT NULL,
    detail TEXT NOT NULL
);
