-- The PostgreSQL ledger keeps its appended accrual sums one row per ingest and month from here
-- on (see the PostgreSQL migration). SQLite's accrual_sum_deltas stays empty (its single
-- process adds to the kept sums directly) and unchanged: this migration only keeps the two
-- dialects' versions in step.
SELECT 1;
