//! Issue 11, item 1: every invoice belongs to exactly one period, a run of a period reconciles
//! exactly that period's invoices, and a settlement counts each invoice once; on both backends.
//!
//! Method: the worked example (all of it March) plus invoices next to it: an April acme invoice
//! whose first line is 30 s into April, a February borealis invoice with a line ten minutes
//! before March, a borealis invoice straddling the month end (10.00 + 20.00) and a March one
//! whose last line is 30 s into April. Each comes with the usage it bills. Figures by hand.

use crate::at;
use crate::scenario::import_basic;
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::{Decimal, DiscrepancyKind, FxTable, ReconcileConfig};
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{Ledger, StoreError, StoredRun};
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn month(text: &str) -> Month {
    Month::parse(text).unwrap()
}

const USAGE_HEADER: &str = "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity\n";
const INVOICE_HEADER: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n";

/// Stores usage rows (without the header).
pub async fn import_usage_rows(ledger: &Ledger, rows: &str) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("usage.csv");
    std::fs::write(&path, format!("{USAGE_HEADER}{rows}")).unwrap();
    let usage = reckon_import::usage::load_usage(&path, BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-05-01T09:00:00Z")).await.unwrap();
}

/// Stores invoice rows (without the header), in `period` when given.
pub async fn import_invoice_rows(
    ledger: &Ledger,
    rows: &str,
    period: Option<Month>,
) -> Result<Vec<reckon_store::InvoiceImport>, StoreError> {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("invoice.csv");
    std::fs::write(&path, format!("{INVOICE_HEADER}{rows}")).unwrap();
    let lines = reckon_import::invoice::load_invoices(&[path], BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    ledger.import_invoices_in(&lines, period, "invoice.csv", "test", false, at("2026-05-01T09:00:00Z")).await
}

pub async fn run(ledger: &Ledger, carrier: &str, period: &str) -> StoredRun {
    let config = ReconcileConfig::default();
    let (fx, networks) = (FxTable::new(), NetworkMap::new());
    let holidays = std::collections::HashMap::new();
    let inputs = reckon_store::RunInputs {
        carrier,
        period: month(period),
        config: &config,
        fx: &fx,
        networks: &networks,
        holidays: &holidays,
    };
    ledger.reconcile_period(&inputs, at("2026-05-02T09:00:00Z")).await.unwrap()
}

fn count(run: &StoredRun, kind: DiscrepancyKind) -> usize {
    run.discrepancies.iter().filter(|found| found.kind == kind).count()
}

fn of_invoice(run: &StoredRun, invoice_id: &str) -> usize {
    run.discrepancies.iter().filter(|found| found.invoice_id.as_deref() == Some(invoice_id)).count()
}

/// ACME-2026-04: three SMS lines from 2026-04-01T00:00:30Z, each 1 x 0.0310 = 0.031 USD, as the
/// deck's `acme,sms,44` row prices them, with the April usage they bill.
async fn import_acme_april(ledger: &Ledger) {
    import_usage_rows(
        ledger,
        "a1,sms,acme,,c1,2026-04-01T00:00:30Z,,+447700900001,1\n\
         a2,sms,acme,,c1,2026-04-02T00:00:00Z,,+447700900002,1\n\
         a3,sms,acme,,c1,2026-04-03T00:00:00Z,,+447700900003,1\n",
    )
    .await;
    let imported = import_invoice_rows(
        ledger,
        "acme,ACME-2026-04,1,,sms,2026-04-01T00:00:30Z,447700900001,1,0.0310,0.031,USD\n\
         acme,ACME-2026-04,2,,sms,2026-04-02T00:00:00Z,447700900002,1,0.0310,0.031,USD\n\
         acme,ACME-2026-04,3,,sms,2026-04-03T00:00:00Z,447700900003,1,0.0310,0.031,USD\n",
        None,
    )
    .await
    .unwrap();
    assert_eq!(imported[0].period, month("2026-04"), "all three lines are in April");
}

#[tokio::test]
async fn issue_11_an_april_invoice_stays_out_of_the_march_run() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        import_basic(&ledger).await;
        import_acme_april(&ledger).await;
        // March: exactly the worked example's 13 acme rows. Before the fix the run took in
        // ACME-2026-04 too: 2 more unmatched_charge (the lines of 2 and 3 April, whose usage was
        // outside the run's window) and 0.062 = 2 x 0.031 overbilled.
        let march = run(&ledger, "acme", "2026-03").await;
        assert_eq!(march.discrepancies.len(), 13, "{backend}: {:?}", march.discrepancies);
        assert_eq!(of_invoice(&march, "ACME-2026-04"), 0, "{backend}");
        assert_eq!(count(&march, DiscrepancyKind::UnmatchedCharge), 3, "{backend}: the example's 3");
        // April: the three lines bill their records at the contract's price: nothing to report.
        let april = run(&ledger, "acme", "2026-04").await;
        assert_eq!(april.discrepancies, [], "{backend}");
        let summary = april.summary.unwrap();
        let lines: u64 = summary.groups.values().map(|group| group.lines_billed).sum();
        assert_eq!(lines, 3, "{backend}");
        ledger.close().await;
    }
}

#[tokio::test]
async fn issue_11_a_february_invoice_does_not_pull_in_the_march_invoice() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        import_basic(&ledger).await;
        // BOR-2602: one 60 s call ten minutes before March, 60 x 0.0150 / 60 = 0.015 EUR.
        import_usage_rows(&ledger, "f1,voice,borealis,,c1,2026-02-28T23:50:00Z,,+33100000001,60\n").await;
        let imported = import_invoice_rows(
            &ledger,
            "borealis,BOR-2602,1,,voice,2026-02-28T23:50:00Z,33100000001,60,0.0150,0.015,EUR\n",
            None,
        )
        .await
        .unwrap();
        assert_eq!(imported[0].period, month("2026-02"), "{backend}");
        // February: only BOR-2602, which is right. Before the fix the run read every invoice
        // with a line up to a day past February, so all of BOR-2603 came in: 41 of its 42 lines
        // as unmatched_charge (only the line of 1 March found its record).
        let february = run(&ledger, "borealis", "2026-02").await;
        assert_eq!(february.discrepancies, [], "{backend}");
        // March is the worked example's: 2 unbilled + 12 line discrepancies.
        let march = run(&ledger, "borealis", "2026-03").await;
        assert_eq!(march.discrepancies.len(), 14, "{backend}");
        assert_eq!(of_invoice(&march, "BOR-2602"), 0, "{backend}");
        ledger.close().await;
    }
}

#[tokio::test]
async fn issue_11_a_straddling_invoice_is_reconciled_and_settled_once() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        import_basic(&ledger).await;
        import_usage_rows(
            &ledger,
            "s1,voice,borealis,,c1,2026-02-28T23:50:00Z,,+33100000002,60\n\
             s2,voice,borealis,,c1,2026-03-01T00:10:00Z,,+33100000003,60\n\
             l1,voice,borealis,,c1,2026-03-31T12:00:00Z,,+33100000004,60\n\
             l2,voice,borealis,,c1,2026-03-31T23:59:50Z,,+33100000005,60\n",
        )
        .await;
        // BOR-STR: 10.00 ten minutes before March, 20.00 ten minutes into it. One line each side:
        // a tie, so the earliest month, February.
        let straddling = import_invoice_rows(
            &ledger,
            "borealis,BOR-STR,1,,voice,2026-02-28T23:50:00Z,33100000002,60,0.0150,10.00,EUR\n\
             borealis,BOR-STR,2,,voice,2026-03-01T00:10:00Z,33100000003,60,0.0150,20.00,EUR\n",
            None,
        )
        .await
        .unwrap();
        assert_eq!(straddling[0].period, month("2026-02"), "{backend}");
        // BOR-LATE, given to March at import: its second line is 30 s into April and bills the
        // record of 2026-03-31T23:59:50Z (40 s apart, within the 60 s tolerance).
        let late = import_invoice_rows(
            &ledger,
            "borealis,BOR-LATE,1,,voice,2026-03-31T12:00:00Z,33100000004,60,0.0150,0.015,EUR\n\
             borealis,BOR-LATE,2,,voice,2026-04-01T00:00:30Z,33100000005,60,0.0150,0.015,EUR\n",
            Some(month("2026-03")),
        )
        .await
        .unwrap();
        assert_eq!(late[0].period, month("2026-03"), "{backend}");

        // February reconciles BOR-STR alone: both lines are amount mismatches,
        // 10.00 - 0.015 = 9.985 and 20.00 - 0.015 = 19.985.
        let february = run(&ledger, "borealis", "2026-02").await;
        let differences: Vec<(&str, Option<Decimal>)> = february
            .discrepancies
            .iter()
            .map(|found| (found.invoice_id.as_deref().unwrap_or(""), found.difference))
            .collect();
        assert_eq!(differences, [("BOR-STR", Some(d("9.985"))), ("BOR-STR", Some(d("19.985")))], "{backend}");
        // March: the worked example's 14 rows, nothing of BOR-STR, and BOR-LATE right. The
        // record s2 (1 March, billed by February's BOR-STR) is not unbilled usage of March.
        let march = run(&ledger, "borealis", "2026-03").await;
        assert_eq!(march.discrepancies.len(), 14, "{backend}: {:?}", march.discrepancies);
        assert_eq!((of_invoice(&march, "BOR-STR"), of_invoice(&march, "BOR-LATE")), (0, 0), "{backend}");
        assert!(
            march.discrepancies.iter().all(|found| found.record_id.as_deref() != Some("s2")),
            "{backend}: s2 is billed in February"
        );

        // Settlements count each invoice once, in full, in its own period. Before the fix
        // BOR-STR was settled in full in February and again in March.
        // February: 10.00 + 20.00 = 30.00.
        let settled =
            ledger.settle_period("borealis", month("2026-02"), false, at("2026-05-03T09:00:00Z")).await.unwrap();
        assert_eq!(settled.statement.inputs.invoiced, d("30.00"), "{backend}");
        assert_eq!(settled.statement.net, d("30.00"), "{backend}");
        // March: BOR-2603's 3.724983 + BOR-LATE's 0.015 + 0.015 = 3.754983 -> 3.75 EUR.
        let settled =
            ledger.settle_period("borealis", month("2026-03"), false, at("2026-05-03T09:00:00Z")).await.unwrap();
        assert_eq!(settled.statement.inputs.invoiced, d("3.754983"), "{backend}");
        assert_eq!(settled.statement.net, d("3.75"), "{backend}");
        // April has no invoice of borealis, though BOR-LATE has a line in it.
        let april = ledger.settle_period("borealis", month("2026-04"), false, at("2026-05-03T09:00:00Z")).await;
        assert!(matches!(april, Err(StoreError::NotFound(_))), "{backend}: {april:?}");
        ledger.close().await;
    }
}

#[tokio::test]
async fn issue_11_an_invoice_moved_to_another_period_needs_replace() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        let rows = "borealis,BOR-9,1,,voice,2026-02-28T23:50:00Z,33100000002,60,0.0150,10.00,EUR\n";
        let first = import_invoice_rows(&ledger, rows, None).await.unwrap();
        assert_eq!((first[0].period, first[0].version), (month("2026-02"), 1), "{backend}");
        // The same file again: a no-op in the same period.
        let again = import_invoice_rows(&ledger, rows, None).await.unwrap();
        assert_eq!((again[0].outcome, again[0].version), (reckon_store::InvoiceOutcome::Unchanged, 1));
        // Into March: the same content in another period is a change, refused without replace.
        let refused = import_invoice_rows(&ledger, rows, Some(month("2026-03"))).await;
        let message = refused.unwrap_err().to_string();
        assert_eq!(
            message,
            "invoice BOR-9 of borealis is stored in period 2026-02 (this import: 2026-03); import with --replace to supersede it",
            "{backend}"
        );
        ledger.close().await;
    }
}
