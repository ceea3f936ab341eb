//! Issue 13: the pricing rules of `rates.csv` (first_rate, max_cost, rounding_decimals,
//! rounding_mode, blocked) kept by the ledger, and a ledger run that applies the contract's
//! rounding and the holiday calendar as the file engine does; on both backends.
//!
//! Method: one acme deck uses every rule; it is stored, read back and compared row by row with
//! the file's deck, imported again (nothing changes) and with one rule changed (a conflict, then
//! a replacement). Six March calls are rated by the ledger's deck and by the file's, each cost
//! computed by hand below, and a run of the period reconciles an invoice billing them.
//!
//! acme's contract rounds every cost to 3 places up unless a row says otherwise; its holiday
//! calendar rates Friday 2026-03-06 as a Sunday.

use crate::{at, ledgers};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party};
use reckon_core::time_band::HolidayCalendar;
use reckon_core::{Decimal, DiscrepancyKind, FxTable, RateDeck, ReconcileConfig, UsageRecord};
use reckon_import::rates::DeckKind;
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{Ledger, RunInputs, StoreError, StoredRun};
use std::collections::HashMap;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

const DECK: &str = "\
carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,time_zone,days,time_from,time_to,effective_from,first_rate,max_cost,rounding_decimals,rounding_mode,blocked
acme,voice,44,0.012,USD,60,60/1,0.01,,,,,2026-01-01T00:00:00Z,0.05,0.5,,,
acme,voice,4470,0,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,,,true
acme,voice,33,0.0070,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,4,up,
acme,voice,49,0.01,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,,,
acme,voice,49,0.02,USD,60,1/1,0,Europe/Berlin,mon-fri,08:00,18:00,2026-01-01T00:00:00Z,,,,,
";

const CONTRACTS: &str = "carrier,rounding_decimals,rounding_mode\nacme,3,up\n";
const HOLIDAYS: &str = "carrier,date,rated_as\nacme,2026-03-06,sun\n";

const USAGE: &str = "\
record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity
r1,voice,acme,A1,c1,2026-03-02T10:00:00Z,,+442071234567,95
r2,voice,acme,A2,c1,2026-03-02T11:00:00Z,,+442071234568,3600
r3,voice,acme,A3,c1,2026-03-02T12:00:00Z,,+447012345678,120
r4,voice,acme,A4,c1,2026-03-02T13:00:00Z,,+33123456789,61
r5,voice,acme,A5,c1,2026-03-06T09:00:00Z,,+4930123456,61
r6,voice,acme,A6,c1,2026-03-05T09:00:00Z,,+4930123457,61
";

/// The hand-computed cost of each record, in USD.
/// - r1, 95 s to 44 (first 60 s at 0.05, the rest at 0.012, connect 0.01):
///   0.01 + (0.05 × 60 + 0.012 × 35) / 60 = 0.01 + 3.42 / 60 = 0.067 (3 places up: 0.067);
/// - r2, 3,600 s to 44: 0.01 + (3 + 0.012 × 3,540) / 60 = 0.768, capped at 0.5;
/// - r3, 120 s to 4470: blocked, 0 (and billed quantity 0);
/// - r4, 61 s to 33 at 0.0070: 0.00711666..., the row's own 4 places up: 0.0072;
/// - r5, 61 s to 49 on Friday 2026-03-06 at 10:00 Berlin, a holiday rated as a Sunday: the
///   off-peak 0.01, 0.0101666..., the contract's 3 places up: 0.011 (a Friday: 0.021);
/// - r6, 61 s to 49 on Thursday 2026-03-05 at 10:00 Berlin, peak 0.02: 0.020333..., 0.021.
const COSTS: [&str; 6] = ["0.067", "0.5", "0", "0.0072", "0.011", "0.021"];

fn temporary_file(directory: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = directory.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// The deck as the file engine reads it.
fn file_deck() -> RateDeck {
    reckon_import::rates::load_deck_from_text(
        std::path::Path::new("rates.csv"),
        DECK.to_owned(),
        DeckKind::CarrierRates,
    )
    .unwrap()
    .deck
}

struct Reference {
    contracts: HashMap<String, reckon_core::contract::ContractTerms>,
    holidays: HashMap<String, HolidayCalendar>,
}

fn reference() -> Reference {
    let directory = tempfile::tempdir().unwrap();
    let contracts = reckon_import::contracts::load_contracts(&temporary_file(&directory, "contracts.csv", CONTRACTS));
    let holidays = reckon_import::holidays::load_holidays(&temporary_file(&directory, "holidays.csv", HOLIDAYS));
    Reference { contracts: contracts.unwrap(), holidays: holidays.unwrap() }
}

fn usage() -> Vec<UsageRecord> {
    let directory = tempfile::tempdir().unwrap();
    let path = temporary_file(&directory, "usage.csv", USAGE);
    reckon_import::usage::load_usage(&path, BadRowPolicy::Fail, &mut NoProgress).unwrap().items
}

fn costs(deck: &RateDeck, usage: &[UsageRecord]) -> Vec<Option<Decimal>> {
    rate_all(deck, usage, Party::Carrier, &NetworkMap::new())
        .iter()
        .map(|rating| rating.map(|rating| rating.cost))
        .collect()
}

fn hand_computed() -> Vec<Option<Decimal>> {
    COSTS.iter().map(|cost| Some(d(cost))).collect()
}

#[tokio::test]
async fn issue13_a_deck_with_every_rule_round_trips_and_rates_as_the_file_engine() {
    let (usage, reference) = (usage(), reference());
    let mut file = file_deck();
    file.apply_reference(Party::Carrier, &reference.contracts, &reference.holidays);
    assert_eq!(costs(&file, &usage), hand_computed(), "the file engine");
    for (backend, ledger, _guard) in ledgers().await {
        let now = at("2026-04-01T09:00:00Z");
        let stored = ledger.import_rates(file_deck().rows(), "rates.csv", "test", false, now).await.unwrap();
        assert_eq!((stored.inserted, stored.unchanged), (5, 0), "{backend}");
        // Every row reads back with its rules, whatever order the ledger keeps them in.
        let mut from_ledger = ledger.all_rate_decks().await.unwrap();
        assert_eq!(from_ledger.len(), 5, "{backend}");
        for row in file_deck().rows() {
            assert!(from_ledger.rows().contains(row), "{backend}: {row:?} did not read back");
        }
        from_ledger.apply_reference(Party::Carrier, &reference.contracts, &reference.holidays);
        assert_eq!(costs(&from_ledger, &usage), hand_computed(), "{backend}: the ledger's deck");

        // The same deck again changes nothing.
        let again = ledger.import_rates(file_deck().rows(), "rates.csv", "test", false, now).await.unwrap();
        assert_eq!((again.inserted, again.unchanged, again.replaced), (0, 5, 0), "{backend}");
        // A rule changed (the cap 0.5 -> 0.6) is other terms for the same row: refused, then
        // replaced with the audit entry naming the old and the new cap.
        let changed = DECK.replace(",0.05,0.5,", ",0.05,0.6,");
        let changed_deck = reckon_import::rates::load_deck_from_text(
            std::path::Path::new("rates.csv"),
            changed,
            DeckKind::CarrierRates,
        )
        .unwrap()
        .deck;
        let refused = ledger.import_rates(changed_deck.rows(), "rates.csv", "test", false, now).await;
        assert!(
            matches!(refused, Err(StoreError::Conflict(ref message)) if message.contains("acme voice 44")),
            "{backend}: {refused:?}"
        );
        let replaced = ledger.import_rates(changed_deck.rows(), "rates.csv", "test", true, now).await.unwrap();
        assert_eq!((replaced.inserted, replaced.unchanged, replaced.replaced), (0, 4, 1), "{backend}");
        let mut capped = ledger.all_rate_decks().await.unwrap();
        capped.apply_reference(Party::Carrier, &reference.contracts, &reference.holidays);
        // r2 is now capped at 0.6; the others are as before.
        assert_eq!(costs(&capped, &usage)[1], Some(d("0.6")), "{backend}");

        // A price plan keeps its rules the same way (the default plan selling on these terms).
        let plan_text = DECK.replacen("carrier,", "customer,", 1).replace("\nacme,", "\n*,");
        let plan = reckon_import::rates::load_deck_from_text(
            std::path::Path::new("prices.csv"),
            plan_text,
            DeckKind::CustomerPrices,
        )
        .unwrap()
        .deck;
        ledger.import_prices(plan.rows(), "prices.csv", "test", false, now).await.unwrap();
        let stored_plan = ledger.price_deck().await.unwrap();
        assert_eq!(stored_plan.len(), 5, "{backend}");
        for row in plan.rows() {
            assert!(stored_plan.rows().contains(row), "{backend}: {row:?} did not read back");
        }
        let again = ledger.import_prices(plan.rows(), "prices.csv", "test", false, now).await.unwrap();
        assert_eq!((again.inserted, again.unchanged), (0, 5), "{backend}");
        ledger.close().await;
    }
}

/// Lines billing r1..r6 at the carrier's own figures (quantities after increments).
const INVOICE: &str = "\
carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency
acme,ACME-2603,1,A1,voice,2026-03-02T10:00:00Z,442071234567,95,,0.067,USD
acme,ACME-2603,2,A2,voice,2026-03-02T11:00:00Z,442071234568,3600,,0.5,USD
acme,ACME-2603,4,A4,voice,2026-03-02T13:00:00Z,33123456789,61,,0.0072,USD
acme,ACME-2603,5,A5,voice,2026-03-06T09:00:00Z,4930123456,61,,0.011,USD
acme,ACME-2603,6,A6,voice,2026-03-05T09:00:00Z,4930123457,61,,0.021,USD
";

async fn run_march(ledger: &Ledger, reference: &Reference) -> StoredRun {
    let config = ReconcileConfig { contracts: reference.contracts.clone(), ..ReconcileConfig::default() };
    let inputs = RunInputs {
        carrier: "acme",
        period: Month::parse("2026-03").unwrap(),
        config: &config,
        fx: &FxTable::new(),
        networks: &NetworkMap::new(),
        holidays: &reference.holidays,
    };
    ledger.reconcile_period(&inputs, at("2026-04-03T09:00:00Z")).await.unwrap()
}

/// The amount mismatches of a run: `(line, expected amount)`.
fn mismatches(run: &StoredRun) -> Vec<(String, Option<Decimal>)> {
    run.discrepancies
        .iter()
        .filter(|found| found.kind == DiscrepancyKind::AmountMismatch)
        .map(|found| (found.line_id.as_deref().unwrap_or("").to_owned(), found.expected_amount))
        .collect()
}

#[tokio::test]
async fn issue13_a_ledger_run_applies_the_contract_rounding_and_the_holidays() {
    let directory = tempfile::tempdir().unwrap();
    let invoice = temporary_file(&directory, "invoice.csv", INVOICE);
    let lines = reckon_import::invoice::load_invoices(&[invoice], BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    for (backend, ledger, _guard) in ledgers().await {
        let now = at("2026-04-01T09:00:00Z");
        ledger.import_rates(file_deck().rows(), "rates.csv", "test", false, now).await.unwrap();
        ledger.import_usage(&usage(), "usage.csv", "test", false, now).await.unwrap();
        ledger.import_invoices(&lines, "invoice.csv", "test", false, now).await.unwrap();

        // Without the contract and the calendar, the carrier's honest figures look wrong: r5
        // is rated at Friday's peak, 0.02 × 61 / 60 = 0.020333... (6 places), and r1, r6 and r5
        // to 6 places half up (0.067 is exact; 0.020333 for r6). r4 keeps its row's rounding.
        let bare = Reference { contracts: HashMap::new(), holidays: HashMap::new() };
        let run = run_march(&ledger, &bare).await;
        assert_eq!(
            mismatches(&run),
            [("5".to_owned(), Some(d("0.020333"))), ("6".to_owned(), Some(d("0.020333")))],
            "{backend}"
        );
        // With them: every line agrees; r3 (blocked, not billed) is not unbilled usage.
        let run = run_march(&ledger, &reference()).await;
        assert!(run.created, "{backend}");
        assert_eq!(run.discrepancies.len(), 0, "{backend}: {:?}", run.discrepancies);
        // The run's id hashes the calendar: the same run again records nothing new, and a run
        // without the holiday is another run.
        let again = run_march(&ledger, &reference()).await;
        assert_eq!((again.run_id.as_str(), again.created), (run.run_id.as_str(), false), "{backend}");
        let contract_only = Reference { contracts: reference().contracts, holidays: HashMap::new() };
        let other = run_march(&ledger, &contract_only).await;
        assert_ne!(other.run_id, run.run_id, "{backend}");
        // The contract alone: r5 at Friday's peak, 0.020333... up to 3 places: 0.021.
        assert_eq!(mismatches(&other), [("5".to_owned(), Some(d("0.021")))], "{backend}");
        ledger.close().await;
    }
}
