//! `reckon serve` end to end: the real server on a loopback port over a real SQLite file and the
//! machine's PostgreSQL, driven over HTTP: keys and scopes, ingest with duplicates, conflicts and
//! a bad field, an oversized body, accruals equal to batch rating, and a clean SIGTERM.

use crate::ledger::{ledger_urls, run_ok};
use crate::{fixtures, read_csv};
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};

/// One HTTP/1.1 request on a fresh connection: `(status, body)`.
fn http(address: &str, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    let authorization = token.map(|token| format!("Authorization: Bearer {token}\r\n")).unwrap_or_default();
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

fn event(id: &str, destination: &str, at: &str, quantity: &str) -> String {
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
        let rated = dir.path().join("rated.csv");
        run_ok(&[
            "rate",
            "--usage",
            &usage.display().to_string(),
            "--rates",
            &rates,
            "--out",
            &rated.display().to_string(),
        ]);
        let batch_total: rust_decimal::Decimal =
            read_csv(&rated)[1..].iter().map(|row| row[10].parse::<rust_decimal::Decimal>().unwrap()).sum();
        assert_eq!(
            accruals["groups"][0]["cost"].as_str().unwrap().parse::<rust_decimal::Decimal>().unwrap(),
            batch_total,
            "{backend}"
        );

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
fn start_server(url: &str) -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO_BIN_EXE_reckon"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
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
