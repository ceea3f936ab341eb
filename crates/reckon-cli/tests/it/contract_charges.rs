//! Issue 17: the worked example's invoices with recurring charges and taxes added, through the
//! binary, whole and split. Charge lines are checked against contract_terms.csv, never reported
//! as `unmatched_charge`.
//!
//! By hand, from the fixtures: acme's March usage lines bill 1.200000 USD (and one GBP line),
//! borealis's 3.724983 EUR.
//! - acme: numbers rented, 25.00 USD a month in force all March: 25.00; tax 10% of the USD
//!   usage: 1.200000 × 10% = 0.12.
//! - borealis: a trunk of 100.00 EUR a month from 16 March, pro-rated: days 16..=31 are 16 of
//!   31, 100.00 × 16 / 31 = 51.6129... = 51.61; tax 20% of the usage: 3.724983 × 20% =
//!   0.7449966 = 0.74.

use crate::{fixtures, read_csv, reckon, text};
use std::path::Path;

const TERMS: &str = "carrier,term,code,effective_from,effective_to,currency,amount,prorate,percent\n\
acme,recurring,NUM-RENT,2026-01-01,,USD,25.00,,\n\
acme,tax,VAT,2026-01-01,,USD,,,10\n\
borealis,recurring,TRUNK,2026-03-16,,EUR,100.00,days,\n\
borealis,tax,VAT,2026-01-01,,EUR,,,20\n";

/// The fixture invoice with the two charge columns (empty on its usage lines) and `extra`
/// lines appended (`line_id,service,started_at,amount,currency,charge_type,charge_code`).
pub fn invoice_with_charges(name: &str, carrier: &str, invoice_id: &str, extra: &[&str], folder: &Path) -> String {
    let original = std::fs::read_to_string(fixtures().join("basic").join(name)).unwrap();
    let mut lines = original.lines();
    let mut text = format!("{},charge_type,charge_code\n", lines.next().unwrap());
    for line in lines {
        text.push_str(line);
        text.push_str(",,\n");
    }
    for charge in extra {
        let [line_id, service, started_at, amount, currency, charge_type, charge_code] =
            charge.split(',').collect::<Vec<_>>().try_into().unwrap();
        // carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency
        text.push_str(&format!(
            "{carrier},{invoice_id},{line_id},,{service},{started_at},,,,{amount},{currency},{charge_type},{charge_code}\n"
        ));
    }
    let path = folder.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn run(
    folder: &Path,
    acme_extra: &[&str],
    borealis_extra: &[&str],
    extra_arguments: &[&str],
) -> (std::process::Output, Vec<Vec<String>>) {
    let acme = invoice_with_charges("invoice-acme.csv", "acme", "ACME-2026-03", acme_extra, folder);
    let borealis = invoice_with_charges("invoice-borealis.csv", "borealis", "BOR-2603", borealis_extra, folder);
    let terms = folder.join("contract_terms.csv");
    std::fs::write(&terms, TERMS).unwrap();
    let out = folder.join("out");
    let basic = fixtures().join("basic");
    let (usage, rates) = (basic.join("usage.csv").display().to_string(), basic.join("rates.csv").display().to_string());
    let (terms, out_text) = (terms.display().to_string(), out.display().to_string());
    let mut arguments = vec![
        "reconcile",
        "--usage",
        &usage,
        "--rates",
        &rates,
        "--invoice",
        &acme,
        "--invoice",
        &borealis,
        "--out",
        &out_text,
        "--quiet",
    ];
    if !extra_arguments.contains(&"--no-terms") {
        arguments.extend(["--contract-terms", terms.as_str()]);
    }
    arguments.extend(extra_arguments.iter().filter(|argument| **argument != "--no-terms"));
    let output = reckon(&arguments);
    let rows = if output.status.success() { read_csv(&out.join("discrepancies.csv")) } else { Vec::new() };
    (output, rows)
}

const ACME_RIGHT: [&str; 2] =
    ["C1,sms,2026-03-01T00:00:00Z,25.00,USD,recurring,NUM-RENT", "C2,sms,2026-03-31T00:00:00Z,0.12,USD,tax,VAT"];
const BOREALIS_RIGHT: [&str; 2] =
    ["C1,voice,2026-03-16T00:00:00Z,51.61,EUR,recurring,TRUNK", "C2,voice,2026-03-31T00:00:00Z,0.74,EUR,tax,"];

/// The rows of `discrepancies.csv` with numbers compared by value.
fn by_value(rows: Vec<Vec<String>>) -> Vec<Vec<String>> {
    rows.into_iter()
        .map(|row| {
            row.into_iter()
                .map(|cell| match rust_decimal::Decimal::from_str_exact(&cell) {
                    Ok(number) if cell.contains('.') => number.normalize().to_string(),
                    _ => cell,
                })
                .collect()
        })
        .collect()
}

#[test]
fn the_worked_example_with_recurring_and_tax_lines_finds_only_its_usage_discrepancies() {
    let expected = by_value(read_csv(&fixtures().join("basic/discrepancies.csv")));
    for partitions in ["0", "3"] {
        let folder = tempfile::tempdir().unwrap();
        let (output, rows) = run(folder.path(), &ACME_RIGHT, &BOREALIS_RIGHT, &["--partitions", partitions]);
        assert!(output.status.success(), "stderr: {}", text(&output.stderr));
        // The same 27 rows as without the charge lines: none of them is an unmatched_charge.
        assert_eq!(by_value(rows), expected, "partitions {partitions}");
        let summary = std::fs::read_to_string(folder.path().join("out/summary.json")).unwrap();
        // 45 + 2 acme lines and 42 + 2 borealis lines read.
        assert!(summary.contains("\"invoice_lines\": 91"), "{summary}");
        assert!(!summary.contains("tax_mismatch") && !summary.contains("unexpected_charge"), "{summary}");
    }
}

#[test]
fn wrongly_billed_charges_get_their_kinds_whole_and_split() {
    // acme's tax at 12.5%: 1.20 × 12.5% = 0.15, 0.03 over; borealis bills the whole month of the
    // trunk, 100.00 - 51.61 = 48.39 over, and no tax: 0.74 missing.
    let acme =
        ["C1,sms,2026-03-01T00:00:00Z,25.00,USD,recurring,NUM-RENT", "C2,sms,2026-03-31T00:00:00Z,0.15,USD,tax,VAT"];
    let borealis = ["C1,voice,2026-03-01T00:00:00Z,100.00,EUR,recurring,TRUNK"];
    let mut found = Vec::new();
    for partitions in ["0", "3"] {
        let folder = tempfile::tempdir().unwrap();
        let (output, rows) = run(folder.path(), &acme, &borealis, &["--partitions", partitions]);
        assert!(output.status.success(), "stderr: {}", text(&output.stderr));
        let charge_rows: Vec<Vec<String>> = by_value(rows)
            .into_iter()
            .filter(|row| ["tax_mismatch", "recurring_mismatch", "missing_charge"].contains(&row[4].as_str()))
            .map(|row| [0, 1, 2, 4, 6, 10, 11, 12, 13].map(|column| row[column].clone()).to_vec())
            .collect();
        assert_eq!(
            charge_rows,
            [
                ["acme", "ACME-2026-03", "C2", "tax_mismatch", "VAT", "0.15", "0.12", "0.03", "USD"],
                ["borealis", "BOR-2603", "C1", "recurring_mismatch", "TRUNK", "100", "51.61", "48.39", "EUR"],
                ["borealis", "BOR-2603", "", "missing_charge", "VAT", "0", "0.74", "-0.74", "EUR"],
            ]
            .map(|row| row.map(str::to_owned).to_vec())
        );
        found.push(std::fs::read_to_string(folder.path().join("out/summary.json")).unwrap());
    }
    assert!(found[0].contains("\"tax_mismatch\": 1") && found[0].contains("\"missing_charge\": 1"), "{}", found[0]);
    // Split and whole runs agree to the byte on the summary.
    assert_eq!(found[0], found[1]);
}

#[test]
fn charge_lines_without_terms_are_unexpected_not_unmatched() {
    let folder = tempfile::tempdir().unwrap();
    let (output, rows) = run(folder.path(), &ACME_RIGHT, &[], &["--no-terms"]);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    let unexpected: Vec<&str> =
        rows.iter().filter(|row| row[4] == "unexpected_charge").map(|row| row[2].as_str()).collect();
    assert_eq!(unexpected, ["C1", "C2"]);
    assert_eq!(rows.iter().filter(|row| row[4] == "unmatched_charge").count(), 6);
}

#[test]
fn a_bad_charge_type_is_named_by_file_line_and_column() {
    let folder = tempfile::tempdir().unwrap();
    let (output, _) = run(folder.path(), &["C1,sms,2026-03-01T00:00:00Z,25.00,USD,rent,NUM-RENT"], &[], &[]);
    assert_eq!(output.status.code(), Some(2), "stderr: {}", text(&output.stderr));
    let stderr = text(&output.stderr);
    // The 45 usage lines, the header, then the charge: line 47, column 12 (charge_type).
    assert!(
        stderr.contains("invoice-acme.csv:47") && stderr.contains("charge_type") && stderr.contains("\"rent\""),
        "{stderr}"
    );
    assert!(
        stderr.contains("usage, recurring, one_time, commitment_shortfall, rebate, credit, tax or adjustment"),
        "{stderr}"
    );
}
