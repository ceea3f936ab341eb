-- A run's summary (issue 16): per invoice (none: the carrier's unbilled usage) and currency, the
-- lines billed and matched, what was billed, what we expected, what could not be checked, and
-- the over- and underbilled sums, as `reckon reconcile` reports them. Written in the run's own
-- transaction. `summary_groups_count` is NULL for runs recorded before this migration: their
-- summary was not kept, and the console says so rather than showing a figure of its own.
ALTER TABLE runs ADD COLUMN summary_groups_count BIGINT;

CREATE TABLE run_summaries (
    run_id TEXT NOT NULL,
    seq BIGINT NOT NULL,
    invoice_id TEXT,
    currency TEXT NOT NULL,
    lines_billed BIGINT NOT NULL,
    lines_matched BIGINT NOT NULL,
    billed_total TEXT NOT NULL,
    expected_total TEXT NOT NULL,
    unverified_total TEXT NOT NULL,
    overbilled TEXT NOT NULL,
    underbilled TEXT NOT NULL,
    PRIMARY KEY (run_id, seq)
);
