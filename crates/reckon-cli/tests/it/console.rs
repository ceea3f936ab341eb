//! The web console (issue 16) in a real headless Chromium, driven over WebDriver
//! (`chromedriver`): the worked example imported into a fresh SQLite ledger through the CLI
//! (with a price plan for its French numbers), then sign in, the overview (billed vs expected,
//! the month's accruals per day), the margin and leakage page (figures and CSV against `reckon
//! margin`), the run filtered by `rate_mismatch`, a line and its explanation,
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
use crate::ledger::{execute_sql, import_basic, reckon_ok_on, run_ok};
use crate::serve::start_server_with;
use reckon_core::Decimal;
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

/// A price plan for the worked example's French numbers: voice 0.08 EUR a minute billed per
/// started minute, SMS 0.05 EUR each (below borealis's 0.055 EUR: every French SMS leaks).
const PRICES: &str = "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from\n\
    *,voice,33,France,0.0800,EUR,60,60/60,2026-01-01T00:00:00Z\n\
    *,sms,33,France SMS,0.0500,EUR,1,1/1,2026-01-01T00:00:00Z\n";

/// The overview's accruals of March 2026: the chart and its table, one day computed by hand,
/// and the month's totals equal to `GET /v1/accruals` (the same code).
fn check_accruals(browser: &Browser, base: &str, address: &str, admin: &str) {
    assert_eq!(browser.attribute("#month", "value"), "2026-03");
    assert!(browser.text("#accruals").contains("cost EUR; revenue EUR, margin EUR"));
    assert!(!browser.find_all("#accruals svg.days rect.revenue").is_empty(), "the chart is drawn");
    // 24 March, borealis (cost and price in EUR):
    //   u00064 SMS to 33, 1 message: cost 0.055, price 0.05, margin -0.005 (below cost)
    //   u00057 call to 336, 75 s: cost 90 s at 0.06/min = 0.09, price 120 s at 0.08/min = 0.16, margin 0.07
    //   u00036 call to 33, 1 s: cost 1 s at 0.015/min = 0.00025, price 60 s at 0.08/min = 0.08, margin 0.07975
    // 3 records; cost 0.055 + 0.09 + 0.00025 = 0.14525; revenue 0.05 + 0.16 + 0.08 = 0.29;
    // margin -0.005 + 0.07 + 0.07975 = 0.14475; 0 without a price, 1 below cost, 0 without a rate.
    assert_eq!(browser.text("#day-EUR-EUR-2026-03-24"), "2026-03-24 3 0.14525 EUR 0.29 EUR 0.14475 EUR 0 1 0");
    // The three SMS to Germany have a cost (1 + 3 + 2 messages at 0.071 = 0.426 EUR) and no
    // price: a pair of their own.
    assert_eq!(browser.text("#total-EUR-none"), "Total 3 0.426 EUR – – 3 0 0");
    // The month's totals are the API's answer for the same month.
    let (status, _, body) = exchange(
        address,
        "GET",
        "/v1/accruals?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=day",
        &format!("Authorization: Bearer {admin}\r\n"),
        "",
    );
    assert_eq!(status, 200, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    let (mut records, mut cost, mut revenue, mut margin) = (0, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO);
    for group in answer["groups"].as_array().unwrap() {
        if group["currency"] == "EUR" && group["price_currency"] == "EUR" {
            records += group["records"].as_u64().unwrap();
            let amount = |name: &str| Decimal::from_str_exact(group[name].as_str().unwrap()).unwrap();
            cost += amount("cost");
            revenue += amount("revenue");
            margin += amount("margin");
        }
    }
    let totals = format!(
        "Total {records} {} EUR {} EUR {} EUR 0 8 0",
        cost.normalize(),
        revenue.normalize(),
        margin.normalize()
    );
    assert_eq!(browser.text("#total-EUR-EUR"), totals);
    browser.go(&format!("{base}/#accruals"));
    browser.screenshot("overview-accruals");
}

/// The margin page of March 2026: figures computed by hand, paging of the leaking records, and
/// the CSV equal to `reckon margin`'s leakage.csv over the same files.
fn check_margin(browser: &Browser, address: &str, out: &std::path::Path, prices: &std::path::Path) {
    browser.click("header nav a[href='/margin']");
    assert_eq!(browser.attribute("#period", "value"), "2026-03");
    // Leaking: the 8 French SMS (0.05 < 0.055 each); 41 records without a price (acme's 38
    // answered ones, its only plan being for French numbers, and the 3 SMS to Germany); acme's
    // 3 calls to China without a rate.
    assert_eq!(
        browser.text("#leakage-counts"),
        "52 leaking records: 8 below cost, 41 without a customer price, 3 without a carrier rate, 0 unconvertible."
    );
    // borealis's 16 calls to 336 (0.06 EUR a minute, 30/30) priced 0.08 a minute (60/60),
    // billed seconds cost / price per record:
    //   59 -> 60/60, 5.3 -> 30/60, 121.6 -> 150/180, 5 -> 30/60, 75 -> 90/120, 5 -> 30/60,
    //   29 -> 30/60, 119 -> 120/120, 59 -> 60/60, 121 -> 150/180, 31.2 -> 60/60,
    //   600.2 -> 630/660, 600 -> 600/600, 119 -> 120/120, 75 -> 90/120, 121 -> 150/180
    // cost 2400 s * 0.06 / 60 = 2.4 EUR; revenue 2700 s * 0.08 / 60 = 3.6 EUR; margin 1.2 EUR;
    // margin % 1.2 * 100 / 3.6 = 33.33.. -> 33.3; nothing leaks. The same in the service's
    // report currency (EUR, the default of `serve`): no conversion.
    let destinations = browser.text("#margin-destination");
    assert!(
        destinations
            .lines()
            .any(|line| line == "dest 336 16 3.6 EUR 2.4 EUR 0 EUR 1.2 EUR 33.3 % none 3.6 EUR 2.4 EUR 1.2 EUR"),
        "{destinations}"
    );
    // The 3 SMS to Germany: cost 0.426 EUR, all unpriced, margin -0.426 EUR, no margin %.
    assert!(
        destinations.lines().any(
            |line| line == "dest 49 3 0 EUR 0.426 EUR 0.426 EUR -0.426 EUR – 3 no price 0 EUR 0.426 EUR -0.426 EUR"
        ),
        "{destinations}"
    );
    // 52 leaking records: 50 on the first page, 2 on the second.
    assert_eq!(browser.find_all("#leaking tbody tr").len(), 50);
    let first_page = browser.text("#leaking");
    // u00064: 1 SMS, price 0.05 - cost 0.055 = -0.005 EUR.
    assert!(first_page.contains("u00064 borealis c1 sms"), "{first_page}");
    assert!(first_page.contains("33611064745 1 0.055 EUR 0.05 EUR -0.005 EUR below_cost"), "{first_page}");
    browser.screenshot("margin");
    browser.click("a[rel='next']");
    assert_eq!(browser.find_all("#leaking tbody tr").len(), 2);
    // The CSV is `reckon margin`'s leakage.csv over the same files (the ledger lists the
    // records in time order, the file command in file order).
    let session = browser.cookie("reckon_session");
    let (status, _, csv) = exchange(
        address,
        "GET",
        "/margin/leakage.csv?period=2026-03",
        &format!("Cookie: reckon_session={session}\r\n"),
        "",
    );
    assert_eq!(status, 200);
    assert_eq!(csv.lines().count(), 1 + 52);
    let basic = crate::fixtures().join("basic");
    let path = |name: &str| basic.join(name).display().to_string();
    run_ok(&[
        "margin",
        "--usage",
        &path("usage.csv"),
        "--rates",
        &path("rates.csv"),
        "--prices",
        &prices.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let sorted = |text: &str| {
        let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
        lines.sort();
        lines
    };
    assert_eq!(sorted(&csv), sorted(&std::fs::read_to_string(out.join("leakage.csv")).unwrap()));
}

/// A run recorded before runs kept their summary (migration 0016) shows no expected amount: a
/// dash, never a figure the console made up.
#[test]
fn an_older_run_without_its_summary_shows_no_expected_amount() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("ledger.db").display());
    import_basic(&url);
    reckon_ok_on(&url, &["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
    let sign_in_and_get_overview = |url: &str| {
        let admin = run_ok(&["apikey", "create", "--scope", "admin", "--database-url", url]).trim().to_owned();
        // Stopped when dropped, at the end of the closure.
        let (_server, address) = start_server_with(url, &[]);
        let (_, head, _) = exchange(
            &address,
            "POST",
            "/sign-in",
            "Content-Type: application/x-www-form-urlencoded\r\n",
            &format!("api_key={admin}"),
        );
        let cookie = head
            .lines()
            .find_map(|line| line.strip_prefix("set-cookie: "))
            .and_then(|value| value.split(';').next())
            .unwrap_or_else(|| panic!("{head}"))
            .to_owned();
        let (status, _, body) = exchange(&address, "GET", "/", &format!("Cookie: {cookie}\r\n"), "");
        assert_eq!(status, 200, "{body}");
        // The overview's table, before the accruals (whose EUR cost is also 3.697).
        body.split("id=\"accruals\"").next().unwrap().to_owned()
    };
    // As recorded: 3.5395 + 0.1575 = 3.697 EUR expected.
    let body = sign_in_and_get_overview(&url);
    assert!(body.contains("<td class=\"money\">3.697 EUR</td>"), "{body}");
    // The run as a ledger from before the migration holds it: no summary kept.
    execute_sql(&url, "DELETE FROM run_summaries").unwrap();
    assert_eq!(execute_sql(&url, "UPDATE runs SET summary_groups_count = NULL"), Ok(1));
    let body = sign_in_and_get_overview(&url);
    assert!(!body.contains("3.697 EUR"), "{body}");
    assert!(body.contains("title=\"recorded before runs kept their summary\">—</td>"), "{body}");
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
    let prices = dir.path().join("prices.csv");
    std::fs::write(&prices, PRICES).unwrap();
    reckon_ok_on(&url, &["import", "prices", &prices.display().to_string()]);
    let reconciled = reckon_ok_on(&url, &["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
    let run_id = reconciled.split_whitespace().nth(1).unwrap().to_owned();
    let key = |scope: &str| run_ok(&["apikey", "create", "--scope", scope, "--database-url", &url]).trim().to_owned();
    let (admin, reader) = (key("admin"), key("read"));
    let (mut server, address) = start_server_with(&url, &[]);
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
    // Billed vs expected, as `reckon reconcile` printed them: billed 3.724983 EUR; expected
    // 3.5395 (the invoice's lines) + 0.1575 (usage no line billed) = 3.697 EUR.
    assert!(reconciled.contains("3.724983    3.5395") && reconciled.contains("0    0.1575"), "{reconciled}");
    assert!(overview.contains("3.724983 EUR 3.697 EUR 0.185483 EUR -0.1575 EUR"), "{overview}");
    browser.screenshot("overview");
    check_accruals(&browser, &base, &address, &admin);
    check_margin(&browser, &address, &dir.path().join("margin"), &prices);
    browser.go(&format!("{base}/"));
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
