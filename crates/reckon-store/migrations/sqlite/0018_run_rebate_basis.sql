-- Issue 17: what a run measured its carrier's rebates on (a hash of the stored deck, the
-- contract terms, and the usage of the months its rebates count), so that settlement reads
-- rebates due only from a run of what the ledger holds now. Runs made before have none and
-- are out of date for a carrier with rebate terms.
ALTER TABLE runs ADD COLUMN rebate_basis TEXT;
