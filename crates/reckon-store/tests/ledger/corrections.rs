//! Issue 11, items 5 and 6 on both backends: a dispute belongs to an invoice version (a replaced
//! invoice can be disputed again), and receivables are never negative and can be corrected.
//!
//! Method: the worked example walked through a dispute, then the invoice replaced with one
//! line overbilled by 0.50 more, re-run and disputed again; receivables stored wrong and
//! corrected. Figures by hand.

use crate::at;
use crate::scenario::import_basic;
use reckon_core::dispute::{DisputeAction, DisputeState};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, FxTable, ReconcileConfig};
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{InvoiceOutcome, Ledger, Receivable, StoreError};
use std::collections::BTreeMap;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

async fn run_march(ledger: &Ledger, now: &str) -> reckon_store::StoredRun {
    let config = ReconcileConfig::default();
    let (fx, networks) = (FxTable::new(), NetworkMap::new());
    let inputs = reckon_store::RunInputs {
        carrier: "borealis",
        period: Month::parse("2026-03").unwrap(),
        config: &config,
        fx: &fx,
        networks: &networks,
        holidays: &std::collections::HashMap::new(),
    };
    ledger.reconcile_period(&inputs, at(now)).await.unwrap()
}

#[tokio::test]
async fn issue_11_a_replaced_invoice_gets_a_dispute_of_its_own() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        import_basic(&ledger).await;
        let first_run = run_march(&ledger, "2026-04-03T09:00:00Z").await;
        let opened =
            ledger.open_disputes(&first_run.run_id, d("0.001"), "ana", at("2026-04-04T09:00:00Z")).await.unwrap();
        let first = opened[0].0.clone();
        // The carrier credits the three phantom calls (0.09), and the dispute is closed.
        for (action, when) in [
            (DisputeAction::Submit, "2026-04-05T09:00:00Z"),
            (
                DisputeAction::AcceptPartially {
                    credits: BTreeMap::from([
                        ("40".to_owned(), d("0.03")),
                        ("41".to_owned(), d("0.03")),
                        ("42".to_owned(), d("0.03")),
                    ]),
                },
                "2026-04-06T09:00:00Z",
            ),
            (DisputeAction::Close, "2026-04-07T09:00:00Z"),
        ] {
            ledger.act_on_dispute(&first, &action, "ana", "step", at(when)).await.unwrap();
        }

        // BOR-2603 comes again with line 1 at 0.52975 instead of 0.02975 (119 s at 0.0150/60):
        // a new version, overbilled by 0.50 more.
        let mut lines = reckon_import::invoice::load_invoices(
            &[crate::basic("invoice-borealis.csv")],
            BadRowPolicy::Fail,
            &mut NoProgress,
        )
        .unwrap()
        .items;
        assert_eq!(lines[0].amount, d("0.02975"));
        lines[0].amount = d("0.52975");
        let replaced = ledger
            .import_invoices(&lines, "invoice-borealis.csv", "ana", true, at("2026-04-08T09:00:00Z"))
            .await
            .unwrap();
        assert_eq!((replaced[0].outcome, replaced[0].version), (InvoiceOutcome::Replaced, 2), "{backend}");
        let second_run = run_march(&ledger, "2026-04-09T09:00:00Z").await;
        assert_ne!(second_run.run_id, first_run.run_id, "{backend}");

        // Before the fix this answered "already open" with the first, closed dispute.
        let opened =
            ledger.open_disputes(&second_run.run_id, d("0.001"), "ana", at("2026-04-10T09:00:00Z")).await.unwrap();
        assert_eq!(opened.len(), 1, "{backend}");
        let (second, created) = opened[0].clone();
        assert!(created && second != first, "{backend}: {opened:?}");
        let dispute = ledger.dispute(&second).await.unwrap();
        // 0.183 claimed before, plus line 1's 0.52975 - 0.02975 = 0.50: 0.683 over 10 lines.
        assert_eq!((dispute.invoice_version, dispute.state), (2, DisputeState::Open), "{backend}");
        assert_eq!((dispute.claimed_total, dispute.lines.len()), (d("0.683"), 10), "{backend}");
        assert_eq!(ledger.dispute(&first).await.unwrap().invoice_version, 1, "{backend}");
        // Opening again changes nothing, for either version's run.
        let again =
            ledger.open_disputes(&second_run.run_id, d("0.001"), "ana", at("2026-04-11T09:00:00Z")).await.unwrap();
        assert_eq!(again, [(second.clone(), false)], "{backend}");
        let again =
            ledger.open_disputes(&first_run.run_id, d("0.001"), "ana", at("2026-04-11T09:00:00Z")).await.unwrap();
        assert_eq!(again, [(first.clone(), false)], "{backend}");

        // The settlement counts the disputes of the version it settles: version 2 invoiced
        // 3.724983 + 0.50 = 4.224983, its open dispute withholds 0.683; the first version's
        // credits belong to the superseded invoice. 4.224983 - 0.683 = 3.541983 -> 3.54 EUR.
        let statement = ledger
            .settle_period("borealis", Month::parse("2026-03").unwrap(), false, at("2026-04-12T09:00:00Z"))
            .await
            .unwrap();
        let inputs = &statement.statement.inputs;
        assert_eq!((inputs.invoiced, inputs.withheld, inputs.accepted_credits), (d("4.224983"), d("0.683"), d("0")));
        assert_eq!(statement.statement.net, d("3.54"), "{backend}");
        ledger.close().await;
    }
}

#[tokio::test]
async fn issue_11_receivables_are_never_negative_and_can_be_corrected() {
    for (backend, ledger, _guard) in crate::ledgers().await {
        import_basic(&ledger).await;
        let receivable = |amount: &str, currency: &str| Receivable {
            carrier: "borealis",
            invoice_id: "OUR-0317",
            period: "2026-03",
            amount: d(amount),
            currency: Currency::parse(currency).unwrap(),
        };
        let now = at("2026-04-05T09:00:00Z");
        let negative = ledger.store_receivable(&receivable("-1.00", "EUR"), false, "ana", now).await;
        assert_eq!(
            negative.unwrap_err().to_string(),
            "receivable OUR-0317 of borealis: amount -1.00: expected an amount >= 0",
            "{backend}"
        );
        let negative = ledger.import_receivable("borealis", "OUR-0317", "2026-03", d("-1"), Currency::EUR, now).await;
        assert!(matches!(negative, Err(StoreError::Invalid(_))), "{backend}");

        // The issue's case: 1.00 stored in USD by mistake, for invoices billed in EUR.
        let stored = ledger.store_receivable(&receivable("1.00", "USD"), false, "ana", now).await.unwrap();
        assert_eq!(stored, InvoiceOutcome::Imported, "{backend}");
        let refused = ledger.store_receivable(&receivable("1.00", "EUR"), false, "ana", now).await;
        assert_eq!(
            refused.unwrap_err().to_string(),
            "receivable OUR-0317 of borealis is stored with other figures (2026-03, 1 USD); import with --replace to correct it",
            "{backend}"
        );
        let corrected = ledger.store_receivable(&receivable("1.00", "EUR"), true, "ana", now).await.unwrap();
        assert_eq!(corrected, InvoiceOutcome::Replaced, "{backend}");
        let again = ledger.store_receivable(&receivable("1", "EUR"), true, "ana", now).await.unwrap();
        assert_eq!(again, InvoiceOutcome::Unchanged, "{backend}");
        // The EUR settlement nets it: 3.724983 - 1.00 = 2.724983 -> 2.72 EUR.
        let statement = ledger
            .settle_period("borealis", Month::parse("2026-03").unwrap(), false, at("2026-04-06T09:00:00Z"))
            .await
            .unwrap();
        assert_eq!(statement.statement.inputs.receivable, d("1"), "{backend}");
        assert_eq!(statement.statement.net, d("2.72"), "{backend}");
        ledger.close().await;
    }
}
