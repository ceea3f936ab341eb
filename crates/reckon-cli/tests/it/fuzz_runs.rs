//! Fuzzing whole runs (issue 11, item 16): random usage, rate and invoice files through the
//! batch `reconcile` pipeline, random decks and price plans through `reckon margin`, and random
//! bodies through `POST /v1/usage` of a real `reckon serve`. A run either completes and writes
//! its reports or fails with a clean error that names a file; it never panics. The service
//! answers every body with a status below 500.
//!
//! Method: proptest builds rows from pools of field values biased toward the edges (the bounds
//! of FORMATS.md and just past them, Decimal's largest values, zero, negative zero, exponents,
//! years out of range, repeated ids) so that most rows parse and the arithmetic of rating,
//! matching and summing is exercised with extreme but valid numbers. The pipeline runs in this
//! process (a panic fails the case); the server is the built binary, one per ledger backend,
//! and takes every generated body in turn. Case counts keep each test well under a minute in
//! release.

use crate::ledger::{ledger_urls, run_ok};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reckon_cli::pipeline::{reconcile_files, ReconcileRequest, ReportFormat};
use reckon_cli::progress::ByteProgress;
use reckon_core::ReconcileConfig;
use reckon_import::BadRowPolicy;
use std::io::{Read, Write};

/// Numbers at and around every bound, and past Decimal's.
const NUMBERS: &[&str] = &[
    "0",
    "-0",
    "1",
    "0.5",
    "60",
    "75.2",
    "0.0166",
    "0.000001",
    "0.000000000001",
    "0.0000000000001",
    "999999999.999999999999",
    "1000000000",
    "999999999999",
    "1000000000000",
    "1000000000001",
    "999999999999999.999999999999",
    "1000000000000000",
    "-999999999999999",
    "50000000000000000000000000000",
    "79228162514264337593543950335",
    "-79228162514264337593543950335",
    "1e3",
    "1_000",
    "",
    "abc",
];

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(NUMBERS).prop_map(str::to_owned),
        1 => "[0-9]{1,30}(\\.[0-9]{1,14})?",
    ]
}

fn pick(values: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(values).prop_map(str::to_owned)
}

const INSTANTS: &[&str] = &[
    "2026-03-02T10:00:00Z",
    "2026-03-02T10:00:30Z",
    "2026-02-28T23:59:59Z",
    "2026-03-31T23:59:59+01:00",
    "1970-01-01T00:00:00Z",
    "2199-12-31T23:59:59Z",
    "1969-12-31T23:59:59Z",
    "2026-03-02",
];
const DESTINATIONS: &[&str] = &["+442071234567", "447911000001", "4420", "1415", "+1 (415) 555-0100", "x", ""];
const CARRIERS: &[&str] = &["acme", "acme", "borealis", "ACME"];
const SERVICES: &[&str] = &["voice", "voice", "sms", "data", "fax"];
const CURRENCIES: &[&str] = &["USD", "USD", "EUR", "JPY", "usd", "XXX", "ZZZ"];

fn usage_row() -> impl Strategy<Value = String> {
    (pick(&["u1", "u2", "u3", "u4", "u5", "u6"]), pick(SERVICES), pick(CARRIERS), pick(&["R1", "R2", ""]))
        .prop_flat_map(|(id, service, carrier, reference)| {
            (pick(INSTANTS), pick(DESTINATIONS), number()).prop_map(move |(at, destination, quantity)| {
                format!("{id},{service},{carrier},{reference},c1,{at},,{destination},{quantity}")
            })
        })
}

fn rate_row() -> impl Strategy<Value = String> {
    (
        pick(CARRIERS),
        pick(SERVICES),
        pick(&["44", "4", "447", "1", "", "4x"]),
        number(),
        pick(CURRENCIES),
        prop_oneof![pick(&["", "60", "1", "0.5"]), number()],
        pick(&["", "60/6", "1/1", "0/0.000001", "1000000000000/1000000000000", "60/0", "1/1e-30"]),
        number(),
        number(),
        pick(&["2026-01-01T00:00:00Z", "2026-03-02T10:00:00Z", "2026-03-03T00:00:00Z"]),
        pick(&["", "", "0", "10", "1000000000000"]),
        pick(&["", "graduated", "volume"]),
    )
        .prop_map(
            |(
                carrier,
                service,
                prefix,
                rate,
                currency,
                rate_unit,
                increments,
                connect_fee,
                min_charge,
                from,
                tier_from,
                tier_mode,
            )| {
                format!(
                    "{carrier},{service},{prefix},{rate},{currency},{rate_unit},{increments},{connect_fee},{min_charge},{from},{tier_from},{tier_mode}"
                )
            },
        )
}

fn invoice_row() -> impl Strategy<Value = String> {
    (pick(CARRIERS), pick(&["INV1", "INV2"]), pick(&["1", "2", "3", "4"]), pick(&["R1", "R2", ""]), pick(SERVICES))
        .prop_flat_map(|(carrier, invoice, line, reference, service)| {
            (pick(INSTANTS), pick(DESTINATIONS), number(), number(), number(), pick(CURRENCIES)).prop_map(
                move |(at, destination, quantity, rate, amount, currency)| {
                    format!("{carrier},{invoice},{line},{reference},{service},{at},{destination},{quantity},{rate},{amount},{currency}")
                },
            )
        })
}

fn fx_row() -> impl Strategy<Value = String> {
    (pick(&["2026-03-01", "2026-03-02", "2026-02-20"]), pick(&["USD", "JPY", "GBP"]), number())
        .prop_map(|(date, currency, per_eur)| format!("{date},{currency},{per_eur}"))
}

fn rows(row: impl Strategy<Value = String>, count_max: usize) -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec(row, 0..count_max)
}

/// One run's files.
#[derive(Debug, Clone)]
struct RunFiles {
    usage: Vec<String>,
    rates: Vec<String>,
    invoice: Vec<String>,
    fx: Vec<String>,
    quarantine: bool,
}

fn run_files() -> impl Strategy<Value = RunFiles> {
    (rows(usage_row(), 8), rows(rate_row(), 6), rows(invoice_row(), 8), rows(fx_row(), 4), any::<bool>())
        .prop_map(|(usage, rates, invoice, fx, quarantine)| RunFiles { usage, rates, invoice, fx, quarantine })
}

fn check_run(files: &RunFiles) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, header: &str, rows: &[String]| {
        let path = dir.path().join(name);
        std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
        path
    };
    let usage = write(
        "usage.csv",
        "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity",
        &files.usage,
    );
    let rates = write(
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,min_charge,effective_from,tier_from,tier_mode",
        &files.rates,
    );
    let invoice = write(
        "invoice.csv",
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency",
        &files.invoice,
    );
    let fx = write("fx.csv", "date,currency,per_eur", &files.fx);
    let out = dir.path().join("out");
    let request = ReconcileRequest {
        usage,
        rates: vec![rates],
        invoices: vec![invoice],
        fx: Some(fx),
        ecb: None,
        fx_staleness_days: Some(7),
        contracts: None,
        networks: None,
        holidays: None,
        out: out.clone(),
        output_format: ReportFormat::Csv,
        config: ReconcileConfig { report_currency: Some(reckon_core::Currency::EUR), ..ReconcileConfig::default() },
        policy: if files.quarantine { BadRowPolicy::Quarantine } else { BadRowPolicy::Fail },
        partitions: None,
        spill_dir: None,
        timings: false,
    };
    match reconcile_files(&request, &ByteProgress::hidden()) {
        Ok(_) => {
            prop_assert!(out.join("discrepancies.csv").exists());
            prop_assert!(out.join("summary.json").exists());
        }
        Err(error) => {
            let message = format!("{error:#}");
            prop_assert!(message.contains(".csv"), "an error names its file: {message}");
            prop_assert!(!out.join("summary.json").exists(), "a failed run wrote a report: {message}");
        }
    }
    Ok(())
}

/// Whole batch runs over random files: reports or a clean error naming a file, never a panic.
#[test]
fn random_files_through_reconcile_never_panic() {
    let mut runner = TestRunner::new(Config { cases: 1000, failure_persistence: None, ..Config::default() });
    runner.run(&run_files(), |files| check_run(&files)).unwrap();
}

/// The files of a margin run: usage, a carrier deck, customer price plans and FX.
fn margin_files() -> impl Strategy<Value = (Vec<String>, Vec<String>, Vec<String>, Vec<String>)> {
    // A price row is a rate row whose first field names a customer (`*` is the default plan).
    let price_row = (pick(&["*", "c1"]), rate_row())
        .prop_map(|(customer, row)| format!("{customer},{}", row.split_once(',').map_or("", |(_, rest)| rest)));
    (rows(usage_row(), 8), rows(rate_row(), 6), rows(price_row, 6), rows(fx_row(), 4))
}

/// Whole `reckon margin` runs (rating both sides, margins, leakage) over random files, through
/// the binary: exit 0 with a report, or exit 2 with one `error:` line; never a panic.
#[test]
fn random_files_through_margin_never_panic() {
    let mut runner = TestRunner::new(Config { cases: 150, failure_persistence: None, ..Config::default() });
    runner
        .run(&margin_files(), |(usage, rates, prices, fx)| {
            let dir = tempfile::tempdir().unwrap();
            let write = |name: &str, header: &str, rows: &[String]| {
                let path = dir.path().join(name);
                std::fs::write(&path, format!("{header}\n{}\n", rows.join("\n"))).unwrap();
                path.display().to_string()
            };
            let deck_columns = "service,prefix,rate,currency,rate_unit,increments,connect_fee,min_charge,effective_from,tier_from,tier_mode";
            let usage = write(
                "usage.csv",
                "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity",
                &usage,
            );
            let rates = write("rates.csv", &format!("carrier,{deck_columns}"), &rates);
            let prices = write("prices.csv", &format!("customer,{deck_columns}"), &prices);
            let fx = write("fx.csv", "date,currency,per_eur", &fx);
            let out = dir.path().join("out").display().to_string();
            let output = crate::reckon(&[
                "margin", "--usage", &usage, "--rates", &rates, "--prices", &prices, "--fx", &fx, "--out", &out,
            ]);
            let stderr = crate::text(&output.stderr);
            prop_assert!(!stderr.contains("panicked"), "{stderr}");
            match output.status.code() {
                Some(0) => prop_assert!(crate::text(&output.stdout).contains("revenue leakage")),
                Some(2) => prop_assert!(stderr.starts_with("error: ") && stderr.contains(".csv"), "{stderr}"),
                other => prop_assert!(false, "exit {other:?}: {stderr}"),
            }
            Ok(())
        })
        .unwrap();
}

/// An event whose fields come from the pools above, numbers sometimes as JSON numbers.
fn event() -> impl Strategy<Value = String> {
    let text_or_number = |text: String| -> String {
        if !text.is_empty() && text.bytes().all(|byte| byte.is_ascii_digit() || b"-.e".contains(&byte)) {
            text
        } else {
            serde_json::Value::String(text).to_string()
        }
    };
    (
        pick(&["e1", "e2", "e3", ""]),
        pick(SERVICES),
        pick(CARRIERS),
        pick(INSTANTS),
        pick(DESTINATIONS),
        number(),
        any::<bool>(),
        pick(&["", "23415", "2341", "x"]),
    )
        .prop_map(move |(id, service, carrier, at, destination, quantity, quantity_as_number, network)| {
            let quantity =
                if quantity_as_number { text_or_number(quantity.clone()) } else { serde_json::Value::String(quantity).to_string() };
            let network = if network.is_empty() { String::new() } else { format!(",\"network\":\"{network}\"") };
            format!(
                r#"{{"record_id":"{id}","service":"{service}","carrier":"{carrier}","started_at":"{at}","destination":"{destination}","quantity":{quantity}{network}}}"#
            )
        })
}

/// Bodies: arrays of events, single events, JSON of the wrong shape, and arbitrary text.
fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::collection::vec(event(), 0..6).prop_map(|events| format!("[{}]", events.join(","))),
        2 => event(),
        1 => pick(&[
            "",
            "null",
            "[]",
            "[[]]",
            "{}",
            "[null,1,\"x\",true]",
            r#"{"quantity":1e400}"#,
            r#"{"record_id":"x","service":"voice","carrier":"acme","started_at":"2026-03-02T10:00:00Z","destination":"44","quantity":18446744073709551616}"#,
            r#"{"record_id":{"a":1}}"#,
        ]),
        1 => ".{0,60}",
    ]
}

/// One HTTP/1.1 POST on a fresh connection; the status, 0 when the connection dropped.
fn post(address: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30))).unwrap();
    let _ = write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|status| status.parse().ok()).unwrap_or(0);
    (status, response)
}

/// Random bodies through `POST /v1/usage` of a real server, on both ledgers: every answer is a
/// status below 500, and the server is still answering at the end.
///
/// Issue 11, item 16: a quantity past the bounds (say `5e28` written out) was accepted, rated
/// and then refused by PostgreSQL's `NUMERIC(38, 12)` column as a 500. The events must go
/// through the bounded field parsers (`reckon_core::bounds::check_quantity`), as files do.
#[test]
fn random_bodies_through_the_service_never_get_a_5xx() {
    let dir = tempfile::tempdir().unwrap();
    let rates = crate::fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = crate::serve::start_server_with(&url, &[]);
        let mut runner = TestRunner::new(Config { cases: 300, failure_persistence: None, ..Config::default() });
        let outcome = runner.run(&body(), |body| {
            let (status, response) = post(&address, "/v1/usage", &token, &body);
            prop_assert!((200..500).contains(&status), "{backend}: {body}\n-> {response}");
            Ok(())
        });
        let (status, _) = post(&address, "/v1/usage", &token, "[]");
        let _ = server.kill();
        let _ = server.wait();
        outcome.unwrap();
        assert_eq!(status, 200, "{backend}: the server still answers");
    }
}
