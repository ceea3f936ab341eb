//! The ledger through the binary, on SQLite and on the machine's PostgreSQL: the walk from
//! import to settlement, a kill -9 in the middle of a large import, and two processes importing
//! at once.

use crate::{fixtures, reckon, text};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

/// A fresh ledger URL per backend: an SQLite file, and a new PostgreSQL database.
pub fn ledger_urls(dir: &std::path::Path) -> Vec<(&'static str, String)> {
    vec![("sqlite", format!("sqlite://{}", dir.join("ledger.db").display())), ("postgres", fresh_postgres())]
}

pub fn postgres_base() -> String {
    std::env::var("RECKON_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

pub fn fresh_postgres() -> String {
    static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let name =
        format!("reckon_cli_{}_{}", std::process::id(), COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst));
    let base = postgres_base();
    block_on(async {
        use sqlx::Connection;
        let mut admin = sqlx::PgConnection::connect(&base).await.expect("PostgreSQL answers");
        // Databases of earlier runs of these tests are dropped first: those whose process has
        // ended (a run going on beside this one, in another checkout, keeps its own).
        let stale: Vec<String> =
            sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'reckon_cli_%'")
                .fetch_all(&mut admin)
                .await
                .unwrap();
        let process_ended = |database: &str| {
            let pid = database.trim_start_matches("reckon_cli_").split('_').next().unwrap_or_default();
            !std::path::Path::new("/proc").join(pid).exists()
        };
        for database in stale.iter().filter(|database| process_ended(database)) {
            let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)")).execute(&mut admin).await;
        }
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut admin).await.unwrap();
        sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.unwrap();
    });
    let (prefix, _) = base.rsplit_once('/').unwrap();
    format!("{prefix}/{name}")
}

pub fn block_on<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(future)
}

/// Counts rows of a table in the ledger at `url`.
pub fn count(url: &str, table: &str) -> i64 {
    block_on(async {
        use sqlx::Connection;
        let query = format!("SELECT COUNT(*) FROM {table}");
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(&query).fetch_one(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(&query).fetch_one(&mut connection).await.unwrap()
        }
    })
}

pub fn run_ok(arguments: &[&str]) -> String {
    let output = reckon(arguments);
    assert_eq!(output.status.code(), Some(0), "reckon {arguments:?}\nstderr: {}", text(&output.stderr));
    text(&output.stdout)
}

/// Runs `reckon` against one ledger: `(exit code, stdout, stderr)`.
pub fn reckon_on(url: &str, arguments: &[&str]) -> (Option<i32>, String, String) {
    let mut all: Vec<&str> = arguments.to_vec();
    all.extend(["--database-url", url]);
    let output = reckon(&all);
    (output.status.code(), text(&output.stdout), text(&output.stderr))
}

/// [`reckon_on`] that must succeed: its stdout.
pub fn reckon_ok_on(url: &str, arguments: &[&str]) -> String {
    let (code, stdout, stderr) = reckon_on(url, arguments);
    assert_eq!(code, Some(0), "reckon {arguments:?}\nstderr: {stderr}");
    stdout
}

/// Imports the worked example's usage, rates and borealis invoice into one ledger.
pub fn import_basic(url: &str) {
    let basic = fixtures().join("basic");
    for (kind, file) in [("usage", "usage.csv"), ("rates", "rates.csv"), ("invoice", "invoice-borealis.csv")] {
        reckon_ok_on(url, &["import", kind, &basic.join(file).display().to_string()]);
    }
}

/// Runs one SQL statement on the ledger at `url`: the rows affected, or the database's refusal.
pub fn execute_sql(url: &str, sql: &str) -> Result<u64, String> {
    block_on(async {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut connection).await.map(|done| done.rows_affected()).map_err(|e| e.to_string())
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query(sql).execute(&mut connection).await.map(|done| done.rows_affected()).map_err(|e| e.to_string())
        }
    })
}

#[test]
fn import_reconcile_dispute_settle_journal() {
    let dir = tempfile::tempdir().unwrap();
    let basic = fixtures().join("basic");
    let path = |name: &str| basic.join(name).display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        let db = ["--database-url", url.as_str()];
        let with =
            |arguments: &[&str]| -> Vec<String> { arguments.iter().chain(&db).map(|text| text.to_string()).collect() };
        let call = |arguments: &[&str]| run_ok(&with(arguments).iter().map(String::as_str).collect::<Vec<_>>());
        assert!(call(&["import", "usage", &path("usage.csv")]).contains("83 stored"), "{backend}");
        assert!(
            call(&["import", "usage", &path("usage.csv")]).contains("0 stored, 83 already stored unchanged"),
            "{backend}"
        );
        call(&["import", "rates", &path("rates.csv")]);
        assert!(call(&["import", "invoice", &path("invoice-borealis.csv")]).contains("42 lines stored"), "{backend}");
        assert!(call(&["import", "invoice", &path("invoice-borealis.csv")]).contains("no-op"), "{backend}");
        let first = call(&["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
        let run_id = first.split_whitespace().nth(1).unwrap().to_owned();
        assert!(first.contains("14 discrepancies"), "{backend}: {first}");
        let second = call(&["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
        assert!(second.contains(&run_id) && second.contains("nothing new recorded"), "{backend}: {second}");
        let opened = call(&["dispute", "open", "--run", &run_id, "--threshold", "0.001"]);
        assert!(opened.contains("9 lines, 0.183 EUR claimed"), "{backend}: {opened}");
        let dispute_id = opened.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
        assert!(
            call(&["dispute", "open", "--run", &run_id, "--threshold", "0.001"]).contains("already open: unchanged"),
            "{backend}"
        );
        // An illegal transition: exit 2 with the reason.
        let refused = reckon(&with(&["dispute", "accept", &dispute_id]).iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(refused.status.code(), Some(2), "{backend}");
        assert!(
            text(&refused.stderr).contains("a dispute that is open cannot be accepted: submit it to the carrier first"),
            "{backend}"
        );
        call(&["dispute", "submit", &dispute_id, "--reason", "sent"]);
        call(&[
            "import",
            "receivable",
            "--carrier",
            "borealis",
            "--invoice-id",
            "OUR-0317",
            "--period",
            "2026-03",
            "--amount",
            "1.00",
            "--currency",
            "EUR",
        ]);
        // Pending: 3.724983 - 0.183 - 1.00 = 2.541983 -> 2.54
        assert!(
            call(&["settle", "--carrier", "borealis", "--period", "2026-03"]).contains("net to pay         2.54 EUR"),
            "{backend}"
        );
        call(&[
            "dispute",
            "accept",
            &dispute_id,
            "--credit",
            "40=0.03",
            "--credit",
            "41=0.03",
            "--credit",
            "42=0.03",
            "--credit",
            "22=0.02",
            "--reason",
            "CN-77",
        ]);
        // Answered: 3.724983 - 0.11 - 1.00 = 2.614983 -> 2.61, as a correction.
        let corrected = call(&["settle", "--carrier", "borealis", "--period", "2026-03", "--correct"]);
        assert!(
            corrected.contains("net to pay         2.61 EUR") && corrected.contains("correcting"),
            "{backend}: {corrected}"
        );
        let journal = dir.path().join(format!("journal-{backend}.csv"));
        call(&["journal", "--carrier", "borealis", "--period", "2026-03", "--out", &journal.display().to_string()]);
        let rows = crate::read_csv(&journal);
        let sum = |column: usize| {
            rows[1..]
                .iter()
                .filter(|row| !row[column].is_empty())
                .map(|row| row[column].parse::<rust_decimal::Decimal>().unwrap())
                .sum::<rust_decimal::Decimal>()
        };
        assert_eq!(rows[0][..6], ["entry_id", "date", "account_code", "account", "debit", "credit"], "{backend}");
        assert_eq!(sum(4), sum(5), "{backend}: debits equal credits");
        assert!(rows.iter().any(|row| row[2] == "1000" && row[3] == "assets:bank" && row[5] == "2.61"), "{backend}");
        let evidence = dir.path().join(format!("evidence-{backend}.csv"));
        call(&["dispute", "export", &dispute_id, "--out", &evidence.display().to_string()]);
        assert_eq!(crate::read_csv(&evidence).len(), 10, "{backend}: header and 9 lines");
        let shown = call(&["dispute", "show", &dispute_id]);
        assert!(
            shown.contains("partially_accepted") && shown.contains("submit  open -> submitted  sent"),
            "{backend}: {shown}"
        );
    }
}

/// A usage file of `count` records for carrier acme.
fn write_usage(path: &std::path::Path, count: usize) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(file, "record_id,service,carrier,carrier_ref,customer,started_at,destination,quantity").unwrap();
    for index in 0..count {
        writeln!(
            file,
            "r{index},voice,acme,REF{index},c1,2026-03-{:02}T10:{:02}:{:02}Z,+4420{index:08},{}",
            1 + index % 28,
            index / 60 % 60,
            index % 60,
            1 + index % 600
        )
        .unwrap();
    }
}

#[test]
fn a_killed_import_leaves_all_or_nothing_and_a_retry_succeeds() {
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.csv");
    let records = 300_000;
    write_usage(&usage, records);
    for (backend, url) in ledger_urls(dir.path()) {
        // Create the schema first, so the kill lands in the import itself.
        run_ok(&["import", "usage", &fixtures().join("basic/usage.csv").display().to_string(), "--database-url", &url]);
        let before = count(&url, "usage_records");
        let mut child = Command::new(env!("CARGO_BIN_EXE_reckon"))
            .args(["import", "usage", &usage.display().to_string(), "--database-url", &url])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until it starts writing (the file streams into the transaction from then on), then
        // kill it mid-transaction.
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut line = String::new();
        stderr.read_line(&mut line).unwrap();
        assert!(line.contains("writing the usage records of"), "{backend}: {line}");
        std::thread::sleep(std::time::Duration::from_millis(200));
        assert!(
            child.try_wait().unwrap().is_none(),
            "{backend}: the import finished before the kill; make the file larger"
        );
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        let after_kill = count(&url, "usage_records");
        assert_eq!(after_kill, before, "{backend}: none of the killed import is in the ledger");
        // The retry stores the whole file.
        let retried = run_ok(&["import", "usage", &usage.display().to_string(), "--database-url", &url]);
        assert!(retried.contains(&format!("{records} stored")), "{backend}: {retried}");
        assert_eq!(count(&url, "usage_records"), before + records as i64, "{backend}");
    }
}

/// An invoice file of `count` lines.
fn write_invoice(path: &std::path::Path, invoice_id: &str, count: usize) {
    use std::io::Write;
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    writeln!(
        file,
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency"
    )
    .unwrap();
    for index in 0..count {
        writeln!(
            file,
            "acme,{invoice_id},{index},REF{index},voice,2026-03-02T10:00:00Z,4420{index:08},60,0.0120,0.012,USD"
        )
        .unwrap();
    }
}

#[test]
fn two_processes_import_different_invoices_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let (first, second) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    write_invoice(&first, "INV-A", 50_000);
    write_invoice(&second, "INV-B", 50_000);
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "usage", &fixtures().join("basic/usage.csv").display().to_string(), "--database-url", &url]);
        let spawn = |file: &std::path::Path| {
            Command::new(env!("CARGO_BIN_EXE_reckon"))
                .args(["import", "invoice", &file.display().to_string(), "--database-url", &url])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(&first), spawn(&second));
        for child in [a, b] {
            let output = child.wait_with_output().unwrap();
            assert_eq!(output.status.code(), Some(0), "{backend}: {}", text(&output.stderr));
        }
        assert_eq!(count(&url, "invoice_lines"), 100_000, "{backend}: nothing lost");
        assert_eq!(count(&url, "invoices"), 2, "{backend}");
    }
}
