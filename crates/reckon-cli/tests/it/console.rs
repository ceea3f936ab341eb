//! The web console (issue 16) in a real headless Chromium, driven over WebDriver
//! (`chromedriver`): the worked example imported into a fresh SQLite ledger through the CLI,
//! then sign in, the overview, the run filtered by `rate_mismatch`, a line and its explanation,
//! a dispute opened, submitted and partly accepted, the period settled, and the settlement
//! amount compared with `reckon settle` on the same ledger. A `read` key sees the pages without
//! their action forms, and every action it posts anyway is refused. Each page is saved as a PNG
//! under `target/console-screenshots/`.
//!
//! Method: the WebDriver protocol is JSON over HTTP, spoken here by a small client over a
//! `TcpStream` (no WebDriver crate: one fewer dependency tree to build on two cores). Without
//! `chromium` or `chromedriver` the test fails, under `CI=true` and off it: it never passes
//! without a browser (`.ci/run` installs both).

use crate::journal::tool;
use crate::ledger::{import_basic, reckon_ok_on, run_ok};
use crate::serve::start_server_with;
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// How long a lookup waits for its element to appear.
const IMPLICIT_WAIT_MS: u64 = 10_000;

/// The W3C name of an element reference in WebDriver answers.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// One HTTP/1.1 exchange on a fresh connection: `(status, head, body)`. The body is read by
/// its length (chromedriver keeps a connection open despite `Connection: close`).
fn exchange(address: &str, method: &str, path: &str, headers: &str, body: &str) -> (u16, String, String) {
    let stream = std::net::TcpStream::connect(address).unwrap();
    stream.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    write!(
        &stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{headers}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut reader = std::io::BufReader::new(stream);
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head.split_whitespace().nth(1).and_then(|code| code.parse().ok()).unwrap_or(0);
    let lowercase = head.to_ascii_lowercase();
    let length = lowercase
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse::<usize>().ok());
    let mut bytes = Vec::new();
    match length {
        Some(length) => {
            bytes.resize(length, 0);
            reader.read_exact(&mut bytes).unwrap();
        }
        None => {
            let _ = reader.read_to_end(&mut bytes);
        }
    }
    let body = String::from_utf8_lossy(&bytes).into_owned();
    let body = if lowercase.contains("transfer-encoding: chunked") { dechunk(&body) } else { body };
    (status, head, body)
}

fn dechunk(mut body: &str) -> String {
    let mut whole = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if size == 0 || rest.len() < size {
            break;
        }
        whole.push_str(&rest[..size]);
        body = rest[size..].trim_start_matches("\r\n");
    }
    whole
}

/// Standard base64 (screenshots), decoded without a dependency.
fn base64_decode(text: &str) -> Vec<u8> {
    let value = |byte: u8| match byte {
        b'A'..=b'Z' => byte - b'A',
        b'a'..=b'z' => byte - b'a' + 26,
        b'0'..=b'9' => byte - b'0' + 52,
        b'+' => 62,
        _ => 63,
    };
    let digits: Vec<u8> =
        text.bytes().filter(|byte| byte.is_ascii_alphanumeric() || *byte == b'+' || *byte == b'/').collect();
    let mut bytes = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let mut bits: u32 = 0;
        for (index, digit) in chunk.iter().enumerate() {
            bits |= u32::from(value(*digit)) << (18 - 6 * index);
        }
        let produced = chunk.len() * 6 / 8;
        bytes.extend(bits.to_be_bytes()[1..=produced].iter());
    }
    bytes
}

/// A headless Chromium behind chromedriver, with one WebDriver session.
struct Browser {
    driver: Child,
    address: String,
    session: String,
    screenshots: PathBuf,
}

impl Browser {
    fn start(chromium: &str, chromedriver: &str) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let driver = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let address = format!("127.0.0.1:{port}");
        let ready = crate::serve::wait_for(20, || std::net::TcpStream::connect(&address).is_ok());
        assert!(ready, "chromedriver did not listen on {address}");
        let mut browser = Browser { driver, address, session: String::new(), screenshots: screenshots_folder() };
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium, "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,1000"
            ]}
        }}});
        let created = browser.command("POST", "/session", &capabilities);
        browser.session = created["sessionId"].as_str().unwrap_or_else(|| panic!("no session: {created}")).to_owned();
        // A new page's elements are waited for while it is parsed.
        browser.session_command("POST", "/timeouts", &json!({"implicit": IMPLICIT_WAIT_MS}));
        browser
    }

    /// A WebDriver command: its answer's `value`.
    fn command(&self, method: &str, path: &str, body: &Value) -> Value {
        let body = if method == "GET" { String::new() } else { body.to_string() };
        let (status, _, answer) =
            exchange(&self.address, method, path, "Content-Type: application/json; charset=utf-8\r\n", &body);
        let answer: Value = serde_json::from_str(&answer).unwrap_or_else(|error| panic!("{error}: {answer}"));
        assert_eq!(status, 200, "WebDriver {method} {path}: {answer}");
        answer["value"].clone()
    }

    fn session_command(&self, method: &str, path: &str, body: &Value) -> Value {
        self.command(method, &format!("/session/{}{path}", self.session), body)
    }

    fn go(&self, url: &str) {
        self.session_command("POST", "/url", &json!({ "url": url }));
    }

    fn url(&self) -> String {
        self.session_command("GET", "/url", &Value::Null).as_str().unwrap_or_default().to_owned()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let found = self.session_command("POST", "/elements", &json!({"using": "css selector", "value": css}));
        found.as_array().unwrap().iter().map(|element| element[ELEMENT].as_str().unwrap().to_owned()).collect()
    }

    /// Whether the page has no such element, asked without the implicit wait.
    fn absent(&self, css: &str) -> bool {
        self.session_command("POST", "/timeouts", &json!({"implicit": 0}));
        let absent = self.find_all(css).is_empty();
        self.session_command("POST", "/timeouts", &json!({"implicit": IMPLICIT_WAIT_MS}));
        absent
    }

    fn find(&self, css: &str) -> String {
        let found = self.find_all(css);
        assert!(!found.is_empty(), "no element {css:?} on {}", self.url());
        found[0].clone()
    }

    /// Clicks something that loads a page (a link, a form's button), and waits for that page:
    /// the old page's root goes stale once the new one replaces it (the click itself may
    /// return before).
    fn click(&self, css: &str) {
        let old_root = self.find("html");
        self.choose(css);
        let root_path = format!("/session/{}/element/{old_root}/name", self.session);
        let replaced = crate::serve::wait_for(30, || exchange(&self.address, "GET", &root_path, "", "").0 != 200);
        assert!(replaced, "clicking {css} loaded no new page on {}", self.url());
    }

    /// Clicks something that loads nothing (an option of a select).
    fn choose(&self, css: &str) {
        let element = self.find(css);
        self.session_command("POST", &format!("/element/{element}/click"), &json!({}));
    }

    fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css);
        self.session_command("POST", &format!("/element/{element}/clear"), &json!({}));
        self.session_command("POST", &format!("/element/{element}/value"), &json!({ "text": text }));
    }

    fn text(&self, css: &str) -> String {
        let element = self.find(css);
        self.session_command("GET", &format!("/element/{element}/text"), &Value::Null).as_str().unwrap().to_owned()
    }

    fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.find(css);
        let value = self.session_command("GET", &format!("/element/{element}/property/{name}"), &Value::Null);
        value.as_str().unwrap_or_default().to_owned()
    }

    fn cookie(&self, name: &str) -> String {
        self.session_command("GET", &format!("/cookie/{name}"), &Value::Null)["value"].as_str().unwrap().to_owned()
    }

    /// Saves the page as `NAME.png` in the screenshots folder.
    fn screenshot(&self, name: &str) {
        let encoded = self.session_command("GET", "/screenshot", &Value::Null);
        let png = base64_decode(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "{name}: not a PNG");
        std::fs::write(self.screenshots.join(format!("{name}.png")), png).unwrap();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = exchange(&self.address, "DELETE", &format!("/session/{}", self.session), "", "");
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn screenshots_folder() -> PathBuf {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/console-screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    folder
}

/// The service under test, killed if the test ends early (a failed assertion): no process
/// outlives the test.
struct Service(Option<Child>);

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Signs in through the form with a key.
fn sign_in(browser: &Browser, base: &str, key: &str) {
    browser.go(&format!("{base}/"));
    assert!(browser.url().ends_with("/sign-in"), "signed out, / leads to the sign-in: {}", browser.url());
    browser.type_into("#api-key", key);
    browser.click("#sign-in");
}

/// A form posted outside the browser with a session's cookie: `(status, body)`.
fn post_form(address: &str, path: &str, session: &str, form: &str) -> (u16, String) {
    let headers = format!("Cookie: reckon_session={session}\r\nContent-Type: application/x-www-form-urlencoded\r\n");
    let (status, _, body) = exchange(address, "POST", path, &headers, form);
    (status, body)
}

#[test]
fn the_console_walks_the_worked_example_from_sign_in_to_settlement_in_chromium() {
    // Never passes without a browser: a missing one fails the test, under CI and off it.
    let needed = |name: &str| {
        tool(name).unwrap_or_else(|| {
            panic!("{name} is not installed: this test needs a real browser (apt-get install chromium chromium-driver, as .ci/run does)")
        })
    };
    let (chromium, chromedriver) = (needed("chromium"), needed("chromedriver"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    import_basic(&url);
    let reconciled = reckon_ok_on(&url, &["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
    let run_id = reconciled.split_whitespace().nth(1).unwrap().to_owned();
    let key = |scope: &str| run_ok(&["apikey", "create", "--scope", scope, "--database-url", &url]).trim().to_owned();
    let (admin, reader) = (key("admin"), key("read"));
    let (server, address) = start_server_with(&url, &[]);
    let mut service = Service(Some(server));
    let base = format!("http://{address}");
    let browser = Browser::start(&chromium, &chromedriver);

    sign_in(&browser, &base, "rk_unknown_key");
    assert!(browser.text("#refusal").contains("unknown, revoked or expired"));
    browser.screenshot("sign-in");
    sign_in(&browser, &base, &admin);

    // Overview: borealis's March with its run.
    let overview = browser.text("#overview");
    assert!(overview.contains("borealis") && overview.contains("2026-03"), "{overview}");
    // The worked example: 14 discrepancies; nothing disputed or settled yet.
    assert!(overview.contains("14 discrepancies") && overview.contains("not settled"), "{overview}");
    browser.screenshot("overview");
    // The page carries the strict policy and the cookie is HttpOnly and SameSite=Strict.
    let session = browser.cookie("reckon_session");
    let (status, head, _) = exchange(&address, "GET", "/", &format!("Cookie: reckon_session={session}\r\n"), "");
    assert_eq!(status, 200);
    assert!(
        head.to_ascii_lowercase().contains("content-security-policy: default-src 'none'; style-src 'self'"),
        "{head}"
    );
    let (_, sign_in_head, _) = exchange(
        &address,
        "POST",
        "/sign-in",
        "Content-Type: application/x-www-form-urlencoded\r\n",
        &format!("api_key={admin}"),
    );
    assert!(sign_in_head.contains("HttpOnly; SameSite=Strict"), "{sign_in_head}");

    // The run, filtered by rate_mismatch.
    browser.click(&format!("#overview a[href='/runs/{run_id}']"));
    assert_eq!(browser.text("#discrepancy-count"), "14");
    browser.screenshot("run");
    browser.choose("#kind option[value='rate_mismatch']");
    browser.click("#apply");
    assert!(browser.url().contains("kind=rate_mismatch"), "{}", browser.url());
    let rows = browser.find_all("#discrepancies tbody tr");
    let expected_rate_mismatches = std::fs::read_to_string(crate::fixtures().join("basic/discrepancies.csv"))
        .unwrap()
        .lines()
        .filter(|line| line.starts_with("borealis,") && line.contains(",rate_mismatch,"))
        .count();
    assert_eq!(rows.len(), expected_rate_mismatches);
    assert!(browser.text("#discrepancies tbody").lines().all(|line| line.starts_with("rate_mismatch")));
    browser.screenshot("run-rate-mismatch");

    // A line: both sides and the explanation.
    browser.click("#discrepancies tbody a");
    assert_eq!(browser.text("#kind"), "rate_mismatch");
    let sides = browser.text("#side-by-side");
    assert!(sides.contains("Our usage record") && sides.contains("Their invoice line"), "{sides}");
    // The explanation is `reckon explain`'s rating trace: the deck row, the increments, the
    // rounding and the comparison that failed.
    let explanation = browser.text("#explanation");
    assert!(explanation.contains("Why this amount"), "{explanation}");
    for step in ["deck row", "increments", "cost", "check: rate_mismatch"] {
        assert!(explanation.contains(step), "no {step:?} in {explanation}");
    }
    assert!(explanation.contains("rounded to 6 places half away from zero"), "{explanation}");
    browser.screenshot("line");

    // A dispute from the run with the threshold: 9 lines, 0.183 EUR claimed (as the CLI's).
    browser.go(&format!("{base}/runs/{run_id}"));
    browser.type_into("#threshold", "0.001");
    browser.click("#open-disputes button");
    assert_eq!(browser.text("#state"), "open");
    assert_eq!(browser.text("#claimed"), "0.183 EUR");
    assert_eq!(browser.find_all("#dispute-lines tbody tr").len(), 9);
    browser.screenshot("dispute-open");
    // Accepting an open dispute is refused with the CLI's message.
    browser.click("#accept");
    assert!(browser
        .text("#refusal")
        .contains("a dispute that is open cannot be accepted: submit it to the carrier first"));
    browser.screenshot("dispute-refused");
    browser.go(&format!("{base}/disputes"));
    browser.click("#disputes a");
    browser.type_into("#reason", "sent");
    browser.click("#submit");
    assert_eq!(browser.text("#state"), "submitted");
    // The carrier credits 0.11 of it on four lines.
    for (line, credit) in [("40", "0.03"), ("41", "0.03"), ("42", "0.03"), ("22", "0.02")] {
        browser.type_into(&format!("#credit-{line}"), credit);
    }
    browser.type_into("#reason", "CN-77");
    browser.click("#accept");
    assert_eq!(browser.text("#state"), "partially_accepted");
    assert_eq!(browser.text("#credited"), "0.11 EUR");
    let history = browser.text("#history");
    assert!(history.contains(&format!("console:{}", admin.split('_').nth(1).unwrap())), "{history}");
    browser.screenshot("dispute");
    let dispute_path = browser.url().trim_start_matches(&base).to_owned();

    // Settle: 3.724983 invoiced - 0.11 credited = 3.614983 -> 3.61 EUR.
    browser.go(&format!("{base}/settlements"));
    browser.type_into("#period", "2026-03");
    browser.click("#settle-button");
    let console_net = browser.text("#statements .net");
    assert_eq!(console_net, "3.61 EUR");
    browser.screenshot("settlements");
    browser.go(&format!("{base}/"));
    browser.screenshot("overview-settled");

    // A form without the session's token is refused, even for an admin key.
    let admin_session = browser.cookie("reckon_session");
    let (status, body) = post_form(&address, &format!("/runs/{run_id}/disputes"), &admin_session, "threshold=0");
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("security token"), "{body}");

    // Sign out: the cookie signs in no more.
    browser.click("header form button");
    assert!(browser.url().ends_with("/sign-in"));
    let (status, head, _) = exchange(&address, "GET", "/", &format!("Cookie: reckon_session={admin_session}\r\n"), "");
    assert!(status == 303 && head.contains("location: /sign-in"), "{status} {head}");

    // A read key sees, without the action forms, and each action posted anyway is refused.
    sign_in(&browser, &base, &reader);
    assert!(browser.text("header").contains("(read only)"));
    browser.go(&format!("{base}{dispute_path}"));
    assert_eq!(browser.text("#state"), "partially_accepted");
    assert!(browser.absent("#dispute-actions"), "no action form for a read key");
    browser.go(&format!("{base}/runs/{run_id}"));
    assert!(browser.absent("#open-disputes"));
    browser.go(&format!("{base}/settlements"));
    assert!(browser.absent("#settle"));
    browser.screenshot("read-only-settlements");
    let read_session = browser.cookie("reckon_session");
    let csrf = browser.attribute("header input[name='csrf']", "value");
    // Every action the console has: opening disputes, each step of a dispute, settling.
    for (path, form) in [
        (format!("/runs/{run_id}/disputes"), format!("csrf={csrf}&threshold=0")),
        (dispute_path.clone(), format!("csrf={csrf}&action=submit")),
        (dispute_path.clone(), format!("csrf={csrf}&action=accept")),
        (dispute_path.clone(), format!("csrf={csrf}&action=accept&credit%3A40=0.03")),
        (dispute_path.clone(), format!("csrf={csrf}&action=reject")),
        (dispute_path.clone(), format!("csrf={csrf}&action=close")),
        ("/settlements".to_owned(), format!("csrf={csrf}&carrier=borealis&period=2026-03&correct=true")),
    ] {
        let (status, body) = post_form(&address, &path, &read_session, &form);
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body.contains("read access only; the admin scope is needed"), "{path}: {body}");
    }
    browser.go(&format!("{base}{dispute_path}"));
    assert_eq!(browser.text("#state"), "partially_accepted", "the refused steps changed nothing");
    assert_eq!(browser.text("#credited"), "0.11 EUR");
    drop(browser);

    // The CLI on the same ledger settles to the same amount (the statement stored by the console).
    let mut server = service.0.take().unwrap();
    let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
    assert!(server.wait().unwrap().success());
    // `reckon settle` computes the statement again from the ledger: the same figures, so the
    // one the console stored stands ("unchanged"), and its net is the console's:
    // `  net to pay         3.61 EUR (exact 3.614983)`.
    let settled = reckon_ok_on(&url, &["settle", "--carrier", "borealis", "--period", "2026-03"]);
    assert!(settled.contains("(unchanged: stored before)"), "{settled}");
    let cli_net = settled
        .lines()
        .find_map(|line| line.trim_start().strip_prefix("net to pay"))
        .and_then(|rest| rest.split(" (exact").next())
        .unwrap_or_else(|| panic!("{settled}"))
        .trim()
        .to_owned();
    assert_eq!(cli_net, console_net, "{settled}");
    assert!(settled.contains("(exact 3.614983)"), "{settled}");
}
