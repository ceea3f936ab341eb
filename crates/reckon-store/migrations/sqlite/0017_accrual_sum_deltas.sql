-- Accrual sums added by ingests and not yet folded into accrual_sums and accrual_rollups: the
-- PostgreSQL ledger's append-only path for concurrent replicas (see the PostgreSQL migration).
-- SQLite's single process adds to the kept sums directly, so this table stays empty here; it
-- exists so that both dialects have the same tables.
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
    cost TEXT NOT NULL,
    revenue TEXT NOT NULL,
    margin TEXT NOT NULL,
    unrated BIGINT NOT NULL,
    unpriced BIGINT NOT NULL,
    below_cost BIGINT NOT NULL,
    unconvertible BIGINT NOT NULL
);
CREATE INDEX accrual_sum_deltas_by_month ON accrual_sum_deltas (month);
