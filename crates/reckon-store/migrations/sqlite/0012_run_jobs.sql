-- Reconciliation runs as jobs (issue 15): one job per carrier and period, queued together as a
-- batch (one `POST /v1/runs` of several carrier-periods, or `reckon reconcile --all-carriers`),
-- taken by any worker (a `reckon serve` replica, or the command that queued them) under a lease
-- that lapses when the worker dies, so another takes the job again. The run itself is keyed by
-- its content (`runs.run_id`): a job done twice records its run once.
CREATE TABLE run_jobs (
    job_id TEXT PRIMARY KEY,            -- hash of batch, carrier and period
    batch_id TEXT NOT NULL,
    carrier TEXT NOT NULL,
    period TEXT NOT NULL,               -- YYYY-MM
    state TEXT NOT NULL,                -- queued, running, done, failed
    holder TEXT,                        -- the worker running it
    expires_at_ns BIGINT,               -- its lease: past it, the job is taken again
    attempts BIGINT NOT NULL,
    run_id TEXT,                        -- when done
    error TEXT,                         -- when failed
    queued_at_ns BIGINT NOT NULL,
    finished_at_ns BIGINT
);
CREATE INDEX run_jobs_by_batch ON run_jobs (batch_id);
CREATE INDEX run_jobs_by_state ON run_jobs (state, queued_at_ns);
