//! Increments: hand-computed cases, an exhaustive check over a day of whole seconds against a
//! naive model, and properties over decimal quantities.

use super::*;
use proptest::prelude::*;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[track_caller]
fn check(increments: &str, measured: &str, billed: &str) {
    let increments = Increments::parse(increments).unwrap();
    assert_eq!(increments.billed_quantity(d(measured)), d(billed));
}

#[test]
fn hand_computed() {
    check("1/1", "1", "1");
    check("1/1", "61.4", "62"); // 1 + ceil(60.4/1)*1 = 62
    check("60/60", "1", "60");
    check("60/60", "61", "120"); // 60 + ceil(1/60)*60 = 120
    check("30/6", "31", "36"); // 30 + ceil(1/6)*6 = 36
    check("30/6", "36", "36"); // 30 + ceil(6/6)*6 = 36
    check("60/1", "60.2", "61"); // 60 + ceil(0.2/1)*1 = 61
    check("60/6", "75.2", "78"); // FORMATS.md example: 60 + ceil(15.2/6)*6 = 78
    check("0/60", "1", "60"); // 0 + ceil(1/60)*60 = 60
}

#[test]
fn parse_rejects_bad_shapes() {
    assert_eq!(Increments::parse("60"), Err(IncrementsError::Shape));
    assert_eq!(Increments::parse("a/6"), Err(IncrementsError::Shape));
    assert_eq!(Increments::parse("60/0"), Err(IncrementsError::Range));
    assert_eq!(Increments::parse("-1/6"), Err(IncrementsError::Range));
    assert_eq!(Increments::parse(" 30 / 6 ").unwrap().to_string(), "30/6");
}

/// Naive model: count whole blocks one at a time.
fn naive_billed(first: i64, next: i64, measured: i64) -> i64 {
    let mut billed = first;
    while billed < measured {
        billed += next;
    }
    billed
}

#[test]
fn exhaustive_over_one_day_for_common_increments() {
    for (first, next) in [(1, 1), (60, 60), (30, 6), (60, 1), (60, 6), (6, 6), (30, 30)] {
        let increments = Increments { first: Decimal::from(first), next: Decimal::from(next) };
        for measured in 1..=86_400_i64 {
            assert_eq!(
                increments.billed_quantity(Decimal::from(measured)),
                Decimal::from(naive_billed(first, next, measured)),
                "{first}/{next} at {measured}s"
            );
        }
    }
}

fn edge_biased_quantity() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::ZERO),
        Just(Decimal::ONE),
        (0_i64..=7200).prop_map(Decimal::from),
        (0_i64..=72_000_000, 0_u32..=4).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale)),
    ]
}

proptest! {
    #[test]
    fn billed_quantity_properties(
        first in 0_i64..=120,
        next in 1_i64..=120,
        a in edge_biased_quantity(),
        b in edge_biased_quantity(),
    ) {
        let increments = Increments { first: Decimal::from(first), next: Decimal::from(next) };
        let (small, large) = if a <= b { (a, b) } else { (b, a) };
        let billed_small = increments.billed_quantity(small);
        let billed_large = increments.billed_quantity(large);
        prop_assert!(billed_small >= small);
        prop_assert!(billed_small >= increments.first);
        prop_assert!(billed_small <= billed_large, "monotonic");
        prop_assert!(billed_small - small < increments.first.max(increments.next) || billed_small == increments.first);
    }
}
