//! Issue 13: SMS billed on delivery in the ledger, on both backends. A usage record's delivery
//! `status` is stored and read back by the row-by-row import and the bulk import (binary COPY
//! in PostgreSQL, multi-row INSERT in SQLite); a deck row's `billed_on` is stored and read
//! back; a run of the period finds the `undelivered_charge`.
//!
//! Method: acme bills SMS to 44 at 0.031 USD on delivery. Four messages: m1 delivered, m2
//! failed, m3 without a receipt, m4 expired; the invoice bills each at 0.031. m2 and m4 are
//! undelivered charges of 0.031 each (expected 0); m1 and m3 are owed.

use crate::{at, ledgers};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::rate_deck::BilledOn;
use reckon_core::usage::DeliveryStatus;
use reckon_core::{Decimal, DiscrepancyKind, FxTable, ReconcileConfig, UsageRecord};
use reckon_import::{BadRowPolicy, Loaded, NoProgress};
use reckon_store::{Ledger, RunInputs};
use std::path::Path;
use std::str::FromStr;

const USAGE: &str = "record_id,service,carrier,carrier_ref,started_at,destination,quantity,status\n\
    m1,sms,acme,R1,2026-03-02T10:00:00Z,447700000001,1,delivered\n\
    m2,sms,acme,R2,2026-03-02T10:01:00Z,447700000001,1,failed\n\
    m3,sms,acme,R3,2026-03-02T10:02:00Z,447700000001,1,\n\
    m4,sms,acme,R4,2026-03-02T10:03:00Z,447700000001,1,EXPIRED\n";

const RATES: &str = "carrier,service,prefix,rate,currency,rate_unit,effective_from,billed_on\n\
    acme,sms,44,0.031,USD,1,2026-01-01T00:00:00Z,delivered\n\
    acme,voice,44,0.012,USD,60,2026-01-01T00:00:00Z,\n";

const INVOICE: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,amount,currency\n\
    acme,A-03,1,R1,sms,2026-03-02T10:00:00Z,447700000001,1,0.031,USD\n\
    acme,A-03,2,R2,sms,2026-03-02T10:01:00Z,447700000001,1,0.031,USD\n\
    acme,A-03,3,R3,sms,2026-03-02T10:02:00Z,447700000001,1,0.031,USD\n\
    acme,A-03,4,R4,sms,2026-03-02T10:03:00Z,447700000001,1,0.031,USD\n";

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn statuses(usage: &[UsageRecord]) -> Vec<(String, Option<DeliveryStatus>)> {
    usage.iter().map(|record| (record.record_id.to_string(), record.status)).collect()
}

async fn stored_statuses(ledger: &Ledger) -> Vec<(String, Option<DeliveryStatus>)> {
    let usage = ledger.usage_of(None, at("2026-03-01T00:00:00Z"), at("2026-04-01T00:00:00Z")).await.unwrap();
    statuses(&usage)
}

fn expected_statuses() -> Vec<(String, Option<DeliveryStatus>)> {
    [
        ("m1", Some(DeliveryStatus::Delivered)),
        ("m2", Some(DeliveryStatus::Failed)),
        ("m3", None),
        ("m4", Some(DeliveryStatus::Expired)),
    ]
    .map(|(id, status)| (id.to_owned(), status))
    .to_vec()
}

#[tokio::test]
async fn issue13_usage_status_and_billed_on_round_trip_and_a_run_finds_undelivered_charges() {
    let dir = tempfile::tempdir().unwrap();
    let usage_path = write(dir.path(), "usage.csv", USAGE);
    let usage = reckon_import::usage::load_usage(&usage_path, BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    for (backend, ledger, _guard) in ledgers().await {
        // Row by row.
        let outcome =
            ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
        assert_eq!(outcome.inserted, 4, "{backend}");
        assert_eq!(stored_statuses(&ledger).await, expected_statuses(), "{backend}");
        // The same content again is unchanged (the status is part of the content).
        let again = ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
        assert_eq!((again.inserted, again.unchanged), (0, 4), "{backend}");
        // A receipt that changes a record's status is other content: refused without replace.
        let mut changed = usage.clone();
        changed[2].status = Some(DeliveryStatus::Rejected);
        let refused = ledger.import_usage(&changed, "usage.csv", "test", false, at("2026-04-01T09:00:00Z")).await;
        assert!(matches!(refused, Err(reckon_store::StoreError::Conflict(_))), "{backend}: {refused:?}");

        let deck = reckon_import::rates::load_deck_from_text(
            Path::new("rates.csv"),
            RATES.to_owned(),
            reckon_import::rates::DeckKind::CarrierRates,
        )
        .unwrap()
        .deck;
        ledger.import_rates(deck.rows(), "rates.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
        let stored = ledger.all_rate_decks().await.unwrap();
        let billed_on: Vec<_> = stored.rows().iter().map(|row| (row.service.as_str(), row.rules.billed_on)).collect();
        assert!(billed_on.contains(&("sms", Some(BilledOn::Delivered))), "{backend}: {billed_on:?}");
        assert!(billed_on.contains(&("voice", None)), "{backend}: {billed_on:?}");

        let invoice_path = write(dir.path(), "invoice.csv", INVOICE);
        let lines =
            reckon_import::invoice::load_invoices(&[invoice_path], BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
        ledger.import_invoices(&lines, "invoice.csv", "test", false, at("2026-04-02T09:00:00Z")).await.unwrap();
        let config = ReconcileConfig::default();
        let (fx, networks, holidays) = (FxTable::new(), NetworkMap::new(), std::collections::HashMap::new());
        let inputs = RunInputs {
            carrier: "acme",
            period: Month::parse("2026-03").unwrap(),
            config: &config,
            fx: &fx,
            networks: &networks,
            holidays: &holidays,
        };
        let run = ledger.reconcile_period(&inputs, at("2026-04-03T09:00:00Z")).await.unwrap();
        let rows = |discrepancies: &[reckon_core::Discrepancy]| -> Vec<_> {
            discrepancies
                .iter()
                .map(|found| (found.line_id.as_deref().unwrap().to_owned(), found.kind, found.difference))
                .collect()
        };
        let found = rows(&run.discrepancies);
        // Lines 2 and 4 bill undelivered messages: 0.031 each overbilled; 1 and 3 are owed.
        let overbilled = Some(Decimal::from_str("0.031").unwrap());
        assert_eq!(
            found,
            [
                ("2".to_owned(), DiscrepancyKind::UndeliveredCharge, overbilled),
                ("4".to_owned(), DiscrepancyKind::UndeliveredCharge, overbilled)
            ],
            "{backend}"
        );
        // Read back from the ledger, the kind is the same.
        let stored_run = ledger.run_discrepancies(&run.run_id).await.unwrap().unwrap();
        assert_eq!(rows(&stored_run), found, "{backend}");
    }
}

#[tokio::test]
async fn issue13_the_bulk_import_stores_the_status() {
    let dir = tempfile::tempdir().unwrap();
    let usage_path = write(dir.path(), "usage.csv", USAGE);
    for (backend, ledger, _guard) in ledgers().await {
        let mut reader = reckon_import::usage::UsageReader::open(&usage_path).unwrap();
        let next_batch = |loaded: &mut Loaded<UsageRecord>| {
            // Batches of 3 records: the statuses cross a batch boundary.
            reader.read_batch(loaded, 3, BadRowPolicy::Fail, &mut NoProgress)
        };
        let outcome = ledger
            .import_usage_batches(next_batch, "usage.csv", "test", false, at("2026-04-01T09:00:00Z"))
            .await
            .unwrap();
        assert_eq!(outcome.inserted, 4, "{backend}");
        assert_eq!(stored_statuses(&ledger).await, expected_statuses(), "{backend}");
        // The row-by-row import of the same file finds the same content stored.
        let usage = reckon_import::usage::load_usage(&usage_path, BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
        let again = ledger.import_usage(&usage, "usage.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
        assert_eq!((again.inserted, again.unchanged), (0, 4), "{backend}");
    }
}
