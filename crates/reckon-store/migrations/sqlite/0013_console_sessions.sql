-- Sessions of the web console (issue 16): signed in with an API key, whose scopes and revocation
-- keep applying (each request joins the key). Only a SHA-256 of the session id is kept, so a
-- copy of the database cannot be replayed as a cookie; sign-out deletes the row.
CREATE TABLE console_sessions (
    session_sha256 TEXT PRIMARY KEY,
    key_id TEXT NOT NULL,
    csrf_token TEXT NOT NULL,
    created_at_ns BIGINT NOT NULL,
    expires_at_ns BIGINT NOT NULL
);
CREATE INDEX console_sessions_by_expiry ON console_sessions (expires_at_ns);

-- The overview lists each carrier's periods with their latest run.
CREATE INDEX runs_by_carrier_and_period ON runs (carrier, period, created_at_ns);
