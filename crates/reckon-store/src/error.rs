//! Errors of the ledger.

use reckon_core::dispute::IllegalTransition;

/// What can go wrong in the ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {:?}: expected sqlite://PATH or postgres://...", crate::redact_url(.0))]
    UnsupportedUrl(String),
    /// The ledger could not be opened; `url` and `cause` hold no password.
    #[error("cannot open the ledger at {url}: {cause}")]
    Open { url: String, cause: String },
    /// The database server refused or did not answer (`connection refused at 127.0.0.1:5999`).
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("{0}")]
    Invalid(String),
    /// Input refused while it streams into the ledger (a bulk import reads its file as it
    /// stores it): the loader's error, as the loader words it.
    #[error(transparent)]
    Import(#[from] reckon_import::ImportError),
    #[error("stored value {value:?} in {column} does not read back: {reason}")]
    Corrupt { column: &'static str, value: String, reason: String },
}

impl StoreError {
    /// Whether the database refused a row whose key another transaction stored first.
    pub(crate) fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(error)) if error.is_unique_violation())
    }

    /// Whether the database gave up a transaction that succeeds when tried again: a deadlock
    /// (PostgreSQL 40P01) or a serialization failure (40001).
    pub(crate) fn is_transient(&self) -> bool {
        matches!(self, StoreError::Database(sqlx::Error::Database(error))
            if matches!(error.code().as_deref(), Some("40P01" | "40001")))
    }
}
