-- Accrual rollups per carrier and per customer too (issue 15): a query filtered by one carrier
-- or one customer reads a row per group and period, as one without filters does, instead of
-- the base sums (about a row per event). `carrier` and `customer` are '' for "all"; a
-- customer rollup is kept only for records with a customer.
--
-- The rollups are made again from the events: the table is replaced and every month marked
-- stale, so the next query of a month rebuilds its sums and rollups.
DROP TABLE accrual_rollups;
CREATE TABLE accrual_rollups (
    grouping TEXT NOT NULL,
    carrier TEXT NOT NULL,              -- '' for all carriers
    customer TEXT NOT NULL,             -- '' for all customers
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
    PRIMARY KEY (grouping, carrier, customer, period, group_key, currency, price_currency)
);
CREATE INDEX accrual_rollups_by_month ON accrual_rollups (month);
UPDATE accrual_months SET rated_with = NULL;
