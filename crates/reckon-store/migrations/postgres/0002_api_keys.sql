-- API keys of the service: only a SHA-256 of each secret is kept.
CREATE TABLE api_keys (
    key_id TEXT PRIMARY KEY,
    secret_sha256 TEXT NOT NULL,
    scopes TEXT NOT NULL,               -- comma-separated: ingest, read, admin
    created_at_ns BIGINT NOT NULL
);
