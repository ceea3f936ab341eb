//! One invoice from import to settlement, on both backends, with hand-computed figures; and the
//! idempotency of every step.

use crate::{at, basic, ledgers};
use reckon_core::dispute::{DisputeAction, DisputeState};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, FxTable, ReconcileConfig};
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{InvoiceOutcome, Ledger, RunInputs, StoreError};
use std::collections::BTreeMap;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

pub async fn import_basic(ledger: &Ledger) {
    let usage =
        reckon_import::usage::load_usage(&basic("usage.csv"), BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    let outcome = ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
    assert_eq!(outcome.inserted, 83);
    let deck =
        reckon_import::rates::load_rates(&[basic("rates.csv")], BadRowPolicy::Fail, &mut NoProgress).unwrap().deck;
    ledger.import_rates(deck.rows(), "rates.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
    for file in ["invoice-acme.csv", "invoice-borealis.csv"] {
        let lines =
            reckon_import::invoice::load_invoices(&[basic(file)], BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
        let imported = ledger.import_invoices(&lines, file, "test", false, at("2026-04-02T09:00:00Z")).await.unwrap();
        assert_eq!(imported[0].outcome, InvoiceOutcome::Imported);
    }
}

async fn run(ledger: &Ledger, carrier: &str) -> reckon_store::StoredRun {
    let config = ReconcileConfig::default();
    let inputs = RunInputs {
        carrier,
        period: Month::parse("2026-03").unwrap(),
        config: &config,
        fx: &FxTable::new(),
        networks: &NetworkMap::new(),
        holidays: &std::collections::HashMap::new(),
    };
    ledger.reconcile_period(&inputs, at("2026-04-03T09:00:00Z")).await.unwrap()
}

#[tokio::test]
async fn imports_are_idempotent_and_conflicts_need_replace() {
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        // The same usage again changes nothing.
        let usage =
            reckon_import::usage::load_usage(&basic("usage.csv"), BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
        let again = ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-04-05T00:00:00Z")).await.unwrap();
        assert_eq!((again.inserted, again.unchanged, again.replaced), (0, 83, 0), "{backend}");
        assert_eq!(ledger.usage_count().await.unwrap(), 83, "{backend}");
        // The same invoice again: unchanged, still version 1.
        let mut lines = reckon_import::invoice::load_invoices(
            &[basic("invoice-borealis.csv")],
            BadRowPolicy::Fail,
            &mut NoProgress,
        )
        .unwrap()
        .items;
        let again = ledger
            .import_invoices(&lines, "invoice-borealis.csv", "test", false, at("2026-04-05T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((again[0].outcome, again[0].version), (InvoiceOutcome::Unchanged, 1), "{backend}");
        // Another amount on one line: refused, then a new version with --replace.
        lines[0].amount = d("9.99");
        let refused =
            ledger.import_invoices(&lines, "invoice-borealis.csv", "test", false, at("2026-04-05T00:00:00Z")).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(ref message)) if message.contains("BOR-2603")),
            "{backend}: {refused:?}"
        );
        let replaced = ledger
            .import_invoices(&lines, "invoice-borealis.csv", "test", true, at("2026-04-05T00:00:00Z"))
            .await
            .unwrap();
        assert_eq!((replaced[0].outcome, replaced[0].version), (InvoiceOutcome::Replaced, 2), "{backend}");
        // A usage record with other content is refused as a whole file: nothing changes.
        let mut changed = usage.clone();
        changed[0].quantity = d("1234");
        assert!(
            matches!(
                ledger.import_usage(&changed, "usage.csv", "test", false, at("2026-04-05T00:00:00Z")).await,
                Err(StoreError::Conflict(_))
            ),
            "{backend}"
        );
        ledger.close().await;
    }
}

#[tokio::test]
async fn reconcile_twice_records_one_run() {
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        let first = run(&ledger, "borealis").await;
        let second = run(&ledger, "borealis").await;
        assert!(first.created && !second.created, "{backend}");
        assert_eq!(first.run_id, second.run_id, "{backend}");
        // The example's borealis rows: 2 unbilled + 12 line discrepancies.
        assert_eq!(first.discrepancies.len(), 14, "{backend}");
        assert_eq!(
            second.discrepancies,
            first
                .discrepancies
                .iter()
                .cloned()
                .enumerate()
                .map(|(index, mut found)| {
                    found.line_index = Some(index);
                    found.record_index = None;
                    found
                })
                .collect::<Vec<_>>(),
            "{backend}: stored discrepancies read back as they were"
        );
        ledger.close().await;
    }
}

#[tokio::test]
async fn an_invoice_from_import_through_dispute_partial_acceptance_and_settlement() {
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        let run = run(&ledger, "borealis").await;
        // Disputable: overbilled kinds with a difference above 0.001 EUR. Of BOR-2603's
        // 0.185483 overbilled, lines 14 (0.001), 23 (0.000483) and 38 (0.001) are at or below
        // the threshold: claimed = 0.185483 - 0.002483 = 0.183.
        let opened = ledger.open_disputes(&run.run_id, d("0.001"), "ana", at("2026-04-04T09:00:00Z")).await.unwrap();
        assert_eq!(opened.len(), 1, "{backend}");
        let dispute_id = opened[0].0.clone();
        assert!(opened[0].1);
        let again = ledger.open_disputes(&run.run_id, d("0.001"), "ana", at("2026-04-04T10:00:00Z")).await.unwrap();
        assert_eq!(again, [(dispute_id.clone(), false)], "{backend}: opening twice changes nothing");
        let dispute = ledger.dispute(&dispute_id).await.unwrap();
        assert_eq!(dispute.claimed_total, d("0.183"), "{backend}");
        assert_eq!(dispute.lines.len(), 9, "{backend}: lines 5, 16, 22, 24, 27, 36, 40, 41, 42");
        assert_eq!(dispute.state, DisputeState::Open);

        // Closing an open dispute is refused with the reason.
        let refused =
            ledger.act_on_dispute(&dispute_id, &DisputeAction::Close, "ana", "done", at("2026-04-04T11:00:00Z")).await;
        assert_eq!(
            refused.unwrap_err().to_string(),
            "a dispute that is open cannot be closed: submit it to the carrier first",
            "{backend}"
        );

        ledger
            .act_on_dispute(
                &dispute_id,
                &DisputeAction::Submit,
                "ana",
                "sent to billing@borealis",
                at("2026-04-05T09:00:00Z"),
            )
            .await
            .unwrap();
        // We also invoiced borealis 1.00 EUR for March (netted).
        assert!(ledger
            .import_receivable("borealis", "OUR-0317", "2026-03", d("1.00"), Currency::EUR, at("2026-04-05T09:00:00Z"))
            .await
            .unwrap());
        assert!(!ledger
            .import_receivable("borealis", "OUR-0317", "2026-03", d("1.00"), Currency::EUR, at("2026-04-05T10:00:00Z"))
            .await
            .unwrap());

        // Settling while the dispute is pending withholds the claim:
        // 3.724983 invoiced - 0.183 withheld - 1.00 receivable = 2.541983 -> 2.54 EUR
        let march = Month::parse("2026-03").unwrap();
        let pending = ledger.settle_period("borealis", march, false, at("2026-04-06T09:00:00Z")).await.unwrap();
        assert_eq!(pending.statement.inputs.invoiced, d("3.724983"), "{backend}");
        assert_eq!(pending.statement.inputs.withheld, d("0.183"), "{backend}");
        assert_eq!(pending.statement.net, d("2.54"), "{backend}");
        let same = ledger.settle_period("borealis", march, false, at("2026-04-06T10:00:00Z")).await.unwrap();
        assert_eq!((same.statement_id.as_str(), same.created), (pending.statement_id.as_str(), false), "{backend}");

        // The carrier credits the three phantom calls in full (0.03 each) and 0.02 of line 22.
        let credits = BTreeMap::from([
            ("40".to_owned(), d("0.03")),
            ("41".to_owned(), d("0.03")),
            ("42".to_owned(), d("0.03")),
            ("22".to_owned(), d("0.02")),
        ]);
        let answered = ledger
            .act_on_dispute(
                &dispute_id,
                &DisputeAction::AcceptPartially { credits },
                "borealis",
                "credit note CN-77",
                at("2026-04-10T09:00:00Z"),
            )
            .await
            .unwrap();
        assert_eq!(answered.state, DisputeState::PartiallyAccepted, "{backend}");
        assert_eq!(answered.credited_total(), d("0.11"), "{backend}");

        // The figures changed: refused without --correct, then a correction that supersedes.
        assert!(
            matches!(
                ledger.settle_period("borealis", march, false, at("2026-04-11T09:00:00Z")).await,
                Err(StoreError::Conflict(_))
            ),
            "{backend}"
        );
        // 3.724983 - 0.11 credits - 0 withheld - 1.00 = 2.614983 -> 2.61 EUR (half to even)
        let corrected = ledger.settle_period("borealis", march, true, at("2026-04-11T09:00:00Z")).await.unwrap();
        assert_eq!(corrected.statement.net_exact, d("2.614983"), "{backend}");
        assert_eq!(corrected.statement.net, d("2.61"), "{backend}");
        assert_eq!(corrected.supersedes.as_deref(), Some(pending.statement_id.as_str()), "{backend}");
        let latest = ledger.latest_statement("borealis", "2026-03").await.unwrap().unwrap();
        assert_eq!(latest.statement_id, corrected.statement_id, "{backend}");

        // Every journal entry balances; the first statement is reversed, so the bank pays 2.61
        // once and the payable ends at zero (no claim pending any more).
        let journal = ledger.journal("borealis", "2026-03").await.unwrap();
        let mut bank = Decimal::ZERO;
        let mut payable = Decimal::ZERO;
        for entry in &journal {
            let debits: Decimal = entry.lines.iter().map(|line| line.debit).sum();
            let credits_total: Decimal = entry.lines.iter().map(|line| line.credit).sum();
            assert_eq!(debits, credits_total, "{backend}: {}", entry.entry_id);
            for line in &entry.lines {
                match line.account.code {
                    "1000" => bank += line.debit - line.credit,
                    "2100" => payable += line.debit - line.credit,
                    _ => {}
                }
            }
        }
        assert_eq!((bank, payable), (d("-2.61"), Decimal::ZERO), "{backend}");
        assert!(
            journal.iter().any(|entry| entry.entry_id == format!("{}:reversal", pending.statement_id)),
            "{backend}"
        );

        // Closing, and the history in order.
        let closed = ledger
            .act_on_dispute(&dispute_id, &DisputeAction::Close, "ana", "settled", at("2026-04-12T09:00:00Z"))
            .await
            .unwrap();
        let actions: Vec<(&str, &str)> =
            closed.events.iter().map(|event| (event.action.as_str(), event.to_state.as_str())).collect();
        assert_eq!(
            actions,
            [
                ("open", "open"),
                ("submit", "submitted"),
                ("accept_partially", "partially_accepted"),
                ("close", "closed")
            ],
            "{backend}"
        );
        // Closed keeps its credits: settling again finds the same figures.
        let after_close = ledger.settle_period("borealis", march, false, at("2026-04-13T09:00:00Z")).await.unwrap();
        assert_eq!(after_close.statement_id, corrected.statement_id, "{backend}");

        // The evidence file's lines: the carrier's line, our record, expected vs billed, reason.
        let evidence = ledger.dispute_evidence(&dispute_id).await.unwrap();
        assert_eq!(evidence.len(), 9, "{backend}");
        let line_22 = evidence.iter().find(|row| row.line_id == "22").unwrap();
        assert_eq!(
            (line_22.billed_quantity, line_22.expected_quantity, line_22.our_quantity),
            (d("120"), Some(d("90")), Some(d("75"))),
            "{backend}"
        );
        assert_eq!(
            (line_22.billed_amount, line_22.expected_amount, line_22.claimed),
            (d("0.12"), d("0.09"), d("0.03")),
            "{backend}"
        );
        ledger.close().await;
    }
}

/// The console's first look at a large run reads one page through the ledger: each page, filter
/// and count must be exactly that slice of the stored run.
#[tokio::test]
async fn a_run_page_read_from_the_ledger_is_that_slice_of_the_stored_run() {
    use reckon_core::{DiscrepancyKind, Service};
    use reckon_store::RunPageFilter;
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        let run_id = run(&ledger, "borealis").await.run_id;
        let all = ledger.run_discrepancies(&run_id).await.unwrap().unwrap();
        assert_eq!(all.len(), 14, "{backend}");
        // Pages of 5 in report order: 14 rows make 5, 5 and 4; the third is rows 10 to 13.
        let whole = RunPageFilter::default();
        let (kept, third) = ledger.run_discrepancy_page(&run_id, whole, 10, 5).await.unwrap().unwrap();
        assert_eq!((kept, third.as_slice()), (14, &all[10..14]), "{backend}");
        // borealis's rate mismatches: lines 14, 23, 36 and 38 of the worked example.
        let rate = RunPageFilter { kind: Some(DiscrepancyKind::RateMismatch), ..RunPageFilter::default() };
        let (kept, page) = ledger.run_discrepancy_page(&run_id, rate, 0, 50).await.unwrap().unwrap();
        let lines: Vec<_> = page.iter().map(|found| found.line_id.as_deref().unwrap_or("").to_owned()).collect();
        assert_eq!((kept, lines), (4, vec!["14".to_owned(), "23".into(), "36".into(), "38".into()]), "{backend}");
        // A service and a destination prefix, against the same filter over the whole run.
        let sms = Service::parse("sms").unwrap();
        let narrow = RunPageFilter { service: Some(sms), destination_prefix: "336", ..RunPageFilter::default() };
        let expected: Vec<_> =
            all.iter().filter(|found| found.service == sms && found.destination.starts_with("336")).cloned().collect();
        assert!(!expected.is_empty(), "{backend}");
        let (kept, page) = ledger.run_discrepancy_page(&run_id, narrow, 0, 50).await.unwrap().unwrap();
        assert_eq!((kept, page), (expected.len() as u64, expected), "{backend}");
        // Past the last row: the count, no rows.
        let (kept, past) = ledger.run_discrepancy_page(&run_id, whole, 50, 5).await.unwrap().unwrap();
        assert_eq!((kept, past.len()), (14, 0), "{backend}");
        let refused = RunPageFilter { destination_prefix: "33%", ..RunPageFilter::default() };
        assert!(ledger.run_discrepancy_page(&run_id, refused, 0, 5).await.is_err(), "{backend}");
        assert!(ledger.run_discrepancy_page("no-such-run", whole, 0, 5).await.unwrap().is_none(), "{backend}");
        // The counts per kind add up to the run; one row by its seq.
        let counts = ledger.run_kind_counts(&run_id).await.unwrap();
        assert_eq!(counts.iter().map(|(_, count)| count).sum::<u64>(), 14, "{backend}");
        assert!(counts.contains(&("rate_mismatch".to_owned(), 4)), "{backend}: {counts:?}");
        assert_eq!(ledger.run_discrepancy(&run_id, 3).await.unwrap().as_ref(), all.get(3), "{backend}");
        assert_eq!(ledger.run_discrepancy(&run_id, 14).await.unwrap(), None, "{backend}");
        ledger.close().await;
    }
}
