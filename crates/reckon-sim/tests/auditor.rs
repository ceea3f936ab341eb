//! The engine audited against the workload generator, whose outcome is known by construction.
//!
//! Method: generate a seeded month of usage and invoices with planted discrepancies, run the
//! engine (trie lookup, rating, matching, classification) over it, and compare with what was
//! planted and with the naive pricing model. The seed is in every failure message.

use proptest::prelude::*;
use reckon_core::network::NetworkMap;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{Decimal, DiscrepancyKind, FxTable, RateDeck, ReconcileConfig};
use reckon_sim::{generate, model, Planted, SimConfig, VecSink};

fn run(config: &SimConfig) -> (VecSink, Vec<Planted>, reckon_core::Reconciliation, Vec<Option<reckon_core::Rating>>) {
    let mut sink = VecSink::default();
    let planted = generate(config, &mut sink);
    let mut deck = RateDeck::new();
    for row in &sink.rate_rows {
        deck.insert(row.clone()).unwrap();
    }
    let ratings = rate_all(&deck, &sink.usage, Party::Carrier, &NetworkMap::new());
    let mut fx = FxTable::new();
    for (date, currency, per_eur) in &sink.fx_rates {
        fx.insert(*date, *currency, *per_eur).unwrap();
    }
    let config = ReconcileConfig { contracts: reckon_sim::contracts(), ..ReconcileConfig::default() };
    let reconciliation = reckon_core::reconcile(&sink.usage, &ratings, &sink.lines, &fx, &config);
    (sink, planted, reconciliation, ratings)
}

fn found(reconciliation: &reckon_core::Reconciliation) -> Vec<Planted> {
    let mut found: Vec<Planted> = reconciliation
        .discrepancies
        .iter()
        .map(|discrepancy| Planted {
            carrier: discrepancy.carrier.clone(),
            line_id: discrepancy.line_id.clone(),
            record_id: discrepancy.record_id.clone(),
            kind: discrepancy.kind,
        })
        .collect();
    found.sort();
    found
}

#[test]
fn finds_exactly_what_was_planted() {
    for seed in [1, 2, 3, 42, 2026] {
        let config = SimConfig { seed, records: 5_000, discrepancies_per_mille: 60, ..SimConfig::default() };
        let (_, planted, reconciliation, _) = run(&config);
        assert!(planted.len() > 100, "seed {seed}: too few planted ({})", planted.len());
        for kind in &config.planted_kinds {
            assert!(planted.iter().any(|planted| planted.kind == *kind), "seed {seed}: no {kind} planted");
        }
        assert_eq!(found(&reconciliation), planted, "seed {seed}");
    }
}

/// Generated decks of thousands of prefixes (some re-priced mid-month), six carriers in four
/// currencies and invoice layouts, and heavy contention: repeat calls to one number within a
/// minute, and lines whose reference names a record of another number.
#[test]
fn finds_exactly_what_was_planted_in_large_contended_months() {
    for seed in [5, 6] {
        let config = SimConfig {
            seed,
            records: 6_000,
            discrepancies_per_mille: 40,
            contention_per_mille: 300,
            carriers: 6,
            prefixes_per_carrier: 1_500,
            ..SimConfig::default()
        };
        let (sink, planted, reconciliation, _) = run(&config);
        let mut numbers = std::collections::HashMap::new();
        for record in &sink.usage {
            *numbers.entry((&record.carrier, record.destination.digits())).or_insert(0) += 1;
        }
        let repeated = numbers.values().filter(|count| **count > 1).count();
        assert!(repeated > 100, "seed {seed}: only {repeated} numbers called twice");
        for kind in &config.planted_kinds {
            assert!(planted.iter().any(|planted| planted.kind == *kind), "seed {seed}: no {kind} planted");
        }
        assert_eq!(found(&reconciliation), planted, "seed {seed}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Rated costs equal the naive model record by record (messages billed on delivery
    /// included), so the total expected cost is the sum of per-record costs.
    #[test]
    fn total_expected_cost_is_the_sum_of_record_costs(seed in any::<u64>(), records in 1_usize..400) {
        let config = SimConfig { seed, records, ..SimConfig::default() };
        let (sink, _, _, ratings) = run(&config);
        let mut engine_total = Decimal::ZERO;
        let mut model_total = Decimal::ZERO;
        for (record, rating) in sink.usage.iter().zip(&ratings) {
            let model_cost = model::find_row(&sink.rate_rows, &record.carrier, record.service, record.destination.digits(), record.started_at)
                .map(|row| model::cost_of_record(row, record.quantity, record.status));
            prop_assert_eq!(rating.map(|rating| (rating.billed_quantity, rating.cost)), model_cost, "seed {} record {}", seed, record.record_id);
            engine_total += rating.map_or(Decimal::ZERO, |rating| rating.cost);
            model_total += model_cost.map_or(Decimal::ZERO, |(_, cost)| cost);
        }
        prop_assert_eq!(engine_total, model_total);
    }

    /// An invoice generated from the usage and deck with nothing wrong but records left
    /// unbilled gives exactly those records as `unbilled_usage`, and nothing else.
    #[test]
    fn clean_invoice_yields_only_the_deliberately_unbilled(seed in any::<u64>(), records in 1_usize..600, per_mille in 0_u64..200) {
        let config = SimConfig {
            seed,
            records,
            discrepancies_per_mille: per_mille,
            planted_kinds: vec![DiscrepancyKind::UnbilledUsage],
            ..SimConfig::default()
        };
        let (_, planted, reconciliation, _) = run(&config);
        prop_assert!(planted.iter().all(|planted| planted.kind == DiscrepancyKind::UnbilledUsage));
        prop_assert_eq!(found(&reconciliation), planted, "seed {}", seed);
    }
}
