//! The ledger against real databases: every test runs on an embedded SQLite file and on the
//! machine's PostgreSQL (`RECKON_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`),
//! each in a fresh database. No mocks.
//!
//! Method: import the worked example of the data contract (`reckon-cli/tests/fixtures/basic`),
//! then walk it through reconciliation, disputes and settlement, checking every figure by hand.

mod accruals;
mod console;
mod corrections;
mod delivery;
mod ingest;
mod periods;
mod rate_rules;
mod scenario;
mod settlement;

use reckon_core::Timestamp;
use reckon_store::Ledger;
use std::path::{Path, PathBuf};

/// The worked example's files.
pub fn basic(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../reckon-cli/tests/fixtures/basic").join(name)
}

pub fn at(text: &str) -> Timestamp {
    text.parse().unwrap()
}

/// A fresh ledger on each backend: `(name, ledger, guard)`; the guard drops the database.
pub async fn ledgers() -> Vec<(&'static str, Ledger, Box<dyn std::any::Any>)> {
    let directory = tempfile::tempdir().unwrap();
    let sqlite = Ledger::open(&Ledger::sqlite_url(directory.path())).await.unwrap();
    let (postgres, guard) = fresh_postgres().await;
    vec![("sqlite", sqlite, Box::new(directory)), ("postgres", postgres, Box::new(guard))]
}

/// Drops a test's PostgreSQL database when the test is done with it.
pub struct DropDatabase {
    admin_url: String,
    name: String,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs inside the test's runtime: use a thread with its own.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await;
                }
            });
        })
        .join();
    }
}

/// A new, empty PostgreSQL database for one test, dropped with its guard.
pub async fn fresh_postgres() -> (Ledger, DropDatabase) {
    let (url, guard) = fresh_postgres_url().await;
    (Ledger::open(&url).await.unwrap(), guard)
}

/// The URL of a new, empty PostgreSQL database (for several ledgers on it, like replicas),
/// dropped with its guard.
pub async fn fresh_postgres_url() -> (String, DropDatabase) {
    use sqlx::Connection;
    let base = std::env::var("RECKON_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name = format!(
        "reckon_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst),
        jiff::Timestamp::now().as_millisecond()
    );
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL answers (see README: Testing)");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    (format!("{prefix}/{name}"), DropDatabase { admin_url: base, name })
}

/// sqlx skips a migration file whose name lacks `_` or `.sql`: the folders and the embedded
/// migrations must agree, and the two dialects must have the same versions.
#[test]
fn every_migration_file_is_embedded_in_both_dialects() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
    let versions = |dialect: &str| {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dialect))
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let (sqlite, postgres) = (versions("sqlite"), versions("postgres"));
    assert_eq!(sqlite, postgres);
    assert!(sqlite.iter().all(|name| name.ends_with(".sql") && name.contains('_')), "{sqlite:?}");
    assert_eq!(sqlx::migrate!("migrations/sqlite").iter().count(), sqlite.len());
    assert_eq!(sqlx::migrate!("migrations/postgres").iter().count(), postgres.len());
}
