//! Issue 15: the accrual sums the ledger keeps stay exact when several writers (replicas of the
//! service) ingest into one month at once while the month is made again.
//!
//! Method: contributions are made up per record (one record, cost 0.001 per unit of quantity,
//! keyed by day and destination, so that concurrent batches add to the same rows); eight
//! batches are ingested concurrently with a rebuild of the month among them. The kept sums must
//! equal the hand-computed total, and a rebuild from the stored events must give them again.

use crate::{at, ledgers};
use reckon_core::accrual::{AccrualKey, AccrualSums, AccrualTable, RatedWith};
use reckon_core::money::TotalOverflow;
use reckon_core::period::Month;
use reckon_core::{Decimal, Destination, Service, UsageRecord};
use reckon_store::{AccrualUpdate, RebuildScope};
use std::sync::Arc;

const BATCHES: usize = 8;
const BATCH_RECORDS: usize = 50;

fn record(batch: usize, n: usize) -> UsageRecord {
    let day = 1 + n % 3;
    UsageRecord {
        record_id: format!("b{batch}-{n}").into(),
        service: Service::Voice,
        carrier: Arc::from("acme"),
        carrier_ref: None,
        customer: None,
        started_at: at(&format!("2026-03-{day:02}T10:00:00Z")),
        origin: None,
        destination: Destination::parse(if n % 2 == 0 { "+442071234567" } else { "+14155550100" }).unwrap(),
        quantity: Decimal::from(1 + n),
        network: None,
        status: None,
    }
}

/// The made-up rating: what a record adds.
fn contribution(record: &UsageRecord) -> (AccrualKey, AccrualSums) {
    let key = AccrualKey {
        day: reckon_core::period::utc_date(record.started_at),
        carrier: record.carrier.to_string(),
        customer: None,
        destination: format!("+{}", &record.destination.digits()[..2]),
        service: record.service,
        currency: reckon_core::Currency::parse("USD"),
        price_currency: None,
    };
    let cost = record.quantity * Decimal::new(1, 3);
    (key, AccrualSums { records: 1, cost, unpriced: 1, ..AccrualSums::default() })
}

fn rate(records: &[UsageRecord]) -> Result<AccrualTable, TotalOverflow> {
    let mut table = AccrualTable::default();
    for record in records {
        let (key, sums) = contribution(record);
        table.add(&key, &sums)?;
    }
    Ok(table)
}

/// Ingests one batch with its made-up contributions on a task of its own.
fn spawn_ingest(ledger: &reckon_store::Ledger, rated_with: &RatedWith, batch: usize) -> tokio::task::JoinHandle<()> {
    let (ledger, rated_with) = (ledger.clone(), rated_with.clone());
    tokio::spawn(async move {
        let records: Vec<UsageRecord> = (0..BATCH_RECORDS).map(|n| record(batch, n)).collect();
        let contributions: Vec<_> = records.iter().map(contribution).collect();
        let update = AccrualUpdate {
            contributions: &contributions,
            rated_with: &rated_with,
            tiered: false,
            rate_superseded: None,
        };
        ledger.ingest_usage(&records, Some(&update), "test", false, at("2026-04-01T00:00:00Z")).await.unwrap();
    })
}

/// Records and cost of all kept sums of March.
async fn march_totals(ledger: &reckon_store::Ledger) -> (i64, Decimal) {
    let from = jiff::civil::date(2026, 3, 1);
    let sums = ledger.accrual_sums(from, jiff::civil::date(2026, 4, 1), None, None).await.unwrap();
    sums.iter().fold((0, Decimal::ZERO), |(records, cost), (_, sums)| (records + sums.records, cost + sums.cost))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue15_concurrent_ingests_and_a_rebuild_keep_the_kept_sums_exact() {
    let march = Month { year: 2026, month: 3 };
    for (backend, ledger, _guard) in ledgers().await {
        let rated_with = RatedWith { deck_epoch: 1, reference: "test".into() };
        ledger.rebuild_accrual_month(march, &rated_with, RebuildScope::ByChunk, rate).await.unwrap();
        let mut tasks = Vec::new();
        for batch in 0..BATCHES {
            tasks.push(spawn_ingest(&ledger, &rated_with, batch));
            if batch == BATCHES / 2 {
                // A rebuild with other reference data among the ingests: batches committed
                // before it are in its sums; those after find it made with other data and
                // mark it stale.
                let other = RatedWith { deck_epoch: 1, reference: "other".into() };
                ledger.rebuild_accrual_month(march, &other, RebuildScope::ByChunk, rate).await.unwrap();
            }
        }
        for task in tasks {
            task.await.unwrap();
        }
        // Each batch: quantities 1..=50, 1275 units, 1.275 at 0.001; eight batches: 400 records, 10.2.
        let months = ledger.accrual_months(march, march).await.unwrap();
        let stored = months[0].1.clone();
        if stored.is_some() {
            assert_eq!(march_totals(&ledger).await, (400, Decimal::new(102, 1)), "{backend}: {stored:?}");
        }
        // Made again from the stored events with the first data: the same totals.
        ledger.rebuild_accrual_month(march, &rated_with, RebuildScope::WholeMonth, rate).await.unwrap();
        assert_eq!(march_totals(&ledger).await, (400, Decimal::new(102, 1)), "{backend}: rebuilt");
        // Then concurrent ingests with the month fresh: all of them are added.
        let mut tasks = Vec::new();
        for batch in BATCHES..2 * BATCHES {
            tasks.push(spawn_ingest(&ledger, &rated_with, batch));
        }
        for task in tasks {
            task.await.unwrap();
        }
        let months = ledger.accrual_months(march, march).await.unwrap();
        assert_eq!(months[0].1, Some(rated_with.tag()), "{backend}: fresh ingests keep the month made");
        // Sixteen batches: 800 records, 20.4.
        assert_eq!(march_totals(&ledger).await, (800, Decimal::new(204, 1)), "{backend}: added concurrently");
    }
}
