//! The ledger's database edges through the binary (issue 11, item 9): two imports of one invoice
//! at once, an unreachable server, and passwords in error messages.

use crate::ledger::ledger_urls;
use crate::{fixtures, reckon, text};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Two processes import the same invoice into one ledger at the same moment, several times: one
/// stores it, the other reports the no-op it would have been second (PostgreSQL failed it with
/// "duplicate key value violates unique constraint").
#[test]
fn concurrent_imports_of_one_invoice_store_it_once_and_the_other_is_a_no_op() {
    let directory = tempfile::tempdir().unwrap();
    let invoice = std::fs::read_to_string(fixtures().join("basic/invoice-borealis.csv")).unwrap();
    for (backend, url) in ledger_urls(directory.path()) {
        // Create the schema first, so the two processes race on the invoice, not the migrations.
        crate::ledger::run_ok(&[
            "import",
            "usage",
            &fixtures().join("basic/usage.csv").display().to_string(),
            "--database-url",
            &url,
        ]);
        for round in 0..6 {
            let file = directory.path().join(format!("invoice-{backend}-{round}.csv"));
            std::fs::write(&file, invoice.replace("BOR-2603", &format!("BOR-RACE-{round}"))).unwrap();
            let spawn = || {
                Command::new(env!("CARGO_BIN_EXE_reckon"))
                    .args(["import", "invoice", &file.display().to_string(), "--database-url", &url])
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            };
            let (first, second) = (spawn(), spawn());
            let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
            for output in &outputs {
                assert_eq!(output.status.code(), Some(0), "{backend} round {round}: {}", text(&output.stderr));
            }
            let stdouts: Vec<String> = outputs.iter().map(|output| text(&output.stdout)).collect();
            assert_eq!(
                stdouts.iter().filter(|stdout| stdout.contains("42 lines stored")).count(),
                1,
                "{backend} round {round}: {stdouts:?}"
            );
            assert_eq!(stdouts.iter().filter(|stdout| stdout.contains("no-op")).count(), 1, "{backend}: {stdouts:?}");
        }
        assert_eq!(crate::ledger::count(&url, "invoices"), 6, "{backend}: one version of each");
    }
}

/// Nothing listens on port 5999: the command fails within seconds naming the cause, instead of
/// "pool timed out" after 30 s, and never prints the password.
#[test]
fn an_unreachable_database_fails_fast_with_the_cause_and_no_password() {
    let usage = fixtures().join("basic/usage.csv").display().to_string();
    let started = Instant::now();
    let output =
        reckon(&["import", "usage", &usage, "--database-url", "postgres://postgres:hunter2@127.0.0.1:5999/test"]);
    let elapsed = started.elapsed();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}: {stderr}");
    assert!(stderr.contains("connection refused at 127.0.0.1:5999"), "{stderr}");
    assert!(stderr.contains("postgres://postgres:***@127.0.0.1:5999/test"), "{stderr}");
    assert!(!stderr.contains("hunter2") && !stderr.contains("pool timed out"), "{stderr}");
}

/// Every error of opening a ledger hides the password, wherever the URL goes wrong.
#[test]
fn store_errors_never_print_the_database_password() {
    let usage = fixtures().join("basic/usage.csv").display().to_string();
    for url in [
        "mysql://app:hunter2@127.0.0.1/ledger",
        "postgres://app:hunter2@127.0.0.1:notaport/ledger",
        "postgres://postgres:hunter2@127.0.0.1:5432/reckon_no_such_database",
        "postgres://postgres@127.0.0.1:5432/reckon_no_such_database?password=hunter2",
    ] {
        let output = reckon(&["import", "usage", &usage, "--database-url", url]);
        let stderr = text(&output.stderr);
        assert_ne!(output.status.code(), Some(0), "{url}: {stderr}");
        assert!(!stderr.contains("hunter2"), "{url}: {stderr}");
        assert!(stderr.contains("***"), "{url}: the ledger is named, redacted: {stderr}");
    }
}
