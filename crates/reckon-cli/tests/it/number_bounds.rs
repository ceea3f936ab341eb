//! Issue 11, item 16: numbers past the documented bounds (FORMATS.md, "Bounds on numbers") are
//! refused where they are read, with file, line, column, value and what was expected, instead
//! of crashing the run on an unchecked addition or product; a deck with more rows for one
//! prefix than the rate index holds is an error, not a panic.
//!
//! Method: a folder of three good files, one replaced per case; the binary must exit 2 with the
//! positioned message, no panic and no report.

use crate::{reckon, text};

const USAGE: &str = "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity
u1,voice,acme,R1,c1,2026-03-02T10:00:00Z,,+442071234567,75.2
u2,voice,acme,R2,c1,2026-03-02T11:00:00Z,,+442071234568,60
";
const RATES: &str = "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,effective_from
acme,voice,44,0.0120,USD,60,60/6,0.0010,2026-01-01T00:00:00Z
";
const INVOICE_HEADER: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n";

/// Runs `reckon reconcile` over the three files; returns exit code and stderr.
fn reconcile(usage: &str, rates: &str, invoice: &str) -> (Option<i32>, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).display().to_string();
    for (name, content) in [("usage.csv", usage), ("rates.csv", rates), ("invoice.csv", invoice)] {
        std::fs::write(dir.path().join(name), content).unwrap();
    }
    let output = reckon(&[
        "reconcile",
        "--usage",
        &path("usage.csv"),
        "--rates",
        &path("rates.csv"),
        "--invoice",
        &path("invoice.csv"),
        "--out",
        &path("out"),
    ]);
    (output.status.code(), text(&output.stderr), dir)
}

#[track_caller]
fn assert_refused(usage: &str, rates: &str, invoice: &str, parts: &[&str]) {
    let (code, stderr, dir) = reconcile(usage, rates, invoice);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for part in parts {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
    assert!(!dir.path().join("out/summary.json").exists(), "a failed run wrote a report");
}

/// Issue 11, item 16: two lines of 5e28 each summed past a Decimal and crashed the run.
#[test]
fn issue_11_two_invoice_lines_of_5e28_are_refused_not_a_crash() {
    let invoice = format!(
        "{INVOICE_HEADER}acme,INV1,1,R1,voice,2026-03-02T10:00:00Z,442071234567,78,0.0120,50000000000000000000000000000,USD
acme,INV1,2,R2,voice,2026-03-02T11:00:00Z,442071234568,60,0.0120,50000000000000000000000000000,USD
"
    );
    assert_refused(
        USAGE,
        RATES,
        &invoice,
        &[
            "invoice.csv:2:10: column \"amount\"",
            "\"50000000000000000000000000000\" is not an amount above -10^15 and below 10^15",
        ],
    );
}

#[test]
fn each_bound_is_enforced_where_the_value_is_read() {
    let line = |quantity: &str, rate: &str, amount: &str| {
        format!(
            "{INVOICE_HEADER}acme,INV1,1,R1,voice,2026-03-02T10:00:00Z,442071234567,{quantity},{rate},{amount},USD\n"
        )
    };
    let good_invoice = line("78", "0.0120", "0.0166");
    // The good files pass: the bounds refuse nothing ordinary.
    let (code, stderr, _dir) = reconcile(USAGE, RATES, &good_invoice);
    assert_eq!(code, Some(0), "{stderr}");

    // Invoice: a quantity past 10^12, a rate of 10^9, an amount with 13 decimals.
    assert_refused(
        USAGE,
        RATES,
        &line("1000000000001", "0.0120", "0.0166"),
        &["invoice.csv:2:8: column \"quantity\"", "at most 10^12"],
    );
    assert_refused(
        USAGE,
        RATES,
        &line("78", "1000000000", "0.0166"),
        &["invoice.csv:2:9: column \"rate\"", "below 10^9"],
    );
    assert_refused(
        USAGE,
        RATES,
        &line("78", "0.0120", "0.0000000000001"),
        &["column \"amount\"", "at most 12 decimals"],
    );

    // Usage: a quantity of 10^13.
    let usage = USAGE.replace("75.2", "10000000000000");
    assert_refused(&usage, RATES, &good_invoice, &["usage.csv:2:9: column \"quantity\"", "at most 10^12 base units"]);

    // Rates: each priced column past its bound.
    let rates = |rate: &str, rate_unit: &str, increments: &str, connect_fee: &str| {
        format!(
            "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,effective_from\n\
             acme,voice,44,{rate},USD,{rate_unit},{increments},{connect_fee},2026-01-01T00:00:00Z\n"
        )
    };
    assert_refused(
        USAGE,
        &rates("1000000000", "60", "60/6", "0"),
        &good_invoice,
        &["rates.csv:2:4: column \"rate\"", "below 10^9"],
    );
    assert_refused(
        USAGE,
        &rates("0.012", "0.5", "60/6", "0"),
        &good_invoice,
        &["column \"rate_unit\"", "between 1 and 10^12"],
    );
    assert_refused(
        USAGE,
        &rates("0.012", "60", "60/0.0000001", "0"),
        &good_invoice,
        &["column \"increments\"", "10^-6 <= B <= 10^12"],
    );
    assert_refused(
        USAGE,
        &rates("0.012", "60", "60/6", "1e3"),
        &good_invoice,
        &["column \"connect_fee\"", "a decimal number"],
    );
    assert_refused(
        USAGE,
        &rates("0.012", "60", "60/6", "-1000000000000000"),
        &good_invoice,
        &["column \"connect_fee\"", "an amount above -10^15"],
    );
}

/// Issue 11, item 16: the packed rate index counts a prefix's rows in 16 bits; row 65,536 of one
/// prefix hit an `expect` at the first lookup.
#[test]
fn issue_11_a_prefix_with_more_than_65535_rows_is_an_error() {
    let mut rates = String::from("carrier,service,prefix,rate,currency,rate_unit,effective_from\n");
    // 65,536 rows of prefix 44, one a second from 2026-01-01: the last (line 65,537) is refused,
    // so the 65,535 before it were taken (filling a prefix takes a while: one test, not two).
    let start = jiff::Timestamp::from_second(1_767_225_600).unwrap(); // 2026-01-01T00:00:00Z
    for second in 0..65_536 {
        let from = start.checked_add(jiff::SignedDuration::from_secs(second)).unwrap();
        rates.push_str(&format!("acme,voice,44,0.0120,USD,60,{from}\n"));
    }
    let invoice =
        format!("{INVOICE_HEADER}acme,INV1,1,R1,voice,2026-03-02T10:00:00Z,442071234567,78,0.0120,0.0166,USD\n");
    assert_refused(USAGE, &rates, &invoice, &["rates.csv:65537", "more than 65535 rows for one prefix"]);
}
