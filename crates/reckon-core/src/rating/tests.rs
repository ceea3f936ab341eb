//! Rating: hand-computed cases, each with its arithmetic, through one `check` helper.
//! Covers increments 1/1, 60/60, 30/6, 60/1, connect fees, minimum charges, zero quantity,
//! effective-date boundaries, overlapping prefixes and records with no rate.

use super::*;
use crate::network::{network_id, NetworkMap};
use crate::rate_deck::{RateConditions, RateDeckError, TierMode, Tiers};
use crate::time_band::TimeBand;
use crate::{Destination, Increments, Service, UsageRecord};
use jiff::Timestamp;
use proptest::prelude::*;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

struct Row<'a> {
    carrier: &'a str,
    service: Service,
    prefix: &'a str,
    rate: &'a str,
    unit: &'a str,
    increments: &'a str,
    connect_fee: &'a str,
    min_charge: &'a str,
    from: &'a str,
    to: Option<&'a str>,
}

const BASE: Row<'static> = Row {
    carrier: "acme",
    service: Service::Voice,
    prefix: "44",
    rate: "0.0120",
    unit: "60",
    increments: "1/1",
    connect_fee: "0",
    min_charge: "0",
    from: "2026-01-01T00:00:00Z",
    to: None,
};

fn row(spec: &Row<'_>) -> RateRow {
    RateRow {
        carrier: spec.carrier.to_owned(),
        service: spec.service,
        prefix: spec.prefix.to_owned(),
        destination_name: None,
        rate: d(spec.rate),
        currency: Currency::parse("USD").unwrap(),
        rate_unit: d(spec.unit),
        increments: Increments::parse(spec.increments).unwrap(),
        connect_fee: d(spec.connect_fee),
        min_charge: d(spec.min_charge),
        per_record_fee: Decimal::ZERO,
        conditions: RateConditions::default(),
        rules: Default::default(),
        tiers: None,
        effective_from: ts(spec.from),
        effective_to: spec.to.map(ts),
    }
}

fn deck(rows: &[Row<'_>]) -> RateDeck {
    let mut deck = RateDeck::new();
    for spec in rows {
        deck.insert(row(spec)).unwrap();
    }
    deck
}

fn record(service: Service, destination: &str, at: &str, quantity: &str) -> UsageRecord {
    UsageRecord {
        record_id: "r1".into(),
        service,
        carrier: "acme".into(),
        carrier_ref: None,
        customer: None,
        started_at: ts(at),
        origin: None,
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        network: None,
        status: None,
    }
}

/// Rates one voice record at 2026-03-01 and checks `(prefix, billed quantity, cost)`, or no rate.
#[track_caller]
fn check(rows: &[Row<'_>], destination: &str, quantity: &str, expected: Option<(&str, &str, &str)>) {
    check_at(rows, Service::Voice, destination, "2026-03-01T12:00:00Z", quantity, expected);
}

#[track_caller]
fn check_at(
    rows: &[Row<'_>],
    service: Service,
    destination: &str,
    at: &str,
    quantity: &str,
    expected: Option<(&str, &str, &str)>,
) {
    let deck = deck(rows);
    let rating = rate_record(&deck, &record(service, destination, at, quantity));
    let actual = rating.map(|rating| (deck.row(rating.row).prefix.clone(), rating.billed_quantity, rating.cost));
    let expected = expected.map(|(prefix, billed, cost)| (prefix.to_owned(), d(billed), d(cost)));
    assert_eq!(actual, expected);
}

#[test]
fn formats_md_worked_example() {
    // rate 0.0120/60 s, 60/6, connect 0.0010, 75.2 s:
    // b = 60 + ceil(15.2/6)*6 = 78; cost = 0.0010 + 0.0120*78/60 = 0.0010 + 0.0156 = 0.0166
    let rows = [Row { increments: "60/6", connect_fee: "0.0010", ..BASE }];
    check(&rows, "+44 20 7123 4567", "75.2", Some(("44", "78", "0.0166")));
}

#[test]
fn increments_1_1() {
    let rows = [BASE];
    // 1 s: b = 1; 0.0120*1/60 = 0.0002
    check(&rows, "442071234567", "1", Some(("44", "1", "0.0002")));
    // 61.4 s: b = 1 + ceil(60.4) = 62; 0.0120*62/60 = 0.0124
    check(&rows, "442071234567", "61.4", Some(("44", "62", "0.0124")));
    // 0.5 s: q <= 1 so b = 1; 0.0002
    check(&rows, "442071234567", "0.5", Some(("44", "1", "0.0002")));
    // 7 s at 0.0100/60: 0.01*7/60 = 0.0011666.. -> 0.001167 (6 dp, half away from zero)
    let rows = [Row { rate: "0.0100", ..BASE }];
    check(&rows, "442071234567", "7", Some(("44", "7", "0.001167")));
}

#[test]
fn increments_60_60() {
    let rows = [Row { increments: "60/60", ..BASE }];
    // 1 s: b = 60; 0.0120*60/60 = 0.012
    check(&rows, "442071234567", "1", Some(("44", "60", "0.012")));
    // 60 s: b = 60; 0.012
    check(&rows, "442071234567", "60", Some(("44", "60", "0.012")));
    // 60.001 s: b = 60 + ceil(0.001/60)*60 = 120; 0.024
    check(&rows, "442071234567", "60.001", Some(("44", "120", "0.024")));
    // 121 s: b = 60 + ceil(61/60)*60 = 180; 0.036
    check(&rows, "442071234567", "121", Some(("44", "180", "0.036")));
}

#[test]
fn increments_30_6() {
    let rows = [Row { increments: "30/6", rate: "0.0450", ..BASE }];
    // 1 s: b = 30; 0.045*30/60 = 0.0225
    check(&rows, "442071234567", "1", Some(("44", "30", "0.0225")));
    // 30 s: b = 30; 0.0225
    check(&rows, "442071234567", "30", Some(("44", "30", "0.0225")));
    // 31 s: b = 30 + ceil(1/6)*6 = 36; 0.045*36/60 = 0.027
    check(&rows, "442071234567", "31", Some(("44", "36", "0.027")));
    // 59 s: b = 30 + ceil(29/6)*6 = 60; 0.045
    check(&rows, "442071234567", "59", Some(("44", "60", "0.045")));
}

#[test]
fn increments_60_1() {
    let rows = [Row { increments: "60/1", ..BASE }];
    // 10 s: b = 60; 0.012
    check(&rows, "442071234567", "10", Some(("44", "60", "0.012")));
    // 61 s: b = 60 + 1 = 61; 0.0120*61/60 = 0.0122
    check(&rows, "442071234567", "61", Some(("44", "61", "0.0122")));
    // 90.5 s: b = 60 + ceil(30.5) = 91; 0.0120*91/60 = 0.0182
    check(&rows, "442071234567", "90.5", Some(("44", "91", "0.0182")));
}

#[test]
fn connect_fee() {
    let rows = [Row { connect_fee: "0.0050", increments: "60/60", ..BASE }];
    // 30 s: b = 60; 0.0050 + 0.012 = 0.017
    check(&rows, "442071234567", "30", Some(("44", "60", "0.017")));
    // 150 s: b = 180; 0.0050 + 0.036 = 0.041
    check(&rows, "442071234567", "150", Some(("44", "180", "0.041")));
}

#[test]
fn minimum_charge() {
    let rows = [Row { min_charge: "0.0100", ..BASE }];
    // 6 s: 0.0120*6/60 = 0.0012 < 0.0100 -> 0.01
    check(&rows, "442071234567", "6", Some(("44", "6", "0.01")));
    // 50 s: 0.01 = min -> 0.01
    check(&rows, "442071234567", "50", Some(("44", "50", "0.01")));
    // 120 s: 0.024 > 0.01 -> 0.024
    check(&rows, "442071234567", "120", Some(("44", "120", "0.024")));
    // The minimum includes the connect fee: 0.004 + 0.0120*6/60 = 0.0052 -> 0.01
    let rows = [Row { min_charge: "0.0100", connect_fee: "0.004", ..BASE }];
    check(&rows, "442071234567", "6", Some(("44", "6", "0.01")));
    // 0.004 + 0.0120*60/60 = 0.016 > 0.01
    check(&rows, "442071234567", "60", Some(("44", "60", "0.016")));
}

#[test]
fn zero_quantity_costs_nothing() {
    // Unanswered: no connect fee, no minimum, billed quantity 0.
    let rows = [Row { min_charge: "0.0100", connect_fee: "0.004", increments: "60/60", ..BASE }];
    check(&rows, "442071234567", "0", Some(("44", "0", "0")));
}

#[test]
fn effective_date_boundaries() {
    let rows = [
        Row { rate: "0.0450", to: Some("2026-03-16T00:00:00Z"), ..BASE },
        Row { rate: "0.0410", from: "2026-03-16T00:00:00Z", ..BASE },
    ];
    let sms = Service::Voice;
    // One second before the switch: old row. 60 s * 0.045/60 = 0.045
    check_at(&rows, sms, "44", "2026-03-15T23:59:59Z", "60", Some(("44", "60", "0.045")));
    // At the switch (effective_to exclusive, effective_from inclusive): new row, 0.041
    check_at(&rows, sms, "44", "2026-03-16T00:00:00Z", "60", Some(("44", "60", "0.041")));
    // Before the first row starts: no rate.
    check_at(&rows, sms, "44", "2025-12-31T23:59:59Z", "60", None);
    // Offsets are honoured: 01:00+01:00 is 00:00Z, the new row.
    check_at(&rows, sms, "44", "2026-03-16T01:00:00+01:00", "60", Some(("44", "60", "0.041")));
}

#[test]
fn newer_row_of_the_same_prefix_supersedes_an_open_ended_one() {
    // Both open-ended and in force on 2026-03-01: the later effective_from wins (0.02*60/60).
    let rows = [BASE, Row { rate: "0.0200", from: "2026-02-01T00:00:00Z", ..BASE }];
    check(&rows, "44", "60", Some(("44", "60", "0.02")));
}

#[test]
fn overlapping_prefixes_longest_wins() {
    let rows = [BASE, Row { prefix: "447", rate: "0.0450", ..BASE }, Row { prefix: "4479", rate: "0.0520", ..BASE }];
    // 4479...: 0.052*60/60 = 0.052
    check(&rows, "447911000001", "60", Some(("4479", "60", "0.052")));
    // 4478...: 0.045
    check(&rows, "447811000001", "60", Some(("447", "60", "0.045")));
    // 4420...: 0.012
    check(&rows, "442071234567", "60", Some(("44", "60", "0.012")));
    // The destination equal to a prefix matches it.
    check(&rows, "447", "60", Some(("447", "60", "0.045")));
}

#[test]
fn longer_prefix_out_of_force_falls_back_to_shorter() {
    let rows = [BASE, Row { prefix: "447", rate: "0.0450", to: Some("2026-02-01T00:00:00Z"), ..BASE }];
    // 447 closed on 2026-02-01, so on 2026-03-01 the 44 row prices it: 0.012
    check(&rows, "447911000001", "60", Some(("44", "60", "0.012")));
}

#[test]
fn no_rate() {
    let rows = [BASE];
    // No prefix of 8613800000 in the deck.
    check(&rows, "8613800000", "60", None);
    // Another carrier's deck does not apply.
    let rows = [Row { carrier: "borealis", ..BASE }];
    check(&rows, "442071234567", "60", None);
    // Another service's deck does not apply.
    let rows = [Row { service: Service::Sms, ..BASE }];
    check(&rows, "442071234567", "60", None);
}

#[test]
fn sms_and_other_units() {
    let rows = [Row { service: Service::Sms, rate: "0.0310", unit: "1", ..BASE }];
    // 3 segments * 0.031 = 0.093
    check_at(&rows, Service::Sms, "44770041777", "2026-03-01T00:00:00Z", "3", Some(("44", "3", "0.093")));
    // Email per 1000 messages: 0.50 per 1000, 1 message -> 0.0005
    let rows = [Row { service: Service::Email, rate: "0.50", unit: "1000", ..BASE }];
    check_at(&rows, Service::Email, "44", "2026-03-01T00:00:00Z", "1", Some(("44", "1", "0.0005")));
    // Data per MiB: 1.00 per 1048576 bytes, 524288 bytes -> 0.5
    let rows = [Row { service: Service::Data, rate: "1.00", unit: "1048576", ..BASE }];
    check_at(&rows, Service::Data, "44", "2026-03-01T00:00:00Z", "524288", Some(("44", "524288", "0.5")));
    // Rounding half away from zero: 0.0000150 per unit... 1 byte at 1.00/1048576 = 9.5367e-7 -> 0.000001
    check_at(&rows, Service::Data, "44", "2026-03-01T00:00:00Z", "1", Some(("44", "1", "0.000001")));
}

#[test]
fn empty_prefix_is_a_catch_all() {
    let rows = [Row { prefix: "", rate: "0.0600", ..BASE }, BASE];
    // 1 555...: only the catch-all applies, 0.06*60/60 = 0.06
    check(&rows, "15550000", "60", Some(("", "60", "0.06")));
    check(&rows, "4420", "60", Some(("44", "60", "0.012")));
}

#[test]
fn deck_rejects_duplicates_and_bad_rows() {
    let mut deck = RateDeck::new();
    deck.insert(row(&BASE)).unwrap();
    assert_eq!(
        deck.insert(row(&Row { rate: "0.5", ..BASE })),
        Err(RateDeckError::DuplicateRow { existing: RateRowIndex(0) })
    );
    assert!(matches!(deck.insert(row(&Row { prefix: "4a", ..BASE })), Err(RateDeckError::PrefixNotDigits(_))));
    assert_eq!(
        deck.insert(row(&Row { unit: "0", from: "2026-02-01T00:00:00Z", ..BASE })),
        Err(RateDeckError::RateUnitNotPositive)
    );
    assert_eq!(
        deck.insert(row(&Row { to: Some("2026-01-01T00:00:00Z"), from: "2026-02-01T00:00:00Z", ..BASE })),
        Err(RateDeckError::EmptyInterval)
    );
}

proptest! {
    #[test]
    fn cost_never_decreases_with_quantity(
        a in 0_u32..=100_000,
        b in 0_u32..=100_000,
        scale in 0_u32..=2,
        connect in 0_u32..=100,
        minimum in 0_u32..=300,
    ) {
        let connect = Decimal::new(i64::from(connect), 4);
        let minimum = Decimal::new(i64::from(minimum), 4);
        let rate_row = RateRow {
            connect_fee: connect,
            min_charge: minimum,
            increments: Increments::parse("30/6").unwrap(),
            ..row(&BASE)
        };
        let (small, large) = (a.min(b), a.max(b));
        let (_, cost_small) = price(&rate_row, Decimal::new(i64::from(small), scale));
        let (_, cost_large) = price(&rate_row, Decimal::new(i64::from(large), scale));
        prop_assert!(cost_small <= cost_large);
        if small > 0 {
            prop_assert!(cost_small >= minimum);
            prop_assert!(cost_small >= connect);
        }
    }
}

// ---- Rate structures beyond the data contract: bands, tiers, networks, origins, surcharges ----

fn sms_record(id: &str, at: &str, destination: &str, quantity: &str) -> UsageRecord {
    UsageRecord { record_id: id.into(), ..record(Service::Sms, destination, at, quantity) }
}

fn costs(deck: &RateDeck, usage: &[UsageRecord], networks: &NetworkMap) -> Vec<Option<Decimal>> {
    rate_all(deck, usage, Party::Carrier, networks).iter().map(|rating| rating.map(|rating| rating.cost)).collect()
}

fn some(texts: &[&str]) -> Vec<Option<Decimal>> {
    texts.iter().map(|text| Some(d(text))).collect()
}

#[test]
fn a_call_is_rated_by_the_band_in_force_at_its_start() {
    let mut deck = RateDeck::new();
    let peak = RateConditions {
        band: Some(TimeBand::parse("Europe/London", "mon-fri", "08:00", "18:00").unwrap()),
        ..RateConditions::default()
    };
    deck.insert(RateRow { rate: d("0.0200"), conditions: peak, ..row(&BASE) }).unwrap();
    deck.insert(RateRow { rate: d("0.0100"), ..row(&BASE) }).unwrap();
    let usage = [
        // Monday 17:59:30 GMT for 120 s, crossing 18:00: peak at its start, 0.02*120/60 = 0.04
        record(Service::Voice, "442071234567", "2026-03-02T17:59:30Z", "120"),
        // Monday 18:00:00: off-peak, 0.01*120/60 = 0.02
        record(Service::Voice, "442071234567", "2026-03-02T18:00:00Z", "120"),
        // Saturday noon: off-peak, 0.02
        record(Service::Voice, "442071234567", "2026-03-07T12:00:00Z", "120"),
        // Summer: Monday 07:30Z is 08:30 BST, peak: 0.04
        record(Service::Voice, "442071234567", "2026-06-01T07:30:00Z", "120"),
    ];
    assert_eq!(costs(&deck, &usage, &NetworkMap::new()), some(&["0.04", "0.02", "0.02", "0.04"]));
}

fn tiered_sms_deck(mode: TierMode) -> RateDeck {
    let mut deck = RateDeck::new();
    let sms = Row { service: Service::Sms, unit: "1", ..BASE };
    // 0.05 a message up to 10 messages in the month, 0.03 from the 11th on.
    for (from, rate) in [("10", "0.03"), ("0", "0.05")] {
        let tiers = Some(Tiers { mode, steps: vec![(d(from), d(rate))] });
        deck.insert(RateRow { rate: d(rate), tiers, ..row(&sms) }).unwrap();
    }
    deck.check_tiers().unwrap();
    deck
}

fn tier_usage() -> Vec<UsageRecord> {
    vec![
        sms_record("m1", "2026-03-01T10:00:00Z", "447700000001", "6"),
        sms_record("m2", "2026-03-02T10:00:00Z", "447700000002", "6"),
        sms_record("m3", "2026-03-03T10:00:00Z", "447700000003", "3"),
        sms_record("m4", "2026-04-01T00:00:00Z", "447700000004", "3"),
    ]
}

#[test]
fn graduated_tiers_cross_a_boundary_inside_the_month_and_reset_the_next() {
    let deck = tiered_sms_deck(TierMode::Graduated);
    // m1: units 1-6 at 0.05 = 0.30
    // m2: units 7-12: 4 at 0.05 + 2 at 0.03 = 0.20 + 0.06 = 0.26
    // m3: units 13-15 at 0.03 = 0.09
    // m4: April, the count restarts: units 1-3 at 0.05 = 0.15
    assert_eq!(costs(&deck, &tier_usage(), &NetworkMap::new()), some(&["0.30", "0.26", "0.09", "0.15"]));
    // Arrival order does not matter: reversed, each record costs the same.
    let mut reversed = tier_usage();
    reversed.reverse();
    assert_eq!(costs(&deck, &reversed, &NetworkMap::new()), some(&["0.15", "0.09", "0.26", "0.30"]));
}

#[test]
fn volume_tiers_price_every_unit_at_the_tier_the_month_reaches() {
    let deck = tiered_sms_deck(TierMode::Volume);
    // March total 15 > 10: every March message at 0.03: 0.18, 0.18, 0.09; April total 3: 0.05 * 3
    assert_eq!(costs(&deck, &tier_usage(), &NetworkMap::new()), some(&["0.18", "0.18", "0.09", "0.15"]));
    // Exactly 10 in a month stays in the first tier: 6 + 4 = 10 -> 0.30, 0.20
    let usage = &tier_usage()[..1];
    let mut ten = usage.to_vec();
    ten.push(sms_record("m5", "2026-03-05T00:00:00Z", "447700000005", "4"));
    assert_eq!(costs(&deck, &ten, &NetworkMap::new()), some(&["0.30", "0.20"]));
}

#[test]
fn a_network_rate_beats_a_prefix_rate() {
    let mut deck = RateDeck::new();
    let sms = Row { service: Service::Sms, unit: "1", rate: "0.0400", ..BASE };
    deck.insert(row(&sms)).unwrap();
    deck.insert(RateRow {
        prefix: String::new(),
        rate: d("0.0300"),
        conditions: RateConditions { network: Some(network_id("234", "10")), ..RateConditions::default() },
        ..row(&sms)
    })
    .unwrap();
    let mut networks = NetworkMap::new();
    networks.insert("447700", network_id("234", "10"));
    let mut known_network = sms_record("m3", "2026-03-01T00:00:00Z", "449999000000", "1");
    known_network.network = Some(network_id("234", "10"));
    let usage = [
        // 447700... maps to 234-10: the network row, 0.03
        sms_record("m1", "2026-03-01T00:00:00Z", "447700123456", "1"),
        // 447800... has no network: the prefix row, 0.04
        sms_record("m2", "2026-03-01T00:00:00Z", "447800123456", "1"),
        // The platform says 234-10 whatever the number: 0.03
        known_network,
    ];
    assert_eq!(costs(&deck, &usage, &networks), some(&["0.03", "0.04", "0.03"]));
}

#[test]
fn origin_surcharge_and_fixed_fee() {
    let mut deck = RateDeck::new();
    deck.insert(row(&BASE)).unwrap();
    let from_us = RateConditions { origin_prefix: Some("1".into()), ..RateConditions::default() };
    deck.insert(RateRow { rate: d("0.0500"), conditions: from_us, ..row(&BASE) }).unwrap();
    let with_origin = |origin: Option<&str>| UsageRecord {
        origin: origin.map(|origin| Destination::parse(origin).unwrap()),
        ..record(Service::Voice, "442071234567", "2026-03-01T12:00:00Z", "60")
    };
    let usage = [
        // From the US: the origin row, 0.05*60/60 = 0.05
        with_origin(Some("+14155550000")),
        // From the UK: the plain row, 0.012
        with_origin(Some("+442079460000")),
        // Unknown origin: the plain row, 0.012
        with_origin(None),
    ];
    assert_eq!(costs(&deck, &usage, &NetworkMap::new()), some(&["0.05", "0.012", "0.012"]));

    // A fixed fee comes on top of the minimum: max(0.012, 0.02) + 0.001 = 0.021
    let mut deck = RateDeck::new();
    deck.insert(RateRow { per_record_fee: d("0.001"), min_charge: d("0.02"), ..row(&BASE) }).unwrap();
    assert_eq!(costs(&deck, &usage[2..], &NetworkMap::new()), some(&["0.021"]));
    // ... and never on an unanswered record.
    let unanswered = record(Service::Voice, "442071234567", "2026-03-01T12:00:00Z", "0");
    assert_eq!(costs(&deck, &[unanswered], &NetworkMap::new()), some(&["0"]));
}

#[test]
fn customer_plans_fall_back_to_the_default_plan() {
    let mut deck = RateDeck::new();
    deck.insert(RateRow { carrier: "*".into(), rate: d("0.0300"), ..row(&BASE) }).unwrap();
    deck.insert(RateRow { carrier: "bigco".into(), rate: d("0.0200"), ..row(&BASE) }).unwrap();
    let customer = |name: Option<&str>| UsageRecord {
        customer: name.map(Into::into),
        ..record(Service::Voice, "442071234567", "2026-03-01T12:00:00Z", "60")
    };
    let usage = [customer(Some("bigco")), customer(Some("smallco")), customer(None)];
    let prices: Vec<_> = rate_all(&deck, &usage, Party::Customer, &NetworkMap::new())
        .iter()
        .map(|rating| rating.map(|rating| rating.cost))
        .collect();
    // bigco's own plan 0.02; everyone else the default 0.03
    assert_eq!(prices, some(&["0.02", "0.03", "0.03"]));
}

#[test]
fn tiers_of_the_default_plan_count_per_customer() {
    // The default plan `*`: 0.10 a message up to 10 in the month, 0.05 from the 11th (graduated).
    let mut deck = RateDeck::new();
    let sms = Row { service: Service::Sms, unit: "1", ..BASE };
    for (from, rate) in [("10", "0.05"), ("0", "0.10")] {
        let tiers = Some(Tiers { mode: TierMode::Graduated, steps: vec![(d(from), d(rate))] });
        deck.insert(RateRow { carrier: "*".into(), rate: d(rate), tiers, ..row(&sms) }).unwrap();
    }
    deck.check_tiers().unwrap();
    let message = |id: &str, customer: &str, at: &str| UsageRecord {
        customer: Some(customer.into()),
        ..sms_record(id, at, "447700000001", "8")
    };
    let usage = [message("a", "alice", "2026-03-01T10:00:00Z"), message("b", "bob", "2026-03-02T10:00:00Z")];
    let prices: Vec<_> = rate_all(&deck, &usage, Party::Customer, &NetworkMap::new())
        .iter()
        .map(|rating| rating.map(|rating| rating.cost))
        .collect();
    // Each customer's 8 messages stay in the first tier: 8 * 0.10 = 0.80 each. Pooled, Bob's
    // would have been 2 * 0.10 + 6 * 0.05 = 0.50.
    assert_eq!(prices, some(&["0.80", "0.80"]));
    // Carrier costs still count per carrier: alice's and bob's 16 messages on one carrier.
    let costs = rate_all(&deck_for_carrier(&deck), &usage, Party::Carrier, &NetworkMap::new());
    let costs: Vec<_> = costs.iter().map(|rating| rating.map(|rating| rating.cost)).collect();
    // 8 * 0.10 = 0.80; then units 9-16: 2 * 0.10 + 6 * 0.05 = 0.50
    assert_eq!(costs, some(&["0.80", "0.50"]));
}

/// The same rows as a carrier's deck (the records' carrier).
fn deck_for_carrier(plans: &RateDeck) -> RateDeck {
    let mut deck = RateDeck::new();
    for plan_row in plans.rows() {
        deck.insert(RateRow { carrier: BASE.carrier.into(), ..plan_row.clone() }).unwrap();
    }
    deck
}

proptest! {
    /// Tiered totals (and each record's cost) do not depend on the order of the records.
    #[test]
    fn tier_totals_do_not_depend_on_record_order(
        quantities in proptest::collection::vec((1_u32..=20, 0_u32..=40), 1..40),
        rotation in 0_usize..40,
        graduated in any::<bool>(),
    ) {
        let deck = tiered_sms_deck(if graduated { TierMode::Graduated } else { TierMode::Volume });
        let usage: Vec<UsageRecord> = quantities
            .iter()
            .enumerate()
            .map(|(index, (quantity, day))| {
                // Days 0-40 from March 1st: some land in April.
                let at = jiff::Timestamp::from_second(1_772_323_200 + i64::from(*day) * 86_400).unwrap();
                sms_record(&format!("m{index}"), &at.to_string(), "447700000001", &quantity.to_string())
            })
            .collect();
        let mut rotated = usage.clone();
        rotated.rotate_left(rotation % usage.len());
        rotated.reverse();
        let by_id = |usage: &[UsageRecord]| {
            let ratings = rate_all(&deck, usage, Party::Carrier, &NetworkMap::new());
            let mut costs: Vec<(String, Decimal)> = usage.iter().zip(ratings).map(|(record, rating)| (record.record_id.to_string(), rating.unwrap().cost)).collect();
            costs.sort();
            costs
        };
        let original = by_id(&usage);
        let shuffled = by_id(&rotated);
        let total = |costs: &[(String, Decimal)]| costs.iter().map(|(_, cost)| *cost).sum::<Decimal>();
        prop_assert_eq!(total(&original), total(&shuffled));
        prop_assert_eq!(original, shuffled);
    }
}

/// Issue 11, item 16: a quantity past the bounds (which every reader refuses) overflowed the
/// price and panicked; rating now leaves such a record unrated. 7.9e28 s at 2 per second would
/// cost 1.6e29, past a Decimal; 10^12 s at 2 per second is 2 × 10^12.
#[test]
fn issue_11_a_quantity_past_the_bounds_is_unrated_not_a_panic() {
    let deck = deck(&[Row { rate: "2", unit: "1", ..BASE }]);
    let at = "2026-03-02T10:00:00Z";
    let huge = record(Service::Voice, "+442071234567", at, "79228162514264337593543950335");
    assert_eq!(rate_record(&deck, &huge), None);
    let largest = rate_record(&deck, &record(Service::Voice, "+442071234567", at, "1000000000000")).unwrap();
    assert_eq!((largest.billed_quantity, largest.cost), (d("1000000000000"), d("2000000000000")));
}

// ---- Issue 13: first-interval rates, caps, the carrier's rounding, blocked destinations,
// ---- holidays, and banded rows that would tie ----

/// One voice record to 44 at `at` (a Tuesday unless said), `quantity` seconds: its `(billed
/// quantity, cost, rate)` under one row.
#[track_caller]
fn rate_one(rate_row: RateRow, at: &str, quantity: &str) -> (Decimal, Decimal, Decimal) {
    let mut deck = RateDeck::new();
    deck.insert(rate_row).unwrap();
    let rating = rate_record(&deck, &record(Service::Voice, "442071234567", at, quantity)).unwrap();
    (rating.billed_quantity, rating.cost, rating.rate)
}

fn rules(first_rate: Option<&str>, max_cost: Option<&str>) -> crate::rate_deck::PriceRules {
    crate::rate_deck::PriceRules { first_rate: first_rate.map(d), max_cost: max_cost.map(d), ..Default::default() }
}

#[test]
fn issue13_first_interval_rate_and_cap() {
    let at = "2026-03-03T12:00:00Z";
    // First minute at 0.05, then per second at 0.012/min, increments 60/1, connect fee 0.01.
    let first_minute = RateRow { increments: Increments::parse("60/1").unwrap(), connect_fee: d("0.01"), ..row(&BASE) };
    let with_first = RateRow { rules: rules(Some("0.05"), None), ..first_minute.clone() };
    // 95 s: b = 60 + 35 = 95; 0.01 + (0.05 * 60 + 0.012 * 35) / 60 = 0.01 + (3 + 0.42) / 60
    // = 0.01 + 0.057 = 0.067
    assert_eq!(rate_one(with_first.clone(), at, "95"), (d("95"), d("0.067"), d("0.0120")));
    // 10 s: b = 60, all of it the first interval: 0.01 + 0.05 = 0.06
    assert_eq!(rate_one(with_first.clone(), at, "10"), (d("60"), d("0.06"), d("0.0120")));
    // Without first_rate, 95 s costs 0.01 + 0.012 * 95 / 60 = 0.029
    assert_eq!(rate_one(first_minute.clone(), at, "95").1, d("0.029"));
    // A cap of 0.5 per call: 3600 s would cost 0.01 + (3 + 0.012 * 3540) / 60 = 0.01 + 0.758 =
    // 0.768; capped at 0.5. 1000 s: 0.01 + (3 + 11.28) / 60 = 0.248, under the cap.
    let capped = RateRow { rules: rules(Some("0.05"), Some("0.5")), ..first_minute.clone() };
    assert_eq!(rate_one(capped.clone(), at, "3600").1, d("0.5"));
    assert_eq!(rate_one(capped, at, "1000").1, d("0.248"));
    // The cap includes the per-record fee: min(0.029 + 0.02, 0.04) = 0.04
    let fee_capped = RateRow { per_record_fee: d("0.02"), rules: rules(None, Some("0.04")), ..first_minute };
    assert_eq!(rate_one(fee_capped, at, "95").1, d("0.04"));
    // first_rate and tiers cannot be combined; a cap below the minimum is refused.
    let mut deck = RateDeck::new();
    let tiered = RateRow {
        tiers: Some(Tiers { mode: TierMode::Graduated, steps: vec![(Decimal::ZERO, d("0.012"))] }),
        rules: rules(Some("0.05"), None),
        ..row(&BASE)
    };
    assert_eq!(deck.insert(tiered), Err(RateDeckError::FirstRateWithTiers));
    let below = RateRow { min_charge: d("0.1"), rules: rules(None, Some("0.05")), ..row(&BASE) };
    assert_eq!(deck.insert(below), Err(RateDeckError::MaxCostBelowMinimum));
}

#[test]
fn issue13_costs_round_the_carriers_way() {
    use crate::money::RoundMode;
    use crate::rate_deck::{CostRounding, PriceRules};
    let at = "2026-03-03T12:00:00Z";
    // 0.0070 per minute, 1/1, 61 s: 0.0070 * 61 / 60 = 0.427 / 60 = 0.0071166...
    let rounded = |rate: &str, decimal_places: u32, mode: RoundMode, quantity: &str| {
        let rounding = Some(CostRounding { decimal_places, mode });
        rate_one(
            RateRow { rate: d(rate), rules: PriceRules { rounding, ..Default::default() }, ..row(&BASE) },
            at,
            quantity,
        )
        .1
    };
    // Default: 6 places half away from zero: 0.0071166... -> 0.007117
    assert_eq!(rate_one(RateRow { rate: d("0.0070"), ..row(&BASE) }, at, "61").1, d("0.007117"));
    // 4 places: half_up 0.0071, up 0.0072, down 0.0071, half_even 0.0071
    assert_eq!(rounded("0.0070", 4, RoundMode::HalfAwayFromZero, "61"), d("0.0071"));
    assert_eq!(rounded("0.0070", 4, RoundMode::Up, "61"), d("0.0072"));
    assert_eq!(rounded("0.0070", 4, RoundMode::Down, "61"), d("0.0071"));
    // A tie at 2 places: 0.3 per minute, 5 s: 0.3 * 5 / 60 = 0.025 -> half_up 0.03, half_even
    // 0.02, up 0.03, down 0.02.
    assert_eq!(rounded("0.3", 2, RoundMode::HalfAwayFromZero, "5"), d("0.03"));
    assert_eq!(rounded("0.3", 2, RoundMode::HalfEven, "5"), d("0.02"));
    assert_eq!(rounded("0.3", 2, RoundMode::Up, "5"), d("0.03"));
    assert_eq!(rounded("0.3", 2, RoundMode::Down, "5"), d("0.02"));
    // A contract's rounding applies to the carrier's rows without their own.
    let mut deck = RateDeck::new();
    deck.insert(RateRow { rate: d("0.0070"), ..row(&BASE) }).unwrap();
    deck.set_default_rounding("acme", CostRounding { decimal_places: 4, mode: RoundMode::Up });
    let rating = rate_record(&deck, &record(Service::Voice, "442071234567", at, "61")).unwrap();
    assert_eq!(rating.cost, d("0.0072"));
}

#[test]
fn issue13_a_blocked_destination_bills_nothing() {
    use crate::rate_deck::PriceRules;
    let blocked = PriceRules { blocked: true, ..Default::default() };
    let mut deck = RateDeck::new();
    deck.insert(row(&BASE)).unwrap();
    // 4470 is blocked (premium numbers, say), with a connect fee and minimum that never apply.
    deck.insert(RateRow {
        prefix: "4470".into(),
        connect_fee: d("0.5"),
        min_charge: d("1"),
        rules: blocked,
        ..row(&BASE)
    })
    .unwrap();
    let at = "2026-03-03T12:00:00Z";
    let blocked_call = rate_record(&deck, &record(Service::Voice, "447012345678", at, "95")).unwrap();
    assert_eq!(
        (blocked_call.billed_quantity, blocked_call.cost, blocked_call.rate),
        (Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)
    );
    assert_eq!(deck.row(blocked_call.row).prefix, "4470");
    // Beside it, 44 prices as usual: 0.012 * 95 / 60 = 0.019
    let open_call = rate_record(&deck, &record(Service::Voice, "447112345678", at, "95")).unwrap();
    assert_eq!(open_call.cost, d("0.019"));
}

#[test]
fn issue13_holidays_take_the_band_of_their_weekday() {
    use crate::time_band::HolidayCalendar;
    let weekend = RateConditions {
        band: Some(TimeBand::parse("UTC", "sat,sun", "00:00", "24:00").unwrap()),
        ..Default::default()
    };
    let mut deck = RateDeck::new();
    deck.insert(RateRow { rate: d("0.0200"), ..row(&BASE) }).unwrap();
    deck.insert(RateRow { rate: d("0.0060"), conditions: weekend, ..row(&BASE) }).unwrap();
    let christmas = record(Service::Voice, "442071234567", "2026-12-25T10:00:00Z", "60");
    // A Friday: the weekday rate, 0.02 a minute.
    assert_eq!(rate_record(&deck, &christmas).unwrap().cost, d("0.02"));
    let mut holidays = HolidayCalendar::default();
    holidays.insert(jiff::civil::date(2026, 12, 25), jiff::civil::Weekday::Sunday).unwrap();
    deck.set_holidays("acme", holidays.clone());
    // Rated as a Sunday: the weekend rate, 0.006.
    assert_eq!(rate_record(&deck, &christmas).unwrap().cost, d("0.006"));
    // Another carrier's holidays change nothing for acme.
    let mut other = RateDeck::new();
    other.insert(RateRow { rate: d("0.0200"), ..row(&BASE) }).unwrap();
    other.set_holidays("globex", holidays);
    assert_eq!(rate_record(&other, &christmas).unwrap().cost, d("0.02"));
}

/// Issue 13, item 5: two banded rows of one prefix with one `effective_from` whose bands share
/// an instant would tie; the file's order decided (0.07 or 0.05). Now the second is refused,
/// in either order.
#[test]
fn issue13_overlapping_bands_of_one_prefix_are_refused() {
    let band = |days: &str, from: &str, to: &str| RateConditions {
        band: Some(TimeBand::parse("Europe/London", days, from, to).unwrap()),
        ..Default::default()
    };
    let first = RateRow { rate: d("0.07"), conditions: band("mon-fri", "08:00", "18:00"), ..row(&BASE) };
    let second = RateRow { rate: d("0.05"), conditions: band("mon", "17:00", "20:00"), ..row(&BASE) };
    for (a, b) in [(first.clone(), second.clone()), (second.clone(), first.clone())] {
        let mut deck = RateDeck::new();
        deck.insert(a).unwrap();
        assert_eq!(deck.insert(b), Err(RateDeckError::OverlappingBands { existing: RateRowIndex(0) }));
    }
    // A night band wrapping midnight overlaps an early-morning one.
    let mut deck = RateDeck::new();
    deck.insert(RateRow { conditions: band("all", "22:00", "06:00"), ..row(&BASE) }).unwrap();
    let early = RateRow { conditions: band("sat", "05:00", "07:00"), ..row(&BASE) };
    assert!(matches!(deck.insert(early), Err(RateDeckError::OverlappingBands { .. })));
    // Disjoint bands, another start, or another origin are fine.
    let mut deck = RateDeck::new();
    deck.insert(first.clone()).unwrap();
    deck.insert(RateRow { conditions: band("mon-fri", "18:00", "08:00"), ..row(&BASE) }).unwrap();
    deck.insert(RateRow { effective_from: ts("2026-02-01T00:00:00Z"), ..second.clone() }).unwrap();
    let from_us = RateConditions { origin_prefix: Some("1".into()), ..second.conditions.clone() };
    deck.insert(RateRow { conditions: from_us, ..second }).unwrap();
}

/// An SMS row of acme at 0.05 a segment with a connect fee of 0.01, billed as `billed_on` says.
fn sms_row(billed_on: Option<crate::rate_deck::BilledOn>) -> RateRow {
    RateRow {
        service: Service::Sms,
        prefix: "44".into(),
        rate: d("0.05"),
        rate_unit: Decimal::ONE,
        connect_fee: d("0.01"),
        rules: crate::rate_deck::PriceRules { billed_on, ..Default::default() },
        ..row(&BASE)
    }
}

/// `(billed quantity, cost, undelivered)` of a 3-segment SMS with a receipt status.
fn rate_sms(deck: &RateDeck, status: Option<crate::usage::DeliveryStatus>) -> (Decimal, Decimal, bool) {
    let sms = UsageRecord { status, ..record(Service::Sms, "447700000001", "2026-03-03T12:00:00Z", "3") };
    let rating = rate_record(deck, &sms).unwrap();
    (rating.billed_quantity, rating.cost, rating.undelivered)
}

/// Issue 13: a carrier that bills on delivery charges nothing for a message its receipt proves
/// undelivered; one that bills on submission charges every message; no receipt, or `unknown`,
/// proves nothing, so such a message is billed.
#[test]
fn issue13_sms_billed_on_delivery_or_submission_per_status() {
    use crate::rate_deck::BilledOn;
    use crate::usage::DeliveryStatus;
    // 3 segments: 0.01 + 0.05 * 3 / 1 = 0.16
    let billed = (d("3"), d("0.16"), false);
    let not_billed = (Decimal::ZERO, Decimal::ZERO, true);
    let table = [
        (None, Some(DeliveryStatus::Failed), billed),
        (Some(BilledOn::Submitted), Some(DeliveryStatus::Failed), billed),
        (Some(BilledOn::Submitted), Some(DeliveryStatus::Delivered), billed),
        (Some(BilledOn::Delivered), None, billed),
        (Some(BilledOn::Delivered), Some(DeliveryStatus::Delivered), billed),
        (Some(BilledOn::Delivered), Some(DeliveryStatus::Unknown), billed),
        (Some(BilledOn::Delivered), Some(DeliveryStatus::Failed), not_billed),
        (Some(BilledOn::Delivered), Some(DeliveryStatus::Expired), not_billed),
        (Some(BilledOn::Delivered), Some(DeliveryStatus::Rejected), not_billed),
    ];
    for (billed_on, status, expected) in table {
        let mut deck = RateDeck::new();
        deck.insert(sms_row(billed_on)).unwrap();
        assert_eq!(rate_sms(&deck, status), expected, "{billed_on:?} {status:?}");
    }
}

/// Issue 13: a contract's `billed_on` applies to the carrier's message rows that do not say so
/// themselves; a row's own value wins; rows of other carriers and other services keep theirs.
#[test]
fn issue13_contract_billed_on_is_a_default_a_row_overrides() {
    use crate::contract::ContractTerms;
    use crate::rate_deck::BilledOn;
    use crate::usage::DeliveryStatus;
    let mut deck = RateDeck::new();
    deck.insert(sms_row(None)).unwrap();
    // 4479: the row says submitted; 0.01 + 0.05 * 3 = 0.16 whatever the contract.
    deck.insert(RateRow { prefix: "4479".into(), ..sms_row(Some(BilledOn::Submitted)) }).unwrap();
    deck.insert(RateRow { carrier: "globex".into(), ..sms_row(None) }).unwrap();
    deck.insert(row(&BASE)).unwrap();
    let contracts = std::collections::HashMap::from([(
        "acme".to_owned(),
        ContractTerms { billed_on: Some(BilledOn::Delivered), ..Default::default() },
    )]);
    let failed = Some(DeliveryStatus::Failed);
    assert_eq!(rate_sms(&deck, failed), (d("3"), d("0.16"), false), "before the contract");
    deck.apply_contract_defaults(&contracts);
    // acme's 44 row now bills on delivery: the failed message costs 0.
    assert_eq!(rate_sms(&deck, failed), (Decimal::ZERO, Decimal::ZERO, true));
    let overriding =
        UsageRecord { status: failed, ..record(Service::Sms, "447921000001", "2026-03-03T12:00:00Z", "3") };
    let rating = rate_record(&deck, &overriding).unwrap();
    assert_eq!((deck.row(rating.row).prefix.as_str(), rating.cost), ("4479", d("0.16")));
    // globex has no such contract: billed.
    let globex = UsageRecord { carrier: "globex".into(), ..overriding.clone() };
    assert_eq!(rate_record(&deck, &globex).unwrap().cost, d("0.16"));
    // acme's voice row is untouched (calls have no deliveries): 0.012 * 60 / 60 = 0.012.
    let call = UsageRecord { status: failed, ..record(Service::Voice, "442071234567", "2026-03-03T12:00:00Z", "60") };
    assert_eq!(rate_record(&deck, &call).unwrap().cost, d("0.012"));
    assert_eq!(deck.rows()[3].rules.billed_on, None);
    // A voice row cannot bill on delivery.
    let voice_on_delivery = RateRow {
        rules: crate::rate_deck::PriceRules { billed_on: Some(BilledOn::Delivered), ..Default::default() },
        ..row(&BASE)
    };
    assert_eq!(deck.insert(voice_on_delivery), Err(RateDeckError::BilledOnDeliveredNotMessage));
}

/// Issue 13: an undelivered message is not billed, so it adds nothing to the month's tiered
/// volume. Graduated 0.05 up to 4 messages, 0.03 beyond; records of 3, 3 (failed) and 2: the
/// failed one counts 0, so the third's 2 units are units 4-5: 0.05 + 0.03 = 0.08 (with the
/// failed one counted they would be units 7-8: 0.06).
#[test]
fn issue13_undelivered_messages_add_nothing_to_tiered_volume() {
    use crate::rate_deck::{BilledOn, PriceRules};
    use crate::usage::DeliveryStatus;
    let tier = |from: &str, rate: &str| RateRow {
        service: Service::Sms,
        prefix: "44".into(),
        rate: d(rate),
        rate_unit: Decimal::ONE,
        tiers: Some(Tiers { mode: TierMode::Graduated, steps: vec![(d(from), d(rate))] }),
        rules: PriceRules { billed_on: Some(BilledOn::Delivered), ..Default::default() },
        ..row(&BASE)
    };
    let mut deck = RateDeck::new();
    deck.insert(tier("0", "0.05")).unwrap();
    deck.insert(tier("4", "0.03")).unwrap();
    let sms = |id: &str, at: &str, quantity: &str, status| UsageRecord {
        record_id: id.into(),
        status,
        ..record(Service::Sms, "447911000001", at, quantity)
    };
    let usage = [
        sms("a", "2026-03-01T10:00:00Z", "3", Some(DeliveryStatus::Delivered)),
        sms("b", "2026-03-02T10:00:00Z", "3", Some(DeliveryStatus::Failed)),
        sms("c", "2026-03-03T10:00:00Z", "2", None),
    ];
    let costs = costs(&deck, &usage, &NetworkMap::new());
    // a: 3 × 0.05 = 0.15; b: 0; c: 0.05 + 0.03 = 0.08
    assert_eq!(costs, [Some(d("0.15")), Some(Decimal::ZERO), Some(d("0.08"))]);
}

#[test]
fn records_are_looked_up_by_carrier_service_and_digits_and_rated_in_their_own_place() {
    let mut usage = vec![
        record(Service::Voice, "+4420", "2026-03-01T00:00:00Z", "60"),
        record(Service::Sms, "+44", "2026-03-01T00:00:00Z", "1"),
        record(Service::Voice, "+44", "2026-03-01T00:00:00Z", "60"),
        record(Service::Voice, "+1212", "2026-03-01T00:00:00Z", "60"),
        record(Service::Voice, "+4420", "2026-03-01T00:00:00Z", "30"),
    ];
    // Each record has its own copy of its carrier's name: carriers are told by their text.
    usage
        .push(UsageRecord { carrier: "borealis".into(), ..record(Service::Voice, "+1", "2026-03-01T00:00:00Z", "60") });
    // Past the few records looked up in usage order: copies of the six above, after them.
    let copies = ORDERED_LOOKUP_MIN.div_ceil(usage.len());
    usage = usage.iter().cycle().take(usage.len() * (copies + 1)).cloned().collect();
    let order: Vec<u32> = lookup_order(&usage).into_iter().filter(|&index| index < 6).collect();
    let acme: Vec<u32> = order.iter().copied().filter(|&index| index != 5).collect();
    // Voice before SMS; within voice, by digits: 1212, then 44 before the 4420s it prefixes.
    let digits: Vec<(Service, &str)> =
        acme.iter().map(|&index| (usage[index as usize].service, usage[index as usize].destination.digits())).collect();
    assert_eq!(
        digits,
        [
            (Service::Voice, "1212"),
            (Service::Voice, "44"),
            (Service::Voice, "4420"),
            (Service::Voice, "4420"),
            (Service::Sms, "44")
        ]
    );
    // Carriers in order of first appearance: acme's records, then borealis's.
    assert_eq!(order.last(), Some(&5));
    let borealis = copies + 1;
    assert!(lookup_order(&usage)[usage.len() - borealis..].iter().all(|index| index % 6 == 5));

    // Whatever the lookup order, each rating lands at its own record: the same as rating each
    // record alone. acme 44 at 0.0120/60 s: 60 s costs 0.0120, 30 s costs 0.0060.
    let deck = deck(&[BASE, Row { service: Service::Sms, unit: "1", rate: "0.0050", ..BASE }]);
    let together = costs(&deck, &usage, &NetworkMap::default());
    let alone: Vec<Option<Decimal>> =
        usage.iter().map(|one| costs(&deck, std::slice::from_ref(one), &NetworkMap::default())[0]).collect();
    assert_eq!(together, alone);
    assert_eq!(together[..6], [Some(d("0.0120")), Some(d("0.0050")), Some(d("0.0120")), None, Some(d("0.0060")), None]);
}
