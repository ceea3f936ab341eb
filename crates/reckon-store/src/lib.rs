//! The durable ledger: imported usage, rate decks and invoices, reconciliation runs and their
//! discrepancies, disputes with their append-only event history, and immutable settlement
//! statements, in embedded SQLite (the default) or PostgreSQL, behind one API.
//!
//! Both databases are reached through sqlx's `Any` driver with versioned migrations per dialect
//! (`migrations/sqlite`, `migrations/postgres`). The few differences of dialect (placeholders,
//! exact decimals: TEXT in SQLite, NUMERIC in PostgreSQL) live in [`Dialect`]. Every import is
//! one transaction: a crash leaves all of it or none of it.

mod alerts;
mod dialect;
mod disputes;
mod error;
mod imports;
mod runs;
mod service;
mod settlements;

pub use alerts::{PendingMonth, StoredAlert};
pub use dialect::Dialect;
pub use disputes::{DisputeEvent, DisputeRecord};
pub use error::StoreError;
pub use imports::{ImportOutcome, InvoiceImport, InvoiceOutcome};
pub use runs::{RunInputs, StoredRun};
pub use service::{ApiKeyInfo, IngestStatus, RejectedEvent, StoredRejectedEvent};
pub use settlements::StoredStatement;

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use std::path::Path;

/// A connection to the ledger.
#[derive(Clone, Debug)]
pub struct Ledger {
    pool: AnyPool,
    dialect: Dialect,
}

impl Ledger {
    /// Opens (creating it if need be) the ledger at a URL (`sqlite://path` or `postgres://...`)
    /// and applies the migrations it lacks.
    ///
    /// # Errors
    /// When the database cannot be reached or a migration fails.
    pub async fn open(url: &str) -> Result<Ledger, StoreError> {
        sqlx::any::install_default_drivers();
        let dialect = Dialect::of_url(url)?;
        let url = match dialect {
            // Create the file when missing.
            Dialect::Sqlite if !url.contains("mode=") => {
                format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' })
            }
            _ => url.to_owned(),
        };
        // One SQLite connection per process: its writes serialize in a queue here instead of in
        // SQLite's busy handler, which backs off with sleeps (a 1.5 s p99 under 4 writers).
        let options = AnyPoolOptions::new().max_connections(if dialect == Dialect::Sqlite { 1 } else { 8 });
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
        Ok(Ledger { pool, dialect })
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
    }
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
    /// Stored hashes must not change form: lowercase hex of SHA-256 over each part and 0x1f.
    #[test]
    fn content_hash_is_lowercase_hex_sha256() {
        // printf 'abc\x1f' | sha256sum
        assert_eq!(super::content_hash(["abc"]), "d5e9267952b38b2580c2e845cb5f9277848e1069a3d523ad92f375383b146953");
    }
}
