//! Benchmark of rating alone: 1,000,000 records (`RECKON_BENCH_RECORDS`) rated against a deck of
//! 100 prefixes and against one of 50,000, printing records per second for each and their
//! ratio. The trie lookup walks the destination's digits, so the big deck should cost about the
//! same as the small one (the acceptance bound is 2x), not 500 times more as a scan would.
//!
//! Run: `cargo bench -p reckon-sim --bench rating`.
#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use reckon_core::network::NetworkMap;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{Currency, Decimal, Destination, Increments, RateDeck, RateRow, Service, UsageRecord};
use reckon_sim::SplitMix64;
use std::time::Instant;

fn deck(prefix_count: usize, random: &mut SplitMix64) -> (RateDeck, Vec<String>) {
    let mut deck = RateDeck::new();
    let mut prefixes = Vec::with_capacity(prefix_count);
    let mut seen = std::collections::HashSet::new();
    while prefixes.len() < prefix_count {
        // Prefixes of 2 to 8 digits, as real A-Z decks have (country, then ranges).
        let length = 2 + random.below(7) as u32;
        let prefix = (10_u64.pow(length - 1) + random.below(9 * 10_u64.pow(length - 1))).to_string();
        if !seen.insert(prefix.clone()) {
            continue;
        }
        deck.insert(RateRow {
            carrier: "acme".into(),
            service: Service::Voice,
            prefix: prefix.clone(),
            destination_name: None,
            rate: Decimal::new(100 + random.below(900) as i64, 4),
            currency: Currency::parse("USD").unwrap(),
            rate_unit: Decimal::from(60),
            increments: Increments::parse("60/6").unwrap(),
            connect_fee: Decimal::ZERO,
            min_charge: Decimal::ZERO,
            per_record_fee: Decimal::ZERO,
            conditions: Default::default(),
            rules: Default::default(),
            tiers: None,
            effective_from: "2026-01-01T00:00:00Z".parse().unwrap(),
            effective_to: None,
        })
        .unwrap();
        prefixes.push(prefix);
    }
    (deck, prefixes)
}

fn usage(count: usize, prefixes: &[String], random: &mut SplitMix64) -> Vec<UsageRecord> {
    (0..count)
        .map(|index| {
            let prefix = random.pick(prefixes);
            let rest = 12 - prefix.len().min(11);
            let digits = format!("{prefix}{:0rest$}", random.below(10_u64.pow(rest as u32)));
            UsageRecord {
                record_id: format!("u{index}").into(),
                service: Service::Voice,
                carrier: "acme".into(),
                carrier_ref: None,
                customer: None,
                started_at: "2026-03-02T10:00:00Z".parse().unwrap(),
                origin: None,
                destination: Destination::parse(&digits).unwrap(),
                quantity: Decimal::from(1 + random.below(600)),
                network: None,
                status: None,
            }
        })
        .collect()
}

fn main() {
    let records: usize =
        std::env::var("RECKON_BENCH_RECORDS").ok().and_then(|text| text.parse().ok()).unwrap_or(1_000_000);
    let deck_sizes = [100, 50_000, 500_000];
    let setups: Vec<(RateDeck, Vec<UsageRecord>)> = deck_sizes
        .iter()
        .map(|prefix_count| {
            let mut random = SplitMix64::new(7);
            let (deck, prefixes) = deck(*prefix_count, &mut random);
            let usage = usage(records, &prefixes, &mut random);
            (deck, usage)
        })
        .collect();
    // Rounds alternate between the decks, and each deck keeps its best time, so that a burst
    // of load from elsewhere on the machine does not land on one deck only.
    let mut best = vec![f64::MAX; deck_sizes.len()];
    let mut rated = vec![0; deck_sizes.len()];
    for _round in 0..5 {
        for (index, (deck, usage)) in setups.iter().enumerate() {
            let started = Instant::now();
            let ratings = rate_all(deck, usage, Party::Carrier, &NetworkMap::new());
            best[index] = best[index].min(started.elapsed().as_secs_f64());
            rated[index] = ratings.iter().filter(|rating| rating.is_some()).count();
        }
    }
    for (index, prefix_count) in deck_sizes.iter().enumerate() {
        println!(
            "deck of {prefix_count:>7} prefixes: rated {} of {records} records in {:.3} s, {:.0} records/s",
            rated[index],
            best[index],
            records as f64 / best[index]
        );
    }
    println!("50,000-prefix deck / 100-prefix deck time: {:.2}x (bound: 2x)", best[1] / best[0]);
    println!("500,000-prefix deck / 50,000-prefix deck time: {:.2}x (a scan would be 10x)", best[2] / best[1]);
}
