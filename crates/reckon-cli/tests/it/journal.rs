//! The settlement journal through the binary, on SQLite and PostgreSQL, checked by the real
//! accounting tools: hledger (`hledger check`, `hledger bal`) and beancount (`bean-check`).
//!
//! Issue 11, item 7: a correction booked the new statement without reversing the superseded one
//! (imported whole, the carrier was paid twice) and the rounding difference stayed in the
//! carrier's payable.

use crate::ledger::{ledger_urls, run_ok};
use crate::{fixtures, text};
use std::path::Path;
use std::process::Command;

/// The path of a tool, or `None` when it is not installed. In CI (`CI=true`) a missing tool fails
/// the test: CI installs both (.ci/run).
pub fn tool(name: &str) -> Option<String> {
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|directory| directory.join(name))
        .find(|path| path.is_file())
        .map(|path| path.display().to_string());
    if found.is_none() {
        assert!(std::env::var("CI").map_or(true, |ci| ci != "true"), "{name} is not installed: CI must install it");
        use std::io::Write;
        let _ = writeln!(std::io::stderr(), "skipping the {name} check: {name} is not on PATH (CI installs it)");
    }
    found
}

fn run_tool(program: &str, arguments: &[&str]) -> String {
    let output = Command::new(program).args(arguments).output().expect("the tool runs");
    assert!(
        output.status.success(),
        "{program} {arguments:?}\nstdout: {}\nstderr: {}",
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// Settles borealis 2026-03 of the worked example while a dispute is pending, then corrects it
/// once the carrier credited part of it. Returns the three journals (csv, hledger, beancount).
fn corrected_settlement(directory: &Path, backend: &str, url: &str) -> [std::path::PathBuf; 3] {
    let basic = fixtures().join("basic");
    let path = |name: &str| basic.join(name).display().to_string();
    let call = |arguments: &[&str]| {
        let mut all: Vec<&str> = arguments.to_vec();
        all.extend(["--database-url", url]);
        run_ok(&all)
    };
    call(&["import", "usage", &path("usage.csv")]);
    call(&["import", "rates", &path("rates.csv")]);
    call(&["import", "invoice", &path("invoice-borealis.csv")]);
    let run = call(&["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
    let run_id = run.split_whitespace().nth(1).unwrap().to_owned();
    let opened = call(&["dispute", "open", "--run", &run_id, "--threshold", "0.001"]);
    let dispute_id = opened.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
    call(&["dispute", "submit", &dispute_id, "--reason", "sent"]);
    #[rustfmt::skip]
    call(&["import", "receivable", "--carrier", "borealis", "--invoice-id", "OUR-0317", "--period", "2026-03",
        "--amount", "0.995", "--currency", "EUR"]);
    // 3.724983 - 0.183 withheld - 0.995 = 2.546983 -> 2.55; booked one by one
    // 3.72 - 0.18 - 1.00 (0.995 half to even) = 2.54: 0.01 of rounding.
    let first = call(&["settle", "--carrier", "borealis", "--period", "2026-03"]);
    assert!(first.contains("net to pay         2.55 EUR"), "{backend}: {first}");
    #[rustfmt::skip]
    call(&["dispute", "accept", &dispute_id, "--credit", "40=0.03", "--credit", "41=0.03", "--credit", "42=0.03",
        "--credit", "22=0.02", "--reason", "CN-77"]);
    // 3.724983 - 0.11 credited - 0.995 = 2.619983 -> 2.62; booked 3.72 - 0.11 - 1.00 = 2.61.
    let corrected = call(&["settle", "--carrier", "borealis", "--period", "2026-03", "--correct"]);
    assert!(corrected.contains("net to pay         2.62 EUR"), "{backend}: {corrected}");
    ["csv", "hledger", "beancount"].map(|format| {
        let out = directory.join(format!("journal-{backend}.{format}"));
        let written = call(&[
            "journal",
            "--carrier",
            "borealis",
            "--period",
            "2026-03",
            "--format",
            format,
            "--out",
            &out.display().to_string(),
        ]);
        assert!(written.contains("written to"), "{backend}: {written}");
        out
    })
}

#[test]
fn the_journal_of_a_corrected_settlement_pays_the_carrier_once() {
    let directory = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(directory.path()) {
        let [csv, hledger_journal, beancount_journal] = corrected_settlement(directory.path(), backend, &url);

        // Every entry balances per currency, and every line names its entry.
        let rows = crate::read_csv(&csv);
        assert_eq!(rows[0], ["entry_id", "date", "account_code", "account", "debit", "credit", "currency", "memo"]);
        let mut per_entry: std::collections::BTreeMap<(String, String), rust_decimal::Decimal> = Default::default();
        for row in &rows[1..] {
            let amount = |text: &str| text.parse::<rust_decimal::Decimal>().unwrap_or_default();
            *per_entry.entry((row[0].clone(), row[6].clone())).or_default() += amount(&row[4]) - amount(&row[5]);
        }
        assert!(per_entry.values().all(|sum| sum.is_zero()), "{backend}: {per_entry:?}");
        let entries: Vec<&str> = per_entry.keys().map(|(entry, _)| entry.as_str()).collect();
        assert_eq!(entries.iter().filter(|entry| entry.ends_with(":reversal")).count(), 1, "{backend}: {entries:?}");
        assert_eq!(entries.iter().filter(|entry| entry.ends_with(":payment")).count(), 2, "{backend}: {entries:?}");
        let rounding = rows.iter().find(|row| row[2] == "5900").expect("a rounding line");
        assert_eq!(rounding[3], "expenses:rounding", "{backend}");

        if let Some(hledger) = tool("hledger") {
            let file = hledger_journal.display().to_string();
            run_tool(&hledger, &["-f", &file, "check", "--strict"]);
            // Balances from hledger itself: the bank paid 2.62 once (2.55 reversed), the
            // payable is settled, 0.01 + 0.01 - 0.01 (reversed) of rounding.
            let balances = run_tool(&hledger, &["-f", &file, "bal", "-N", "-E", "-O", "csv"]);
            for expected in [
                "\"assets:bank\",\"-2.62 EUR\"",
                "\"liabilities:payable:borealis\",\"0\"",
                "\"expenses:rounding\",\"0.01 EUR\"",
                "\"expenses:carrier-costs\",\"3.61 EUR\"",
                "\"assets:receivable:borealis\",\"-1.00 EUR\"",
            ] {
                assert!(balances.contains(expected), "{backend}: {expected} in\n{balances}");
            }
        }
        if let Some(bean_check) = tool("bean-check") {
            run_tool(&bean_check, &[&beancount_journal.display().to_string()]);
        }
    }
}
