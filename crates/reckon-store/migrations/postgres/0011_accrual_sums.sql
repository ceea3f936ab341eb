-- Accruals kept as running sums (GET /v1/accruals answers from them instead of rating the
-- month's events per request).

-- One row per UTC month with usage: what the month's sums were made with (the deck epoch and a
-- fingerprint of the service's reference data, `<epoch>/<fingerprint>`), NULL while they are
-- stale (tiers, a late or corrected event, an import of usage outside the service). Ingest and
-- rebuild lock this row first, so a month's sums are written by one transaction at a time.
CREATE TABLE accrual_months (
    month TEXT PRIMARY KEY,             -- YYYY-MM
    rated_with TEXT
);
INSERT INTO accrual_months (month, rated_with)
    SELECT DISTINCT to_char(to_timestamp(started_at_ns / 1000000000) AT TIME ZONE 'UTC', 'YYYY-MM'), NULL
    FROM usage_records;

-- The sums per UTC day, carrier, customer, destination, service and currencies ('' for none).
CREATE TABLE accrual_sums (
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
    unconvertible BIGINT NOT NULL,
    PRIMARY KEY (day, carrier, customer, destination, service, currency, price_currency)
);
CREATE INDEX accrual_sums_by_month ON accrual_sums (month);

-- The same sums rolled up per grouping (day, destination, service, customer, carrier) and UTC
-- day or month, all carriers and customers together: a query without filters reads as many rows
-- as the groups it returns per period. Written with the sums, in the same transactions.
CREATE TABLE accrual_rollups (
    grouping TEXT NOT NULL,
    period TEXT NOT NULL,               -- YYYY-MM-DD or YYYY-MM
    group_key TEXT NOT NULL,
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
    unconvertible BIGINT NOT NULL,
    PRIMARY KEY (grouping, period, group_key, currency, price_currency)
);
CREATE INDEX accrual_rollups_by_month ON accrual_rollups (month);
