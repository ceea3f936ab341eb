-- Replicas of `reckon serve` on one ledger.

-- Leases: one replica at a time does a shared duty (the alert checks, one alert's delivery). A
-- lease is taken when it is free or expired, renewed by its holder, and lapses on its own when
-- the holder dies (its `expires_at_ns` passes).
CREATE TABLE leases (
    name TEXT PRIMARY KEY,              -- alert-checks, alert-delivery:<alert id>
    holder TEXT NOT NULL,               -- the replica's name and process
    expires_at_ns BIGINT NOT NULL
);

-- Moved by every import that changes rates or prices, in its own transaction: each replica's
-- deck cache reads it before use and reads the decks again when it moved. (Counting import
-- batches missed a re-import of an earlier content, whose batch id exists already.)
CREATE TABLE deck_epoch (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    epoch BIGINT NOT NULL
);
INSERT INTO deck_epoch (singleton, epoch)
    SELECT 1, COUNT(*) FROM import_batches WHERE kind IN ('rates', 'prices');
