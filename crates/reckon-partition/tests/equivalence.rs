//! The split run gives exactly the in-memory run's results: same discrepancies (in the same
//! order), same summary, same counts and rejected rows, on random months built for contention:
//! few destinations and references, shared across destinations, starts seconds apart, repeated
//! ids and line keys, several currencies and FX policies, and messages with delivery receipts
//! under a row that bills on delivery.

use proptest::prelude::*;
use reckon_core::contract::{ContractTerms, FxPolicy};
use reckon_core::network::NetworkMap;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{Currency, FxTable, ReconcileConfig, Reconciliation};
use reckon_import::{BadRowPolicy, NoProgress, Rejection};
use reckon_partition::{Inputs, Layout};
use std::collections::HashMap;
use std::fmt::Write;
use std::path::{Path, PathBuf};

const DESTINATIONS: [&str; 4] = ["447911000001", "447911000002", "4420700000", "33612345678"];
const REFERENCES: [&str; 3] = ["R1", "R2", "R3"];
const CARRIERS: [&str; 2] = ["acme", "borealis"];
const SERVICES: [&str; 2] = ["voice", "sms"];
const STATUSES: [&str; 5] = ["delivered", "failed", "expired", "rejected", "unknown"];

#[derive(Clone, Debug)]
struct Record {
    id: u8,
    carrier: usize,
    service: usize,
    reference: Option<usize>,
    destination: usize,
    second: u32,
    quantity: u32,
    status: Option<usize>,
}

#[derive(Clone, Debug)]
struct Line {
    invoice: usize,
    line_id: u8,
    carrier: usize,
    service: usize,
    reference: Option<usize>,
    destination: usize,
    second: u32,
    quantity: u32,
    amount_cents: i32,
    currency: usize,
    dated: bool,
}

fn record() -> impl Strategy<Value = Record> {
    (
        0u8..120,
        0..2usize,
        0..2usize,
        proptest::option::weighted(0.6, 0..3usize),
        0..4usize,
        0u32..240,
        0u32..200,
        proptest::option::weighted(0.5, 0..STATUSES.len()),
    )
        .prop_map(|(id, carrier, service, reference, destination, second, quantity, status)| Record {
            id,
            carrier,
            service,
            reference,
            destination,
            second,
            quantity,
            status,
        })
}

fn line() -> impl Strategy<Value = Line> {
    (
        (0..3usize, 0u8..120, 0..2usize, 0..2usize, proptest::option::weighted(0.6, 0..3usize), 0..4usize),
        (0u32..240, 0u32..200, -50i32..400, 0..3usize, any::<bool>()),
    )
        .prop_map(
            |(
                (invoice, line_id, carrier, service, reference, destination),
                (second, quantity, amount_cents, currency, dated),
            )| Line {
                invoice,
                line_id,
                carrier,
                service,
                reference,
                destination,
                second,
                quantity,
                amount_cents,
                currency,
                dated,
            },
        )
}

/// Starts near the end of March, so that some fall in April (another period).
fn started_at(second: u32) -> String {
    let base: jiff::Timestamp = "2026-03-31T23:58:00Z".parse().unwrap();
    (base + jiff::SignedDuration::from_secs(i64::from(second))).to_string()
}

fn write_inputs(dir: &Path, records: &[Record], lines: &[Line]) -> (PathBuf, Vec<PathBuf>) {
    let mut usage = String::from("record_id,service,carrier,carrier_ref,started_at,destination,quantity,status\n");
    for record in records {
        writeln!(
            usage,
            "u{},{},{},{},{},{},{},{}",
            record.id,
            SERVICES[record.service],
            CARRIERS[record.carrier],
            record.reference.map_or("", |reference| REFERENCES[reference]),
            started_at(record.second),
            DESTINATIONS[record.destination],
            record.quantity,
            record.status.map_or("", |status| STATUSES[status]),
        )
        .unwrap();
    }
    let usage_path = dir.join("usage.csv");
    std::fs::write(&usage_path, usage).unwrap();
    // Two invoice files: lines of invoice 2 go to the second, so file order matters.
    let mut files = [String::new(), String::new()];
    for text in &mut files {
        text.push_str("carrier,invoice_id,invoice_date,line_id,carrier_ref,service,started_at,destination,quantity,amount,currency\n");
    }
    for line in lines {
        let currency = ["EUR", "USD", "GBP"][line.currency];
        writeln!(
            files[usize::from(line.invoice == 2)],
            "{},INV-{},{},{},{},{},{},{},{},{}{}.{:02},{}",
            CARRIERS[line.carrier],
            line.invoice,
            if line.dated { "2026-04-02" } else { "" },
            line.line_id,
            line.reference.map_or("", |reference| REFERENCES[reference]),
            SERVICES[line.service],
            started_at(line.second),
            DESTINATIONS[line.destination],
            line.quantity,
            if line.amount_cents < 0 { "-" } else { "" },
            line.amount_cents.unsigned_abs() / 100,
            line.amount_cents.unsigned_abs() % 100,
            currency,
        )
        .unwrap();
    }
    let invoice_paths: Vec<PathBuf> = (0..2).map(|index| dir.join(format!("invoice-{index}.csv"))).collect();
    for (path, text) in invoice_paths.iter().zip(&files) {
        std::fs::write(path, text).unwrap();
    }
    (usage_path, invoice_paths)
}

fn deck() -> reckon_core::RateDeck {
    // No row for 33 (no_rate); acme's voice is priced per minute in 60/6 blocks; acme bills
    // SMS on delivery (undelivered_charge).
    let text =
        "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,min_charge,effective_from,billed_on\n\
        acme,voice,44,0.012,EUR,60,60/6,0.001,0,2026-01-01T00:00:00Z,\n\
        acme,voice,4479,0.05,EUR,60,1/1,0,0.01,2026-01-01T00:00:00Z,\n\
        acme,sms,44,0.02,EUR,1,1/1,0,0,2026-01-01T00:00:00Z,delivered\n\
        borealis,voice,44,0.5,USD,60,60/60,0,0,2026-01-01T00:00:00Z,\n\
        borealis,sms,4420,0.03,USD,1,1/1,0,0,2026-01-01T00:00:00Z,\n"
            .to_owned();
    reckon_import::rates::load_deck_from_text(
        Path::new("rates.csv"),
        text,
        reckon_import::rates::DeckKind::CarrierRates,
    )
    .unwrap()
    .deck
}

fn fx() -> FxTable {
    // USD only: GBP never converts (currency_mismatch, and an error in the report currency).
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fx.csv");
    std::fs::write(&path, "date,currency,per_eur\n2026-03-30,USD,1.08\n2026-04-01,USD,1.1\n").unwrap();
    let mut table = FxTable::new();
    reckon_import::fx::load_fx(&path, &mut table).unwrap();
    table
}

fn config(invoice_date_policy: bool, period: bool) -> ReconcileConfig {
    let mut contracts = HashMap::new();
    if invoice_date_policy {
        contracts
            .insert("borealis".to_owned(), ContractTerms { fx_policy: FxPolicy::InvoiceDate, ..Default::default() });
    }
    ReconcileConfig {
        contracts,
        report_currency: Some(Currency::EUR),
        period: period.then(|| reckon_core::period::Month::parse("2026-03").unwrap()),
        ..ReconcileConfig::default()
    }
}

/// What a run gives, or its error's text.
type RunResult = Result<(Reconciliation, u64, u64, Vec<Rejection>), String>;

fn in_memory(
    usage: &Path,
    invoices: &[PathBuf],
    deck: &reckon_core::RateDeck,
    fx: &FxTable,
    config: &ReconcileConfig,
    policy: BadRowPolicy,
) -> RunResult {
    let usage = reckon_import::usage::load_usage(usage, policy, &mut NoProgress).map_err(|error| error.to_string())?;
    let lines =
        reckon_import::invoice::load_invoices(invoices, policy, &mut NoProgress).map_err(|error| error.to_string())?;
    let ratings = rate_all(deck, &usage.items, Party::Carrier, &NetworkMap::new());
    let reconciliation = reckon_core::reconcile(&usage.items, &ratings, &lines.items, fx, config);
    let mut rejected = usage.rejected;
    rejected.extend(lines.rejected);
    Ok((reconciliation, usage.items.len() as u64, lines.items.len() as u64, rejected))
}

fn split(inputs: &Inputs<'_>, partitions: usize, workers: usize, spill_dir: &Path) -> RunResult {
    let layout = Layout { partitions, workers, spill_dir: spill_dir.to_owned() };
    let outcome = reckon_partition::reconcile(inputs, &layout, &mut NoProgress, &mut NoProgress)
        .map_err(|error| error.to_string())?;
    Ok((outcome.reconciliation, outcome.usage_records, outcome.invoice_lines, outcome.rejected))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn a_split_run_equals_the_run_in_memory(
        records in proptest::collection::vec(record(), 0..40),
        lines in proptest::collection::vec(line(), 0..40),
        partitions in 1usize..6,
        workers in 1usize..3,
        quarantine: bool,
        invoice_date_policy: bool,
        period: bool,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (usage, invoices) = write_inputs(dir.path(), &records, &lines);
        let (deck, fx, config) = (deck(), fx(), config(invoice_date_policy, period));
        let policy = if quarantine { BadRowPolicy::Quarantine } else { BadRowPolicy::Fail };
        let expected = in_memory(&usage, &invoices, &deck, &fx, &config, policy);
        let networks = NetworkMap::new();
        let inputs = Inputs { usage: &usage, invoices: &invoices, deck: &deck, networks: &networks, fx: &fx, config: &config, policy };
        let actual = split(&inputs, partitions, workers, &dir.path().join("spill"));
        match (&expected, &actual) {
            (Ok(expected), Ok(actual)) => {
                prop_assert_eq!(&actual.0.discrepancies, &expected.0.discrepancies);
                prop_assert_eq!(&actual.0.summary, &expected.0.summary);
                prop_assert_eq!((actual.1, actual.2), (expected.1, expected.2));
                prop_assert_eq!(&actual.3, &expected.3);
            }
            (Err(expected), Err(actual)) => prop_assert_eq!(actual, expected),
            _ => prop_assert!(false, "in memory {:?}, split {:?}", expected.as_ref().err(), actual.as_ref().err()),
        }
        // The spill folder is gone.
        let left: Vec<_> = std::fs::read_dir(dir.path().join("spill")).unwrap().collect();
        prop_assert!(left.is_empty());
    }
}

/// A line matched by reference to a record of another destination, with a line by time
/// contending for the same record: the crossing partition keeps them together. Hand-checked:
/// L1 (ref R1, destination 2) takes U1 (ref R1, destination 1) by reference; L2 (no ref,
/// destination 1, 10 s after U1) has no other candidate, so it is a duplicate_charge of U1.
#[test]
fn a_reference_across_destinations_is_found_in_any_partition_count() {
    let records = [Record {
        id: 1,
        carrier: 0,
        service: 1,
        reference: Some(0),
        destination: 0,
        second: 0,
        quantity: 1,
        status: None,
    }];
    let line = |line_id, reference, destination, second| Line {
        invoice: 0,
        line_id,
        carrier: 0,
        service: 1,
        reference,
        destination,
        second,
        quantity: 1,
        amount_cents: 2,
        currency: 0,
        dated: false,
    };
    let lines = [line(1, Some(0), 1, 0), line(2, None, 0, 10)];
    let dir = tempfile::tempdir().unwrap();
    let (usage, invoices) = write_inputs(dir.path(), &records, &lines);
    let (deck, fx, config) = (deck(), fx(), config(false, false));
    let networks = NetworkMap::new();
    let inputs = Inputs {
        usage: &usage,
        invoices: &invoices,
        deck: &deck,
        networks: &networks,
        fx: &fx,
        config: &config,
        policy: BadRowPolicy::Fail,
    };
    for partitions in 1..8 {
        let (reconciliation, ..) = split(&inputs, partitions, 2, &dir.path().join("spill")).unwrap();
        let found: Vec<_> = reconciliation
            .discrepancies
            .iter()
            .map(|discrepancy| {
                (
                    discrepancy.line_id.as_deref().map(str::to_owned),
                    discrepancy.record_id.as_deref().map(str::to_owned),
                    discrepancy.kind,
                )
            })
            .collect();
        // L1 bills U1 at 0.02 EUR (1 sms at 0.02): right; L2 is the duplicate.
        assert_eq!(
            found,
            [(Some("2".to_owned()), Some("u1".to_owned()), reckon_core::DiscrepancyKind::DuplicateCharge)],
            "{partitions} partitions"
        );
    }
}
