//! The NATS JetStream source against the machine's NATS server: events published (some twice,
//! some while the service is down, one message that is not JSON) are each stored exactly once.

use crate::ledger::{block_on, count, ledger_urls, run_ok};
use crate::serve::{event, http, json, start_server_with, wait_for};
use std::process::Command;

pub const NATS_URL: &str = "nats://127.0.0.1:4222";

/// Publishes each payload to JetStream and waits for the server's acknowledgement.
pub fn publish(subject: &str, payloads: &[String]) {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.expect("the machine's NATS server answers");
        let jetstream = async_nats::jetstream::new(client);
        for payload in payloads {
            jetstream.publish(subject.to_owned(), payload.clone().into()).await.unwrap().await.unwrap();
        }
    });
}

pub fn delete_stream(stream: &str) {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.expect("the machine's NATS server answers");
        let _ = async_nats::jetstream::new(client).delete_stream(stream).await;
    });
}

#[test]
fn jetstream_events_are_stored_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let rates = crate::fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        let tag = format!("{}{}", std::process::id(), backend);
        let (stream, subject) = (format!("RECKON_TEST_{tag}"), format!("usage.test{tag}"));
        delete_stream(&stream);
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let nats_arguments = [
            "--nats",
            NATS_URL,
            "--subject",
            &format!("{subject}.>"),
            "--nats-stream",
            &stream,
            "--nats-durable",
            "reckon",
        ];
        let (mut server, _) = start_server_with(&url, &nats_arguments);

        // 40 single events, the first 10 published twice, one batch of 5 in one message, and a
        // message that is not JSON: 45 distinct events.
        let single = |index: usize| event(&format!("n{index}"), "+14155550100", "2026-03-02T11:00:00Z", "61");
        let mut payloads: Vec<String> = (0..40).map(single).collect();
        payloads.extend((0..10).map(single));
        let batch: Vec<String> = (40..45).map(single).collect();
        payloads.push(format!("[{}]", batch.join(",")));
        payloads.push("not json".to_owned());
        publish(&format!("{subject}.acme"), &payloads);
        assert!(wait_for(30, || count(&url, "usage_records") == 45), "{backend}: {}", count(&url, "usage_records"));

        // Stopped, more is published (and one repeat); restarted, the durable consumer resumes.
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
        publish(&format!("{subject}.acme"), &[single(45), single(46), single(0)]);
        let (mut server, _) = start_server_with(&url, &nats_arguments);
        assert!(wait_for(30, || count(&url, "usage_records") == 47), "{backend}: {}", count(&url, "usage_records"));
        // Redelivery has nothing left to bring: still 47 after a while.
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(count(&url, "usage_records"), 47, "{backend}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
        delete_stream(&stream);
    }
}

/// The largest and total `rows_count` of the ingest transactions.
fn ingest_batches(url: &str) -> (i64, i64) {
    block_on(async {
        use sqlx::Connection;
        let query = "SELECT MAX(rows_count), CAST(SUM(rows_count) AS BIGINT) FROM import_batches WHERE kind = 'ingest'";
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_as::<_, (i64, i64)>(query).fetch_one(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as::<_, (i64, i64)>(query).fetch_one(&mut connection).await.unwrap()
        }
    })
}

/// Messages held by a stream.
fn stream_messages(stream: &str) -> u64 {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.unwrap();
        let mut stream = async_nats::jetstream::new(client).get_stream(stream).await.unwrap();
        stream.info().await.unwrap().state.messages
    })
}

/// Issue 11, items 13 and 10: one fetch is stored in transactions of at most 10,000 events;
/// bad events (a field that does not parse, a conflict inside one fetch, a message that is not
/// JSON or over the cap) go to the dead-letter subject and to the ledger, where an operator lists
/// and replays them.
#[test]
fn issue11_nats_holds_the_event_cap_and_dead_letters_bad_events() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        let tag = format!("{}{}cap", std::process::id(), backend);
        let (stream, subject, dead) =
            (format!("RECKON_TEST_{tag}"), format!("usage.test{tag}"), format!("reckon.dead.test{tag}"));
        let dead_stream = format!("RECKON_DEAD_{tag}");
        delete_stream(&stream);
        delete_stream(&dead_stream);
        // The usage stream, as the service creates it, to publish before it starts; and a stream
        // that keeps what is published to the dead-letter subject, to count it.
        block_on(async {
            let client = async_nats::connect(NATS_URL).await.unwrap();
            let context = async_nats::jetstream::new(client);
            for (name, subjects) in [(&stream, format!("{subject}.>")), (&dead_stream, dead.clone())] {
                context
                    .create_stream(async_nats::jetstream::stream::Config {
                        name: name.clone(),
                        subjects: vec![subjects],
                        ..Default::default()
                    })
                    .await
                    .unwrap();
            }
        });
        let token = run_ok(&["apikey", "create", "--scope", "admin", "--database-url", &url]).trim().to_owned();
        // Published before the service starts, so that one fetch takes them all.
        let array = |from: usize, count: usize| {
            let events: Vec<String> = (from..from + count)
                .map(|index| event(&format!("c{index}"), "+14155550100", "2026-03-02T11:00:00Z", "61"))
                .collect();
            format!("[{}]", events.join(","))
        };
        let mut payloads: Vec<String> = (0..3).map(|round| array(round * 4_000, 4_000)).collect();
        // Over the cap (10,001 events, empty ones to stay under NATS's 1 MB): refused whole.
        payloads.push(format!("[{}]", vec!["{}"; 10_001].join(",")));
        payloads.push(event("x", "+14155550100", "2026-03-02T11:00:00Z", "10"));
        payloads.push(event("x", "+14155550100", "2026-03-02T11:00:00Z", "900")); // conflict
        payloads.push(event("q", "+14155550100", "2026-03-02T11:00:00Z", "1e3")); // bad field
        payloads.push("not json".to_owned());
        publish(&format!("{subject}.acme"), &payloads);
        let nats_arguments = [
            "--nats",
            NATS_URL,
            "--subject",
            &format!("{subject}.>"),
            "--nats-stream",
            &stream,
            "--nats-dead-letter",
            &dead,
            "--nats-ack-wait-ms",
            "5000",
        ];
        let (mut server, address) = start_server_with(&url, &nats_arguments);
        // 12,000 + x = 12,001 events stored.
        assert!(wait_for(60, || count(&url, "usage_records") == 12_001), "{backend}: {}", count(&url, "usage_records"));
        assert!(wait_for(10, || count(&url, "rejected_events") == 4), "{backend}: {}", count(&url, "rejected_events"));
        let (largest, total) = ingest_batches(&url);
        // 3 x 4,000 and the two x that parse, in transactions of at most 10,000 events (one
        // fetch takes them all: 8,000 then 4,002).
        assert!(largest <= 10_000, "{backend}: a transaction of {largest} events");
        assert_eq!(total, 12_002, "{backend}");
        assert!(wait_for(10, || stream_messages(&dead_stream) == 4), "{backend}: {}", stream_messages(&dead_stream));

        let (status, body) = http(&address, "GET", "/v1/rejected", Some(&token), "");
        assert_eq!(status, 200, "{backend}: {body}");
        let rejected = json(&body);
        let reasons: Vec<&str> = rejected.as_array().unwrap().iter().map(|r| r["reason"].as_str().unwrap()).collect();
        assert!(reasons.iter().any(|reason| reason.contains("10001 events in one message")), "{reasons:?}");
        assert!(reasons.iter().any(|reason| reason.contains("conflict")), "{reasons:?}");
        assert!(reasons.iter().any(|reason| reason.contains("field quantity: \"1e3\"")), "{reasons:?}");
        assert!(reasons.iter().any(|reason| reason.contains("not JSON")), "{reasons:?}");
        // The conflict, replayed as is, is rejected again; once a correction stored that
        // content, its replay finds it stored and marks it replayed.
        let conflict = rejected.as_array().unwrap().iter().find(|r| r["reason"].as_str().unwrap().contains("conflict"));
        let conflict_id = conflict.unwrap()["rejected_id"].as_str().unwrap().to_owned();
        let replay = format!("/v1/rejected/{conflict_id}/replay");
        let (status, body) = http(&address, "POST", &replay, Some(&token), "");
        assert_eq!((status, json(&body)["status"].as_str()), (200, Some("rejected")), "{backend}: {body}");
        let correction = event("x", "+14155550100", "2026-03-02T11:00:00Z", "900");
        assert_eq!(http(&address, "POST", "/v1/usage/corrections", Some(&token), &correction).0, 200);
        let (status, body) = http(&address, "POST", &replay, Some(&token), "");
        assert_eq!((status, json(&body)["status"].as_str()), (200, Some("duplicate")), "{backend}: {body}");
        let (_, body) = http(&address, "GET", "/v1/rejected?pending=true", Some(&token), "");
        assert_eq!(json(&body).as_array().unwrap().len(), 3, "{backend}: {body}");
        assert_eq!(http(&address, "POST", "/v1/rejected/nope/replay", Some(&token), "").0, 404, "{backend}");

        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
        delete_stream(&stream);
        delete_stream(&dead_stream);
    }
}
