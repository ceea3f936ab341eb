//! `reckon rate`, `reckon margin` and `reckon deck` on hand-computed fixtures
//! (`tests/fixtures/rating`): bands, network and tiered rates, customer plans, leakage.

use crate::{fixtures, read_csv, reckon, text};
use std::collections::HashMap;

fn inputs() -> Vec<String> {
    let dir = fixtures().join("rating");
    let path = |name: &str| dir.join(name).display().to_string();
    vec![
        "--usage".into(),
        path("usage.csv"),
        "--rates".into(),
        path("rates.csv"),
        "--prices".into(),
        path("prices.csv"),
        "--networks".into(),
        path("networks.csv"),
    ]
}

fn run(command: &[&str], out: &str) -> std::process::Output {
    let inputs = inputs();
    let mut arguments: Vec<&str> = command.to_vec();
    arguments.extend(inputs.iter().map(String::as_str));
    arguments.extend(["--out", out]);
    reckon(&arguments)
}

#[test]
fn rate_writes_cost_price_margin_and_leakage_per_record() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rated.csv");
    let output = run(&["rate"], &out.display().to_string());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out);
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|column| column == name).unwrap();
    let by_id: HashMap<&str, &Vec<String>> = rows[1..].iter().map(|row| (row[0].as_str(), row)).collect();
    // (record, cost, price, margin, leakage), each worked out in the fixture's comments:
    let expected = [
        ("v1", "0.02", "0.015", "-0.005", "below_cost"), // Monday 09:00 London: peak 0.02/min; default plan 0.015
        ("v2", "0.02", "0.012", "-0.008", "below_cost"), // bigco's own plan 0.012/min
        ("v3", "0.02", "0.024", "0.004", ""),            // Saturday: off-peak 0.01 * 2 min; bigco 0.012 * 2
        ("s1", "0.03", "0.05", "0.02", ""),              // 447700 is network 234-15: 0.03 beats the 44 prefix
        ("s2", "0.08", "0.1", "0.02", ""),               // 447800: prefix 44, 2 * 0.04
        // Graduated tiers over acme's March SMS in start order: s1 unit 1, s2 units 2-3,
        // f1 units 4-11: 7 * 0.05 + 1 * 0.03 = 0.38; f2 units 12-15: 4 * 0.03 = 0.12
        ("f1", "0.38", "0.48", "0.1", ""),
        ("f2", "0.12", "0.24", "0.12", ""),
        ("x1", "", "", "", "no_rate"), // China: no carrier rate, no price
        ("n1", "0", "0", "0", ""),     // unanswered
    ];
    for (record, cost, price, margin, leakage) in expected {
        let row = by_id[record];
        let found = (
            row[column("cost")].as_str(),
            row[column("price")].as_str(),
            row[column("margin")].as_str(),
            row[column("leakage")].as_str(),
        );
        assert_eq!(found, (cost, price, margin, leakage), "record {record}");
    }
    assert_eq!(by_id["s1"][column("carrier_prefix")], "", "a network row has no prefix");
}

#[test]
fn margin_reports_per_customer_carrier_and_destination() {
    let dir = tempfile::tempdir().unwrap();
    let output = run(&["margin", "--report-currency", "USD"], &dir.path().display().to_string());
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // smallco: revenue 0.015+0.05+0.1+0.48+0.24 = 0.885, cost 0.02+0.03+0.08+0.38+0.12 = 0.63,
    // margin -0.005+0.02+0.02+0.1+0.12 = 0.255 (28.8%); bigco: 0.036, 0.04, -0.004 (-11.1%).
    insta::assert_snapshot!("margin_table", text(&output.stdout));
    let leakage = read_csv(&dir.path().join("leakage.csv"));
    let ids: Vec<&str> = leakage[1..].iter().map(|row| row[0].as_str()).collect();
    assert_eq!(ids, ["v1", "v2", "x1"]);
}

#[test]
fn deck_update_closes_rows_and_flags_short_notice() {
    let dir = tempfile::tempdir().unwrap();
    let rating = fixtures().join("rating");
    let out = dir.path().join("updated.csv");
    let arguments = [
        "deck",
        "update",
        "--rates",
        &rating.join("rates.csv").display().to_string(),
        "--deck",
        &rating.join("new-deck.csv").display().to_string(),
        "--issued",
        "2026-03-01",
        "--out",
        &out.display().to_string(),
        "--fail-on-flag",
    ]
    .map(str::to_owned);
    let output = reckon(&arguments.iter().map(String::as_str).collect::<Vec<_>>());
    let stdout = text(&output.stdout);
    // The SMS increase takes effect 3 days after the deck was issued: flagged, exit 1.
    assert_eq!(output.status.code(), Some(1), "{stdout}{}", text(&output.stderr));
    assert!(stdout.contains("flag: acme sms 44: increase with 3 days' notice, the contract requires 7"), "{stdout}");
    // The peak row, the network row and the French tiers are absent from the A-Z deck.
    assert!(stdout.contains("flag: acme voice 44: in force but absent"), "{stdout}");
    let rows = read_csv(&out);
    let sms_44: Vec<(String, String, String)> = rows
        .iter()
        .filter(|row| row[1] == "sms" && row[2] == "44")
        .map(|row| (row[4].clone(), row[20].clone(), row[21].clone()))
        .collect();
    assert_eq!(
        sms_44,
        [
            ("0.04".to_owned(), "2026-01-01T00:00:00Z".to_owned(), "2026-03-04T00:00:00Z".to_owned()),
            ("0.045".to_owned(), "2026-03-04T00:00:00Z".to_owned(), String::new()),
        ]
    );
    // The written deck reads back: rating works on it.
    let usage = rating.join("usage.csv").display().to_string();
    let rated = dir.path().join("rated.csv").display().to_string();
    let output = reckon(&["rate", "--usage", &usage, "--rates", &out.display().to_string(), "--out", &rated]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
}

#[test]
fn deck_update_takes_notice_from_the_contract_and_defers_short_notice() {
    let dir = tempfile::tempdir().unwrap();
    let rating = fixtures().join("rating");
    let contracts = dir.path().join("contracts.csv");
    // acme's contract asks 2 days' notice: the SMS increase with 3 days' notice is fine.
    std::fs::write(&contracts, "carrier,notice_days\nacme,2\n").unwrap();
    let out = dir.path().join("updated.csv");
    let update = |extra: &[&str]| {
        let mut arguments = vec![
            "deck".to_owned(),
            "update".into(),
            "--rates".into(),
            rating.join("rates.csv").display().to_string(),
            "--deck".into(),
            rating.join("new-deck.csv").display().to_string(),
            "--issued".into(),
            "2026-03-01".into(),
            "--out".into(),
            out.display().to_string(),
        ];
        arguments.extend(extra.iter().map(|text| (*text).to_owned()));
        reckon(&arguments.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let output = update(&["--contracts", &contracts.display().to_string()]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}{}", text(&output.stderr));
    assert!(!stdout.contains("increase with"), "{stdout}");
    // 10 days under the contract: flagged, and deferred to 2026-03-01 + 10 days = 2026-03-11.
    std::fs::write(&contracts, "carrier,notice_days\nacme,10\n").unwrap();
    let output = update(&["--contracts", &contracts.display().to_string(), "--defer-short-notice"]);
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains(
            "flag: acme sms 44: increase with 3 days' notice, the contract requires 10 (deferred to 2026-03-11T00:00:00Z)"
        ),
        "{stdout}"
    );
    let sms_44: Vec<(String, String, String)> = read_csv(&out)
        .iter()
        .filter(|row| row[1] == "sms" && row[2] == "44")
        .map(|row| (row[4].clone(), row[20].clone(), row[21].clone()))
        .collect();
    assert_eq!(
        sms_44,
        [
            ("0.04".to_owned(), "2026-01-01T00:00:00Z".to_owned(), "2026-03-11T00:00:00Z".to_owned()),
            ("0.045".to_owned(), "2026-03-11T00:00:00Z".to_owned(), String::new()),
        ]
    );
    // A bad notice is a positioned error.
    std::fs::write(&contracts, "carrier,notice_days\nacme,-3\n").unwrap();
    let output = update(&["--contracts", &contracts.display().to_string()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("contracts.csv:2:"), "{}", text(&output.stderr));
}

#[test]
fn xlsx_deck_converts_with_a_column_mapping() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = fixtures().join("rating/deck.xlsx").display().to_string();
    let out = dir.path().join("rates.csv");
    let output = reckon(&[
        "deck",
        "from-xlsx",
        "--xlsx",
        &xlsx,
        "--sheet",
        "Rates",
        "--map",
        "prefix=Dial Code,destination_name=Destination,rate=Rate (USD/min),increments=Billing,effective_from=Effective",
        "--set",
        "carrier=acme,service=voice,currency=USD",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out);
    let summary: Vec<(&str, &str, &str, &str)> =
        rows[1..].iter().map(|row| (row[2].as_str(), row[4].as_str(), row[7].as_str(), row[20].as_str())).collect();
    // Numbers come out as the sheet shows them, dates as UTC instants, the empty row skipped.
    assert_eq!(
        summary,
        [
            ("44", "0.012", "60/6", "2026-03-01T00:00:00Z"),
            ("447", "0.045", "30/6", "2026-03-01T00:00:00Z"),
            ("4479", "0.052", "1/1", "2026-03-01T00:00:00Z"),
            ("1", "0.004", "60/60", "2026-03-01T00:00:00Z"),
        ]
    );
}

/// A deck as carriers publish it (fixtures/rating/make-real-deck.py): title rows with merged
/// cells above the header, blank rows, a footer, several codes in a cell, a range, increments
/// `60-60`, day-first dates, and a closed code.
#[test]
fn a_real_xlsx_deck_converts_as_published() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = fixtures().join("rating/real-deck.xlsx").display().to_string();
    let map = "prefix=Dial Codes,destination_name=Destination,rate=Rate (USD/min),increments=Billing Increment,effective_from=Effective Date";
    let convert = |sheet: &str, map: &str, out: &std::path::Path, extra: &[&str]| {
        let out = out.display().to_string();
        let mut arguments = vec![
            "deck",
            "from-xlsx",
            "--xlsx",
            &xlsx,
            "--sheet",
            sheet,
            "--map",
            map,
            "--set",
            "carrier=acme,service=voice,currency=USD,rate_unit=60",
            "--out",
            &out,
        ];
        arguments.extend_from_slice(extra);
        reckon(&arguments)
    };
    let out = dir.path().join("rates.csv");
    let output = convert("Rates", map, &out, &["--date-format", "%d/%m/%Y"]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    // Header found on row 4 under the two title rows; the footer on row 10 ends the data.
    assert!(stdout.contains("footer at row 10 ignored: \"Rates are subject to change without notice.\""), "{stdout}");
    let rows = read_csv(&out);
    let summary: Vec<(&str, &str, &str, &str)> =
        rows[1..].iter().map(|row| (row[2].as_str(), row[4].as_str(), row[7].as_str(), row[20].as_str())).collect();
    assert_eq!(
        summary,
        [
            ("44", "0.01", "60/60", "2026-03-01T00:00:00Z"),
            ("447", "0.045", "30/6", "2026-03-01T00:00:00Z"),
            ("4479", "0.045", "30/6", "2026-03-01T00:00:00Z"),
            ("1201", "0.005", "60/60", "2026-03-15T00:00:00Z"),
            ("1202", "0.005", "60/60", "2026-03-15T00:00:00Z"),
            ("1203", "0.005", "60/60", "2026-03-15T00:00:00Z"),
        ]
    );
    // Day-first text dates without --date-format: refused, naming the sheet row and column.
    let output = convert("Rates", map, &out, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("real-deck.xlsx[Rates]:5:5"), "{stderr}");
    assert!(stderr.contains("--date-format"), "{stderr}");
    // A header row given that is not the header: the mapped names are missing.
    let output = convert("Rates", map, &out, &["--date-format", "%d/%m/%Y", "--header-row", "1"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("has no header \"Dial Codes\""), "{}", text(&output.stderr));
    // With a Status column mapped to `change`, the result is a deck update; `Closed` closes 33.
    let entries = dir.path().join("entries.csv");
    let output = convert("Changes", &format!("{map},change=Status"), &entries, &["--date-format", "%d/%m/%Y"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&entries);
    let change = rows[0].iter().position(|name| name == "change").unwrap();
    let prefix = rows[0].iter().position(|name| name == "prefix").unwrap();
    let changes: Vec<(&str, &str)> = rows[1..].iter().map(|row| (row[prefix].as_str(), row[change].as_str())).collect();
    assert_eq!(changes, [("44", "Unchanged"), ("447", "Increase"), ("33", "closed")]);
    // A closed code with no change column cannot be a rates.csv row: an error, never a rate of 0.
    let output = convert("Changes", map, &out, &["--date-format", "%d/%m/%Y"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("real-deck.xlsx[Changes]:7:3"), "{}", text(&output.stderr));
}

#[test]
fn a_bad_xlsx_cell_is_reported_by_its_sheet_row() {
    let dir = tempfile::tempdir().unwrap();
    let xlsx = fixtures().join("rating/deck-bad.xlsx").display().to_string();
    let out = dir.path().join("rates.csv");
    let output = reckon(&[
        "deck",
        "from-xlsx",
        "--xlsx",
        &xlsx,
        "--map",
        "prefix=Dial Code,rate=Rate (USD/min),increments=Billing,effective_from=Effective",
        "--set",
        "carrier=acme,service=voice,currency=USD",
        "--out",
        &out.display().to_string(),
    ]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("deck-bad.xlsx[Rates]:3:"), "{stderr}");
    assert!(stderr.contains("\"n/a\" is not a decimal"), "{stderr}");
    assert!(!out.exists());
}
