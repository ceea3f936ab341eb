//! Issue 15: the service's ingest into PostgreSQL (binary `COPY` of the new rows, the careful
//! `INSERT ... ON CONFLICT` path when another replica stores an id meanwhile, accrual sums
//! appended and folded later) keeps what the row-by-row path kept.
//!
//! Method: quantities chosen to cross base-10,000 digit boundaries and the column's 12 decimals
//! are stored by ingest and by the row-by-row import, and read back; two ledgers on one
//! database (two replicas) ingest overlapping batches at once; the kept sums are read before and
//! after a fold. Every expected figure is written out by hand.

use crate::{at, fresh_postgres_url, ledgers};
use reckon_core::accrual::{AccrualGrouping, AccrualKey, AccrualSums, AccrualTable, RatedWith};
use reckon_core::money::TotalOverflow;
use reckon_core::period::Month;
use reckon_core::{Decimal, Destination, Service, UsageRecord};
use reckon_store::{AccrualUpdate, IngestStatus, Ledger, RebuildScope};
use std::str::FromStr;
use std::sync::{Arc, Mutex};

fn record(id: &str, day: u32, quantity: &str) -> UsageRecord {
    UsageRecord {
        record_id: id.into(),
        service: Service::Voice,
        carrier: Arc::from("acme"),
        carrier_ref: None,
        customer: Some("shop".into()),
        started_at: at(&format!("2026-03-{day:02}T10:00:00Z")),
        origin: None,
        destination: Destination::parse("+442071234567").unwrap(),
        quantity: Decimal::from_str(quantity).unwrap(),
        network: None,
        status: None,
    }
}

/// The made-up rating: each record costs 0.001 per unit, keyed by its day.
fn contribution(record: &UsageRecord) -> (AccrualKey, AccrualSums) {
    let key = AccrualKey {
        day: reckon_core::period::utc_date(record.started_at),
        carrier: record.carrier.to_string(),
        customer: record.customer.as_deref().map(str::to_owned),
        destination: "+44".into(),
        service: record.service,
        currency: reckon_core::Currency::parse("USD"),
        price_currency: None,
    };
    (key, AccrualSums { records: 1, cost: record.quantity * Decimal::new(1, 3), unpriced: 1, ..AccrualSums::default() })
}

fn rate(records: &[UsageRecord]) -> Result<AccrualTable, TotalOverflow> {
    let mut table = AccrualTable::default();
    for record in records {
        let (key, sums) = contribution(record);
        table.add(&key, &sums)?;
    }
    Ok(table)
}

async fn ingest(ledger: &Ledger, records: &[UsageRecord], rated_with: &RatedWith) -> Vec<IngestStatus> {
    let contributions: Vec<_> = records.iter().map(contribution).collect();
    let update = AccrualUpdate { contributions: &contributions, rated_with, tiered: false, rate_superseded: None };
    ledger.ingest_usage(records, Some(&update), "test", false, at("2026-04-01T00:00:00Z")).await.unwrap()
}

/// The stored quantities of March by id, read back as a rebuild reads them.
async fn stored_quantities(ledger: &Ledger) -> Vec<(String, Decimal)> {
    let seen = Mutex::new(Vec::new());
    let rated_with = RatedWith { deck_epoch: 9, reference: "read back".into() };
    ledger
        .rebuild_accrual_month(Month { year: 2026, month: 3 }, &rated_with, RebuildScope::WholeMonth, |records| {
            seen.lock().unwrap().extend(records.iter().map(|record| (record.record_id.to_string(), record.quantity)));
            rate(records)
        })
        .await
        .unwrap();
    let mut seen = seen.into_inner().unwrap();
    seen.sort();
    seen
}

#[tokio::test]
async fn issue15_ingested_quantities_read_back_as_the_row_by_row_import_stores_them() {
    // Base-10,000 digits: 1e8 (trailing zero digits), 0.00005 (a padded fraction), 12 decimals
    // (the column's scale), 13 decimals (rounded to 12 by both paths, half away from zero).
    let quantities = [
        ("0", "0"),
        ("0.5", "0.5"),
        ("61.40", "61.4"),
        ("10000", "10000"),
        ("100000000", "100000000"),
        ("0.00005", "0.00005"),
        ("0.000000000001", "0.000000000001"),
        // PostgreSQL's NUMERIC(38, 12) rounds it to 12 decimals; SQLite keeps it whole.
        ("0.0000000000005", "0.000000000001 / 0.0000000000005"),
        ("123456789012345.123456789012", "123456789012345.123456789012"),
        ("9999.9999", "9999.9999"),
    ];
    let rated_with = RatedWith { deck_epoch: 1, reference: "test".into() };
    for (backend, ledger, _guard) in ledgers().await {
        let ingested: Vec<UsageRecord> =
            quantities.iter().enumerate().map(|(n, (quantity, _))| record(&format!("i{n}"), 2, quantity)).collect();
        let imported: Vec<UsageRecord> =
            quantities.iter().enumerate().map(|(n, (quantity, _))| record(&format!("r{n}"), 2, quantity)).collect();
        assert_eq!(ingest(&ledger, &ingested, &rated_with).await, vec![IngestStatus::Accepted; quantities.len()]);
        ledger.import_usage(&imported, "usage.csv", "test", false, at("2026-04-01T00:00:00Z")).await.unwrap();
        let stored = stored_quantities(&ledger).await;
        for (n, (_, expected)) in quantities.iter().enumerate() {
            let expected = match expected.split_once(" / ") {
                Some((postgres, sqlite)) => {
                    if backend == "postgres" {
                        postgres
                    } else {
                        sqlite
                    }
                }
                None => expected,
            };
            let expected = Decimal::from_str(expected).unwrap();
            let of = |id: String| stored.iter().find(|(stored_id, _)| *stored_id == id).map(|(_, quantity)| *quantity);
            assert_eq!(of(format!("i{n}")), Some(expected), "{backend}: ingested quantity {n}");
            assert_eq!(of(format!("r{n}")), Some(expected), "{backend}: imported quantity {n}");
        }
        // The same events again are duplicates (the content hash of what was stored).
        assert_eq!(ingest(&ledger, &ingested, &rated_with).await, vec![IngestStatus::Duplicate; quantities.len()]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue15_two_replicas_ingesting_the_same_ids_at_once_accept_each_once() {
    const ROUNDS: usize = 12;
    let (url, _guard) = fresh_postgres_url().await;
    let (first, second) = (Ledger::open(&url).await.unwrap(), Ledger::open(&url).await.unwrap());
    let rated_with = RatedWith { deck_epoch: 1, reference: "test".into() };
    let mut accepted_total = 0;
    for round in 0..ROUNDS {
        // Ids 0..200 through one replica, 100..300 through the other, at once: 100 shared.
        let batch = |range: std::ops::Range<usize>| -> Vec<UsageRecord> {
            range.map(|n| record(&format!("x{round}-{n:03}"), 1 + (n % 3) as u32, "60")).collect()
        };
        let tasks = [(first.clone(), batch(0..200)), (second.clone(), batch(100..300))].map(|(ledger, records)| {
            let rated_with = rated_with.clone();
            tokio::spawn(async move { (ingest(&ledger, &records, &rated_with).await, records) })
        });
        let mut accepted_ids = Vec::new();
        let mut duplicates = 0;
        for task in tasks {
            let (statuses, records) = task.await.unwrap();
            for (status, record) in statuses.iter().zip(&records) {
                match status {
                    IngestStatus::Accepted => accepted_ids.push(record.record_id.to_string()),
                    IngestStatus::Duplicate => duplicates += 1,
                    IngestStatus::Conflict => panic!("round {round}: {} is no conflict", record.record_id),
                }
            }
        }
        accepted_ids.sort();
        accepted_ids.dedup();
        assert_eq!((accepted_ids.len(), duplicates), (300, 100), "round {round}: each id accepted once");
        accepted_total += accepted_ids.len();
    }
    // A stored id with other content is a conflict; within one batch, a repeat of a new id is a
    // duplicate with the same content and a conflict with other content.
    let repeats =
        [record("x0-000", 1, "61"), record("new-1", 1, "5"), record("new-1", 1, "5"), record("new-1", 1, "6")];
    assert_eq!(
        ingest(&second, &repeats, &rated_with).await,
        [IngestStatus::Conflict, IngestStatus::Accepted, IngestStatus::Duplicate, IngestStatus::Conflict]
    );
    assert_eq!(accepted_total, ROUNDS * 300);
    // The month was never made: nothing was added to its sums, which a query makes from the
    // 3,601 stored events (60 units at 0.001 each and one of 5: 216.005).
    let march = Month { year: 2026, month: 3 };
    first.rebuild_accrual_month(march, &rated_with, RebuildScope::ByChunk, rate).await.unwrap();
    let sums =
        first.accrual_sums(jiff::civil::date(2026, 3, 1), jiff::civil::date(2026, 4, 1), None, None).await.unwrap();
    let records: i64 = sums.iter().map(|(_, sums)| sums.records).sum();
    let cost: Decimal = sums.iter().map(|(_, sums)| sums.cost).sum();
    assert_eq!((records, cost), (3601, Decimal::from_str("216.005").unwrap()));
}

/// Records and cost of March's kept sums, and of its month rollup of all carriers and customers.
async fn march(ledger: &Ledger) -> ((i64, Decimal), (i64, Decimal)) {
    let sums =
        ledger.accrual_sums(jiff::civil::date(2026, 3, 1), jiff::civil::date(2026, 4, 1), None, None).await.unwrap();
    let rolled = ledger.accrual_rollups(AccrualGrouping::Carrier, None, None, &["2026-03".to_owned()]).await.unwrap();
    let total =
        |rows: Vec<(i64, Decimal)>| rows.into_iter().fold((0, Decimal::ZERO), |(r, c), (rs, cs)| (r + rs, c + cs));
    (
        total(sums.iter().map(|(_, sums)| (sums.records, sums.cost)).collect()),
        total(rolled.iter().map(|(_, sums)| (sums.records, sums.cost)).collect()),
    )
}

#[tokio::test]
async fn issue15_ingested_sums_read_the_same_before_and_after_they_are_folded() {
    let rated_with = RatedWith { deck_epoch: 1, reference: "test".into() };
    let month = Month { year: 2026, month: 3 };
    for (backend, ledger, _guard) in ledgers().await {
        ledger.rebuild_accrual_month(month, &rated_with, RebuildScope::ByChunk, rate).await.unwrap();
        // 3 batches of 40 events of 30 units over 4 days: 120 records, 3,600 units, 3.6.
        for batch in 0..3 {
            let records: Vec<UsageRecord> =
                (0..40).map(|n| record(&format!("f{batch}-{n}"), 1 + (n % 4) as u32, "30")).collect();
            ingest(&ledger, &records, &rated_with).await;
        }
        let expected = (120, Decimal::from_str("3.6").unwrap());
        assert_eq!(march(&ledger).await, (expected, expected), "{backend}: before the fold");
        let folded = ledger.fold_accrual_deltas().await.unwrap();
        // PostgreSQL appended each batch's 4 day groups (12 rows; the ingests' own fold, every
        // 2 s, may have taken some); SQLite added to the sums.
        if backend == "postgres" {
            assert!(folded <= 12, "{backend}: {folded}");
        } else {
            assert_eq!(folded, 0, "{backend}");
        }
        assert_eq!(ledger.fold_accrual_deltas().await.unwrap(), 0, "{backend}: folded once");
        assert_eq!(march(&ledger).await, (expected, expected), "{backend}: after the fold");
        // A rebuild from the events gives them again (the folded rows are not counted twice).
        let other = RatedWith { deck_epoch: 2, reference: "test".into() };
        ledger.rebuild_accrual_month(month, &other, RebuildScope::ByChunk, rate).await.unwrap();
        assert_eq!(march(&ledger).await, (expected, expected), "{backend}: rebuilt");
    }
}
