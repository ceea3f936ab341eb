//! Issue 11 through the binary and over HTTP, on SQLite and PostgreSQL: an invoice's period at
//! import (`--period`, `?period=`), run ids that change with the FX table and the network map,
//! and a refused empty or mistyped carrier or period.
//!
//! Method: the worked example imported with the CLI, then each defect's steps as a user types
//! them, checking exit codes, stdout and stderr.

use crate::ledger::{count, import_basic, ledger_urls, reckon_ok_on as ok, reckon_on as call, run_ok};
use crate::serve::{http, start_server_with};
use std::path::Path;

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

const INVOICE_HEADER: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n";

/// Issue 11, item 1: `import invoice --period` puts a straddling invoice in the period given,
/// and only that period's settlement counts it.
#[test]
fn issue_11_an_invoice_belongs_to_the_period_given_at_import() {
    let dir = tempfile::tempdir().unwrap();
    let straddling = write(
        &dir.path().join("straddling.csv"),
        &format!(
            "{INVOICE_HEADER}borealis,BOR-STR,1,,voice,2026-02-28T23:50:00Z,33100000002,60,0.0150,10.00,EUR\n\
             borealis,BOR-STR,2,,voice,2026-03-01T00:10:00Z,33100000003,60,0.0150,20.00,EUR\n"
        ),
    );
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        let imported = ok(&url, &["import", "invoice", &straddling, "--period", "2026-03"]);
        assert!(imported.contains("invoice BOR-STR of borealis for 2026-03: 2 lines stored"), "{backend}: {imported}");
        // March: BOR-2603's 3.724983 + 10.00 + 20.00 = 33.724983 -> 33.72 EUR.
        let march = ok(&url, &["settle", "--carrier", "borealis", "--period", "2026-03"]);
        assert!(march.contains("net to pay         33.72 EUR"), "{backend}: {march}");
        // February has no invoice of borealis (before the fix it settled BOR-STR's 30.00 again).
        let (code, _, stderr) = call(&url, &["settle", "--carrier", "borealis", "--period", "2026-02"]);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(stderr.contains("invoices of borealis for 2026-02 not found"), "{backend}: {stderr}");
        // A mistyped period is refused with what is expected.
        let (code, _, stderr) = call(&url, &["import", "invoice", &straddling, "--period", "2026-3"]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("expected a month as YYYY-MM"), "{backend}: {stderr}");
    }
}

/// Issue 11, item 2: another FX table or network map is another run, recorded anew.
#[test]
fn issue_11_a_run_with_other_fx_rates_or_networks_is_a_new_run() {
    let dir = tempfile::tempdir().unwrap();
    let fx = write(&dir.path().join("fx.csv"), "date,currency,per_eur\n2026-03-01,USD,1.08\n");
    let networks = write(&dir.path().join("networks.csv"), "prefix,mcc,mnc\n33,208,01\n");
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        let reconcile = |extra: &[&str]| {
            let mut arguments = vec!["reconcile", "--carrier", "borealis", "--period", "2026-03"];
            arguments.extend(extra);
            let stdout = ok(&url, &arguments);
            (stdout.split_whitespace().nth(1).unwrap().to_owned(), stdout.contains("nothing new recorded"))
        };
        let (plain, _) = reconcile(&[]);
        assert_eq!(reconcile(&[]), (plain.clone(), true), "{backend}: the same inputs, the same run");
        let (with_fx, again) = reconcile(&["--fx", &fx]);
        assert!(with_fx != plain && !again, "{backend}: another FX table records a new run");
        let (with_networks, again) = reconcile(&["--networks", &networks]);
        assert!(with_networks != plain && with_networks != with_fx && !again, "{backend}");
        assert_eq!(count(&url, "runs"), 3, "{backend}");
    }
}

/// Issue 11, item 4: an unknown carrier or an empty period is an error naming the near match,
/// not "0 discrepancies"; `--period 0000-01` is refused.
#[test]
fn issue_11_an_unknown_carrier_or_empty_period_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        let reconcile =
            |carrier: &str, period: &str| call(&url, &["reconcile", "--carrier", carrier, "--period", period]);
        let (code, stdout, stderr) = reconcile("no-such-carrier", "2026-03");
        assert_eq!((code, stdout.as_str()), (Some(2), ""), "{backend}: {stderr}");
        assert!(
            stderr.contains("no usage and no invoices of carrier no-such-carrier in 2026-03\n"),
            "{backend}: {stderr}"
        );
        let (code, _, stderr) = reconcile("BOREALIS", "2026-03");
        assert_eq!(code, Some(2), "{backend}");
        assert!(
            stderr.contains("no usage and no invoices of carrier BOREALIS in 2026-03 (did you mean borealis?)"),
            "{backend}: {stderr}"
        );
        let (code, _, stderr) = reconcile("borealis", "2026-05");
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("no usage and no invoices of carrier borealis in 2026-05"), "{backend}: {stderr}");
        let (code, _, stderr) = reconcile("borealis", "0000-01");
        assert_eq!(code, Some(2), "{backend}");
        assert!(
            stderr.contains("expected a month as YYYY-MM between 1970-01 and 2199-12, like 2026-03"),
            "{backend}: {stderr}"
        );
        assert_eq!(count(&url, "runs"), 0, "{backend}: nothing was recorded");
    }
}

/// Issue 11, items 1, 4 and 5 over HTTP: `?period=` on upload, `POST /v1/runs` of an unknown
/// carrier or empty period answered 400 with the CLI's message, and a line credited twice.
#[test]
fn issue_11_periods_over_http() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        let admin = run_ok(&["apikey", "create", "--scope", "admin", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = start_server_with(&url, &[]);
        let body = format!(
            "{INVOICE_HEADER}borealis,BOR-STR,1,,voice,2026-02-28T23:50:00Z,33100000002,60,0.0150,10.00,EUR\n\
             borealis,BOR-STR,2,,voice,2026-03-01T00:10:00Z,33100000003,60,0.0150,20.00,EUR\n"
        );
        let (status, response) = http(&address, "POST", "/v1/invoices?period=2026-03", Some(&admin), &body);
        assert_eq!(status, 200, "{backend}: {response}");
        let response: serde_json::Value = serde_json::from_str(&response).unwrap();
        assert_eq!(response["invoices"][0]["period"], "2026-03", "{backend}: {response}");
        // The run of the invoice's period, March: the worked example's 14 rows plus BOR-STR's
        // two lines as unmatched_charge (no usage of ours behind them).
        assert_eq!(
            (response["runs"][0]["period"].as_str(), response["runs"][0]["discrepancies"].as_u64()),
            (Some("2026-03"), Some(16)),
            "{backend}: {response}"
        );
        let run_id = response["runs"][0]["run_id"].as_str().unwrap().to_owned();
        let (status, response) = http(&address, "POST", "/v1/invoices?period=0000-01", Some(&admin), &body);
        assert_eq!(status, 400, "{backend}: {response}");

        // Issue 11, item 5 over HTTP: a line credited twice in one answer is refused (JSON
        // would keep the last value silently).
        let (status, response) =
            http(&address, "POST", &format!("/v1/runs/{run_id}/disputes"), Some(&admin), r#"{"threshold":"0.001"}"#);
        assert_eq!(status, 200, "{backend}: {response}");
        let dispute_id = serde_json::from_str::<serde_json::Value>(&response).unwrap()["disputes"][0]["dispute_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let (_, response) = http(&address, "GET", &format!("/v1/disputes/{dispute_id}"), Some(&admin), "");
        assert!(response.contains(r#""invoice_version":1"#), "{backend}: {response}");
        let actions = format!("/v1/disputes/{dispute_id}/actions");
        assert_eq!(http(&address, "POST", &actions, Some(&admin), r#"{"action":"submit"}"#).0, 200, "{backend}");
        let (status, response) = http(
            &address,
            "POST",
            &actions,
            Some(&admin),
            r#"{"action":"accept","credits":{"22":"0.01","22":"0.02"}}"#,
        );
        assert_eq!(status, 400, "{backend}: {response}");
        assert!(response.contains("credits: line 22 is credited twice; give each line once"), "{backend}: {response}");
        let (status, response) =
            http(&address, "POST", &actions, Some(&admin), r#"{"action":"reject","credits":null}"#);
        assert_eq!(status, 200, "{backend}: a null credits is no credits: {response}");

        let (status, response) =
            http(&address, "POST", "/v1/runs", Some(&admin), r#"{"carrier":"BOREALIS","period":"2026-03"}"#);
        assert_eq!(status, 400, "{backend}: {response}");
        assert!(
            response.contains("no usage and no invoices of carrier BOREALIS in 2026-03 (did you mean borealis?)"),
            "{backend}: {response}"
        );
        let (status, response) =
            http(&address, "POST", "/v1/runs", Some(&admin), r#"{"carrier":"borealis","period":"0000-01"}"#);
        assert_eq!(status, 400, "{backend}: {response}");
        let _ = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}
