//! Issue 11 through the binary, on SQLite and PostgreSQL: a line credited twice is refused,
//! receivables are never negative and `--replace` corrects them with an audit entry, and the
//! ledger's `reconcile` prints what it read (or nothing with `--quiet`), with statements in
//! their currency's minor unit.
//!
//! Method: the worked example imported with the CLI, then each step as a user types it.

use crate::ledger::{count, import_basic, ledger_urls, reckon_ok_on as ok, reckon_on as call};

/// The `detail` of the ledger's audit entries with an action, oldest first.
fn audit_details(url: &str, action: &str) -> Vec<String> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        use sqlx::Connection;
        let query = format!("SELECT detail FROM audit_log WHERE action = '{action}' ORDER BY seq");
        if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_scalar(&query).fetch_all(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_scalar(&query).fetch_all(&mut connection).await.unwrap()
        }
    })
}

/// Issue 11, items 5 (a line credited twice) and 17 (counts, `--quiet`, minor units).
#[test]
fn issue_11_reconcile_prints_what_it_read_and_credits_name_each_line_once() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        // The run prints what it read: borealis's 41 records of the example's 83, its 4 deck
        // rows of 11, BOR-2603's 42 lines. Before: "0 usage records, 0 rate rows, 0 invoice
        // lines read".
        let printed = ok(&url, &["reconcile", "--carrier", "borealis", "--period", "2026-03"]);
        assert!(printed.contains("41 usage records, 4 rate rows, 42 invoice lines read"), "{backend}: {printed}");
        let run_id = printed.split_whitespace().nth(1).unwrap().to_owned();
        // --quiet: nothing on stdout, and a new run (another tolerance) is recorded all the same.
        let quiet = ok(
            &url,
            &["reconcile", "--carrier", "borealis", "--period", "2026-03", "--time-tolerance", "61", "--quiet"],
        );
        assert_eq!(quiet, "", "{backend}");
        assert_eq!(count(&url, "runs"), 2, "{backend}");

        let opened = ok(&url, &["dispute", "open", "--run", &run_id, "--threshold", "0.001"]);
        let dispute_id = opened.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
        ok(&url, &["dispute", "submit", &dispute_id]);
        let (code, _, stderr) =
            call(&url, &["dispute", "accept", &dispute_id, "--credit", "22=0.01", "--credit", "22=0.02"]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(
            stderr.contains("--credit \"22=0.02\": line 22 is credited twice; give each line once"),
            "{backend}: {stderr}"
        );
        let shown = ok(&url, &["dispute", "show", &dispute_id]);
        assert!(shown.contains("submitted") && shown.contains("credited 0.00 EUR"), "{backend}: {shown}");

        // The pending statement, every amount with the euro's two decimals and no "-0":
        // 3.724983 - 0.183 withheld = 3.541983 -> 3.54.
        let statement = ok(&url, &["settle", "--carrier", "borealis", "--period", "2026-03"]);
        for line in [
            "  invoiced           3.724983 EUR",
            "  accepted credits   0.00 EUR",
            "  withheld (open)    -0.183 EUR",
            "  netted receivable  0.00 EUR",
            "  net to pay         3.54 EUR (exact 3.541983)",
        ] {
            assert!(statement.contains(&format!("{line}\n")), "{backend}: {line:?} in\n{statement}");
        }
        assert!(!statement.contains("-0 "), "{backend}: {statement}");
    }
}

/// Issue 11, item 6: a negative receivable is refused; a wrong one is corrected with
/// `--replace`, the old figures kept in the audit log.
#[test]
fn issue_11_a_wrong_receivable_is_corrected_with_replace() {
    let dir = tempfile::tempdir().unwrap();
    for (backend, url) in ledger_urls(dir.path()) {
        import_basic(&url);
        let receivable = |amount: &str, currency: &str, replace: bool| {
            let mut arguments = vec![
                "import",
                "receivable",
                "--carrier",
                "borealis",
                "--invoice-id",
                "OUR-0317",
                "--period",
                "2026-03",
                "--amount",
                amount,
                "--currency",
                currency,
            ];
            if replace {
                arguments.push("--replace");
            }
            call(&url, &arguments)
        };
        let (code, _, stderr) = receivable("-1.00", "EUR", false);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("amount -1.00: expected an amount >= 0"), "{backend}: {stderr}");
        assert_eq!(count(&url, "receivables"), 0, "{backend}");

        assert!(receivable("1.00", "USD", false).1.contains("stored"), "{backend}");
        let (code, _, stderr) = receivable("1.00", "EUR", false);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("import with --replace to correct it"), "{backend}: {stderr}");
        let (code, stdout, stderr) = receivable("1.00", "EUR", true);
        assert_eq!(code, Some(0), "{backend}: {stderr}");
        assert!(stdout.contains("corrected (the old figures are in the audit log)"), "{backend}: {stdout}");
        assert_eq!(
            audit_details(&url, "replace_receivable"),
            ["old: 2026-03, 1 USD; new: 2026-03, 1 EUR"],
            "{backend}"
        );
        // 3.724983 - 1.00 = 2.724983 -> 2.72 EUR.
        let statement = ok(&url, &["settle", "--carrier", "borealis", "--period", "2026-03"]);
        assert!(statement.contains("  netted receivable  -1.00 EUR\n"), "{backend}: {statement}");
        assert!(statement.contains("  net to pay         2.72 EUR"), "{backend}: {statement}");
    }
}
