//! The bulk usage import (`reckon import usage`: COPY into PostgreSQL, multi-row INSERTs into
//! SQLite, both through a staging table in one transaction) against the row-by-row import it
//! replaces, on SQLite and on the machine's PostgreSQL.
//!
//! Method: a few thousand generated rows, with every optional field present and absent and
//! quantities at the edges of the stored precision, go through the binary into one fresh ledger
//! and through `Ledger::import_usage` (the row-by-row path) into another; every stored column,
//! content hash, batch id and batch row must be equal. Then the guarantees one by one: a
//! re-import stores nothing, a record with other content is refused whole (or superseded with
//! an audit entry under `--replace`), a repeated `record_id` is refused with the loader's message
//! (also when the repeat crosses a batch or repeats a stored record), and a kill -9 while the
//! staged rows are being stored leaves nothing.

use crate::ledger::{block_on, count, ledger_urls, reckon_ok_on, reckon_on};
use reckon_core::{Timestamp, UsageRecord};
use reckon_import::{BadRowPolicy, Loaded, NoProgress};
use reckon_store::Ledger;
use std::path::Path;

const RECORDS: usize = 3_000;

/// Quantities written in the file, cycled through the rows: integers, the 12 decimal places
/// PostgreSQL keeps, zero, and large values. Each is stored exactly.
const QUANTITIES: [&str; 6] = ["60", "0.000000000001", "1.5", "0", "123456789012.123456789012", "7.250"];

/// `usage.csv` with `count` rows from `first`; every fourth row leaves the optional fields blank.
fn usage_text(first: usize, count: usize) -> String {
    let mut text =
        String::from("record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity,network\n");
    for index in first..first + count {
        let quantity = QUANTITIES[index % QUANTITIES.len()];
        let minute = index % 60;
        let day = 1 + index % 28;
        if index % 4 == 3 {
            text.push_str(&format!(
                "u{index:05},sms,borealis,,,2026-03-{day:02}T10:{minute:02}:00.123456789Z,,+33 6 00 00 {index:05},{quantity},\n"
            ));
        } else {
            text.push_str(&format!(
                "u{index:05},voice,acme,REF-{index},\"cust, {}\",2026-03-{day:02}T11:{minute:02}:07Z,+4420 7000 {index:04},+44770{index:06},{quantity},23415\n",
                index % 7
            ));
        }
    }
    text
}

fn write(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    path.display().to_string()
}

fn load(path: &str) -> Loaded<UsageRecord> {
    reckon_import::usage::load_usage(Path::new(path), BadRowPolicy::Fail, &mut NoProgress).unwrap()
}

fn now() -> Timestamp {
    "2026-04-01T09:00:00Z".parse().unwrap()
}

/// A row read back, every column as text.
type TextRow = Vec<Option<String>>;

/// Every stored column of every usage record, the hashes and batch ids included, in id order;
/// and the import batches.
fn stored(url: &str) -> (Vec<TextRow>, Vec<TextRow>) {
    let usage = "SELECT record_id, service, carrier, carrier_ref, customer, CAST(started_at_ns AS TEXT), origin, \
        destination, CAST(quantity AS TEXT), network, content_sha256, batch_id FROM usage_records ORDER BY record_id";
    let batches = "SELECT batch_id, kind, source, CAST(rows_count AS TEXT) FROM import_batches ORDER BY batch_id";
    block_on(async {
        use sqlx::{Connection, Row};
        let rows = |rows: Vec<TextRow>| -> Vec<TextRow> { rows };
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            let mut read = Vec::new();
            for sql in [usage, batches] {
                let fetched = sqlx::query(sql).fetch_all(&mut connection).await.unwrap();
                read.push(rows(
                    fetched
                        .iter()
                        .map(|row| (0..row.len()).map(|column| row.get::<Option<String>, _>(column)).collect())
                        .collect(),
                ));
            }
            (read.remove(0), read.remove(0))
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            let mut read = Vec::new();
            for sql in [usage, batches] {
                let fetched = sqlx::query(sql).fetch_all(&mut connection).await.unwrap();
                read.push(rows(
                    fetched
                        .iter()
                        .map(|row| (0..row.len()).map(|column| row.get::<Option<String>, _>(column)).collect())
                        .collect(),
                ));
            }
            (read.remove(0), read.remove(0))
        }
    })
}

#[test]
fn the_bulk_import_stores_what_the_row_by_row_import_stores() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(&dir.path().join("usage.csv"), &usage_text(0, RECORDS));
    let records = load(&usage).items;
    let other_dir = tempfile::tempdir().unwrap();
    for ((backend, url), (_, other_url)) in ledger_urls(dir.path()).into_iter().zip(ledger_urls(other_dir.path())) {
        let stdout = reckon_ok_on(&url, &["import", "usage", &usage]);
        assert_eq!(
            stdout,
            format!("usage {usage}: 3000 stored, 0 already stored unchanged, 0 replaced\n"),
            "{backend}"
        );
        let again = reckon_ok_on(&url, &["import", "usage", &usage]);
        assert_eq!(again, format!("usage {usage}: 0 stored, 3000 already stored unchanged, 0 replaced\n"), "{backend}");
        assert_eq!(count(&url, "usage_records"), 3000, "{backend}");
        assert_eq!(count(&url, "import_batches"), 1, "{backend}: the same content is the same batch");

        // The row-by-row path, into a ledger of its own, stores exactly the same.
        block_on(async {
            let ledger = Ledger::open(&other_url).await.unwrap();
            let outcome = ledger.import_usage(&records, &usage, "test", false, now()).await.unwrap();
            assert_eq!(outcome.inserted, 3000, "{backend}");
            ledger.close().await;
        });
        let (bulk_rows, bulk_batches) = stored(&url);
        let (row_rows, row_batches) = stored(&other_url);
        assert_eq!(bulk_rows.len(), 3000, "{backend}");
        assert_eq!(bulk_rows, row_rows, "{backend}: every column, hash and batch id");
        assert_eq!(bulk_batches, row_batches, "{backend}");

        // Quantities read back exactly as written (`7.250` is the number 7.25).
        let read_back = block_on(async {
            let ledger = Ledger::open(&url).await.unwrap();
            let from = "2026-03-01T00:00:00Z".parse().unwrap();
            let to = "2026-04-01T00:00:00Z".parse().unwrap();
            let usage = ledger.usage_of(None, from, to).await.unwrap();
            ledger.close().await;
            usage
        });
        let quantity_of = |id: &str| read_back.iter().find(|record| &*record.record_id == id).unwrap().quantity;
        for (id, written) in [
            ("u00000", "60"),
            ("u00001", "0.000000000001"),
            ("u00002", "1.5"),
            ("u00003", "0"),
            ("u00004", "123456789012.123456789012"),
            ("u00005", "7.25"),
        ] {
            assert_eq!(quantity_of(id).to_string(), written, "{backend}: {id}");
        }
        let mut expected = records.clone();
        let mut actual = read_back.clone();
        expected.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        actual.sort_by(|a, b| a.record_id.cmp(&b.record_id));
        assert_eq!(actual, expected, "{backend}: every record reads back as loaded");
    }
}

#[test]
fn other_content_is_refused_whole_or_superseded_with_an_audit_entry() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(&dir.path().join("usage.csv"), &usage_text(0, RECORDS));
    // Two records changed (quantity, then destination) and 500 new ones.
    let changed_text: String = usage_text(0, RECORDS + 500)
        .lines()
        .map(|line| match line.split(',').next() {
            Some("u00010") => line.replace(",123456789012.123456789012,", ",0.000000000002,") + "\n",
            Some("u00020") => line.replace(",+44770000020,", ",+44770000021,") + "\n",
            _ => format!("{line}\n"),
        })
        .collect();
    let changed = write(&dir.path().join("changed.csv"), &changed_text);
    for (backend, url) in ledger_urls(dir.path()) {
        reckon_ok_on(&url, &["import", "usage", &usage]);
        let (code, _, stderr) = reckon_on(&url, &["import", "usage", &changed]);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(
            stderr.contains(
                "2 usage records are stored with other content (first: u00010, u00020); import with --replace to supersede them"
            ),
            "{backend}: {stderr}"
        );
        assert_eq!(count(&url, "usage_records"), 3000, "{backend}: none of the 500 new records is stored");
        let stdout = reckon_ok_on(&url, &["import", "usage", &changed, "--replace"]);
        assert_eq!(
            stdout,
            format!("usage {changed}: 500 stored, 2998 already stored unchanged, 2 replaced\n"),
            "{backend}"
        );
        assert_eq!(count(&url, "usage_records"), 3500, "{backend}");
        let (rows, _) = stored(&url);
        let row = |id: &str| rows.iter().find(|row| row[0].as_deref() == Some(id)).unwrap().clone();
        let quantity: rust_decimal::Decimal = row("u00010")[8].as_deref().unwrap().parse().unwrap();
        assert_eq!(quantity.normalize().to_string(), "0.000000000002", "{backend}");
        assert_eq!(row("u00020")[7].as_deref(), Some("44770000021"), "{backend}");
        let audit: Vec<(String, String)> = block_on(async {
            use sqlx::Connection;
            let sql = "SELECT subject, detail FROM audit_log WHERE action = 'replace_usage' ORDER BY subject";
            if url.starts_with("sqlite:") {
                let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut connection).await.unwrap()
            } else {
                let mut connection = sqlx::PgConnection::connect(&url).await.unwrap();
                sqlx::query_as(sql).fetch_all(&mut connection).await.unwrap()
            }
        });
        assert_eq!(audit.len(), 2, "{backend}");
        assert_eq!(audit[0].0, "u00010", "{backend}");
        assert!(
            audit[0].1.starts_with(
                "old: record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity,network,status\n\
                 u00010,voice,acme,REF-10,\"cust, 3\",2026-03-11T11:10:07Z,442070000010,44770000010,123456789012.123456789012,23415,\n\
                 new content sha256: "
            ),
            "{backend}: {}",
            audit[0].1
        );
    }
}

#[test]
fn a_repeated_record_id_is_refused_with_the_loaders_message() {
    let dir = tempfile::tempdir().unwrap();
    // Line 2502 (record u02500) repeats line 2 (u00000), across batches of 1,000 records.
    let mut text = usage_text(0, RECORDS);
    let first_row = text.lines().nth(1).unwrap().to_owned();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2501] = &first_row;
    text = lines.join("\n") + "\n";
    let usage = write(&dir.path().join("usage.csv"), &text);
    let loader_message = reckon_import::usage::load_usage(Path::new(&usage), BadRowPolicy::Fail, &mut NoProgress)
        .unwrap_err()
        .to_string();
    assert!(loader_message.contains("usage.csv:2502"), "{loader_message}");
    assert!(loader_message.contains("record_id \"u00000\" repeats line 2"), "{loader_message}");
    // The file without the repeat's check: what a streaming reader hands over.
    let unique = write(&dir.path().join("unique.csv"), &usage_text(0, RECORDS));
    let mut records = load(&unique);
    records.items[2500] = records.items[0].clone();
    for (backend, url) in ledger_urls(dir.path()) {
        let (code, _, stderr) = reckon_on(&url, &["import", "usage", &usage]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains(&loader_message), "{backend}: {stderr}");
        let import = |ledger: &Ledger, records: &Loaded<UsageRecord>| {
            let mut next = records.items.iter().cloned().zip(records.positions.iter().copied());
            let batches = move |batch: &mut Loaded<UsageRecord>| {
                for (record, position) in next.by_ref().take(1_000) {
                    batch.items.push(record);
                    batch.positions.push(position);
                }
                Ok(batch.items.len() == 1_000)
            };
            block_on(ledger.import_usage_batches(batches, &usage, "test", false, now()))
        };
        let ledger = block_on(Ledger::open(&url)).unwrap();
        let error = import(&ledger, &records).unwrap_err();
        assert_eq!(error.to_string(), loader_message, "{backend}");
        assert_eq!(count(&url, "usage_records"), 0, "{backend}: nothing stored");
        // A repeat of a record the ledger holds already is a repeat too.
        let mut first_half = load(&unique);
        first_half.items.truncate(1_000);
        first_half.positions.truncate(1_000);
        let stored = import(&ledger, &first_half).unwrap();
        assert_eq!(stored.inserted, 1_000, "{backend}");
        let error = import(&ledger, &records).unwrap_err();
        assert_eq!(error.to_string(), loader_message, "{backend}: the repeated record is stored");
        assert_eq!(count(&url, "usage_records"), 1_000, "{backend}");
        block_on(ledger.close());
    }
}

#[test]
fn a_kill_while_staged_rows_are_stored_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(&dir.path().join("usage.csv"), &usage_text(0, 40_000));
    // PostgreSQL shows what each session runs: the kill lands while the staged rows are stored.
    let (backend, url) = ledger_urls(dir.path()).pop().unwrap();
    reckon_ok_on(&url, &["import", "usage", &write(&dir.path().join("one.csv"), &usage_text(90_000, 1))]);
    for attempt in 0.. {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reckon"))
            .args(["import", "usage", &usage, "--database-url", &url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let storing =
            "SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'INSERT INTO usage_records%usage_import%' \
                       AND state = 'active'";
        let mut seen = false;
        while child.try_wait().unwrap().is_none() {
            if count_where(&url, storing) > 0 {
                seen = true;
                break;
            }
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        if seen {
            assert_eq!(count(&url, "usage_records"), 1, "{backend}: none of the killed import is stored");
            break;
        }
        // The insert was over before it was seen: clean up and try again with the timing shifted.
        assert!(attempt < 5, "{backend}: never saw the staged rows being stored");
        crate::ledger::execute_sql(&url, "DELETE FROM usage_records WHERE record_id <> 'u90000'").unwrap();
        crate::ledger::execute_sql(&url, "DELETE FROM import_batches").unwrap();
    }
    let stdout = reckon_ok_on(&url, &["import", "usage", &usage]);
    assert!(stdout.contains("40000 stored"), "{backend}: {stdout}");
}

fn count_where(url: &str, sql: &str) -> i64 {
    block_on(async {
        use sqlx::Connection;
        let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
        sqlx::query_scalar(sql).fetch_one(&mut connection).await.unwrap()
    })
}
