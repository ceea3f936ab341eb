-- Accrual sums appended by ingests: one row per ingest and month, its groups' keys and figures
-- as arrays in key order, instead of one row per group (issue 15, ingest at the database's
-- limit). A batch of 1,000 events had about 80 groups: 80 rows and 80 index entries written,
-- then deleted by the fold, a tenth of what the batch's own rows cost PostgreSQL. Readers and
-- the fold read the arrays back as rows of one group each (UNNEST). The rows not folded yet
-- are carried over, a row per month.
ALTER TABLE accrual_sum_deltas RENAME TO accrual_sum_deltas_by_group;
ALTER INDEX accrual_sum_deltas_by_month RENAME TO accrual_sum_deltas_by_group_month;
CREATE TABLE accrual_sum_deltas (
    month TEXT NOT NULL,                -- YYYY-MM, of every group of the row
    day TEXT[] NOT NULL,                -- YYYY-MM-DD
    carrier TEXT[] NOT NULL,
    customer TEXT[] NOT NULL,
    destination TEXT[] NOT NULL,
    service TEXT[] NOT NULL,
    currency TEXT[] NOT NULL,
    price_currency TEXT[] NOT NULL,
    records BIGINT[] NOT NULL,
    cost NUMERIC(38, 12)[] NOT NULL,
    revenue NUMERIC(38, 12)[] NOT NULL,
    margin NUMERIC(38, 12)[] NOT NULL,
    unrated BIGINT[] NOT NULL,
    unpriced BIGINT[] NOT NULL,
    below_cost BIGINT[] NOT NULL,
    unconvertible BIGINT[] NOT NULL
);
-- Compressed in the row rather than moved to the TOAST table: a row is read and deleted
-- whole, a few kilobytes.
ALTER TABLE accrual_sum_deltas
    ALTER COLUMN day SET STORAGE MAIN, ALTER COLUMN carrier SET STORAGE MAIN,
    ALTER COLUMN customer SET STORAGE MAIN, ALTER COLUMN destination SET STORAGE MAIN,
    ALTER COLUMN service SET STORAGE MAIN, ALTER COLUMN currency SET STORAGE MAIN,
    ALTER COLUMN price_currency SET STORAGE MAIN, ALTER COLUMN records SET STORAGE MAIN,
    ALTER COLUMN cost SET STORAGE MAIN, ALTER COLUMN revenue SET STORAGE MAIN,
    ALTER COLUMN margin SET STORAGE MAIN, ALTER COLUMN unrated SET STORAGE MAIN,
    ALTER COLUMN unpriced SET STORAGE MAIN, ALTER COLUMN below_cost SET STORAGE MAIN,
    ALTER COLUMN unconvertible SET STORAGE MAIN;
INSERT INTO accrual_sum_deltas
SELECT month, array_agg(day), array_agg(carrier), array_agg(customer), array_agg(destination),
       array_agg(service), array_agg(currency), array_agg(price_currency), array_agg(records),
       array_agg(cost), array_agg(revenue), array_agg(margin), array_agg(unrated),
       array_agg(unpriced), array_agg(below_cost), array_agg(unconvertible)
FROM accrual_sum_deltas_by_group GROUP BY month;
DROP TABLE accrual_sum_deltas_by_group;
CREATE INDEX accrual_sum_deltas_by_month ON accrual_sum_deltas (month);
