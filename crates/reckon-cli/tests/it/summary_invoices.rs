//! Issue 14, summary invoices, through the binary: a carrier's totals per destination for March
//! against our usage (fixtures/summary), on files with the evidence per day and a group's
//! records, and in the ledger on SQLite and PostgreSQL (disputed, settled, and the carrier's
//! dispute thresholds as practised).
//!
//! The figures (fixtures/summary/usage.csv and rates.csv, per 60 s; costs rounded to 6 places):
//! - 447 (60/6 at 0.0120): u1 75.2 s -> 78 s 0.0156, u2 30 s -> 60 s 0.012, u3 61 s -> 66 s
//!   0.0132: 3 calls, 204 s (3.4 min), 0.0408. Billed alike: no row.
//! - 336 (60/60 at 0.0350): u4 90 s -> 120 s 0.07, u5 10 s -> 60 s 0.035 (u11 0 s is not
//!   billable): 2 calls, 180 s, 0.105. Billed 3 calls, 4 min, 0.14: summary_volume_mismatch 0.035.
//! - 491 (1/1 at 0.0200): u6 100 s 0.033333, u7 50 s 0.016667: 150 s, 0.05. Billed 3 min, 0.06:
//!   summary_quantity_mismatch 0.01.
//! - 34 (60/60 at 0.0100): u8 120 s 0.02. Billed at 0.0150, 0.03: summary_rate_mismatch 0.01.
//! - 39 (1/1 at 0.0300): u9 60 s 0.03. Billed 0.04: summary_amount_mismatch 0.01.
//! - 351: no traffic of ours; billed 4 calls, 0.50: summary_unexpected_group 0.50.
//! - 1 (1/1 at 0.0060): u10 600 s 0.06, no line: summary_unbilled_group -0.06.
//! - u12 is in April: outside the invoice's period.
//!
//! The invoice bills 0.0408 + 0.14 + 0.06 + 0.03 + 0.04 + 0.50 = 0.8108 USD.

use crate::ledger::{ledger_urls, reckon_ok_on};
use crate::{fixtures, read_csv, reckon, text};

fn path(name: &str) -> String {
    fixtures().join("summary").join(name).display().to_string()
}

/// The rows of discrepancies.csv as (line_id, kind, destination, billed_quantity,
/// expected_quantity, billed_amount, expected_amount, difference).
fn discrepancy_rows(file: &std::path::Path) -> Vec<String> {
    read_csv(file)
        .into_iter()
        .skip(1)
        .map(|row| {
            [&row[2], &row[4], &row[6], &row[8], &row[9], &row[10], &row[11], &row[12]].map(String::as_str).join(" ")
        })
        .collect()
}

const EXPECTED_ROWS: [&str; 6] = [
    " summary_unbilled_group 1 0 600 0 0.06 -0.06",
    "336 summary_volume_mismatch 336 240 180 0.14 0.105 0.035",
    "491 summary_quantity_mismatch 491 180 150 0.06 0.05 0.01",
    "34 summary_rate_mismatch 34 120 120 0.03 0.02 0.01",
    "39 summary_amount_mismatch 39 60 60 0.04 0.03 0.01",
    "351 summary_unexpected_group 351 240 0 0.5 0 0.5",
];

#[test]
fn issue14_a_summary_invoice_on_files_with_evidence_per_day_and_the_records_of_a_group() {
    let dir = tempfile::tempdir().unwrap();
    let (out, evidence) = (dir.path().join("out"), dir.path().join("evidence"));
    let output = reckon(&[
        "reconcile",
        "--usage",
        &path("usage.csv"),
        "--rates",
        &path("rates.csv"),
        "--invoice-summary",
        &path("invoice-summary.csv"),
        "--out",
        &out.display().to_string(),
        "--evidence-dir",
        &evidence.display().to_string(),
        "--detail",
        "336",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(stdout.contains("summary invoices: 7 groups compared, 6 differ"), "{stdout}");
    // Overbilled 0.035 + 0.01 + 0.01 + 0.01 + 0.5; underbilled 0.06.
    assert!(stdout.contains("acme INV-2026-03: overbilled 0.565 USD, underbilled 0.06 USD"), "{stdout}");
    assert_eq!(discrepancy_rows(&out.join("discrepancies.csv")), EXPECTED_ROWS);
    let discrepancies = read_csv(&out.join("discrepancies.csv"));
    assert!(discrepancies[1..].iter().all(|row| row[1] == "INV-2026-03" && row[3].is_empty()));
    assert!(discrepancies[1..].iter().all(|row| row[7] == "2026-03-01T00:00:00Z"));
    // Both sides of every group: the agreeing UK group has an empty kind.
    let groups = read_csv(&out.join("summary-groups.csv"));
    assert_eq!(groups.len(), 8);
    assert_eq!(
        groups[1],
        [
            "acme",
            "INV-2026-03",
            "447",
            "voice",
            "447",
            "",
            "3",
            "3",
            "204",
            "204",
            "0.012",
            "0.012",
            "0.0408",
            "0.0408",
            "0",
            "USD",
            "2026-03-01"
        ]
    );
    // Our side per day of each group that differs: France on 2 March (u4) and 5 March (u5).
    let days: Vec<String> = read_csv(&evidence.join("summary-evidence.csv"))
        .into_iter()
        .filter(|row| row[3] == "336")
        .map(|row| row[5..9].join(" "))
        .collect();
    assert_eq!(days, ["2026-03-02 1 120 0.07", "2026-03-05 1 60 0.035"]);
    // The records of group 336, as asked: billable ones only.
    let records: Vec<String> =
        read_csv(&evidence.join("summary-detail.csv")).into_iter().skip(1).map(|row| row[4..12].join(" ")).collect();
    assert_eq!(
        records,
        [
            "u4 2026-03-02T12:00:00Z 33612345678 90 120 0.035 0.07 0.07",
            "u5 2026-03-05T12:00:00Z 33612345679 10 60 0.035 0.035 0.035"
        ]
    );
    // An unknown group is named with the known ones.
    let output = reckon(&[
        "reconcile",
        "--usage",
        &path("usage.csv"),
        "--rates",
        &path("rates.csv"),
        "--invoice-summary",
        &path("invoice-summary.csv"),
        "--out",
        &out.display().to_string(),
        "--detail",
        "99",
    ]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr)
        .contains("--detail \"99\": no group of the summary invoices has this name (groups: 447, 336"));
}

#[test]
fn issue14_a_bad_summary_row_is_a_positioned_error() {
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("invoice-summary.csv");
    std::fs::write(
        &summary,
        "invoice_id,carrier,period_start,period_end,service,prefix,calls,minutes,amount,currency\n\
         INV,acme,2026-03-01,2026-03-31,voice,447,3,3.4,0.0408,USD\n\
         INV,acme,2026-03-01,2026-03-31,voice,336,three,4,0.14,USD\n",
    )
    .unwrap();
    let output = reckon(&[
        "reconcile",
        "--usage",
        &path("usage.csv"),
        "--rates",
        &path("rates.csv"),
        "--invoice-summary",
        &summary.display().to_string(),
        "--out",
        &dir.path().join("out").display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "invoice-summary.csv:3:7: column \"calls\": \"three\" is not a whole number of calls from 0 to 10^12"
        ),
        "{stderr}"
    );
    assert!(!dir.path().join("out").join("discrepancies.csv").exists());
}

#[test]
fn issue14_a_summary_invoice_is_disputed_and_settled_in_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        reckon_ok_on(&url, &["import", "usage", &path("usage.csv")]);
        reckon_ok_on(&url, &["import", "rates", &path("rates.csv")]);
        let imported = reckon_ok_on(&url, &["import", "invoice-summary", &path("invoice-summary.csv")]);
        assert_eq!(
            imported, "summary invoice INV-2026-03 of acme for 2026-03: 6 groups stored (version 1)\n",
            "{backend}"
        );
        let again = reckon_ok_on(&url, &["import", "invoice-summary", &path("invoice-summary.csv")]);
        assert!(again.contains("already stored unchanged (no-op)"), "{backend}: {again}");
        let out = dir.path().join(format!("run-{backend}"));
        let run = reckon_ok_on(
            &url,
            &["reconcile", "--carrier", "acme", "--period", "2026-03", "--out", &out.display().to_string()],
        );
        assert!(run.contains(": 6 discrepancies"), "{backend}: {run}");
        assert_eq!(discrepancy_rows(&out.join("discrepancies.csv")), EXPECTED_ROWS, "{backend}");
        let run_id = run.split_whitespace().nth(1).unwrap().to_owned();
        // Every overbilled group is claimed: 0.035 + 0.01 + 0.01 + 0.01 + 0.5 = 0.565.
        let opened = reckon_ok_on(&url, &["dispute", "open", "--run", &run_id]);
        assert!(opened.contains("acme INV-2026-03 5 lines, 0.565 USD claimed"), "{backend}: {opened}");
        let dispute_id = opened.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
        // While the claim is open it is withheld: 0.8108 - 0.565 = 0.2458, paid 0.25.
        let statement = reckon_ok_on(&url, &["settle", "--carrier", "acme", "--period", "2026-03"]);
        assert!(statement.contains("invoiced           0.8108 USD"), "{backend}: {statement}");
        assert!(statement.contains("net to pay         0.25 USD (exact 0.2458)"), "{backend}: {statement}");
        reckon_ok_on(&url, &["dispute", "submit", &dispute_id, "--reason", "sent"]);
        // The carrier credits Portugal in full and France in part (groups are credited by line).
        let accepted =
            reckon_ok_on(&url, &["dispute", "accept", &dispute_id, "--credit", "351=0.5", "--credit", "336=0.02"]);
        assert!(accepted.contains("partially_accepted"), "{backend}: {accepted}");
        // 0.8108 - 0.52 credited = 0.2908, paid 0.29.
        let corrected = reckon_ok_on(&url, &["settle", "--carrier", "acme", "--period", "2026-03", "--correct"]);
        assert!(corrected.contains("accepted credits   -0.52 USD"), "{backend}: {corrected}");
        assert!(corrected.contains("net to pay         0.29 USD (exact 0.2908)"), "{backend}: {corrected}");
        let evidence = dir.path().join(format!("evidence-{backend}.csv"));
        reckon_ok_on(&url, &["dispute", "export", &dispute_id, "--out", &evidence.display().to_string()]);
        let evidence_text = std::fs::read_to_string(&evidence).unwrap();
        assert!(
            evidence_text.contains("more calls or messages billed for this destination than we sent in the period"),
            "{backend}: {evidence_text}"
        );
    }
}

#[test]
fn issue14_dispute_thresholds_hold_back_what_practice_does_not_raise() {
    let dir = tempfile::tempdir().unwrap();
    // Volume claims must reach 100% of the invoice (0.8108) or 1000 USD; rate claims are raised
    // within 30 days of the invoice date, 2026-04-02 (until 2026-05-02).
    let contracts = dir.path().join("contracts.csv");
    std::fs::write(
        &contracts,
        "carrier,dispute_min_share,dispute_min_amount,dispute_min_currency,rate_dispute_window_days\nacme,100,1000,USD,30\n",
    )
    .unwrap();
    let contracts = contracts.display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        reckon_ok_on(&url, &["import", "usage", &path("usage.csv")]);
        reckon_ok_on(&url, &["import", "rates", &path("rates.csv")]);
        reckon_ok_on(&url, &["import", "invoice-summary", &path("invoice-summary.csv")]);
        let run = reckon_ok_on(&url, &["reconcile", "--carrier", "acme", "--period", "2026-03", "--quiet"]);
        assert!(run.is_empty(), "{backend}: {run}");
        let runs = crate::ledger::count(&url, "runs");
        assert_eq!(runs, 1, "{backend}");
        let run_id = run_id_of(&url);
        // Too late for the rate claim, too small for the volume claims: nothing is opened.
        let late =
            reckon_ok_on(&url, &["dispute", "open", "--run", &run_id, "--contracts", &contracts, "--on", "2026-05-03"]);
        assert_eq!(
            late,
            "not raised: acme INV-2026-03 1 lines, 0.01 USD: out of window: rate disputes are raised within 30 days \
             of the invoice date (2026-04-02), until 2026-05-02\n\
             not raised: acme INV-2026-03 4 lines, 0.555 USD: below threshold: the volume claim of 0.555 USD is below \
             100% of the invoice's 0.8108 USD (0.8108 USD) and 1000 USD\n",
            "{backend}"
        );
        assert_eq!(crate::ledger::count(&url, "disputes"), 0, "{backend}");
        // Within the window the rate claim is raised alone.
        let in_time =
            reckon_ok_on(&url, &["dispute", "open", "--run", &run_id, "--contracts", &contracts, "--on", "2026-05-02"]);
        assert!(in_time.contains("acme INV-2026-03 1 lines, 0.01 USD claimed"), "{backend}: {in_time}");
        assert!(in_time.contains("not raised: acme INV-2026-03 4 lines, 0.555 USD: below threshold"), "{backend}");
    }
}

/// The id of the one run in a ledger.
fn run_id_of(url: &str) -> String {
    crate::ledger::block_on(async {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT run_id FROM runs").fetch_one(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar("SELECT run_id FROM runs").fetch_one(&mut connection).await.unwrap()
        }
    })
}
