//! Rounding of exact decimal amounts. Rounding is always explicit: a mode is passed, never
//! assumed, because `rust_decimal`'s own `round_dp` rounds half to even silently.

use rust_decimal::{Decimal, RoundingStrategy};

/// Decimal places of a rated record cost (FORMATS.md, "Rating one record", step 5).
pub const COST_DECIMAL_PLACES: u32 = 6;

/// How a value exactly halfway between two candidates is rounded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundMode {
    /// Ties go away from zero: `0.0000005 -> 0.000001`, `-0.0000005 -> -0.000001` (credits
    /// round to larger credits, symmetrically with charges).
    HalfAwayFromZero,
    /// Ties go to the even neighbour: `0.125 -> 0.12`, `-0.135 -> -0.14` (banker's rounding,
    /// used for settlement amounts in a currency's minor unit).
    HalfEven,
}

/// Rounds `amount` to `decimal_places` with the given tie rule.
pub fn round(amount: Decimal, decimal_places: u32, mode: RoundMode) -> Decimal {
    let strategy = match mode {
        RoundMode::HalfAwayFromZero => RoundingStrategy::MidpointAwayFromZero,
        RoundMode::HalfEven => RoundingStrategy::MidpointNearestEven,
    };
    amount.round_dp_with_strategy(decimal_places, strategy)
}

/// Rounds a record cost (or an expected amount converted into an invoice currency) the one way
/// FORMATS.md prescribes: 6 decimal places, half away from zero.
pub fn round_cost(amount: Decimal) -> Decimal {
    round(amount, COST_DECIMAL_PLACES, RoundMode::HalfAwayFromZero)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn cost_rounding_takes_ties_away_from_zero() {
        assert_eq!(round_cost(d("0.0000005")), d("0.000001"));
        assert_eq!(round_cost(d("-0.0000005")), d("-0.000001"));
        assert_eq!(round_cost(d("0.0000015")), d("0.000002"));
        assert_eq!(round_cost(d("0.00773333333")), d("0.007733"));
        assert_eq!(round_cost(d("0.0166")), d("0.0166"));
    }

    #[test]
    fn half_even_rounds_ties_to_the_even_neighbour() {
        assert_eq!(round(d("0.125"), 2, RoundMode::HalfEven), d("0.12"));
        assert_eq!(round(d("0.135"), 2, RoundMode::HalfEven), d("0.14"));
        assert_eq!(round(d("-0.135"), 2, RoundMode::HalfEven), d("-0.14"));
        assert_eq!(round(d("2.5"), 0, RoundMode::HalfEven), d("2"));
    }
}
