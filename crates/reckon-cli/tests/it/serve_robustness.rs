//! Issue 11, item 12: slow clients cannot exhaust `reckon serve`. Connections that never finish
//! their request head are closed after the header read timeout, at most `--max-connections` are
//! served at once, and SIGTERM completes within the shutdown timeout with such connections open.

use crate::serve::start_server_with;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

/// A connection that starts a request head and never finishes it.
fn slow_connection(address: &str) -> TcpStream {
    let mut stream = TcpStream::connect(address).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: slow\r\n").unwrap();
    stream
}

/// `GET /healthz` on a fresh connection: the status line's code and how long the answer took.
fn health(address: &str) -> (u16, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    stream.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    let status = response.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    (status, started.elapsed())
}

/// Whether the server closed the connection (end of stream or reset) within `wait`.
fn closed_within(stream: &mut TcpStream, wait: Duration) -> bool {
    stream.set_read_timeout(Some(wait)).unwrap();
    let mut buffer = [0; 512];
    loop {
        match stream.read(&mut buffer) {
            Ok(0) => return true,
            Ok(_) => continue, // a 408 or similar before closing
            Err(error) if matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return false;
            }
            Err(_) => return true,
        }
    }
}

fn sqlite_url(dir: &std::path::Path) -> String {
    format!("sqlite://{}", dir.join("ledger.db").display())
}

#[test]
fn issue11_slow_clients_are_timed_out_and_healthz_still_answers() {
    let dir = tempfile::tempdir().unwrap();
    let (mut server, address) = start_server_with(&sqlite_url(dir.path()), &["--header-read-timeout-ms", "1500"]);
    let mut slow: Vec<TcpStream> = (0..300).map(|_| slow_connection(&address)).collect();
    // 300 slow clients hold connections; everyone else is still served at once.
    let (status, took) = health(&address);
    assert_eq!(status, 200);
    assert!(took < Duration::from_secs(1), "/healthz took {took:?}");
    // The slow ones are closed once the 1.5 s header read timeout has passed (4 s of slack).
    let started = Instant::now();
    for (index, stream) in slow.iter_mut().enumerate() {
        let left = Duration::from_millis(5_500).saturating_sub(started.elapsed()).max(Duration::from_millis(10));
        assert!(closed_within(stream, left), "slow connection {index} still open after {:?}", started.elapsed());
    }
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(server.wait().unwrap().success());
}

#[test]
fn issue11_connections_are_limited_and_sigterm_completes_within_its_deadline() {
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(dir.path());
    // At most 4 connections: with 4 slow ones open, /healthz waits for the header read timeout
    // (2 s) to free a slot.
    let (mut server, address) =
        start_server_with(&url, &["--max-connections", "4", "--header-read-timeout-ms", "2000"]);
    let slow: Vec<TcpStream> = (0..4).map(|_| slow_connection(&address)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let (status, took) = health(&address);
    assert_eq!(status, 200);
    assert!(took >= Duration::from_millis(1_500), "the fifth connection was served after {took:?}");
    drop(slow);
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(server.wait().unwrap().success());

    // A slow and an idle connection open, a header timeout far away: SIGTERM still completes
    // within the 1 s shutdown timeout (plus start-up slack).
    let (mut server, address) =
        start_server_with(&url, &["--header-read-timeout-ms", "600000", "--shutdown-timeout-ms", "1000"]);
    let _slow = slow_connection(&address);
    let _idle = TcpStream::connect(&address).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let signalled = Instant::now();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    let deadline = signalled + Duration::from_secs(5);
    let status = loop {
        if let Some(status) = server.try_wait().unwrap() {
            break Some(status);
        }
        if Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let Some(status) = status else {
        server.kill().unwrap();
        panic!("SIGTERM did not complete within 5 s with slow connections open");
    };
    assert!(status.success());
}
