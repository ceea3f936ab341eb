//! The durable ledger: imported usage, rate decks and invoices, reconciliation runs and their
//! discrepancies, disputes with their append-only event history, and immutable settlement
//! statements, in embedded SQLite (the default) or PostgreSQL, behind one API.
//!
//! Both databases are reached through sqlx's `Any` driver with versioned migrations per dialect
//! (`migrations/sqlite`, `migrations/postgres`). The few differences of dialect (placeholders,
//! exact decimals: TEXT in SQLite, NUMERIC in PostgreSQL) live in [`Dialect`]. Every import is
//! one transaction: a crash leaves all of it or none of it.

mod accruals;
mod alerts;
mod console;
mod contract_charges;
mod deck_rows;
mod dialect;
mod disputes;
mod error;
mod explain;
mod health;
mod imports;
mod jobs;
mod leases;
mod margins;
mod run_summaries;
mod runs;
mod service;
mod settlements;
mod summary_invoices;
mod usage_bulk;

pub use accruals::{reference_fingerprint, AccrualUpdate, RateRecords, RebuildScope, REBUILD_RECORDS_PER_CHUNK};
pub use alerts::{PendingMonth, StoredAlert};
pub use console::{ConsoleSession, NewConsoleSession, PeriodRun, RunPageFilter};
pub use contract_charges::CommitmentStatus;
pub use dialect::Dialect;
pub use disputes::{DisputeEvent, DisputePractice, DisputeRecord, NotRaisedClaim, OpenedDisputes};
pub use error::StoreError;
pub use explain::ExplainSettings;
pub use imports::{ImportOutcome, InvoiceImport, InvoiceOutcome, Receivable};
pub use jobs::{RunJob, RunJobState, RunSettings};
pub use leases::SoleServer;
pub use margins::{LeakingRecord, PeriodMargins};
pub use run_summaries::RunSummaryGroup;
pub use runs::{RunInputs, RunReads, RunSplit, StoredRun, SPLIT_USAGE_RECORDS_MIN};
pub use service::{ApiKeyInfo, IngestStatus, RejectedEvent, StoredRejectedEvent};
pub use settlements::{SettleOptions, StoredStatement};
pub use summary_invoices::summary_period;
pub use usage_bulk::USAGE_BATCH_ROWS;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::path::Path;

/// A connection to the ledger.
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: AnyPool,
    dialect: Dialect,
    /// Where the pool connects: a bulk load opens its own connection there (PostgreSQL's COPY
    /// needs a concrete `PgConnection`, which the `Any` pool does not hand out).
    url: LedgerUrl,
    /// PostgreSQL only: a pool of concrete connections beside the `Any` one, for what the `Any`
    /// driver cannot do (binary `COPY`, array binds) on the service's ingest path. Lazy: it
    /// connects on first use.
    pg: Option<sqlx::PgPool>,
    /// When this process last folded the accrual sums ingests appended (PostgreSQL).
    folds: std::sync::Arc<accruals::FoldTimer>,
}

/// A database URL that prints without its password.
#[derive(Clone)]
struct LedgerUrl(String);

impl std::fmt::Debug for LedgerUrl {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(&redact_url(&self.0))
    }
}

impl Ledger {
    /// Opens (creating it if need be) the ledger at a URL (`sqlite://path` or `postgres://...`)
    /// and applies the migrations it lacks.
    ///
    /// # Errors
    /// When the database cannot be reached or a migration fails.
    pub async fn open(url: &str) -> Result<Ledger, StoreError> {
        // Every error of opening names the database without its password, and never repeats
        // the password the driver may have echoed.
        Ledger::open_unredacted(url)
            .await
            .map_err(|error| StoreError::Open { url: redact_url(url), cause: redact_secret(&error.to_string(), url) })
    }

    async fn open_unredacted(url: &str) -> Result<Ledger, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        if dialect == Dialect::Postgres {
            probe_server(url).await?;
        }
        let url = match dialect {
            // Create the file when missing.
            Dialect::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        // One SQLite connection per process: its writes serialize in a queue here instead of in
        // SQLite's busy handler, which backs off with sleeps (a 1.5 s p99 under 4 writers).
        // A connection that cannot be had within seconds is an error naming its cause, not a
        // "pool timed out" after sqlx's default 30 s.
        let options = AnyPoolOptions::new()
            .max_connections(if dialect == Dialect::Sqlite { 1 } else { 8 })
            .acquire_timeout(CONNECT_TIMEOUT);
        let options = match dialect {
            Dialect::Sqlite => options.after_connect(|connection, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    // WAL lets readers and one writer work at once; a writer waits up to a
                    // minute for another process's transaction instead of failing.
                    connection.execute("PRAGMA journal_mode = WAL").await?;
                    connection.execute("PRAGMA synchronous = FULL").await?;
                    connection.execute("PRAGMA busy_timeout = 60000").await?;
                    connection.execute("PRAGMA foreign_keys = ON").await?;
                    Ok(())
                })
            }),
            Dialect::Postgres => options,
        };
        let pool = options.connect(&url).await?;
        match dialect {
            Dialect::Sqlite => sqlx::migrate!("migrations/sqlite").run(&pool).await?,
            Dialect::Postgres => sqlx::migrate!("migrations/postgres").run(&pool).await?,
        }
        let pg = match dialect {
            Dialect::Sqlite => None,
            Dialect::Postgres => Some(
                sqlx::postgres::PgPoolOptions::new()
                    .max_connections(8)
                    .acquire_timeout(CONNECT_TIMEOUT)
                    .connect_lazy(&url)?,
            ),
        };
        let ledger = Ledger { pool, dialect, url: LedgerUrl(url), pg, folds: Default::default() };
        deck_rows::convert_legacy_rows(&ledger).await?;
        Ok(ledger)
    }

    /// The URL of the default embedded ledger in a data directory.
    pub fn sqlite_url(data_dir: &Path) -> String {
        format!("sqlite://{}", data_dir.join("reckon.db").display())
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Starts a write transaction. In SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`), so two writers queue instead of one failing when it upgrades its lock.
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, StoreError> {
        Ok(match self.dialect {
            Dialect::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Dialect::Postgres => self.pool.begin().await?,
        })
    }

    /// Closes the pool.
    pub async fn close(&self) {
        self.pool.close().await;
        if let Some(pg) = &self.pg {
            pg.close().await;
        }
    }
}

/// How long opening the ledger waits for the database server to answer.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Connects once to a database server before a pool is made of it: the pool would retry a
/// refused connection until its timeout and then report only that it timed out.
async fn probe_server(url: &str) -> Result<(), StoreError> {
    use sqlx::Connection;
    let address = server_address(url);
    match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect(url)).await {
        Err(_) => {
            Err(StoreError::Unreachable(format!("no answer within {} s at {address}", CONNECT_TIMEOUT.as_secs())))
        }
        Ok(Err(sqlx::Error::Io(error))) => Err(StoreError::Unreachable(format!("{} at {address}", error.kind()))),
        Ok(Err(error)) => Err(error.into()),
        Ok(Ok(connection)) => {
            let _ = connection.close().await;
            Ok(())
        }
    }
}

/// `host:port` of a server URL (`postgres://user:secret@host:port/db`), for messages.
fn server_address(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    let host = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    if host.contains(':') || host.is_empty() {
        host.to_owned()
    } else {
        format!("{host}:5432")
    }
}

/// A database URL without its password (in the user part or a `password=` parameter), for
/// messages. The one place that knows where a URL keeps a secret.
pub fn redact_url(url: &str) -> String {
    match password_range(url) {
        Some(range) if !range.is_empty() => format!("{}***{}", &url[..range.start], &url[range.end..]),
        _ => url.to_owned(),
    }
}

/// A message with every occurrence of the URL's password (as written, and percent-decoded)
/// replaced by `***`.
pub fn redact_secret(message: &str, url: &str) -> String {
    let Some(range) = password_range(url).filter(|range| !range.is_empty()) else {
        return message.to_owned();
    };
    let password = &url[range];
    let mut text = message.replace(password, "***");
    let decoded = percent_decoded(password);
    if !decoded.is_empty() {
        text = text.replace(&decoded, "***");
    }
    text
}

/// Where a URL holds its password: after the user's `:` in the part before the host's `@`,
/// else in a `password=` query parameter.
fn password_range(url: &str) -> Option<std::ops::Range<usize>> {
    let start = url.find("://")? + 3;
    let end = url[start..].find('?').map_or(url.len(), |offset| start + offset);
    if let Some(at) = url[start..end].rfind('@').map(|offset| start + offset) {
        if let Some(colon) = url[start..at].find(':').map(|offset| start + offset) {
            return Some(colon + 1..at);
        }
    }
    let mut position = end;
    for parameter in url.get(end + 1..)?.split('&') {
        position += 1;
        if let Some(value) = parameter.strip_prefix("password=") {
            let value_start = position + "password=".len();
            return Some(value_start..value_start + value.len());
        }
        position += parameter.len();
    }
    None
}

fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let hex = bytes.get(index + 1..index + 3).and_then(|pair| std::str::from_utf8(pair).ok());
        match (bytes[index], hex.and_then(|pair| u8::from_str_radix(pair, 16).ok())) {
            (b'%', Some(byte)) => {
                decoded.push(byte);
                index += 3;
            }
            (byte, _) => {
                decoded.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Hex SHA-256 of some parts, each followed by a separator byte that no text contains.
pub(crate) fn content_hash<'a>(parts: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0x1f]);
    }
    // Hex by table: a `format!` per byte was a measurable share of ingest (an allocation each).
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut text = String::with_capacity(64);
    for byte in hasher.finalize() {
        text.push(char::from(HEX[usize::from(byte >> 4)]));
        text.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn urls_and_messages_lose_their_password() {
        use super::{redact_secret, redact_url, server_address};
        let url = "postgres://app:s3cr%40t@db.example:6432/ledger?sslmode=disable";
        assert_eq!(redact_url(url), "postgres://app:***@db.example:6432/ledger?sslmode=disable");
        assert_eq!(redact_url("postgres://app@db/ledger?password=hunter2"), "postgres://app@db/ledger?password=***");
        assert_eq!(redact_url("sqlite:///tmp/reckon.db"), "sqlite:///tmp/reckon.db");
        // A password holding '@' (percent-encoded or not) stays hidden.
        assert_eq!(redact_url("postgres://app:p@ss@db/ledger"), "postgres://app:***@db/ledger");
        assert_eq!(redact_url("postgres://postgres:postgres@db/x"), "postgres://postgres:***@db/x");
        assert_eq!(
            redact_url("postgres://u@db/x?sslmode=off&password=pw&a=b"),
            "postgres://u@db/x?sslmode=off&password=***&a=b"
        );
        assert_eq!(redact_secret("auth failed for s3cr@t and s3cr%40t", url), "auth failed for *** and ***");
        assert_eq!(server_address(url), "db.example:6432");
        assert_eq!(server_address("postgres://app@localhost/ledger"), "localhost:5432");
    }

    /// Stored hashes must not change form: lowercase hex of SHA-256 over each part and 0x1f.
    #[test]
    fn content_hash_is_lowercase_hex_sha256() {
        // printf 'abc\x1f' | sha256sum
        assert_eq!(super::content_hash(["abc"]), "d5e9267952b38b2580c2e845cb5f9277848e1069a3d523ad92f375383b146953");
    }
}
