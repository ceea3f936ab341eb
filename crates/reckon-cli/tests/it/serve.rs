//! `reckon serve` end to end: the real server on a loopback port over a real SQLite file and the
//! machine's PostgreSQL, driven over HTTP: keys and scopes, ingest with duplicates, conflicts and
//! a bad field, an oversized body, accruals equal to batch rating, and a clean SIGTERM.

use crate::ledger::{ledger_urls, run_ok};
use crate::{fixtures, read_csv};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// One HTTP/1.1 request on a fresh connection: `(status, body)`.
pub fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let authorization = token.map(|token| format!("Bearer {token}"));
    http_authorized(address, method, path, authorization.as_deref(), body)
}

/// [`http`] with the whole `Authorization` header value (scheme included).
fn http_authorized(address: &str, method: &str, path: &str, authorization: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let authorization = authorization.map(|value| format!("Authorization: {value}\r\n")).unwrap_or_default();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\n{authorization}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status: u16 = response.split_whitespace().nth(1).unwrap_or("0").parse().unwrap();
    let body = response.split_once("\r\n\r\n").map(|(_, body)| body.to_owned()).unwrap_or_default();
    (status, body)
}

pub fn event(id: &str, destination: &str, at: &str, quantity: &str) -> String {
    format!(
        r#"{{"record_id":"{id}","service":"voice","carrier":"acme","started_at":"{at}","destination":"{destination}","quantity":"{quantity}"}}"#
    )
}

#[test]
fn serve_ingests_rates_and_refuses_what_it_should() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let key =
            |scope: &str| run_ok(&["apikey", "create", "--scope", scope, "--database-url", &url]).trim().to_owned();
        let (writer, reader) = (key("ingest,read"), key("read"));
        let (mut server, address) = start_server(&url);

        assert_eq!(http(&address, "GET", "/healthz", None, "").0, 200, "{backend}");
        assert_eq!(http(&address, "POST", "/v1/usage", None, "[]").0, 401, "{backend}");
        assert_eq!(http(&address, "POST", "/v1/usage", Some("rk_nope_nope"), "[]").0, 401, "{backend}");
        assert_eq!(
            http(&address, "POST", "/v1/usage", Some(&reader), "[]").0,
            403,
            "{backend}: read scope cannot ingest"
        );

        // Two good events and one with a bad timestamp: the good ones are accepted and rated.
        // e1: 75.2 s to 44 (0.0120/60, 60/6, connect 0.0010): 0.0166; e2: 61 s to 1 (0.0040/60, 60/60): 120 s, 0.008
        let batch = format!(
            "[{},{},{}]",
            event("e1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"),
            event("e2", "+14155550100", "2026-03-02T11:00:00Z", "61"),
            event("e3", "+14155550100", "yesterday", "1")
        );
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&writer), &batch);
        assert_eq!(status, 200, "{backend}: {body}");
        let response: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (response["accepted"].as_u64(), response["rejected"].as_u64()),
            (Some(2), Some(1)),
            "{backend}: {body}"
        );
        assert_eq!(response["results"][0]["cost"], "0.0166", "{backend}");
        assert_eq!(response["results"][1]["cost"], "0.008", "{backend}");
        assert!(
            response["results"][2]["reason"].as_str().unwrap().contains("event 2: field started_at"),
            "{backend}: {body}"
        );

        // The same event again: a duplicate; the same id with other content: a conflict.
        let (_, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&writer),
            &event("e1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"),
        );
        assert!(body.contains("\"duplicate\""), "{backend}: {body}");
        let (_, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&writer),
            &event("e1", "+442071234567", "2026-03-02T10:00:00Z", "99"),
        );
        assert!(body.contains("conflict"), "{backend}: {body}");

        // A correction supersedes e1 (admin scope only) and re-rates it: 99 s -> 60 + ceil(39/6)*6
        // = 102 s; 0.0010 + 0.0120 * 102 / 60 = 0.0214.
        let correction = event("e1", "+442071234567", "2026-03-02T10:00:00Z", "99");
        assert_eq!(http(&address, "POST", "/v1/usage/corrections", Some(&writer), &correction).0, 403, "{backend}");
        let admin = key("admin");
        let (status, body) = http(&address, "POST", "/v1/usage/corrections", Some(&admin), &correction);
        assert_eq!(status, 200, "{backend}: {body}");
        assert!(body.contains("\"replaced\":1") && body.contains("\"cost\":\"0.0214\""), "{backend}: {body}");
        assert_eq!(crate::ledger::count(&url, "audit_log"), 1, "{backend}: the superseded content is in the audit log");
        // Back to the original content, so the accruals below see the first figures.
        let (status, _) = http(
            &address,
            "POST",
            "/v1/usage/corrections",
            Some(&admin),
            &event("e1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"),
        );
        assert_eq!(status, 200, "{backend}");

        // Malformed JSON and unknown fields: 400 / rejected with the field named.
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&writer), "{\"record_id\": ");
        assert_eq!(status, 400, "{backend}: {body}");
        let (_, body) = http(&address, "POST", "/v1/usage", Some(&writer), r#"{"record_id":"x","colour":"red"}"#);
        assert!(body.contains("unknown field") && body.contains("colour"), "{backend}: {body}");
        let (_, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&writer),
            r#"{"record_id":"x","service":"voice","carrier":"acme","started_at":"2026-03-02T10:00:00Z","destination":"44","quantity":1.5}"#,
        );
        assert!(body.contains("give decimals as strings"), "{backend}: {body}");
        // A year past the ledger's range is a rejected field, not a dropped connection.
        let (status, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&writer),
            &event("y1", "+14155550100", "2263-01-01T00:00:00Z", "1"),
        );
        assert!(
            status == 200 && body.contains("field started_at") && body.contains("1970 and 2200"),
            "{backend}: {body}"
        );
        // Query bounds far out are fine: nothing there.
        let (status, _) =
            http(&address, "GET", "/v1/accruals?from=0001-01-01T00:00:00Z&to=9999-01-01T00:00:00Z", Some(&reader), "");
        assert_eq!(status, 200, "{backend}");

        // An oversized body is refused before it is read whole.
        let huge = format!("[\"{}\"]", "x".repeat(9 * 1024 * 1024));
        assert_eq!(http(&address, "POST", "/v1/usage", Some(&writer), &huge).0, 413, "{backend}");

        // Accruals equal the batch rating of the same events: 0.0166 + 0.008 = 0.0246 USD.
        let (status, body) = http(
            &address,
            "GET",
            "/v1/accruals?carrier=acme&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=service",
            Some(&reader),
            "",
        );
        assert_eq!(status, 200, "{backend}: {body}");
        let accruals: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(accruals["groups"][0]["cost"], "0.0246", "{backend}: {body}");
        let usage = dir.path().join("events.csv");
        std::fs::write(&usage, "record_id,service,carrier,started_at,destination,quantity\ne1,voice,acme,2026-03-02T10:00:00Z,+442071234567,75.2\ne2,voice,acme,2026-03-02T11:00:00Z,+14155550100,61\n").unwrap();
        // Customer prices (default plan, USD) bring revenue and margin:
        // e1 75.2 s -> 120 s at 0.0150/60 = 0.03, margin 0.03 - 0.0166 = 0.0134;
        // e2 61 s -> 120 s at 0.0030/60 = 0.006, margin 0.006 - 0.008 = -0.002 (below cost).
        // Revenue 0.036, margin 0.0114.
        let prices = dir.path().join("prices.csv");
        std::fs::write(
            &prices,
            "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from\n\
             *,voice,44,UK,0.0150,USD,60,60/60,2026-01-01T00:00:00Z\n\
             *,voice,1,US,0.0030,USD,60,60/60,2026-01-01T00:00:00Z\n",
        )
        .unwrap();
        run_ok(&["import", "prices", &prices.display().to_string(), "--database-url", &url]);
        let (_, body) = http(
            &address,
            "GET",
            "/v1/accruals?carrier=acme&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=service",
            Some(&reader),
            "",
        );
        let accruals: serde_json::Value = serde_json::from_str(&body).unwrap();
        let group = &accruals["groups"][0];
        assert_eq!(
            (group["cost"].as_str(), group["revenue"].as_str(), group["margin"].as_str()),
            (Some("0.0246"), Some("0.036"), Some("0.0114")),
            "{backend}: {body}"
        );
        assert_eq!(group["below_cost_records"], 1, "{backend}: {body}");
        // The same figures as a batch `reckon rate` of the same events with the same plans.
        let rated = dir.path().join("rated.csv");
        run_ok(&[
            "rate",
            "--usage",
            &usage.display().to_string(),
            "--rates",
            &rates,
            "--prices",
            &prices.display().to_string(),
            "--out",
            &rated.display().to_string(),
        ]);
        let rows = read_csv(&rated);
        let column = |name: &str| rows[0].iter().position(|header| header == name).unwrap();
        let batch_sum = |name: &str| -> rust_decimal::Decimal {
            rows[1..].iter().map(|row| row[column(name)].parse::<rust_decimal::Decimal>().unwrap()).sum()
        };
        let served = |name: &str| group[name].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap();
        for name in ["cost", "price", "margin"] {
            let field = if name == "price" { "revenue" } else { name };
            assert_eq!(served(field), batch_sum(name), "{backend}: {name}");
        }

        // A late event (February, after March's) is accepted and re-opens February's accruals:
        // 120 s to 1 at 0.0040/60 (60/60) = 0.008.
        let (_, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&writer),
            &event("late1", "+14155550100", "2026-02-27T23:59:00Z", "120"),
        );
        assert!(body.contains("\"accepted\":1"), "{backend}: {body}");
        let (_, body) = http(
            &address,
            "GET",
            "/v1/accruals?carrier=acme&from=2026-02-01T00:00:00Z&to=2026-03-01T00:00:00Z&group_by=day",
            Some(&reader),
            "",
        );
        let february: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            (february["groups"][0]["key"].as_str(), february["groups"][0]["cost"].as_str()),
            (Some("2026-02-27"), Some("0.008")),
            "{backend}: {body}"
        );

        // SIGTERM: the server stops cleanly.
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}

/// Starts `reckon serve` on a free loopback port; returns the child and its address.
fn start_server(url: &str) -> (Server, String) {
    start_server_with(url, &[])
}

/// A `reckon serve` a test started: killed when dropped, so that a test that fails (panics)
/// leaves no server behind holding the test runner's output open.
pub struct Server(pub std::process::Child);

impl std::ops::Deref for Server {
    type Target = std::process::Child;

    fn deref(&self) -> &std::process::Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut std::process::Child {
        &mut self.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // A server the test already stopped and waited for is not signalled again.
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// Starts `reckon serve` with more arguments.
pub fn start_server_with(url: &str, arguments: &[&str]) -> (Server, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_reckon"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .args(arguments)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let server = Server(server);
    let address = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("{line}")).to_owned();
    (server, address)
}

#[test]
fn a_killed_server_keeps_every_acknowledged_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = start_server(&url);
        let batch = |start: usize| {
            let events: Vec<String> = (start..start + 500)
                .map(|index| event(&format!("k{index}"), "+442071234567", "2026-03-02T10:00:00Z", "60"))
                .collect();
            format!("[{}]", events.join(","))
        };
        // A client streams batches from another thread; the server is killed mid-stream.
        let client_address = address.clone();
        let client_token = token.clone();
        let client = std::thread::spawn(move || {
            let mut acknowledged = Vec::new();
            for round in 0..200 {
                let start = round * 500;
                let outcome = std::panic::catch_unwind(|| {
                    http(&client_address, "POST", "/v1/usage", Some(&client_token), &batch(start))
                });
                match outcome {
                    Ok((200, body)) if body.contains("\"accepted\":500") => acknowledged.push(start),
                    _ => break,
                }
            }
            acknowledged
        });
        std::thread::sleep(std::time::Duration::from_millis(700));
        server.kill().unwrap(); // SIGKILL
        server.wait().unwrap();
        let acknowledged = client.join().unwrap();
        assert!(
            !acknowledged.is_empty() && acknowledged.len() < 200,
            "{backend}: the kill must land mid-stream ({} batches)",
            acknowledged.len()
        );
        // Every acknowledged event is stored; at most the one batch in flight may be too.
        let stored = crate::ledger::count(&url, "usage_records");
        let acknowledged_events = acknowledged.len() as i64 * 500;
        assert!(
            stored == acknowledged_events || stored == acknowledged_events + 500,
            "{backend}: {stored} stored, {acknowledged_events} acknowledged"
        );
        // After a restart the client retries everything from the first unacknowledged batch,
        // and a resend of an acknowledged batch is a harmless duplicate.
        let (mut server, address) = start_server(&url);
        let next = acknowledged.len() * 500;
        let (_, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch(next));
        assert!(body.contains("\"rejected\":0"), "{backend}: {body}");
        let (_, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch(0));
        assert!(body.contains("\"duplicates\":500"), "{backend}: {body}");
        assert_eq!(crate::ledger::count(&url, "usage_records"), acknowledged_events + 500, "{backend}: exactly once");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        server.wait().unwrap();
    }
}

/// `usage.csv` rows as a JSON array of events (empty cells left out).
fn usage_events(path: &std::path::Path) -> String {
    let rows = read_csv(path);
    let events: Vec<serde_json::Value> = rows[1..]
        .iter()
        .map(|row| {
            let fields: serde_json::Map<String, serde_json::Value> = rows[0]
                .iter()
                .zip(row)
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| (name.clone(), serde_json::Value::String(value.clone())))
                .collect();
            serde_json::Value::Object(fields)
        })
        .collect();
    serde_json::to_string(&events).unwrap()
}

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|error| panic!("{error}: {body}"))
}

/// The ledger walk of the CLI test (`ledger::import_reconcile_dispute_settle_journal`), over
/// HTTP: usage ingested, the invoice uploaded and reconciled, a dispute opened, refused an
/// illegal step, submitted and partly accepted, the period settled and corrected.
#[test]
fn invoices_runs_disputes_and_settlements_over_http() {
    let dir = tempfile::tempdir().unwrap();
    let basic = fixtures().join("basic");
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &basic.join("rates.csv").display().to_string(), "--database-url", &url]);
        let key =
            |scope: &str| run_ok(&["apikey", "create", "--scope", scope, "--database-url", &url]).trim().to_owned();
        let (writer, reader, admin) = (key("ingest"), key("read"), key("admin"));
        let (mut server, address) = start_server(&url);
        let call = |method: &str, path: &str, token: &str, body: &str| {
            let (status, body) = http(&address, method, path, Some(token), body);
            (status, body)
        };

        let (status, body) = call("POST", "/v1/usage", &writer, &usage_events(&basic.join("usage.csv")));
        assert_eq!((status, json(&body)["accepted"].as_u64()), (200, Some(83)), "{backend}: {body}");

        // The invoice upload stores the invoice and reconciles borealis's March.
        let invoice = std::fs::read_to_string(basic.join("invoice-borealis.csv")).unwrap();
        assert_eq!(call("POST", "/v1/invoices", &reader, &invoice).0, 403, "{backend}: read cannot upload");
        let (status, body) = call("POST", "/v1/invoices", &writer, &invoice);
        assert_eq!(status, 200, "{backend}: {body}");
        let upload = json(&body);
        assert_eq!(
            (upload["invoices"][0]["lines"].as_u64(), upload["invoices"][0]["outcome"].as_str()),
            (Some(42), Some("stored")),
            "{backend}: {body}"
        );
        let run = &upload["runs"][0];
        assert_eq!(
            (run["carrier"].as_str(), run["period"].as_str(), run["discrepancies"].as_u64()),
            (Some("borealis"), Some("2026-03"), Some(14)),
            "{backend}: {body}"
        );
        let run_id = run["run_id"].as_str().unwrap().to_owned();
        // The same upload again: nothing new, the same run.
        let again = json(&call("POST", "/v1/invoices", &writer, &invoice).1);
        assert_eq!(again["invoices"][0]["outcome"], "unchanged", "{backend}");
        assert_eq!(
            (again["runs"][0]["run_id"].as_str(), again["runs"][0]["created"].as_bool()),
            (Some(run_id.as_str()), Some(false))
        );
        // A bad row is refused with its line and column, and stores nothing.
        let bad = invoice.replacen("EUR", "EURO", 1);
        let (status, body) = call("POST", "/v1/invoices", &writer, &bad);
        assert!(status == 400 && body.contains("upload:2:"), "{backend}: {status} {body}");

        let (_, body) = call("GET", "/v1/runs?carrier=borealis&period=2026-03", &reader, "");
        assert_eq!(json(&body)["runs"], serde_json::json!([run_id]), "{backend}");
        let (_, body) = call("GET", &format!("/v1/runs/{run_id}/discrepancies"), &reader, "");
        assert_eq!(json(&body)["discrepancies"].as_array().unwrap().len(), 14, "{backend}");
        let (_, csv) = call("GET", &format!("/v1/runs/{run_id}/discrepancies?format=csv"), &reader, "");
        assert!(csv.starts_with("carrier,invoice_id,line_id,record_id,kind,"), "{backend}: {csv}");
        assert_eq!(csv.lines().count(), 15, "{backend}");
        assert_eq!(call("GET", "/v1/runs/nope/discrepancies", &reader, "").0, 404, "{backend}");

        // Disputes: the same figures as the CLI's (9 lines, 0.183 EUR claimed above 0.001).
        assert_eq!(call("POST", &format!("/v1/runs/{run_id}/disputes"), &writer, "{}").0, 403, "{backend}");
        let (status, body) = call("POST", &format!("/v1/runs/{run_id}/disputes"), &admin, r#"{"threshold":"0.001"}"#);
        assert_eq!(status, 200, "{backend}: {body}");
        let dispute_id = json(&body)["disputes"][0]["dispute_id"].as_str().unwrap().to_owned();
        let (_, body) = call("GET", &format!("/v1/disputes/{dispute_id}"), &reader, "");
        let dispute = json(&body);
        assert_eq!(
            (dispute["state"].as_str(), dispute["claimed_total"].as_str(), dispute["lines"].as_array().map(Vec::len)),
            (Some("open"), Some("0.183"), Some(9)),
            "{backend}: {body}"
        );
        let actions = format!("/v1/disputes/{dispute_id}/actions");
        let (status, body) = call("POST", &actions, &admin, r#"{"action":"accept"}"#);
        assert_eq!(status, 409, "{backend}: {body}");
        assert!(body.contains("a dispute that is open cannot be accepted: submit it to the carrier first"), "{body}");
        let (status, body) = call("POST", &actions, &admin, r#"{"action":"submit","reason":"sent"}"#);
        assert_eq!((status, json(&body)["state"].as_str()), (200, Some("submitted")), "{backend}: {body}");
        assert_eq!(call("POST", &actions, &admin, r#"{"action":"escalate"}"#).0, 400, "{backend}");
        let (_, evidence) = call("GET", &format!("/v1/disputes/{dispute_id}/evidence"), &reader, "");
        assert_eq!(evidence.lines().count(), 10, "{backend}: header and 9 lines\n{evidence}");

        // Pending claims are withheld: 3.724983 - 0.183 = 3.541983 -> 3.54 EUR.
        let settle = r#"{"carrier":"borealis","period":"2026-03"}"#;
        let (status, body) = call("POST", "/v1/settlements", &admin, settle);
        assert_eq!((status, json(&body)["net"].as_str()), (200, Some("3.54")), "{backend}: {body}");
        // The carrier credits 0.11 of it: 3.724983 - 0.11 = 3.614983 -> 3.61, as a correction.
        let (status, body) = call(
            "POST",
            &actions,
            &admin,
            r#"{"action":"accept","reason":"CN-77","credits":{"40":"0.03","41":"0.03","42":"0.03","22":"0.02"}}"#,
        );
        let answered = json(&body);
        assert_eq!(
            (status, answered["state"].as_str(), answered["credited_total"].as_str()),
            (200, Some("partially_accepted"), Some("0.11")),
            "{backend}: {body}"
        );
        let (status, body) = call("POST", "/v1/settlements", &admin, settle);
        assert_eq!(status, 409, "{backend}: changed figures need a correction: {body}");
        let (status, body) =
            call("POST", "/v1/settlements", &admin, r#"{"carrier":"borealis","period":"2026-03","correct":true}"#);
        let corrected = json(&body);
        assert_eq!((status, corrected["net"].as_str()), (200, Some("3.61")), "{backend}: {body}");
        assert!(corrected["supersedes"].is_string(), "{backend}: {body}");
        let (_, body) = call("GET", "/v1/settlements/borealis/2026-03", &reader, "");
        assert_eq!(json(&body)["net"], "3.61", "{backend}");
        let (_, journal) = call("GET", "/v1/settlements/borealis/2026-03/journal", &reader, "");
        assert!(
            journal.starts_with("entry_id,date,account_code,account,debit,credit,currency,memo"),
            "{backend}: {journal}"
        );
        // The same journal for hledger: the superseded statement is reversed before the new one.
        let (status, hledger) = call("GET", "/v1/settlements/borealis/2026-03/journal?format=hledger", &reader, "");
        assert_eq!(status, 200, "{backend}: {hledger}");
        assert!(hledger.contains(":reversal) reversal of statement"), "{backend}: {hledger}");
        assert_eq!(call("GET", "/v1/settlements/borealis/2026-03/journal?format=ledger", &reader, "").0, 400);
        assert_eq!(call("GET", "/v1/settlements/acme/2026-03", &reader, "").0, 404, "{backend}");
        assert_eq!(call("GET", "/v1/settlements/borealis/March", &reader, "").0, 400, "{backend}");

        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}

/// What a webhook receiver got: each body with the status it answered, in order.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<(u16, String)>>>;

/// A local webhook receiver: answers the first `failures` requests with 500, then 200.
pub fn webhook_receiver(failures: usize) -> (String, Received) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut length = 0;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line == "\r\n" {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().unwrap();
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).unwrap();
            let mut log = log.lock().unwrap();
            let status = if log.len() < failures { 500 } else { 200 };
            log.push((status, String::from_utf8(body).unwrap()));
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (format!("http://{address}/hooks/reckon"), received)
}

/// Waits until `done` holds, up to `seconds`.
pub fn wait_for(seconds: u64, mut done: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    done()
}

#[test]
fn an_alert_fires_once_and_is_retried_until_the_webhook_takes_it() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    let rules = dir.path().join("alerts.csv");
    // acme's March spend over 0.02 USD; any carrier with over 40% of its records unrated.
    std::fs::write(&rules, "rule,subject,threshold\nspend_over,carrier:acme,0.02\nunrated_share_over,carrier:*,40\n")
        .unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest,read", "--database-url", &url]).trim().to_owned();
        let (hook, received) = webhook_receiver(2);
        let rules = rules.display().to_string();
        let (mut server, address) = start_server_with(
            &url,
            &["--alerts", &rules, "--webhook", &hook, "--alert-interval-ms", "100", "--webhook-backoff-ms", "50"],
        );
        // 0.0166 USD: under the budget, nothing fires.
        let post = |body: &str| http(&address, "POST", "/v1/usage", Some(&token), body);
        post(&event("a1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"));
        std::thread::sleep(std::time::Duration::from_millis(400));
        assert!(received.lock().unwrap().is_empty(), "{backend}");
        // + 0.008 = 0.0246 USD: over; then more events in March change nothing.
        post(&event("a2", "+14155550100", "2026-03-02T11:00:00Z", "61"));
        assert!(wait_for(20, || received.lock().unwrap().len() >= 3), "{backend}: {:?}", received.lock().unwrap());
        post(&event("a3", "+14155550100", "2026-03-03T11:00:00Z", "61"));
        post(&event("a4", "+14155550100", "2026-03-04T11:00:00Z", "61"));
        std::thread::sleep(std::time::Duration::from_millis(800));
        let deliveries = received.lock().unwrap().clone();
        // Two failures, then delivered: three attempts of one alert, and nothing else.
        assert_eq!(deliveries.iter().map(|(status, _)| *status).collect::<Vec<_>>(), [500, 500, 200], "{backend}");
        assert!(deliveries.iter().all(|(_, body)| body == &deliveries[0].1), "{backend}: the same alert each time");
        let alert = json(&deliveries[0].1);
        assert_eq!(
            (alert["subject"].as_str(), alert["period"].as_str()),
            (Some("carrier:acme"), Some("2026-03")),
            "{backend}: {alert}"
        );
        assert!(alert["message"].as_str().unwrap().contains("0.0246 USD"), "{backend}: {alert}");
        let (_, body) = http(&address, "GET", "/v1/alerts", Some(&token), "");
        let alerts = json(&body);
        assert_eq!(alerts.as_array().unwrap().len(), 1, "{backend}: {body}");
        assert_eq!((alerts[0]["attempts"].as_i64(), alerts[0]["delivered"].as_bool()), (Some(3), Some(true)));

        // Half of April's records have no rate (+999 has none): the unrated-share rule fires,
        // once per period, for April.
        post(&event("b1", "+14155550100", "2026-04-02T11:00:00Z", "61"));
        post(&event("b2", "+99912345", "2026-04-02T11:00:00Z", "61"));
        assert!(wait_for(20, || received.lock().unwrap().len() >= 4), "{backend}");
        let fourth = json(&received.lock().unwrap()[3].1);
        assert_eq!((fourth["subject"].as_str(), fourth["period"].as_str()), (Some("carrier:acme"), Some("2026-04")));
        assert!(fourth["rule"].as_str().unwrap().starts_with("unrated_share_over"), "{fourth}");

        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}

/// Issue 11, item 10: a record_id repeated inside one batch with other content is a conflict
/// (`rejected`, no rating), as between batches; with the same content, a `duplicate`.
#[test]
fn issue11_a_repeated_id_inside_one_batch_with_other_content_is_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = start_server(&url);
        // x: 10 s to 1 (0.0040/60, 60/60) -> 60 s, 0.004 USD; the repeat says 900 s (0.06).
        // y: repeated with the same content: a duplicate, rated like the first.
        let batch = format!(
            "[{},{},{},{}]",
            event("x", "+14155550100", "2026-03-02T10:00:00Z", "10"),
            event("x", "+14155550100", "2026-03-02T10:00:00Z", "900"),
            event("y", "+14155550100", "2026-03-02T10:00:00Z", "10"),
            event("y", "+14155550100", "2026-03-02T10:00:00Z", "10"),
        );
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch);
        assert_eq!(status, 200, "{backend}: {body}");
        let report = json(&body);
        assert_eq!(
            (report["accepted"].as_u64(), report["duplicates"].as_u64(), report["rejected"].as_u64()),
            (Some(2), Some(1), Some(1)),
            "{backend}: {body}"
        );
        let second = &report["results"][1];
        assert_eq!(second["status"], "rejected", "{backend}: {body}");
        assert!(second["reason"].as_str().unwrap().contains("conflict"), "{backend}: {body}");
        assert!(second.get("cost").is_none(), "{backend}: no rating of content never stored: {body}");
        assert_eq!(
            (report["results"][3]["status"].as_str(), report["results"][3]["cost"].as_str()),
            (Some("duplicate"), Some("0.004"))
        );
        // The stored x is the first: its 10 s, 0.004 USD in the accruals (x + y = 0.008).
        let reader = run_ok(&["apikey", "create", "--scope", "read", "--database-url", &url]).trim().to_owned();
        let (_, body) = http(
            &address,
            "GET",
            "/v1/accruals?carrier=acme&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=service",
            Some(&reader),
            "",
        );
        assert_eq!(json(&body)["groups"][0]["cost"], "0.008", "{backend}: {body}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}

/// Issue 11, item 11: a month that crossed a `spend_over` threshold is still checked after the
/// service is killed (SIGKILL) within its check interval: the month waits in the ledger.
#[test]
fn issue11_a_month_waiting_for_its_alert_check_survives_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    let rules = dir.path().join("alerts.csv");
    std::fs::write(&rules, "rule,subject,threshold\nspend_over,carrier:acme,0.02\n").unwrap();
    let rules = rules.display().to_string();
    // Ten minutes: no check happens while the first server runs.
    let arguments = ["--alerts", rules.as_str(), "--alert-interval-ms", "600000"];
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest,read", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = start_server_with(&url, &arguments);
        // 0.0166 + 0.008 = 0.0246 USD in March: over 0.02.
        let batch = format!(
            "[{},{}]",
            event("a1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"),
            event("a2", "+14155550100", "2026-03-02T11:00:00Z", "61")
        );
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch);
        assert!(status == 200 && body.contains("\"accepted\":2"), "{backend}: {body}");
        assert_eq!(crate::ledger::count(&url, "alert_pending_months"), 1, "{backend}: March waits");
        assert_eq!(json(&http(&address, "GET", "/v1/alerts", Some(&token), "").1), serde_json::json!([]));
        server.kill().unwrap(); // SIGKILL, within the interval
        server.wait().unwrap();

        let (mut server, address) = start_server_with(&url, &arguments);
        let fired = || json(&http(&address, "GET", "/v1/alerts", Some(&token), "").1).as_array().unwrap().len() == 1;
        assert!(wait_for(20, fired), "{backend}: the alert fires after the restart");
        let alerts = json(&http(&address, "GET", "/v1/alerts", Some(&token), "").1);
        assert_eq!(
            (alerts[0]["period"].as_str(), alerts[0]["subject"].as_str()),
            (Some("2026-03"), Some("carrier:acme"))
        );
        assert!(alerts[0]["message"].as_str().unwrap().contains("0.0246 USD"), "{backend}: {alerts}");
        assert!(wait_for(5, || crate::ledger::count(&url, "alert_pending_months") == 0), "{backend}: checked, cleared");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}

/// Issue 11, item 14: events go through the file reader's field parsers (quantity `1_000` and
/// `1e3` refused, `network` checked), and the bearer scheme is case-insensitive.
#[test]
fn issue11_events_are_read_by_the_file_parsers_and_the_scheme_is_case_insensitive() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
    let (mut server, address) = start_server(&url);
    let with_network = |id: &str, network: &str| {
        event(id, "+14155550100", "2026-03-02T10:00:00Z", "10").replace('}', &format!(r#","network":"{network}"}}"#))
    };
    let batch = format!(
        "[{},{},{},{},{}]",
        event("q1", "+14155550100", "2026-03-02T10:00:00Z", "1_000"),
        event("q2", "+14155550100", "2026-03-02T10:00:00Z", "1e3"),
        with_network("n1", "vodafone"),
        with_network("n2", "23410"),
        event("q3", "+14155550100", "2026-03-02T10:00:00Z", "1000"),
    );
    for scheme in ["bearer", "BEARER", "Bearer"] {
        let (status, body) = http_authorized(&address, "POST", "/v1/usage", Some(&format!("{scheme} {token}")), &batch);
        assert_eq!(status, 200, "{scheme}: {body}");
        if scheme == "bearer" {
            let report = json(&body);
            assert_eq!((report["accepted"].as_u64(), report["rejected"].as_u64()), (Some(2), Some(3)), "{body}");
            let reason = |index: usize| report["results"][index]["reason"].as_str().unwrap_or("").to_owned();
            // The file reader's own words for each field.
            assert!(reason(0).starts_with("event 0: field quantity: \"1_000\" is not a decimal number"), "{body}");
            assert!(reason(1).starts_with("event 1: field quantity: \"1e3\" is not a decimal number"), "{body}");
            assert!(reason(2).contains("field network: \"vodafone\" is not a mobile network"), "{body}");
        }
    }
    assert_eq!(http_authorized(&address, "POST", "/v1/usage", Some(&format!("Basic {token}")), "[]").0, 401);
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(server.wait().unwrap().success());
}
