//! Leases: how replicas of the service on one ledger share a duty that must be done once at a
//! time (the alert checks, one alert's delivery). A lease is a row with a holder and an expiry;
//! it is taken when free or expired, renewed by its holder, and lapses when the holder dies, so
//! a killed replica's duty passes to another after at most one lease time.

use crate::dialect::nanoseconds;
use crate::{Dialect, Ledger, StoreError};
use reckon_core::Timestamp;
use std::time::Duration;

impl Ledger {
    /// Takes the lease `name` for `holder` until `now + ttl` when it is free, expired or held by
    /// `holder` already (then it is renewed); returns whether `holder` holds it now. Two
    /// replicas asking at once: one gets it (the row's key decides), the other is told no.
    ///
    /// Expiries are the holders' clocks: replicas' clocks must agree to well within `ttl`.
    ///
    /// # Errors
    /// A database error.
    pub async fn take_lease(
        &self,
        name: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let now_ns = nanoseconds(now);
        let ttl_ns = i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX);
        let upsert = self.dialect.sql(
            "INSERT INTO leases (name, holder, expires_at_ns) VALUES ({1}, {2}, {3}) \
             ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at_ns = excluded.expires_at_ns \
             WHERE leases.holder = excluded.holder OR leases.expires_at_ns <= {4}",
        );
        let taken = sqlx::query(&upsert)
            .bind(name.to_owned())
            .bind(holder.to_owned())
            .bind(now_ns.saturating_add(ttl_ns))
            .bind(now_ns)
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(taken == 1)
    }

    /// Gives up a lease `holder` holds (nothing when another holds it), so the next taker need
    /// not wait for its expiry.
    ///
    /// # Errors
    /// A database error.
    pub async fn release_lease(&self, name: &str, holder: &str) -> Result<(), StoreError> {
        let delete = self.dialect.sql("DELETE FROM leases WHERE name = {1} AND holder = {2}");
        sqlx::query(&delete).bind(name.to_owned()).bind(holder.to_owned()).execute(&self.pool).await?;
        Ok(())
    }

    /// Drops every lease: for a ledger only one process can serve (SQLite, whose file lock the
    /// server holds), the leases left are a dead predecessor's and need not be waited for.
    ///
    /// # Errors
    /// A database error.
    pub async fn release_all_leases(&self) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM leases").execute(&self.pool).await?;
        Ok(())
    }

    /// On an SQLite ledger, which one process serves: an exclusive lock on `<file>.serve-lock`
    /// (an SQLite file held in an exclusive transaction, which the system releases when the
    /// process ends, however it ends), held as long as the returned value lives. `None` for
    /// PostgreSQL, which any number of replicas serve.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] when another process holds it, or a database error.
    pub async fn hold_sole_server(&self) -> Result<Option<SoleServer>, StoreError> {
        use sqlx::{ConnectOptions, Connection, Executor};
        use std::str::FromStr;
        if self.dialect != Dialect::Sqlite {
            return Ok(None);
        }
        let (path, _) = self.url.0.split_once('?').unwrap_or((&self.url.0, ""));
        if path.contains(":memory:") {
            return Ok(None);
        }
        let lock_url = format!("{path}.serve-lock");
        let mut connection = sqlx::sqlite::SqliteConnectOptions::from_str(&lock_url)?
            .create_if_missing(true)
            .busy_timeout(Duration::ZERO)
            .connect()
            .await?;
        match connection.execute("BEGIN EXCLUSIVE").await {
            Ok(_) => Ok(Some(SoleServer { _connection: connection })),
            Err(sqlx::Error::Database(error)) if error.message().contains("locked") => {
                let _ = connection.close().await;
                let file = path.trim_start_matches("sqlite://").trim_start_matches("sqlite:");
                Err(StoreError::Conflict(format!(
                    "{file} is served by another `reckon serve` already: an SQLite ledger is served by one \
                     process; to run replicas, put the ledger in PostgreSQL (--database-url postgres://...)"
                )))
            }
            Err(error) => Err(error.into()),
        }
    }
}

/// The hold of the one server of an SQLite ledger ([`Ledger::hold_sole_server`]).
pub struct SoleServer {
    _connection: sqlx::SqliteConnection,
}
