//! `reckon generate`: a synthetic month whose discrepancies are known by construction.
//!
//! Method: generate a month with the binary, reconcile it with the binary, and compare the
//! discrepancies found with `planted.csv`, row by row.

use crate::{read_csv, reckon, text};
use std::collections::BTreeSet;
use std::path::Path;

/// `(carrier, line_id, record_id, kind)` of every row of a CSV with those columns.
fn keys(path: &Path) -> BTreeSet<[String; 4]> {
    let rows = read_csv(path);
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|column| column == name).unwrap();
    let columns = ["carrier", "line_id", "record_id", "kind"].map(column);
    rows[1..].iter().map(|row| columns.map(|index| row[index].clone())).collect()
}

fn generate(dir: &Path, records: &str, seed: &str) {
    let output = reckon(&[
        "generate",
        "--out",
        &dir.display().to_string(),
        "--records",
        records,
        "--seed",
        seed,
        "--prefixes-per-carrier",
        "3000",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert!(text(&output.stdout).starts_with("generated "), "{}", text(&output.stdout));
}

#[test]
fn reconcile_finds_exactly_what_generate_planted() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = dir.path().join("inputs");
    generate(&inputs, "20_000", "3");
    let mut invoices: Vec<String> = std::fs::read_dir(&inputs)
        .unwrap()
        .map(|entry| entry.unwrap().path().display().to_string())
        .filter(|path| path.contains("invoice-"))
        .collect();
    invoices.sort();
    // Four carriers, one of them with an invoice per half month.
    assert_eq!(invoices.len(), 5, "{invoices:?}");
    let out = dir.path().join("out");
    let file = |name: &str| inputs.join(name).display().to_string();
    let mut arguments = vec![
        "reconcile".to_owned(),
        "--usage".to_owned(),
        file("usage.csv"),
        "--rates".to_owned(),
        file("rates.csv"),
        "--fx".to_owned(),
        file("fx.csv"),
        "--contracts".to_owned(),
        file("contracts.csv"),
        "--out".to_owned(),
        out.display().to_string(),
        "--quiet".to_owned(),
    ];
    for invoice in &invoices {
        arguments.extend(["--invoice".to_owned(), invoice.clone()]);
    }
    let output = reckon(&arguments.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let planted = keys(&inputs.join("planted.csv"));
    let found = keys(&out.join("discrepancies.csv"));
    // At 1% of 20,000 records, every kind is planted many times.
    for kind in [
        "unmatched_charge",
        "duplicate_charge",
        "no_rate",
        "quantity_mismatch",
        "currency_mismatch",
        "rate_mismatch",
        "amount_mismatch",
        "unbilled_usage",
    ] {
        let count = planted.iter().filter(|key| key[3] == kind).count();
        assert!(count >= 5, "{kind}: {count} planted");
    }
    let missed: Vec<_> = planted.difference(&found).collect();
    let unexpected: Vec<_> = found.difference(&planted).collect();
    assert!(missed.is_empty() && unexpected.is_empty(), "missed {missed:?}, unexpected {unexpected:?}");
}

#[test]
fn the_same_seed_gives_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let [first, second, other] = ["first", "second", "other"].map(|name| dir.path().join(name));
    generate(&first, "3000", "11");
    generate(&second, "3k", "11");
    generate(&other, "3000", "12");
    for name in ["usage.csv", "rates.csv", "fx.csv", "invoice-acme.csv", "invoice-dynamo.csv", "planted.csv"] {
        let read = |dir: &Path| std::fs::read(dir.join(name)).unwrap();
        assert_eq!(read(&first), read(&second), "{name}");
        if name == "usage.csv" {
            assert_ne!(read(&first), read(&other), "another seed, other usage");
        }
    }
}

#[test]
fn a_count_that_is_not_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = reckon(&["generate", "--out", &dir.path().display().to_string(), "--records", "ten"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("\"ten\" is not a count"), "{}", text(&output.stderr));
}
