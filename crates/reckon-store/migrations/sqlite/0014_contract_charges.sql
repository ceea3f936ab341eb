-- Contract charges (issue 17): the lines of an invoice that are not usage, kept with their
-- invoice version (numbered after its usage lines), and the carriers' contract terms,
-- effective-dated and versioned like invoices.
CREATE TABLE invoice_charge_lines (
    carrier TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    version BIGINT NOT NULL,
    line_index BIGINT NOT NULL,         -- after the invoice's usage lines
    line_id TEXT NOT NULL,
    invoice_date TEXT,
    service TEXT NOT NULL,
    started_at_ns BIGINT NOT NULL,
    amount TEXT NOT NULL,
    currency TEXT NOT NULL,
    charge_type TEXT NOT NULL,          -- recurring | one_time | commitment_shortfall | rebate | credit | tax | adjustment
    charge_code TEXT,
    PRIMARY KEY (carrier, invoice_id, version, line_index)
);

CREATE TABLE contract_terms (
    term_key TEXT NOT NULL,             -- sha256 of carrier, term, code and effective_from
    version BIGINT NOT NULL,            -- 1, then one more for each --replace
    carrier TEXT NOT NULL,
    row_csv TEXT NOT NULL,              -- the term in contract_terms.csv columns
    content_sha256 TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    imported_at_ns BIGINT NOT NULL,
    first_position BIGINT NOT NULL,     -- the term's place among the stored terms, in the order first imported
    PRIMARY KEY (term_key, version)
);
CREATE INDEX contract_terms_by_carrier ON contract_terms (carrier);

-- A statement's parts: the amount of each charge type within its invoiced figure, and the
-- rebates due to us within its receivable (none for a statement of usage only).
CREATE TABLE statement_parts (
    statement_id TEXT NOT NULL,
    part TEXT NOT NULL,                 -- a charge type, or rebates_due
    amount TEXT NOT NULL,
    PRIMARY KEY (statement_id, part)
);
