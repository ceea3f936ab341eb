//! End-to-end tests of the `reckon` binary: real files in, exit code, reports and messages out.
//!
//! Method: each test writes or copies its inputs into a fresh temporary folder, runs the built
//! binary as a user would, and checks the exit code, the files written and stderr.

mod accruals_kept;
mod apikeys;
mod audit;
mod bad_input;
mod billed_on;
mod console;
mod contract_charges;
mod contract_charges_ledger;
mod deck_rows;
mod explain;
mod fuzz_runs;
mod generate;
mod import_scale;
mod jobs;
mod journal;
mod ledger;
mod ledger_corrections;
mod ledger_periods;
mod ledger_rate_rules;
mod ledger_split;
mod messages;
mod nats;
mod number_bounds;
mod ops;
mod parquet;
mod profiles;
mod profiles_decks;
mod rating;
mod rating_issue13;
mod reconcile;
mod replicas;
mod serve;
mod serve_robustness;
mod store_errors;
mod summary_invoices;
mod tidy;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The fixtures folder of this crate.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Runs `reckon` with arguments; stdin is closed and stderr is not a terminal.
pub fn reckon(arguments: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_reckon")).args(arguments).env("NO_COLOR", "1").output().expect("the binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads a CSV into rows of strings (header included).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).from_path(path).unwrap();
    reader.records().map(|record| record.unwrap().iter().map(str::to_owned).collect()).collect()
}
