//! Rate rows in the ledger as typed columns (issue 11, "one place per rule"): rows stored as CSV
//! text under the header of the code that wrote them would misalign once rates.csv gains a
//! column. Rows stored the old way are moved into the typed columns when the ledger opens.

use crate::fixtures;
use crate::ledger::{block_on, count, execute_sql, ledger_urls, run_ok};

fn execute(url: &str, sql: &str) {
    execute_sql(url, sql).unwrap();
}

fn text_column(url: &str, sql: &str) -> Vec<String> {
    block_on(async {
        use sqlx::Connection;
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(sql).fetch_all(&mut connection).await.unwrap()
        }
    })
}

#[test]
fn rate_rows_are_typed_columns_and_old_text_rows_are_converted_on_open() {
    let directory = tempfile::tempdir().unwrap();
    let usage = fixtures().join("basic/usage.csv").display().to_string();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(directory.path()) {
        run_ok(&["import", "usage", &usage, "--database-url", &url]);
        // A row as the code before migration 0005 kept it: rates.csv text under today's header.
        execute(
            &url,
            "INSERT INTO rate_rows (row_key, carrier, row_csv, content_sha256, batch_id) VALUES ('legacy-1', 'zeta', \
             'zeta,voice,49,\"Germany, mobile\",0.0310,EUR,60,60/60,0,0,0,,,,,,,,,,2026-01-01T00:00:00Z,\n', 'x', 'b0')",
        );
        // Opening the ledger (any command) moves it into the typed columns.
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        assert_eq!(count(&url, "rate_rows"), 0, "{backend}: the text rows are gone");
        let zeta = text_column(
            &url,
            "SELECT destination_name || '|' || CAST(rate AS TEXT) || '|' || increments FROM rate_row_lines WHERE carrier = 'zeta'",
        );
        assert_eq!(zeta.len(), 1, "{backend}");
        let (name, rest) = zeta[0].split_once('|').unwrap();
        let (rate, increments) = rest.split_once('|').unwrap();
        assert_eq!(name, "Germany, mobile", "{backend}");
        assert_eq!(rate.parse::<rust_decimal::Decimal>().unwrap(), "0.031".parse().unwrap(), "{backend}");
        assert_eq!(increments, "60/60", "{backend}");
        // The basic deck's rows, one per column, and importing the file again changes nothing.
        let again = run_ok(&["import", "rates", &rates, "--database-url", &url]);
        assert!(again.contains("0 rows stored"), "{backend}: {again}");
        let acme = text_column(&url, "SELECT CAST(rate AS TEXT) FROM rate_row_lines WHERE carrier = 'acme' AND service = 'voice' AND prefix = '44'");
        assert_eq!(acme.len(), 1, "{backend}: {acme:?}");
        assert_eq!(acme[0].parse::<rust_decimal::Decimal>().unwrap(), "0.012".parse().unwrap(), "{backend}");
    }
}
