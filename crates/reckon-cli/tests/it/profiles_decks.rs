//! Issue 14, rate decks and carrier exports through their import profiles, end to end: a month
//! of acme's voice traffic whose deck arrives as a generic A-Z spreadsheet (or CSV) and whose
//! invoice arrives as a carrier's CDR export reconciles to exactly the discrepancies of the same
//! month written as canonical files.
//!
//! Method: the canonical deck and invoice are written here by hand (not produced by the
//! profiles), the discrepancies they give are checked row by row against the arithmetic in the
//! comments, and the run through the profiles must write the same `discrepancies.csv`.

use crate::{read_csv, reckon, text};
use std::path::{Path, PathBuf};

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// The profiles crate's fixtures (the same files its golden tests convert).
fn profile_fixture(name: &str) -> String {
    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("../reckon-profiles/tests/fixtures").join(name);
    path.display().to_string()
}

/// acme's March usage (no carrier references: lines match by time and number).
/// u1 UK mobile 75 s; u2 Vodafone UK on 9 March (its 4477 row applies from 8 March) 120 s;
/// u3 France 61 s; u4 New Jersey 30 s; u5 UK 60 s, billed by no line; u6 Vodafone UK on
/// 5 March (before 4477 applies: priced as 447) 60 s; u7 Albania mobile 35567, a code the deck
/// closes (priced as 355, with its connect fee) 60 s.
const USAGE: &str = "record_id,service,carrier,started_at,destination,quantity\n\
    u1,voice,acme,2026-03-02T10:00:00Z,447911000001,75\n\
    u2,voice,acme,2026-03-09T09:00:00Z,447711000002,120\n\
    u3,voice,acme,2026-03-03T08:00:00Z,33612345678,61\n\
    u4,voice,acme,2026-03-04T12:00:00Z,12015550100,30\n\
    u5,voice,acme,2026-03-05T13:00:00Z,447911000005,60\n\
    u6,voice,acme,2026-03-05T14:00:00Z,447711000006,60\n\
    u7,voice,acme,2026-03-10T15:00:00Z,355671234567,60\n";

/// The deck of az-deck.xlsx and az-deck.csv, written canonically: 35567 is closed, so it has
/// no row.
const RATES: &str =
    "carrier,service,prefix,destination_name,rate,currency,rate_unit,increments,connect_fee,effective_from\n\
    acme,voice,447,United Kingdom - Mobile,0.012,USD,60,1/1,0,2026-03-01T00:00:00Z\n\
    acme,voice,4477,United Kingdom - Mobile - Vodafone,0.0135,USD,60,1/1,0,2026-03-08T00:00:00Z\n\
    acme,voice,336,France - Mobile,0.035,USD,60,60/60,0,2026-03-01T00:00:00Z\n\
    acme,voice,337,France - Mobile,0.035,USD,60,60/60,0,2026-03-01T00:00:00Z\n\
    acme,voice,1201,USA - New Jersey,0.005,USD,60,6/6,0,2026-03-01T00:00:00Z\n\
    acme,voice,1202,USA - New Jersey,0.005,USD,60,6/6,0,2026-03-01T00:00:00Z\n\
    acme,voice,1203,USA - New Jersey,0.005,USD,60,6/6,0,2026-03-01T00:00:00Z\n\
    acme,voice,355,Albania,0.15,USD,60,60/60,0.01,2026-03-01T00:00:00Z\n";

/// The invoice of didww-cdr.csv, written canonically (the failed call billed 0 s is no line).
const DIDWW_INVOICE: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n\
    acme,D-2026-03,c0a80001-0001,c0a80001-0001,voice,2026-03-02T10:00:02Z,447911000001,75,0.0120,0.0150,USD\n\
    acme,D-2026-03,c0a80001-0002,c0a80001-0002,voice,2026-03-09T09:00:01Z,447711000002,120,0.0135,0.0300,USD\n\
    acme,D-2026-03,c0a80001-0003,c0a80001-0003,voice,2026-03-03T08:00:03Z,33612345678,61,0.0350,0.0356,USD\n\
    acme,D-2026-03,c0a80001-0005,c0a80001-0005,voice,2026-03-04T12:00:01Z,12015550100,30,0.0050,0.0025,USD\n\
    acme,D-2026-03,c0a80001-0006,c0a80001-0006,voice,2026-03-05T14:00:02Z,447711000006,60,0.0135,0.0135,USD\n\
    acme,D-2026-03,c0a80001-0007,c0a80001-0007,voice,2026-03-06T10:00:05Z,447911000099,60,0.0120,0.0120,USD\n\
    acme,D-2026-03,c0a80001-0008,c0a80001-0008,voice,2026-03-10T15:00:02Z,355671234567,60,0.2100,0.2200,USD\n";

fn reconcile(arguments: &[&str], out: &Path) -> Vec<Vec<String>> {
    let out_text = out.display().to_string();
    let mut all = vec!["reconcile", "--quiet", "--period", "2026-03", "--out", &out_text];
    all.extend(arguments);
    let output = reckon(&all);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    read_csv(&out.join("discrepancies.csv"))
}

/// The canonical month's discrepancies, hand-computed:
/// - u5 unbilled: 60 s x 0.012 / 60 = 0.012.
/// - line 0002 (u2, 4477 in force on 9 March): 120 s x 0.0135 / 60 = 0.027, billed 0.0300:
///   amount_mismatch +0.003.
/// - line 0003 (u3, 336 at 60/60): 61 s bills 120 s, 0.035 x 2 = 0.07; the line bills 61 s:
///   quantity_mismatch, 0.0356 - 0.07 = -0.0344.
/// - line 0006 (u6, 5 March: 447 at 0.012): the line's rate 0.0135 is not 0.012:
///   rate_mismatch, 0.0135 - 0.012 = +0.0015.
/// - line 0007: no call to 447911000099: unmatched_charge 0.012.
/// - line 0008 (u7, 35567 closed: 355 at 0.15 per minute, 60/60, connect 0.01 = 0.16): the
///   line's rate 0.21 is not 0.15: rate_mismatch, 0.22 - 0.16 = +0.06.
/// - lines 0001 (0.015) and 0005 (30 s at 6/6: 0.0025) agree.
fn check_canonical_discrepancies(rows: &[Vec<String>]) {
    let summary: Vec<(String, String, String)> =
        rows[1..].iter().map(|row| (row[2].clone(), row[4].clone(), row[12].clone())).collect();
    let expected = [
        ("", "unbilled_usage", "-0.012"),
        ("c0a80001-0002", "amount_mismatch", "0.003"),
        ("c0a80001-0003", "quantity_mismatch", "-0.0344"),
        ("c0a80001-0006", "rate_mismatch", "0.0015"),
        ("c0a80001-0007", "unmatched_charge", "0.012"),
        ("c0a80001-0008", "rate_mismatch", "0.06"),
    ];
    assert_eq!(summary.len(), expected.len(), "{rows:?}");
    for ((line, kind, difference), (expected_line, expected_kind, expected_difference)) in summary.iter().zip(expected)
    {
        assert_eq!((line.as_str(), kind.as_str()), (expected_line, expected_kind), "{rows:?}");
        let value: rust_decimal::Decimal = difference.parse().unwrap();
        assert_eq!(value, expected_difference.parse::<rust_decimal::Decimal>().unwrap(), "{line} {kind}");
    }
}

#[test]
fn issue14_an_az_spreadsheet_deck_and_a_didww_export_reconcile_like_the_canonical_month() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(dir.path(), "usage.csv", USAGE);
    let rates = write(dir.path(), "rates.csv", RATES);
    let invoice = write(dir.path(), "invoice.csv", DIDWW_INVOICE);
    let canonical =
        reconcile(&["--usage", &usage, "--rates", &rates, "--invoice", &invoice], &dir.path().join("canonical"));
    check_canonical_discrepancies(&canonical);

    let deck = profile_fixture("decks/az-deck.xlsx");
    let export = profile_fixture("exports/didww-cdr.csv");
    let profiled = reconcile(
        &[
            "--usage",
            &usage,
            "--rates",
            &deck,
            "--rates-profile",
            "az-deck",
            "--invoice",
            &export,
            "--invoice-profile",
            "didww",
            "--set",
            "carrier=acme",
            "--set",
            "currency=USD",
            "--set",
            "invoice_id=D-2026-03",
        ],
        &dir.path().join("profiled"),
    );
    assert_eq!(profiled, canonical);
}

/// The same month with the deck as CSV (`336;337`, day-first dates, CRLF): the same result.
#[test]
fn issue14_an_az_csv_deck_reconciles_like_the_canonical_month() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(dir.path(), "usage.csv", USAGE);
    let rates = write(dir.path(), "rates.csv", RATES);
    let invoice = write(dir.path(), "invoice.csv", DIDWW_INVOICE);
    let canonical =
        reconcile(&["--usage", &usage, "--rates", &rates, "--invoice", &invoice], &dir.path().join("canonical"));
    let deck = profile_fixture("decks/az-deck.csv");
    let profiled = reconcile(
        &[
            "--usage",
            &usage,
            "--rates",
            &deck,
            "--rates-profile",
            "az-deck",
            "--invoice",
            &invoice,
            "--set",
            "carrier=acme",
            "--set",
            "currency=USD",
        ],
        &dir.path().join("profiled"),
    );
    assert_eq!(profiled, canonical);
}

/// `reckon convert` writes the deck-update entries of the A-Z deck (the closed code included),
/// which `reckon deck update` applies to the deck in force: 35567's row ends on 1 March.
#[test]
fn issue14_a_converted_az_deck_is_a_deck_update() {
    let dir = tempfile::tempdir().unwrap();
    let current = write(
        dir.path(),
        "current.csv",
        "carrier,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
         acme,voice,35567,0.2100,USD,60,60/60,2026-01-01T00:00:00Z\n",
    );
    let entries = dir.path().join("entries.csv").display().to_string();
    let output = reckon(&[
        "convert",
        &profile_fixture("decks/az-deck.csv"),
        "--profile",
        "az-deck",
        "--out",
        &entries,
        "--set",
        "carrier=acme",
        "--set",
        "currency=USD",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let updated = dir.path().join("updated.csv").display().to_string();
    let output = reckon(&[
        "deck",
        "update",
        "--rates",
        &current,
        "--deck",
        &entries,
        "--issued",
        "2026-02-20",
        "--out",
        &updated,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(Path::new(&updated));
    let header = &rows[0];
    let column = |name: &str| header.iter().position(|found| found == name).unwrap();
    let closed = rows.iter().find(|row| row[column("prefix")] == "35567").unwrap();
    assert_eq!(closed[column("effective_to")], "2026-03-01T00:00:00Z", "{rows:?}");
}
