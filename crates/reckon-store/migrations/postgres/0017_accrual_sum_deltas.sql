-- Accrual sums added by ingests and not yet folded into accrual_sums and accrual_rollups
-- (issue 15, ingest close to the database's limit). An ingest appends its batch's sums per group
-- here, in its own transaction, instead of updating the rows every concurrent ingest of the
-- month shares (which turned each batch into a thousand updates of the same hot rows); readers
-- add these rows to the kept sums, and a fold moves them into the kept sums and rollups now and
-- then. A rebuild of a month deletes them with the month's sums. Rows repeat a key: they add up.
CREATE TABLE accrual_sum_deltas (
    day TEXT NOT NULL,                  -- YYYY-MM-DD
    carrier TEXT NOT NULL,
    customer TEXT NOT NULL,
    destination TEXT NOT NULL,
    service TEXT NOT NULL,
    currency TEXT NOT NULL,
    price_currency TEXT NOT NULL,
    month TEXT NOT NULL,
    records BIGINT NOT NULL,
    cost NUMERIC(38, 12) NOT NULL,
    revenue NUMERIC(38, 12) NOT NULL,
    margin NUMERIC(38, 12) NOT NULL,
    unrated BIGINT NOT NULL,
    unpriced BIGINT NOT NULL,
    below_cost BIGINT NOT NULL,
    unconvertible BIGINT NOT NULL
);
CREATE INDEX accrual_sum_deltas_by_month ON accrual_sum_deltas (month);
