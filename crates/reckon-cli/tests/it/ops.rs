//! The service's operations end to end (issue 15): Prometheus `/metrics` in a valid exposition
//! with the events and requests counted, `/readyz` answering 503 with what failed, the JSON
//! access log, per-key rate limits, HTTPS with rustls, and signed webhooks over https, each
//! against the real binary, a real ledger and (where used) the machine's NATS server.

use crate::ledger::{execute_sql, fresh_postgres, ledger_urls, postgres_base, run_ok};
use crate::nats::{delete_stream, publish, NATS_URL};
use crate::serve::{event, http, json, start_server_with, wait_for, Server};
use crate::{fixtures, text};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

fn stop(mut server: Server, backend: &str) {
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(server.wait().unwrap().success(), "{backend}");
}

/// One request on a fresh connection: `(status, headers in lower case, body)`.
fn http_with_headers(address: &str, path: &str, token: &str) -> (u16, HashMap<String, String>, String) {
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nAuthorization: Bearer {token}\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    parse_response(&response)
}

fn parse_response(response: &str) -> (u16, HashMap<String, String>, String) {
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((response, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|line| line.split_whitespace().nth(1)).unwrap_or("0").parse().unwrap();
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    (status, headers, body.to_owned())
}

/// The samples of an OpenMetrics text, checked line by line against the format: `# TYPE`,
/// `# HELP` and `# UNIT` lines, samples `name{label="value",...} number`, and `# EOF` last.
/// Returns each sample's name with its labels (as written) and its value.
fn parse_exposition(text: &str) -> HashMap<String, f64> {
    let mut samples = HashMap::new();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.last(), Some(&"# EOF"), "the exposition ends with # EOF:\n{text}");
    let name_ok = |name: &str| {
        !name.is_empty()
            && name
                .chars()
                .enumerate()
                .all(|(index, c)| c.is_ascii_alphabetic() || c == '_' || c == ':' || (index > 0 && c.is_ascii_digit()))
    };
    for line in &lines[..lines.len() - 1] {
        if let Some(comment) = line.strip_prefix("# ") {
            let mut words = comment.splitn(3, ' ');
            let (kind, name) = (words.next().unwrap(), words.next().unwrap_or(""));
            assert!(["TYPE", "HELP", "UNIT"].contains(&kind) && name_ok(name), "bad comment line: {line}");
            if kind == "TYPE" {
                let metric_type = words.next().unwrap_or("");
                assert!(["counter", "gauge", "histogram", "info", "unknown"].contains(&metric_type), "{line}");
            }
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap_or_else(|| panic!("a sample has a value: {line}"));
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            other => other.parse().unwrap_or_else(|_| panic!("not a number in {line}")),
        };
        let name = series.split('{').next().unwrap();
        assert!(name_ok(name), "bad metric name in {line}");
        if let Some(labels) = series.strip_prefix(name) {
            if !labels.is_empty() {
                let inner = labels.strip_prefix('{').and_then(|rest| rest.strip_suffix('}')).unwrap();
                for pair in inner.split("\",").filter(|pair| !pair.is_empty()) {
                    let (label, quoted) = pair.split_once('=').unwrap_or_else(|| panic!("bad label in {line}"));
                    assert!(name_ok(label) && quoted.starts_with('"'), "bad label in {line}");
                }
            }
        }
        assert!(samples.insert(series.to_owned(), value).is_none(), "a series twice: {line}");
    }
    samples
}

/// A self-signed certificate for localhost and 127.0.0.1, with its key: `(cert.pem, key.pem)`.
fn self_signed(dir: &Path, name: &str) -> (String, String) {
    let (cert, key) = (dir.join(format!("{name}-cert.pem")), dir.join(format!("{name}-key.pem")));
    let output = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2"])
        .args(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .args(["-addext", "basicConstraints=critical,CA:FALSE", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("the openssl command runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
    (cert.display().to_string(), key.display().to_string())
}

fn ring_provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn pem_certificates(path: &str) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject;
    rustls::pki_types::CertificateDer::pem_file_iter(path).unwrap().map(Result::unwrap).collect()
}

/// One HTTPS request to `address` trusting only the certificate in `ca`: `(status, body)`.
fn https_get(address: &str, path: &str, ca: &str) -> Result<(u16, String), String> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in pem_certificates(ca) {
        roots.add(certificate).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(Arc::new(config), name).unwrap();
    let mut stream = rustls::StreamOwned::new(connection, std::net::TcpStream::connect(address).unwrap());
    write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    // The server may close without a close_notify once the response is complete.
    if let Err(error) = stream.read_to_end(&mut response) {
        if response.is_empty() {
            return Err(error.to_string());
        }
    }
    let (status, _, body) = parse_response(&String::from_utf8_lossy(&response));
    Ok((status, body))
}

#[test]
fn metrics_count_events_by_outcome_and_requests_by_route_in_a_valid_exposition() {
    let dir = tempfile::tempdir().unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
        let (server, address) = start_server_with(&url, &[]);
        // Batch 1: m1, m2 accepted, m3 refused (bad instant). Batch 2: m1 again (duplicate),
        // m2 with another quantity (conflict). 3 requests to /v1/usage answered 200, and one
        // without a key answered 401.
        let first = format!(
            "[{},{},{}]",
            event("m1", "+442071234567", "2026-03-02T10:00:00Z", "60"),
            event("m2", "+14155550100", "2026-03-02T11:00:00Z", "61"),
            event("m3", "+14155550100", "yesterday", "1")
        );
        assert_eq!(http(&address, "POST", "/v1/usage", Some(&token), &first).0, 200, "{backend}");
        let second = format!(
            "[{},{}]",
            event("m1", "+442071234567", "2026-03-02T10:00:00Z", "60"),
            event("m2", "+14155550100", "2026-03-02T11:00:00Z", "62")
        );
        assert_eq!(http(&address, "POST", "/v1/usage", Some(&token), &second).0, 200, "{backend}");
        assert_eq!(http(&address, "POST", "/v1/usage", Some(&token), "[]").0, 200, "{backend}");
        assert_eq!(http(&address, "POST", "/v1/usage", None, "[]").0, 401, "{backend}");

        let (status, headers, body) = http_with_headers(&address, "/metrics", "");
        assert_eq!(status, 200, "{backend}: {body}");
        assert!(headers["content-type"].starts_with("application/openmetrics-text"), "{headers:?}");
        let samples = parse_exposition(&body);
        let value = |series: &str| samples.get(series).copied().unwrap_or_else(|| panic!("{series} missing:\n{body}"));
        assert_eq!(value(r#"reckon_events_total{source="http",outcome="accepted"}"#), 2.0, "{backend}");
        assert_eq!(value(r#"reckon_events_total{source="http",outcome="duplicate"}"#), 1.0, "{backend}");
        assert_eq!(value(r#"reckon_events_total{source="http",outcome="rejected"}"#), 2.0, "{backend}");
        assert_eq!(value(r#"reckon_events_rejected_total{source="http",reason="invalid_event"}"#), 1.0);
        assert_eq!(value(r#"reckon_events_rejected_total{source="http",reason="conflict"}"#), 1.0);
        let usage = r#"method="POST",route="/v1/usage",status="#;
        assert_eq!(value(&format!("reckon_http_request_duration_seconds_count{{{usage}\"200\"}}")), 3.0, "{backend}");
        assert_eq!(value(&format!("reckon_http_request_duration_seconds_count{{{usage}\"401\"}}")), 1.0, "{backend}");
        let every_bucket =
            r#"reckon_http_request_duration_seconds_bucket{le="+Inf",method="POST",route="/v1/usage",status="200"}"#;
        assert_eq!(value(every_bucket), 3.0, "{backend}");
        assert!(value("reckon_db_pool_connections") >= 1.0, "{backend}");
        assert!(value("reckon_db_pool_idle_connections") <= value("reckon_db_pool_connections"), "{backend}");
        assert!(!body.contains("reckon_webhook_attempts_total"), "{backend}: no attempt, no series");
        stop(server, backend);
    }
}

#[test]
fn metrics_count_nats_events_and_readyz_reports_the_database_and_nats() {
    let url = fresh_postgres();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    run_ok(&["import", "rates", &rates, "--database-url", &url]);
    let tag = format!("{}ops", std::process::id());
    let (stream, subject) = (format!("RECKON_TEST_{tag}"), format!("usage.test{tag}"));
    delete_stream(&stream);
    let nats_arguments = ["--nats", NATS_URL, "--subject", &format!("{subject}.>"), "--nats-stream", &stream];
    let (server, address) = start_server_with(&url, &nats_arguments);

    let (status, body) = http(&address, "GET", "/readyz", None, "");
    assert_eq!((status, json(&body)), (200, serde_json::json!({"database": "ok", "nats": "ok"})), "{body}");

    // 3 events in two messages and a message that is not JSON.
    publish(
        &format!("{subject}.a"),
        &[
            event("n1", "+442071234567", "2026-03-02T10:00:00Z", "60"),
            format!(
                "[{},{}]",
                event("n2", "+442071234567", "2026-03-02T10:00:00Z", "60"),
                event("n3", "+442071234567", "2026-03-02T10:00:00Z", "60")
            ),
            "not json".to_owned(),
        ],
    );
    let metrics = || parse_exposition(&http(&address, "GET", "/metrics", None, "").1);
    let accepted = r#"reckon_events_total{source="nats",outcome="accepted"}"#;
    assert!(wait_for(20, || metrics().get(accepted) == Some(&3.0)), "{:?}", metrics());
    let samples = metrics();
    assert_eq!(samples[r#"reckon_events_rejected_total{source="nats",reason="not_json"}"#], 1.0);
    assert_eq!(samples["reckon_nats_pending_messages"], 0.0, "every message fetched");
    assert_eq!(samples["reckon_nats_redeliveries_total"], 0.0);

    // The database refuses connections and the pool's are ended: not ready, saying why.
    let database = url.rsplit('/').next().unwrap().to_owned();
    let admin_url = postgres_base();
    execute_sql(&admin_url, &format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS false")).unwrap();
    execute_sql(
        &admin_url,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'"),
    )
    .unwrap();
    let (status, body) = http(&address, "GET", "/readyz", None, "");
    assert_eq!(status, 503, "{body}");
    let readiness = json(&body);
    assert_ne!(readiness["database"], "ok", "{body}");
    assert_eq!(readiness["nats"], "ok", "{body}");
    assert_eq!(http(&address, "GET", "/healthz", None, "").0, 200, "still alive");
    execute_sql(&admin_url, &format!("ALTER DATABASE \"{database}\" ALLOW_CONNECTIONS true")).unwrap();
    assert!(wait_for(10, || http(&address, "GET", "/readyz", None, "").0 == 200), "ready again");
    stop(server, "postgres");
    delete_stream(&stream);
}

#[test]
fn the_json_access_log_names_route_status_and_key_but_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let token = run_ok(&["apikey", "create", "--scope", "read", "--database-url", &url]).trim().to_owned();
    let key_id = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')).unwrap().0.to_owned();
    let log = dir.path().join("serve.log");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_reckon"))
            .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &url, "--log-format", "json"])
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let address = line.trim().strip_prefix("listening on ").unwrap().to_owned();
    assert_eq!(http(&address, "GET", "/v1/alerts", Some(&token), "").0, 200);
    assert_eq!(http(&address, "GET", "/v1/disputes/d-404", Some(&token), "").0, 404);
    stop(server, "sqlite");

    let written = std::fs::read_to_string(&log).unwrap();
    assert!(!written.contains(&token), "the token is never logged:\n{written}");
    let lines: Vec<serde_json::Value> = written.lines().map(json).collect();
    let access: Vec<&serde_json::Value> = lines.iter().filter(|line| line["target"] == "reckon::access").collect();
    assert_eq!(access.len(), 2, "{written}");
    assert_eq!(
        (access[0]["method"].as_str(), access[0]["route"].as_str(), access[0]["status"].as_u64()),
        (Some("GET"), Some("/v1/alerts"), Some(200)),
        "{written}"
    );
    assert_eq!(access[0]["key_id"].as_str(), Some(key_id.as_str()), "{written}");
    assert_eq!(access[0]["level"], "INFO", "{written}");
    assert!(access[0]["latency_ms"].as_f64().is_some() && access[0]["timestamp"].is_string(), "{written}");
    assert_eq!(
        (access[1]["route"].as_str(), access[1]["path"].as_str(), access[1]["status"].as_u64()),
        (Some("/v1/disputes/{dispute_id}"), Some("/v1/disputes/d-404"), Some(404)),
        "{written}"
    );
}

#[test]
fn a_key_over_its_rate_is_answered_429_with_retry_after_and_other_keys_are_not() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        let key = || run_ok(&["apikey", "create", "--scope", "read", "--database-url", &url]).trim().to_owned();
        let (busy, calm) = (key(), key());
        // One request every 5 s, 2 at once: the third in a row finds the bucket empty and is
        // told to wait (1 - 0 tokens) / 0.2 per second = 5 s at most.
        let (server, address) = start_server_with(&url, &["--key-rate-limit", "0.2", "--key-burst", "2"]);
        assert_eq!(http_with_headers(&address, "/v1/alerts", &busy).0, 200, "{backend}");
        assert_eq!(http_with_headers(&address, "/v1/alerts", &busy).0, 200, "{backend}");
        let (status, headers, body) = http_with_headers(&address, "/v1/alerts", &busy);
        assert_eq!(status, 429, "{backend}: {body}");
        let retry_after: u64 = headers["retry-after"].parse().unwrap();
        assert!((1..=5).contains(&retry_after), "{backend}: {headers:?}");
        assert!(json(&body)["error"].as_str().unwrap().contains("rate limit"), "{backend}: {body}");
        // Another key has its own bucket; an unknown key is refused before any bucket.
        assert_eq!(http_with_headers(&address, "/v1/alerts", &calm).0, 200, "{backend}");
        assert_eq!(http_with_headers(&address, "/v1/alerts", "rk_nope_nope").0, 401, "{backend}");
        let samples = parse_exposition(&http(&address, "GET", "/metrics", None, "").1);
        assert_eq!(samples["reckon_http_rate_limited_total"], 1.0, "{backend}");
        stop(server, backend);
    }
}

#[test]
fn https_with_the_given_certificate_serves_a_client_that_trusts_it() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let (cert, key) = self_signed(dir.path(), "server");
    let (server, address) = start_server_with(&url, &["--tls-cert", &cert, "--tls-key", &key]);
    assert_eq!(https_get(&address, "/healthz", &cert), Ok((200, "ok\n".to_owned())));
    let (status, body) = https_get(&address, "/readyz", &cert).unwrap();
    assert_eq!((status, json(&body)["database"].as_str()), (200, Some("ok")), "{body}");
    // Plain HTTP on the TLS port gets no HTTP answer.
    let mut plain = std::net::TcpStream::connect(&address).unwrap();
    write!(plain, "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    let _ = plain.read_to_end(&mut answer);
    assert!(!answer.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&answer));
    // A client that does not trust the certificate refuses it.
    let (other_cert, _) = self_signed(dir.path(), "other");
    assert!(https_get(&address, "/healthz", &other_cert).is_err());
    stop(server, "sqlite");

    // A key that is not the certificate's is refused at start, naming the files.
    let (_, other_key) = self_signed(dir.path(), "third");
    let output = Command::new(env!("CARGO_BIN_EXE_reckon"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            &url,
            "--tls-cert",
            &cert,
            "--tls-key",
            &other_key,
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("server-cert.pem"), "{}", text(&output.stderr));
}

/// Verifies a `Reckon-Signature` header as a receiver would (the recipe in FORMATS.md), with
/// an HMAC implementation of its own: the timestamp within `window_seconds` of `now`, and the
/// HMAC-SHA256 of "<t>.<body>" equal, compared in constant time.
fn verify_signature(secret: &str, header: &str, body: &[u8], now: i64, window_seconds: i64) -> Result<(), String> {
    use hmac::Mac;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.push(value.to_owned()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or("no timestamp")?;
    if (now - timestamp).abs() > window_seconds {
        return Err(format!("timestamp {timestamp} outside the window around {now}"));
    }
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.").as_bytes());
    mac.update(body);
    for signature in signatures {
        let bytes: Vec<u8> = (0..signature.len() / 2)
            .filter_map(|index| u8::from_str_radix(signature.get(index * 2..index * 2 + 2)?, 16).ok())
            .collect();
        if mac.clone().verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err("no signature matches".to_owned())
}

/// What a webhook receiver got: each request's `Reckon-Signature` header and body.
type SignedDeliveries = Arc<std::sync::Mutex<Vec<(String, Vec<u8>)>>>;

/// A webhook receiver over TLS with the certificate `(cert, key)`: records each request's
/// `Reckon-Signature` header and body, and answers 200.
fn tls_webhook_receiver(cert: &str, key: &str) -> (String, SignedDeliveries) {
    use rustls::pki_types::pem::PemObject;
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(ring_provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(pem_certificates(cert), key)
        .unwrap();
    let config = Arc::new(config);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = received.clone();
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let connection = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(connection, tcp.unwrap());
            let mut head = Vec::new();
            let mut byte = [0u8];
            while !head.ends_with(b"\r\n\r\n") {
                if stream.read(&mut byte).unwrap_or(0) == 0 {
                    break;
                }
                head.push(byte[0]);
            }
            let head = String::from_utf8_lossy(&head).to_string();
            let header = |name: &str| {
                head.lines()
                    .filter_map(|line| line.split_once(':'))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case(name))
                    .map(|(_, value)| value.trim().to_owned())
            };
            let length: usize = header("content-length").and_then(|value| value.parse().ok()).unwrap_or(0);
            let mut body = vec![0; length];
            if stream.read_exact(&mut body).is_err() {
                continue;
            }
            log.lock().unwrap().push((header("reckon-signature").unwrap_or_default(), body));
            let _ = write!(stream, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
            stream.conn.send_close_notify();
            let _ = stream.flush();
        }
    });
    (format!("https://localhost:{port}/hooks/reckon"), received)
}

#[test]
fn webhooks_go_over_https_signed_and_the_receiver_verifies_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    run_ok(&["import", "rates", &fixtures().join("basic/rates.csv").display().to_string(), "--database-url", &url]);
    let token = run_ok(&["apikey", "create", "--scope", "ingest", "--database-url", &url]).trim().to_owned();
    let rules = dir.path().join("alerts.csv");
    // acme's March spend over 0.01 USD: 0.0166 USD fires it.
    std::fs::write(&rules, "rule,subject,threshold\nspend_over,carrier:acme,0.01\n").unwrap();
    let secret_file = dir.path().join("webhook.secret");
    let secret = "whsec-test-3f9a";
    std::fs::write(&secret_file, format!("{secret}\n")).unwrap();
    let (cert, key) = self_signed(dir.path(), "receiver");
    let (hook, received) = tls_webhook_receiver(&cert, &key);
    let (server, address) = start_server_with(
        &url,
        &[
            "--alerts",
            &rules.display().to_string(),
            "--webhook",
            &hook,
            "--webhook-ca",
            &cert,
            "--webhook-secret-file",
            &secret_file.display().to_string(),
            "--alert-interval-ms",
            "100",
        ],
    );
    let (status, _) = http(
        &address,
        "POST",
        "/v1/usage",
        Some(&token),
        &event("w1", "+442071234567", "2026-03-02T10:00:00Z", "75.2"),
    );
    assert_eq!(status, 200);
    assert!(wait_for(20, || !received.lock().unwrap().is_empty()), "no delivery over https");
    let samples = parse_exposition(&http(&address, "GET", "/metrics", None, "").1);
    assert_eq!(samples[r#"reckon_webhook_attempts_total{outcome="delivered"}"#], 1.0);
    stop(server, "sqlite");

    let (signature, body) = received.lock().unwrap()[0].clone();
    assert!(signature.starts_with("t=") && signature.contains(",v1="), "{signature}");
    assert_eq!(json(&String::from_utf8_lossy(&body))["subject"], "carrier:acme");
    let now = jiff::Timestamp::now().as_second();
    assert_eq!(verify_signature(secret, &signature, &body, now, 300), Ok(()));
    // A tampered body, another secret, or a replay past the window are refused.
    let mut tampered = body.clone();
    tampered.extend_from_slice(b" ");
    assert!(verify_signature(secret, &signature, &tampered, now, 300).is_err());
    assert!(verify_signature("another secret", &signature, &body, now, 300).is_err());
    assert!(verify_signature(secret, &signature, &body, now + 3600, 300).is_err());
}
