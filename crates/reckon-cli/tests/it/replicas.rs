//! Issue 15: replicas of `reckon serve` on one PostgreSQL ledger and one JetStream stream.
//!
//! Goal: three replicas take HTTP batches and share one durable consumer; one is killed with
//! SIGKILL mid-stream and restarted. Every acknowledged event is stored exactly once, every
//! message is processed once, each alert is delivered once, and the accruals every replica
//! answers equal `reckon rate` over the same events; a deck imported by the CLI reaches every
//! replica's cache. On SQLite, `serve` refuses a second process and `--replica-id`.
//!
//! Method: a client thread sends batches round-robin to the replicas, and sends a batch whose
//! replica fails to the next one (as a load balancer retries); a publisher puts messages on the
//! stream before and after the kill, some twice; a local webhook receiver counts deliveries per
//! alert. Leases and the consumer's ack wait are short, so that a dead replica's alert duties
//! and messages pass to the others within seconds.

use crate::ledger::{block_on, count, fresh_postgres, reckon_on, run_ok};
use crate::nats::{delete_stream, publish, NATS_URL};
use crate::serve::{json, start_server_with, wait_for, webhook_receiver, Server};
use crate::{fixtures, read_csv};
use std::io::{Read, Write};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const REPLICAS: usize = 3;
const HTTP_BATCHES: usize = 60;
const HTTP_BATCH_EVENTS: usize = 200;
const NATS_MESSAGES: usize = 100;
const NATS_MESSAGE_EVENTS: usize = 40;
/// Months Feb to Jul 2026 (the fixture's rates start on 30 January).
const MONTHS: usize = 6;

/// Event `n` of a family (`h`: HTTP, `n`: NATS): spread over six months, two destinations and
/// many quantities, so that every month has an alert and accruals have many days.
fn event(family: &str, n: usize) -> (String, String) {
    let month = 2 + n % MONTHS;
    let day = 1 + (n / MONTHS) % 28;
    let hour = n % 24;
    let destination = if n % 2 == 0 { "+442071234567" } else { "+14155550100" };
    let quantity = 1 + (n * 7) % 300;
    let id = format!("{family}{n}");
    let at = format!("2026-{month:02}-{day:02}T{hour:02}:00:00Z");
    let json = format!(
        r#"{{"record_id":"{id}","service":"voice","carrier":"acme","started_at":"{at}","destination":"{destination}","quantity":"{quantity}"}}"#
    );
    let csv = format!("{id},voice,acme,{at},{destination},{quantity}");
    (json, csv)
}

fn batch(family: &str, range: std::ops::Range<usize>) -> String {
    let events: Vec<String> = range.map(|n| event(family, n).0).collect();
    format!("[{}]", events.join(","))
}

/// One HTTP/1.1 request on a fresh connection; `None` when the replica is gone (refused, reset,
/// or closed before a whole answer).
pub fn try_http(address: &str, method: &str, path: &str, token: &str, body: &str) -> Option<(u16, String)> {
    let mut stream = std::net::TcpStream::connect(address).ok()?;
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\nContent-Type: application/json\r\nAuthorization: Bearer {token}\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status: u16 = response.split_whitespace().nth(1)?.parse().ok()?;
    let (_, body) = response.split_once("\r\n\r\n")?;
    Some((status, body.to_owned()))
}

/// The durable consumer's messages not yet delivered and delivered but not acknowledged.
fn consumer_backlog(stream: &str, durable: &str) -> (u64, usize) {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.unwrap();
        let stream = async_nats::jetstream::new(client).get_stream(stream).await.unwrap();
        let mut consumer: async_nats::jetstream::consumer::PullConsumer = stream.get_consumer(durable).await.unwrap();
        let info = consumer.info().await.unwrap();
        (info.num_pending, info.num_ack_pending)
    })
}

pub fn terminate(server: &mut Child) {
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let _ = server.wait();
}

/// The per-day cost and record count of a `rated.csv`.
fn batch_days(rated: &std::path::Path) -> std::collections::BTreeMap<String, (rust_decimal::Decimal, u64)> {
    let rows = read_csv(rated);
    let column = |name: &str| rows[0].iter().position(|header| header == name).unwrap();
    let (started_at, cost) = (column("started_at"), column("cost"));
    let mut days = std::collections::BTreeMap::new();
    for row in &rows[1..] {
        let entry = days.entry(row[started_at][..10].to_owned()).or_insert((rust_decimal::Decimal::ZERO, 0));
        entry.0 += row[cost].parse::<rust_decimal::Decimal>().unwrap();
        entry.1 += 1;
    }
    days
}

/// Each replica's accruals per day over the six months equal the batch rating's.
fn assert_accruals_equal(addresses: &[String], token: &str, rated: &std::path::Path, what: &str) {
    let expected = batch_days(rated);
    for address in addresses {
        let path = "/v1/accruals?carrier=acme&from=2026-02-01T00:00:00Z&to=2026-08-01T00:00:00Z&group_by=day";
        let (status, body) = try_http(address, "GET", path, token, "").expect("the replica answers");
        assert_eq!(status, 200, "{what}: {body}");
        let served: std::collections::BTreeMap<String, (rust_decimal::Decimal, u64)> = json(&body)["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|group| {
                let cost = group["cost"].as_str().unwrap().parse().unwrap();
                (group["key"].as_str().unwrap().to_owned(), (cost, group["records"].as_u64().unwrap()))
            })
            .collect();
        assert_eq!(served, expected, "{what}: replica {address}");
    }
}

#[test]
fn issue15_replicas_store_process_and_alert_once_through_a_kill() {
    let dir = tempfile::tempdir().unwrap();
    let url = fresh_postgres();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    run_ok(&["import", "rates", &rates, "--database-url", &url]);
    let token = run_ok(&["apikey", "create", "--scope", "ingest,read", "--database-url", &url]).trim().to_owned();
    let rules = dir.path().join("alerts.csv");
    // Every month's spend passes 0.01 USD with its first few events: six alerts, one a month.
    std::fs::write(&rules, "rule,subject,threshold\nspend_over,carrier:acme,0.01\n").unwrap();
    let rules = rules.display().to_string();
    let (hook, received) = webhook_receiver(0);
    let tag = format!("{}replicas", std::process::id());
    let (stream, subject) = (format!("RECKON_TEST_{tag}"), format!("usage.test{tag}"));
    delete_stream(&stream);
    let filter = format!("{subject}.>");
    let start = |replica: usize| {
        let name = format!("r{replica}");
        start_server_with(
            &url,
            &[
                "--nats",
                NATS_URL,
                "--subject",
                &filter,
                "--nats-stream",
                &stream,
                "--nats-durable",
                "reckon",
                "--nats-ack-wait-ms",
                "2000",
                "--alerts",
                &rules,
                "--webhook",
                &hook,
                "--alert-interval-ms",
                "200",
                "--lease-ttl-ms",
                "2000",
                "--replica-id",
                &name,
            ],
        )
    };
    let (mut servers, addresses): (Vec<Server>, Vec<String>) = (0..REPLICAS).map(&start).unzip();
    let addresses = Arc::new(Mutex::new(addresses));

    // The client: batch b goes to replica b % 3, and to the next one while it fails.
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let client = {
        let (addresses, acknowledged, token) = (addresses.clone(), acknowledged.clone(), token.clone());
        std::thread::spawn(move || {
            for index in 0..HTTP_BATCHES {
                let body = batch("h", index * HTTP_BATCH_EVENTS..(index + 1) * HTTP_BATCH_EVENTS);
                let mut attempt = 0;
                loop {
                    let address = addresses.lock().unwrap()[(index + attempt) % REPLICAS].clone();
                    match try_http(&address, "POST", "/v1/usage", &token, &body) {
                        Some((200, answer)) => {
                            let report = json(&answer);
                            let stored = report["accepted"].as_u64().unwrap() + report["duplicates"].as_u64().unwrap();
                            assert_eq!(stored, HTTP_BATCH_EVENTS as u64, "batch {index}: {answer}");
                            break;
                        }
                        _ => {
                            attempt += 1;
                            assert!(attempt < 600, "batch {index}: no replica takes it");
                            std::thread::sleep(std::time::Duration::from_millis(20));
                        }
                    }
                }
                acknowledged.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let message = |index: usize| batch("n", index * NATS_MESSAGE_EVENTS..(index + 1) * NATS_MESSAGE_EVENTS);
    let nats_subject = format!("{subject}.acme");
    // The first half of the messages, and the first ten twice.
    let first_half: Vec<String> = (0..NATS_MESSAGES / 2).chain(0..10).map(message).collect();
    publish(&nats_subject, &first_half);

    // Mid-stream: replica 1 is killed, the second half is published, and it is restarted.
    assert!(wait_for(120, || acknowledged.load(Ordering::SeqCst) >= 10), "the client makes progress");
    servers[1].kill().unwrap(); // SIGKILL
    servers[1].wait().unwrap();
    let at_kill = acknowledged.load(Ordering::SeqCst);
    let second_half: Vec<String> = (NATS_MESSAGES / 2..NATS_MESSAGES).map(message).collect();
    publish(&nats_subject, &second_half);
    let (restarted, address) = start(1);
    servers[1] = restarted;
    addresses.lock().unwrap()[1] = address;
    client.join().unwrap();
    assert!(at_kill < HTTP_BATCHES, "the kill must land mid-stream ({at_kill} batches acknowledged)");

    // Every acknowledged event is stored exactly once (the key on record_id allows no second
    // copy; all of them are there), and every message's events too: nothing left pending or
    // unacknowledged on the consumer, nothing dead-lettered.
    let total = (HTTP_BATCHES * HTTP_BATCH_EVENTS + NATS_MESSAGES * NATS_MESSAGE_EVENTS) as i64;
    assert!(wait_for(120, || count(&url, "usage_records") == total), "{} of {total}", count(&url, "usage_records"));
    assert!(
        wait_for(60, || consumer_backlog(&stream, "reckon") == (0, 0)),
        "{:?}",
        consumer_backlog(&stream, "reckon")
    );
    assert_eq!(count(&url, "rejected_events"), 0);
    assert_eq!(count(&url, "usage_records"), total);

    // Each month's alert, once: delivered by one replica, never again by another (a sweep and a
    // lease time later, still once).
    let deliveries = || {
        let mut per_alert = std::collections::BTreeMap::<String, usize>::new();
        for (_, body) in received.lock().unwrap().iter() {
            *per_alert.entry(json(body)["alert_id"].as_str().unwrap().to_owned()).or_default() += 1;
        }
        per_alert
    };
    assert!(wait_for(60, || deliveries().len() == MONTHS), "{:?}", deliveries());
    std::thread::sleep(std::time::Duration::from_secs(5));
    assert!(deliveries().values().all(|&times| times == 1), "{:?}", deliveries());
    let addresses = addresses.lock().unwrap().clone();
    let (_, body) = try_http(&addresses[0], "GET", "/v1/alerts", &token, "").unwrap();
    let alerts = json(&body);
    assert_eq!(alerts.as_array().unwrap().len(), MONTHS, "{body}");
    assert!(
        alerts.as_array().unwrap().iter().all(|alert| alert["attempts"] == 1 && alert["delivered"] == true),
        "{body}"
    );

    // Accruals, from every replica, equal `reckon rate` over the same events.
    let usage = dir.path().join("usage.csv");
    let mut rows = vec!["record_id,service,carrier,started_at,destination,quantity".to_owned()];
    rows.extend((0..HTTP_BATCHES * HTTP_BATCH_EVENTS).map(|n| event("h", n).1));
    rows.extend((0..NATS_MESSAGES * NATS_MESSAGE_EVENTS).map(|n| event("n", n).1));
    std::fs::write(&usage, rows.join("\n") + "\n").unwrap();
    let rate = |rates: &str, out: &std::path::Path| {
        let (usage, out) = (usage.display().to_string(), out.display().to_string());
        run_ok(&["rate", "--usage", &usage, "--rates", rates, "--out", &out]);
    };
    let rated = dir.path().join("rated.csv");
    rate(&rates, &rated);
    assert_accruals_equal(&addresses, &token, &rated, "as ingested");

    // A deck imported by the CLI reaches every replica's cache: acme's voice to 44 at 0.0130,
    // then back to the first deck (a content imported before, which must move the cache too).
    let changed = dir.path().join("rates-changed.csv");
    let original = std::fs::read_to_string(fixtures().join("basic/rates.csv")).unwrap();
    std::fs::write(&changed, original.replace("acme,voice,44,dest 44,0.0120", "acme,voice,44,dest 44,0.0130")).unwrap();
    let changed = changed.display().to_string();
    assert_eq!(reckon_on(&url, &["import", "rates", &changed, "--replace"]).0, Some(0));
    let rated_changed = dir.path().join("rated-changed.csv");
    rate(&changed, &rated_changed);
    assert_ne!(batch_days(&rated_changed), batch_days(&rated), "the change moves the figures");
    assert_accruals_equal(&addresses, &token, &rated_changed, "after the CLI's import");
    assert_eq!(reckon_on(&url, &["import", "rates", &rates, "--replace"]).0, Some(0));
    assert_accruals_equal(&addresses, &token, &rated, "after importing the first deck again");

    for server in &mut servers {
        terminate(server);
    }
    delete_stream(&stream);
}

/// SQLite serves one process: a second `reckon serve` on the same file is refused with the
/// reason, and so is `--replica-id`; the first goes on serving.
#[test]
fn issue15_an_sqlite_ledger_is_served_by_one_process() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    let (mut first, address) = start_server_with(&url, &[]);
    let (code, _, stderr) = reckon_on(&url, &["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("served by another `reckon serve`") && stderr.contains("PostgreSQL"), "{stderr}");
    let (code, _, stderr) = reckon_on(&url, &["serve", "--listen", "127.0.0.1:0", "--replica-id", "r2"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--replica-id \"r2\": replicas need a PostgreSQL ledger"), "{stderr}");
    assert_eq!(crate::serve::http(&address, "GET", "/healthz", None, "").0, 200);
    terminate(&mut first);
    // Once it stopped, the file can be served again.
    let (mut second, address) = start_server_with(&url, &[]);
    assert_eq!(crate::serve::http(&address, "GET", "/healthz", None, "").0, 200);
    terminate(&mut second);
}
