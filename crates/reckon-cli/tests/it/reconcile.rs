//! `reckon reconcile` on good inputs: the worked example of the data contract, exit codes and
//! the summary.

use crate::{fixtures, read_csv, reckon, text};
use rust_decimal::Decimal;
use std::str::FromStr;

/// Columns of `discrepancies.csv` holding numbers, compared by value (`0.0225` = `0.022500`).
const NUMERIC_COLUMNS: [usize; 5] = [8, 9, 10, 11, 12];

fn normalise(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .enumerate()
        .map(|(index, mut row)| {
            if index > 0 {
                for column in NUMERIC_COLUMNS {
                    if !row[column].is_empty() {
                        row[column] = Decimal::from_str(&row[column]).unwrap().normalize().to_string();
                    }
                }
            }
            row
        })
        .collect()
}

fn reconcile_basic(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let basic = fixtures().join("basic");
    let paths = ["usage.csv", "rates.csv", "invoice-acme.csv", "invoice-borealis.csv"]
        .map(|name| basic.join(name).display().to_string());
    let mut arguments = vec![
        "reconcile",
        "--usage",
        &paths[0],
        "--rates",
        &paths[1],
        "--invoice",
        &paths[2],
        "--invoice",
        &paths[3],
        "--out",
    ];
    let out = out.display().to_string();
    arguments.push(&out);
    arguments.extend_from_slice(extra);
    reckon(&arguments)
}

#[test]
fn worked_example_matches_the_contract_row_for_row() {
    let out = tempfile::tempdir().unwrap();
    let output = reconcile_basic(out.path(), &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let actual = normalise(read_csv(&out.path().join("discrepancies.csv")));
    let expected = normalise(read_csv(&fixtures().join("basic/discrepancies.csv")));
    assert_eq!(actual.len(), 28);
    for (actual_row, expected_row) in actual.iter().zip(&expected) {
        assert_eq!(actual_row, expected_row);
    }
    assert_eq!(actual, expected);
    assert!(!out.path().join("rejected.csv").exists());
}

#[test]
fn summary_json_and_table() {
    let out = tempfile::tempdir().unwrap();
    let output = reconcile_basic(out.path(), &[]);
    assert_eq!(output.status.code(), Some(0));
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["usage_records"], 83);
    assert_eq!(summary["counts"]["invoice_lines"], 87);
    assert_eq!(summary["discrepancies"]["unbilled_usage"], 4);
    assert_eq!(summary["discrepancies"]["rate_mismatch"], 5);
    // borealis BOR-2603: overbilled = 0.01+0.001+0.01+0.03+0.000483+0.03+0.01+0.003+0.001+3*0.03
    let borealis =
        summary["groups"].as_array().unwrap().iter().find(|group| group["invoice_id"] == "BOR-2603").unwrap();
    assert_eq!(borealis["overbilled"], "0.185483");
    assert_eq!(borealis["lines_billed"], 42);
    assert_eq!(borealis["lines_matched"], 39);
    insta::assert_snapshot!("basic_summary_table", text(&output.stdout));
}

#[test]
fn fail_on_discrepancy_exits_1_and_still_writes_reports() {
    let out = tempfile::tempdir().unwrap();
    let output = reconcile_basic(out.path(), &["--fail-on-discrepancy", "--quiet"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    assert_eq!(read_csv(&out.path().join("discrepancies.csv")).len(), 28); // header and 27 rows
}

#[test]
fn tolerances_are_flags() {
    let out = tempfile::tempdir().unwrap();
    // With an amount tolerance of 0.02 the three 0.01 amount mismatches of borealis agree.
    let output = reconcile_basic(out.path(), &["--amount-tolerance", "0.02"]);
    assert_eq!(output.status.code(), Some(0));
    let rows = read_csv(&out.path().join("discrepancies.csv"));
    assert!(rows.iter().all(|row| row[4] != "amount_mismatch"));
    // A time tolerance of 5 s loses the by-time matches more than 5 s apart (u00001 at 7 s).
    let output = reconcile_basic(out.path(), &["--time-tolerance", "5"]);
    assert_eq!(output.status.code(), Some(0));
    let rows = read_csv(&out.path().join("discrepancies.csv"));
    assert!(rows.iter().any(|row| row[2] == "1" && row[4] == "unmatched_charge"));
}

#[test]
fn demo_runs_and_finds_what_it_planted() {
    let dir = tempfile::tempdir().unwrap();
    let output = reckon(&["demo", "--dir", &dir.path().display().to_string(), "--records", "1500"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let stdout = text(&output.stdout);
    for line in stdout.lines().skip_while(|line| !line.starts_with("planted kind")).skip(1).take(8) {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns[1], columns[2], "planted and found differ: {line}");
    }
    assert!(dir.path().join("out/discrepancies.csv").exists());
}

#[test]
fn ecb_rates_convert_a_line_billed_in_another_currency() {
    let out = tempfile::tempdir().unwrap();
    let ecb = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reckon-import/test_data/fx/eurofxref-hist-excerpt.csv");
    let output = reconcile_basic(out.path(), &["--ecb", &ecb.display().to_string()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out.path().join("discrepancies.csv"));
    let line_33 = rows.iter().find(|row| row[2] == "33").unwrap();
    // u00070: 1 SMS at 0.0049 USD on Sunday 2026-03-22, so Friday 03-20's rates: USD 1.1555,
    // GBP 0.86438 per EUR. 0.0049 * 0.86438 / 1.1555 = 0.0036654... -> 0.003665 GBP; billed
    // 0.0049 GBP: an amount mismatch of 0.001235 (no longer a currency mismatch).
    assert_eq!(
        line_33[4..].to_vec(),
        [
            "amount_mismatch",
            "sms",
            "12127105408",
            "2026-03-22T08:55:44Z",
            "1",
            "1",
            "0.0049",
            "0.003665",
            "0.001235",
            "GBP"
        ]
    );
    // The summary shows every group in EUR too: acme's USD lines, converted line by line.
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.path().join("summary.json")).unwrap()).unwrap();
    let acme_gbp = summary["groups"].as_array().unwrap().iter().find(|group| group["currency"] == "GBP").unwrap();
    // 0.0049 GBP on 03-20 at 0.86438: 0.005668808... -> 0.005669 EUR
    assert_eq!(acme_gbp["report"]["billed_total"], "0.005669");
    assert_eq!(acme_gbp["report"]["currency"], "EUR");
}

#[test]
fn a_contract_can_forbid_billing_in_another_currency() {
    let dir = tempfile::tempdir().unwrap();
    let contracts = dir.path().join("contracts.csv");
    std::fs::write(&contracts, "carrier,fx_policy,deck_currency_only\nacme,record_date,true\n").unwrap();
    let ecb = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../reckon-import/test_data/fx/eurofxref-hist-excerpt.csv");
    let output = reconcile_basic(
        dir.path(),
        &["--ecb", &ecb.display().to_string(), "--contracts", &contracts.display().to_string()],
    );
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&dir.path().join("discrepancies.csv"));
    let line_33 = rows.iter().find(|row| row[2] == "33").unwrap();
    assert_eq!(line_33[4], "currency_mismatch");
}
