//! `reckon explain` (issue 16): every record and line of the worked example explained at the
//! amount the run itself uses, over files and over the ledger (SQLite and PostgreSQL), and the
//! plain-words trace of a few records and lines as snapshots.
//!
//! Method: the run's own figures come from `reckon rate` (each record's cost) and `reckon
//! reconcile` (each line's discrepancy and expected amount; a line without one agrees, so its
//! expected amount is its billed amount within the amount tolerance). Each record and line is then
//! explained by the binary and its `expected amount:` and `discrepancy:` lines compared.

use crate::ledger::{import_basic, ledger_urls, reckon_ok_on};
use crate::{fixtures, read_csv, reckon, text};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::str::FromStr;

fn basic(name: &str) -> String {
    fixtures().join("basic").join(name).display().to_string()
}

/// The file inputs of the worked example, as `reconcile` takes them.
fn file_inputs() -> Vec<String> {
    [
        "--usage",
        "usage.csv",
        "--rates",
        "rates.csv",
        "--invoice",
        "invoice-acme.csv",
        "--invoice",
        "invoice-borealis.csv",
    ]
    .iter()
    .map(|part| if part.starts_with("--") { (*part).to_owned() } else { basic(part) })
    .collect()
}

fn explain_files(subject: &[&str]) -> String {
    let mut arguments = vec!["explain"];
    arguments.extend_from_slice(subject);
    let inputs = file_inputs();
    arguments.extend(inputs.iter().map(String::as_str));
    let output = reckon(&arguments);
    assert_eq!(output.status.code(), Some(0), "reckon {arguments:?}\nstderr: {}", text(&output.stderr));
    text(&output.stdout)
}

/// The `expected amount:` (amount and currency, `None` for none) and `discrepancy:` lines.
fn verdict(explanation: &str) -> (Option<(Decimal, String)>, String) {
    let value = |prefix: &str| {
        explanation
            .lines()
            .find_map(|line| line.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("{prefix} in\n{explanation}"))
    };
    let amount = match value("expected amount: ") {
        "none" => None,
        shown => {
            let (amount, currency) = shown.split_once(' ').unwrap();
            Some((Decimal::from_str(amount).unwrap(), currency.to_owned()))
        }
    };
    (amount, value("discrepancy: ").to_owned())
}

fn decimal(text: &str) -> Option<Decimal> {
    (!text.is_empty()).then(|| Decimal::from_str(text).unwrap())
}

#[test]
fn every_record_of_the_worked_example_is_explained_at_its_rated_cost() {
    let dir = tempfile::tempdir().unwrap();
    let rated = dir.path().join("rated.csv");
    let output = reckon(&[
        "rate",
        "--usage",
        &basic("usage.csv"),
        "--rates",
        &basic("rates.csv"),
        "--out",
        &rated.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&rated);
    let column = |name: &str| rows[0].iter().position(|column| column == name).unwrap();
    let unbilled: Vec<String> = read_csv(&fixtures().join("basic/discrepancies.csv"))
        .into_iter()
        .filter(|row| row[4] == "unbilled_usage")
        .map(|row| row[3].clone())
        .collect();
    assert_eq!(rows.len(), 84, "83 records");
    for row in &rows[1..] {
        let record_id = &row[column("record_id")];
        let explanation = explain_files(&["--record", record_id]);
        let (amount, discrepancy) = verdict(&explanation);
        let cost = decimal(&row[column("cost")]);
        assert_eq!(amount.as_ref().map(|(amount, _)| *amount), cost, "record {record_id}:\n{explanation}");
        if cost.is_some() {
            assert_eq!(amount.unwrap().1, row[column("cost_currency")], "record {record_id}");
        }
        let expected_kind = if unbilled.contains(record_id) { "unbilled_usage" } else { "none" };
        assert_eq!(discrepancy, expected_kind, "record {record_id}:\n{explanation}");
    }
}

#[test]
fn every_line_of_the_worked_example_is_explained_as_the_run_judges_it() {
    let out = tempfile::tempdir().unwrap();
    let mut arguments = vec!["reconcile".to_owned()];
    arguments.extend(file_inputs());
    arguments.extend(["--out".to_owned(), out.path().display().to_string()]);
    let output = reckon(&arguments.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // (carrier, invoice, line) -> (kind, expected amount) of the run's discrepancies.
    let found: HashMap<(String, String, String), (String, Option<Decimal>)> =
        read_csv(&out.path().join("discrepancies.csv"))[1..]
            .iter()
            .filter(|row| !row[1].is_empty())
            .map(|row| ((row[0].clone(), row[1].clone(), row[2].clone()), (row[4].clone(), decimal(&row[11]))))
            .collect();
    let mut explained = 0;
    for invoice in ["invoice-acme.csv", "invoice-borealis.csv"] {
        let rows = read_csv(&fixtures().join("basic").join(invoice));
        for row in &rows[1..] {
            let (carrier, invoice_id, line_id, amount, currency) = (&row[0], &row[1], &row[2], &row[9], &row[10]);
            let name = format!("{carrier}/{invoice_id}/{line_id}");
            let explanation = explain_files(&["--line", &name]);
            let (expected, discrepancy) = verdict(&explanation);
            match found.get(&(carrier.clone(), invoice_id.clone(), line_id.clone())) {
                Some((kind, expected_amount)) => {
                    assert_eq!(&discrepancy, kind, "line {name}:\n{explanation}");
                    assert_eq!(
                        expected.as_ref().map(|(amount, _)| *amount),
                        *expected_amount,
                        "line {name}:\n{explanation}"
                    );
                }
                None => {
                    assert_eq!(discrepancy, "none", "line {name}:\n{explanation}");
                    let (expected, expected_currency) = expected.unwrap();
                    let billed = Decimal::from_str(amount).unwrap();
                    assert!((billed - expected).abs() <= Decimal::new(1, 6), "line {name}: {billed} vs {expected}");
                    assert_eq!(&expected_currency, currency);
                }
            }
            explained += 1;
        }
    }
    assert_eq!(explained, 87);
}

#[test]
fn the_trace_in_plain_words() {
    // acme voice 44: increments 60/6 and a connect fee; 4479: a minimum; a rate mismatch; a
    // duplicate; an unmatched line; no rate; a currency the contract cannot convert; an
    // unbilled record.
    for (name, subject) in [
        ("record_increments_connect_fee", ["--record", "u00052"]),
        ("line_minimum", ["--line", "acme/ACME-2026-03/3"]),
        ("line_rate_mismatch", ["--line", "acme/ACME-2026-03/18"]),
        ("line_duplicate", ["--line", "acme/ACME-2026-03/7"]),
        ("line_unmatched", ["--line", "acme/ACME-2026-03/40"]),
        ("line_no_rate", ["--line", "acme/ACME-2026-03/43"]),
        ("line_currency_mismatch", ["--line", "acme/ACME-2026-03/33"]),
        ("record_unbilled", ["--record", "u00013"]),
    ] {
        insta::assert_snapshot!(format!("explain_{name}"), explain_files(&subject));
    }
}

#[test]
fn a_line_in_another_currency_is_explained_with_its_fx_rate_and_rounding() {
    // acme's deck is in USD; this invoice bills line 3 of the worked example in EUR. FX: 1.08
    // USD per EUR on 2026-03-09, the latest on or before the record's date 2026-03-10.
    let dir = tempfile::tempdir().unwrap();
    let invoice = dir.path().join("invoice-eur.csv");
    std::fs::write(
        &invoice,
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n\
         acme,ACME-EUR,1,,voice,2026-03-10T05:11:09Z,44791115868,31,,0.0249,EUR\n",
    )
    .unwrap();
    let fx = dir.path().join("fx.csv");
    std::fs::write(&fx, "date,currency,per_eur\n2026-03-09,USD,1.08\n").unwrap();
    let arguments = [
        "explain",
        "--line",
        "acme/ACME-EUR/1",
        "--usage",
        &basic("usage.csv"),
        "--rates",
        &basic("rates.csv"),
        "--invoice",
        &invoice.display().to_string(),
        "--fx",
        &fx.display().to_string(),
    ];
    let output = reckon(&arguments);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    insta::assert_snapshot!("explain_line_fx", text(&output.stdout));
}

#[test]
fn the_ledger_explains_as_the_files_do() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        for subject in [["--record", "u00033"], ["--line", "borealis/BOR-2603/2"], ["--record", "u00072"]] {
            let mut arguments = vec!["explain"];
            arguments.extend_from_slice(&subject);
            let from_ledger = reckon_ok_on(&url, &arguments);
            // The ledger holds borealis's invoice only: the files of the same run.
            let mut file_arguments = arguments.clone();
            let inputs = [
                "--usage".to_owned(),
                basic("usage.csv"),
                "--rates".to_owned(),
                basic("rates.csv"),
                "--invoice".to_owned(),
                basic("invoice-borealis.csv"),
            ];
            file_arguments.extend(inputs.iter().map(String::as_str));
            let output = reckon(&file_arguments);
            assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
            assert_eq!(from_ledger, text(&output.stdout), "{backend} {subject:?}");
        }
        let (code, _, stderr) = crate::ledger::reckon_on(&url, &["explain", "--record", "nope"]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("usage record nope not found"), "{backend}: {stderr}");
    }
}
