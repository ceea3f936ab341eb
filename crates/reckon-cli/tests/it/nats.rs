//! The NATS JetStream source against the machine's NATS server: events published (some twice,
//! some while the service is down, one message that is not JSON) are each stored exactly once.

use crate::ledger::{count, ledger_urls, run_ok};
use crate::serve::{event, start_server_with, wait_for};
use std::process::Command;

const NATS_URL: &str = "nats://127.0.0.1:4222";

fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Publishes each payload to JetStream and waits for the server's acknowledgement.
fn publish(subject: &str, payloads: &[String]) {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.expect("the machine's NATS server answers");
        let jetstream = async_nats::jetstream::new(client);
        for payload in payloads {
            jetstream.publish(subject.to_owned(), payload.clone().into()).await.unwrap().await.unwrap();
        }
    });
}

fn delete_stream(stream: &str) {
    block_on(async {
        let client = async_nats::connect(NATS_URL).await.unwrap();
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
