//! Rating: hand-computed cases, each with its arithmetic, through one `check` helper.
//! Covers increments 1/1, 60/60, 30/6, 60/1, connect fees, minimum charges, zero quantity,
//! effective-date boundaries, overlapping prefixes and records with no rate.

use super::*;
use crate::rate_deck::RateDeckError;
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
    }
}

/// Rates one voice record at 2026-03-01 and checks `(prefix, billed quantity, cost)`, or no rate.
#[track_caller]
fn check(
    rows: &[Row<'_>],
    destination: &str,
    quantity: &str,
    expected: Option<(&str, &str, &str)>,
) {
    check_at(
        rows,
        Service::Voice,
        destination,
        "2026-03-01T12:00:00Z",
        quantity,
        expected,
    );
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
    let actual = rating.map(|rating| {
        (
            deck.row(rating.row).prefix.clone(),
            rating.billed_quantity,
            rating.cost,
        )
    });
    let expected = expected.map(|(prefix, billed, cost)| (prefix.to_owned(), d(billed), d(cost)));
    assert_eq!(actual, expected);
}

#[test]
fn formats_md_worked_example() {
    // rate 0.0120/60 s, 60/6, connect 0.0010, 75.2 s:
    // b = 60 + ceil(15.2/6)*6 = 78; cost = 0.0010 + 0.0120*78/60 = 0.0010 + 0.0156 = 0.0166
    let rows = [Row {
        increments: "60/6",
        connect_fee: "0.0010",
        ..BASE
    }];
    check(
        &rows,
        "+44 20 7123 4567",
        "75.2",
        Some(("44", "78", "0.0166")),
    );
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
    let rows = [Row {
        rate: "0.0100",
        ..BASE
    }];
    check(&rows, "442071234567", "7", Some(("44", "7", "0.001167")));
}

#[test]
fn increments_60_60() {
    let rows = [Row {
        increments: "60/60",
        ..BASE
    }];
    // 1 s: b = 60; 0.0120*60/60 = 0.012
    check(&rows, "442071234567", "1", Some(("44", "60", "0.012")));
    // 60 s: b = 60; 0.012
    check(&rows, "442071234567", "60", Some(("44", "60", "0.012")));
    // 60.001 s: b = 60 + ceil(0.001/60)*60 = 120; 0.024
    check(
        &rows,
        "442071234567",
        "60.001",
        Some(("44", "120", "0.024")),
    );
    // 121 s: b = 60 + ceil(61/60)*60 = 180; 0.036
    check(&rows, "442071234567", "121", Some(("44", "180", "0.036")));
}

#[test]
fn increments_30_6() {
    let rows = [Row {
        increments: "30/6",
        rate: "0.0450",
        ..BASE
    }];
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
    let rows = [Row {
        increments: "60/1",
        ..BASE
    }];
    // 10 s: b = 60; 0.012
    check(&rows, "442071234567", "10", Some(("44", "60", "0.012")));
    // 61 s: b = 60 + 1 = 61; 0.0120*61/60 = 0.0122
    check(&rows, "442071234567", "61", Some(("44", "61", "0.0122")));
    // 90.5 s: b = 60 + ceil(30.5) = 91; 0.0120*91/60 = 0.0182
    check(&rows, "442071234567", "90.5", Some(("44", "91", "0.0182")));
}

#[test]
fn connect_fee() {
    let rows = [Row {
        connect_fee: "0.0050",
        increments: "60/60",
        ..BASE
    }];
    // 30 s: b = 60; 0.0050 + 0.012 = 0.017
    check(&rows, "442071234567", "30", Some(("44", "60", "0.017")));
    // 150 s: b = 180; 0.0050 + 0.036 = 0.041
    check(&rows, "442071234567", "150", Some(("44", "180", "0.041")));
}

#[test]
fn minimum_charge() {
    let rows = [Row {
        min_charge: "0.0100",
        ..BASE
    }];
    // 6 s: 0.0120*6/60 = 0.0012 < 0.0100 -> 0.01
    check(&rows, "442071234567", "6", Some(("44", "6", "0.01")));
    // 50 s: 0.01 = min -> 0.01
    check(&rows, "442071234567", "50", Some(("44", "50", "0.01")));
    // 120 s: 0.024 > 0.01 -> 0.024
    check(&rows, "442071234567", "120", Some(("44", "120", "0.024")));
    // The minimum includes the connect fee: 0.004 + 0.0120*6/60 = 0.0052 -> 0.01
    let rows = [Row {
        min_charge: "0.0100",
        connect_fee: "0.004",
        ..BASE
    }];
    check(&rows, "442071234567", "6", Some(("44", "6", "0.01")));
    // 0.004 + 0.0120*60/60 = 0.016 > 0.01
    check(&rows, "442071234567", "60", Some(("44", "60", "0.016")));
}

#[test]
fn zero_quantity_costs_nothing() {
    // Unanswered: no connect fee, no minimum, billed quantity 0.
    let rows = [Row {
        min_charge: "0.0100",
        connect_fee: "0.004",
        increments: "60/60",
        ..BASE
    }];
    check(&rows, "442071234567", "0", Some(("44", "0", "0")));
}

#[test]
fn effective_date_boundaries() {
    let rows = [
        Row {
            rate: "0.0450",
            to: Some("2026-03-16T00:00:00Z"),
            ..BASE
        },
        Row {
            rate: "0.0410",
            from: "2026-03-16T00:00:00Z",
            ..BASE
        },
    ];
    let sms = Service::Voice;
    // One second before the switch: old row. 60 s * 0.045/60 = 0.045
    check_at(
        &rows,
        sms,
        "44",
        "2026-03-15T23:59:59Z",
        "60",
        Some(("44", "60", "0.045")),
    );
    // At the switch (effective_to exclusive, effective_from inclusive): new row, 0.041
    check_at(
        &rows,
        sms,
        "44",
        "2026-03-16T00:00:00Z",
        "60",
        Some(("44", "60", "0.041")),
    );
    // Before the first row starts: no rate.
    check_at(&rows, sms, "44", "2025-12-31T23:59:59Z", "60", None);
    // Offsets are honoured: 01:00+01:00 is 00:00Z, the new row.
    check_at(
        &rows,
        sms,
        "44",
        "2026-03-16T01:00:00+01:00",
        "60",
        Some(("44", "60", "0.041")),
    );
}

#[test]
fn newer_row_of_the_same_prefix_supersedes_an_open_ended_one() {
    // Both open-ended and in force on 2026-03-01: the later effective_from wins (0.02*60/60).
    let rows = [
        BASE,
        Row {
            rate: "0.0200",
            from: "2026-02-01T00:00:00Z",
            ..BASE
        },
    ];
    check(&rows, "44", "60", Some(("44", "60", "0.02")));
}

#[test]
fn overlapping_prefixes_longest_wins() {
    let rows = [
        BASE,
        Row {
            prefix: "447",
            rate: "0.0450",
            ..BASE
        },
        Row {
            prefix: "4479",
            rate: "0.0520",
            ..BASE
        },
    ];
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
    let rows = [
        BASE,
        Row {
            prefix: "447",
            rate: "0.0450",
            to: Some("2026-02-01T00:00:00Z"),
            ..BASE
        },
    ];
    // 447 closed on 2026-02-01, so on 2026-03-01 the 44 row prices it: 0.012
    check(&rows, "447911000001", "60", Some(("44", "60", "0.012")));
}

#[test]
fn no_rate() {
    let rows = [BASE];
    // No prefix of 8613800000 in the deck.
    check(&rows, "8613800000", "60", None);
    // Another carrier's deck does not apply.
    let rows = [Row {
        carrier: "borealis",
        ..BASE
    }];
    check(&rows, "442071234567", "60", None);
    // Another service's deck does not apply.
    let rows = [Row {
        service: Service::Sms,
        ..BASE
    }];
    check(&rows, "442071234567", "60", None);
}

#[test]
fn sms_and_other_units() {
    let rows = [Row {
        service: Service::Sms,
        rate: "0.0310",
        unit: "1",
        ..BASE
    }];
    // 3 segments * 0.031 = 0.093
    check_at(
        &rows,
        Service::Sms,
        "44770041777",
        "2026-03-01T00:00:00Z",
        "3",
        Some(("44", "3", "0.093")),
    );
    // Email per 1000 messages: 0.50 per 1000, 1 message -> 0.0005
    let rows = [Row {
        service: Service::Email,
        rate: "0.50",
        unit: "1000",
        ..BASE
    }];
    check_at(
        &rows,
        Service::Email,
        "44",
        "2026-03-01T00:00:00Z",
        "1",
        Some(("44", "1", "0.0005")),
    );
    // Data per MiB: 1.00 per 1048576 bytes, 524288 bytes -> 0.5
    let rows = [Row {
        service: Service::Data,
        rate: "1.00",
        unit: "1048576",
        ..BASE
    }];
    check_at(
        &rows,
        Service::Data,
        "44",
        "2026-03-01T00:00:00Z",
        "524288",
        Some(("44", "524288", "0.5")),
    );
    // Rounding half away from zero: 0.0000150 per unit... 1 byte at 1.00/1048576 = 9.5367e-7 -> 0.000001
    check_at(
        &rows,
        Service::Data,
        "44",
        "2026-03-01T00:00:00Z",
        "1",
        Some(("44", "1", "0.000001")),
    );
}

#[test]
fn empty_prefix_is_a_catch_all() {
    let rows = [
        Row {
            prefix: "",
            rate: "0.0600",
            ..BASE
        },
        BASE,
    ];
    // 1 555...: only the catch-all applies, 0.06*60/60 = 0.06
    check(&rows, "15550000", "60", Some(("", "60", "0.06")));
    check(&rows, "4420", "60", Some(("44", "60", "0.012")));
}

#[test]
fn deck_rejects_duplicates_and_bad_rows() {
    let mut deck = RateDeck::new();
    deck.insert(row(&BASE)).unwrap();
    assert_eq!(
        deck.insert(row(&Row {
            rate: "0.5",
            ..BASE
        })),
        Err(RateDeckError::DuplicateRow {
            existing: RateRowIndex(0)
        })
    );
    assert!(matches!(
        deck.insert(row(&Row {
            prefix: "4a",
            ..BASE
        })),
        Err(RateDeckError::PrefixNotDigits(_))
    ));
    assert_eq!(
        deck.insert(row(&Row {
            unit: "0",
            from: "2026-02-01T00:00:00Z",
            ..BASE
        })),
        Err(RateDeckError::RateUnitNotPositive)
    );
    assert_eq!(
        deck.insert(row(&Row {
            to: Some("2026-01-01T00:00:00Z"),
            from: "2026-02-01T00:00:00Z",
            ..BASE
        })),
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
