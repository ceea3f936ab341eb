//! The audit trail through the binary, on SQLite and PostgreSQL (issue 11, item 8): replacing a
//! usage record or a rate row keeps the old content in the audit log, and the append-only tables
//! refuse UPDATE and DELETE in the database itself.

use crate::fixtures;
use crate::ledger::{block_on, execute_sql as raw, ledger_urls, run_ok};

/// The audit log's `(action, subject, detail)` rows, oldest first.
fn audit_log(url: &str) -> Vec<(String, String, String)> {
    block_on(async {
        use sqlx::Connection;
        let query = "SELECT action, subject, detail FROM audit_log ORDER BY seq";
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut connection).await.unwrap()
        }
    })
}

#[test]
fn a_replaced_usage_record_or_rate_row_keeps_its_old_content_in_the_audit_log() {
    let directory = tempfile::tempdir().unwrap();
    let basic = fixtures().join("basic");
    let usage = std::fs::read_to_string(basic.join("usage.csv")).unwrap();
    let rates = std::fs::read_to_string(basic.join("rates.csv")).unwrap();
    // u00033 billed 600.2 s, corrected to 599.8 s; acme's voice 44 rate 0.0120, corrected to 0.0125.
    let corrected_usage = directory.path().join("usage-corrected.csv");
    std::fs::write(&corrected_usage, usage.replace("+33680387900,600.2", "+33680387900,599.8")).unwrap();
    let corrected_rates = directory.path().join("rates-corrected.csv");
    std::fs::write(&corrected_rates, rates.replace("acme,voice,44,dest 44,0.0120,", "acme,voice,44,dest 44,0.0125,"))
        .unwrap();
    for (backend, url) in ledger_urls(directory.path()) {
        let call = |arguments: &[&str]| {
            let mut all = arguments.to_vec();
            all.extend(["--database-url", url.as_str()]);
            run_ok(&all)
        };
        call(&["import", "usage", &basic.join("usage.csv").display().to_string()]);
        call(&["import", "rates", &basic.join("rates.csv").display().to_string()]);
        call(&["import", "usage", &corrected_usage.display().to_string(), "--replace"]);
        call(&["import", "rates", &corrected_rates.display().to_string(), "--replace"]);
        let log = audit_log(&url);
        assert_eq!(log.len(), 2, "{backend}: {log:?}");
        let (action, subject, detail) = &log[0];
        assert_eq!((action.as_str(), subject.as_str()), ("replace_usage", "u00033"), "{backend}");
        assert!(
            detail.contains("u00033,voice,borealis,BOR000033,c3,2026-03-12T18:13:44Z,,33680387900,600.2,"),
            "{backend}: the old record: {detail}"
        );
        let (action, _, detail) = &log[1];
        assert_eq!(action, "replace_rate_row", "{backend}");
        let (old, new) = detail.split_once("\nnew: ").expect("old and new content");
        assert!(old.contains("\nacme,voice,44,dest 44,0.012,USD,60,60/6,"), "{backend}: the old row: {detail}");
        assert!(new.contains("\nacme,voice,44,dest 44,0.0125,USD,60,60/6,"), "{backend}: the new row: {detail}");
    }
}

#[test]
fn append_only_tables_refuse_update_and_delete_in_the_database() {
    let directory = tempfile::tempdir().unwrap();
    let basic = fixtures().join("basic");
    let path = |name: &str| basic.join(name).display().to_string();
    for (backend, url) in ledger_urls(directory.path()) {
        let call = |arguments: &[&str]| {
            let mut all = arguments.to_vec();
            all.extend(["--database-url", url.as_str()]);
            run_ok(&all)
        };
        call(&["import", "usage", &path("usage.csv")]);
        call(&["import", "rates", &path("rates.csv")]);
        call(&["import", "usage", &path("usage.csv")]);
        call(&["import", "invoice", &path("invoice-borealis.csv")]);
        let run = call(&["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
        let run_id = run.split_whitespace().nth(1).unwrap().to_owned();
        call(&["dispute", "open", "--run", &run_id, "--threshold", "0.001"]);
        call(&["settle", "--carrier", "borealis", "--period", "2026-03"]);
        // An audit entry to protect: replace one usage record.
        let corrected = directory.path().join(format!("usage-{backend}.csv"));
        let usage = std::fs::read_to_string(basic.join("usage.csv")).unwrap();
        std::fs::write(&corrected, usage.replace("+33680387900,600.2", "+33680387900,599.8")).unwrap();
        call(&["import", "usage", &corrected.display().to_string(), "--replace"]);
        for table in ["dispute_events", "audit_log", "statements"] {
            let column = match table {
                "dispute_events" => "reason",
                "audit_log" => "detail",
                _ => "carrier",
            };
            let update = raw(&url, &format!("UPDATE {table} SET {column} = 'tampered'"));
            assert!(
                update.as_ref().is_err_and(|message| message.contains(&format!("{table} is append-only"))),
                "{backend}: UPDATE {table}: {update:?}"
            );
            let delete = raw(&url, &format!("DELETE FROM {table}"));
            assert!(
                delete.as_ref().is_err_and(|message| message.contains(&format!("{table} is append-only"))),
                "{backend}: DELETE {table}: {delete:?}"
            );
            assert!(crate::ledger::count(&url, table) > 0, "{backend}: {table} keeps its rows");
        }
    }
}
