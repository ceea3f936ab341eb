//! Errors of the ledger.

use reckon_core::dispute::IllegalTransition;

/// What can go wrong in the ledger.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?}: expected sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0} not found")]
    NotFound(String),
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    #[error("{0}")]
    Invalid(String),
    #[error("stored value {value:?} in {column} does not read back: {reason}")]
    Corrupt { column: &'static str, value: String, reason: String },
}
