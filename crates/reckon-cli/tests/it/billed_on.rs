//! Issue 13, SMS billed on delivery, through the binary: a contract that bills acme's messages
//! on delivery (`contracts.csv` `billed_on`), a deck row that keeps billing on submission, usage
//! with delivery receipts (`usage.csv` `status`), and the `undelivered_charge` in
//! `discrepancies.csv`, `summary.json` and the summary table.
//!
//! Method: small hand-computed inputs in a temporary folder; the binary runs as a user would.

use crate::{read_csv, reckon, text};
use std::path::Path;

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// acme: SMS to 44 at 0.031 USD (the row says nothing: the contract decides), to 4479 at 0.02
/// billed on submission whatever the contract says.
/// m1 delivered, m2 (2 segments) failed, m3 without a receipt, m4 (to 4479) failed, m5 expired
/// and not billed. The invoice bills m1 0.031, m2 2 × 0.031 = 0.062, m3 0.031, m4 0.02.
fn inputs(dir: &Path) -> Vec<String> {
    let usage = write(
        dir,
        "usage.csv",
        "record_id,service,carrier,carrier_ref,started_at,destination,quantity,status\n\
         m1,sms,acme,R1,2026-03-02T10:00:00Z,+447700000001,1,delivered\n\
         m2,sms,acme,R2,2026-03-02T10:01:00Z,+447700000002,2,failed\n\
         m3,sms,acme,R3,2026-03-02T10:02:00Z,+447700000003,1,\n\
         m4,sms,acme,R4,2026-03-02T10:03:00Z,+447900000004,1,failed\n\
         m5,sms,acme,R5,2026-03-02T10:04:00Z,+447700000005,1,expired\n",
    );
    let rates = write(
        dir,
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,effective_from,billed_on\n\
         acme,sms,44,0.031,USD,1,2026-01-01T00:00:00Z,\n\
         acme,sms,4479,0.02,USD,1,2026-01-01T00:00:00Z,submitted\n",
    );
    let invoice = write(
        dir,
        "invoice.csv",
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,amount,currency\n\
         acme,A-03,1,R1,sms,2026-03-02T10:00:00Z,447700000001,1,0.031,USD\n\
         acme,A-03,2,R2,sms,2026-03-02T10:01:00Z,447700000002,2,0.062,USD\n\
         acme,A-03,3,R3,sms,2026-03-02T10:02:00Z,447700000003,1,0.031,USD\n\
         acme,A-03,4,R4,sms,2026-03-02T10:03:00Z,447900000004,1,0.02,USD\n",
    );
    ["--usage", &usage, "--rates", &rates, "--invoice", &invoice].map(str::to_owned).to_vec()
}

fn reconcile(arguments: &[String], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut all: Vec<&str> = vec!["reconcile"];
    all.extend(arguments.iter().map(String::as_str));
    let out_text = out.display().to_string();
    all.extend(["--out", &out_text]);
    all.extend(extra);
    reckon(&all)
}

#[test]
fn issue13_an_undelivered_message_billed_is_an_undelivered_charge() {
    let dir = tempfile::tempdir().unwrap();
    let arguments = inputs(dir.path());
    let contracts = write(dir.path(), "contracts.csv", "carrier,billed_on\nacme,delivered\n");
    let out = dir.path().join("out");
    let output = reconcile(&arguments, &out, &["--contracts", &contracts]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out.join("discrepancies.csv"));
    // Only line 2: m2 failed under the contract's `delivered`; expected 0 and 0, the whole
    // 0.062 overbilled. m4 failed too, but its row bills on submission: 0.02 is owed. m3 has no
    // receipt: billed as usual. m5 (expired, not billed) is not unbilled usage: it costs 0.
    assert_eq!(
        rows[1..],
        [[
            "acme",
            "A-03",
            "2",
            "m2",
            "undelivered_charge",
            "sms",
            "447700000002",
            "2026-03-02T10:01:00Z",
            "2",
            "0",
            "0.062",
            "0",
            "0.062",
            "USD"
        ]
        .map(str::to_owned)]
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["discrepancies"]["undelivered_charge"], 1);
    let group = &summary["groups"][0];
    // Billed 0.031 + 0.062 + 0.031 + 0.02 = 0.144; expected 0.031 + 0 + 0.031 + 0.02 = 0.082.
    let amount =
        |name: &str| group[name].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap().normalize().to_string();
    assert_eq!(
        (amount("billed_total"), amount("expected_total"), amount("overbilled"), amount("underbilled")),
        ("0.144".to_owned(), "0.082".to_owned(), "0.062".to_owned(), "0".to_owned())
    );
    assert_eq!(group["discrepancies"]["undelivered_charge"], 1);
    let table = text(&output.stdout);
    let header = table.lines().next().unwrap();
    assert!(header.contains("undelivered"), "{table}");

    // Without the contract every message is billed on submission: every line is right, and
    // m5 (expired, 0.031) is unbilled usage.
    let out = dir.path().join("out-submitted");
    let output = reconcile(&arguments, &out, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out.join("discrepancies.csv"));
    let found: Vec<(&str, &str, &str)> =
        rows[1..].iter().map(|row| (row[3].as_str(), row[4].as_str(), row[12].as_str())).collect();
    assert_eq!(found, [("m5", "unbilled_usage", "-0.031")]);
}

#[test]
fn issue13_a_bad_status_or_billed_on_is_named_by_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let arguments = inputs(dir.path());
    let out = dir.path().join("out");
    let usage = write(
        dir.path(),
        "usage.csv",
        "record_id,service,carrier,started_at,destination,quantity,status\n\
         m1,sms,acme,2026-03-02T10:00:00Z,+447700000001,1,sent\n",
    );
    let mut with_bad_usage = arguments.clone();
    with_bad_usage[1] = usage;
    let output = reconcile(&with_bad_usage, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("usage.csv:2:7: column \"status\": \"sent\" is not a delivery status"), "{stderr}");
    let contracts = write(dir.path(), "contracts.csv", "carrier,billed_on\nacme,on_delivery\n");
    let output = reconcile(&arguments, &out, &["--contracts", &contracts]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("contracts.csv:2:2: column \"billed_on\": \"on_delivery\" is not when messages are billed"),
        "{stderr}"
    );
}
