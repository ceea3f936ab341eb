//! Rounding of exact decimal amounts. Rounding is always explicit: a mode is passed, never
//! assumed, because `rust_decimal`'s own `round_dp` rounds half to even silently.

use crate::Currency;
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
    /// Every discarded digit rounds away from zero: `0.00011 -> 0.0002` at 4 places,
    /// `-0.00011 -> -0.0002` (a carrier that bills every started ten-thousandth).
    Up,
    /// Discarded digits are dropped (towards zero): `0.00019 -> 0.0001`, `-0.00019 -> -0.0001`.
    Down,
}

impl RoundMode {
    /// The mode as `rounding_mode` writes it: `half_up` (half away from zero), `half_even`,
    /// `up` (away from zero), `down` (towards zero).
    pub fn parse(text: &str) -> Option<RoundMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "half_up" => Some(RoundMode::HalfAwayFromZero),
            "half_even" => Some(RoundMode::HalfEven),
            "up" => Some(RoundMode::Up),
            "down" => Some(RoundMode::Down),
            _ => None,
        }
    }

    /// The name [`RoundMode::parse`] reads.
    pub fn as_str(self) -> &'static str {
        match self {
            RoundMode::HalfAwayFromZero => "half_up",
            RoundMode::HalfEven => "half_even",
            RoundMode::Up => "up",
            RoundMode::Down => "down",
        }
    }
}

/// Rounds `amount` to `decimal_places` with the given tie rule.
pub fn round(amount: Decimal, decimal_places: u32, mode: RoundMode) -> Decimal {
    let strategy = match mode {
        RoundMode::HalfAwayFromZero => RoundingStrategy::MidpointAwayFromZero,
        RoundMode::HalfEven => RoundingStrategy::MidpointNearestEven,
        RoundMode::Up => RoundingStrategy::AwayFromZero,
        RoundMode::Down => RoundingStrategy::ToZero,
    };
    amount.round_dp_with_strategy(decimal_places, strategy)
}

/// Rounds a record cost (or an expected amount converted into an invoice currency) the one way
/// FORMATS.md prescribes: 6 decimal places, half away from zero.
pub fn round_cost(amount: Decimal) -> Decimal {
    round(amount, COST_DECIMAL_PLACES, RoundMode::HalfAwayFromZero)
}

/// A total past the largest value a `Decimal` holds (about 7.9 × 10^28): amounts within the
/// bounds of [`crate::bounds`] reach it only in absurd numbers, but a sum must say so rather
/// than panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a total is past the largest amount Reckon can hold (about 7.9e28): check the amounts of the inputs")]
pub struct TotalOverflow;

/// Adds `amount` to `total` in place.
///
/// # Errors
/// When the sum does not fit; `total` is then unchanged.
pub fn add_to(total: &mut Decimal, amount: Decimal) -> Result<(), TotalOverflow> {
    *total = total.checked_add(amount).ok_or(TotalOverflow)?;
    Ok(())
}

/// Sums amounts.
///
/// # Errors
/// When the sum does not fit.
pub fn checked_sum(amounts: impl IntoIterator<Item = Decimal>) -> Result<Decimal, TotalOverflow> {
    amounts.into_iter().try_fold(Decimal::ZERO, |total, amount| total.checked_add(amount).ok_or(TotalOverflow))
}

/// An amount that cannot be rounded to its currency.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{currency} has no minor unit in ISO 4217: settlement amounts cannot be rounded to it")]
pub struct NoMinorUnit {
    pub currency: Currency,
}

/// Rounds a settlement amount to its currency's minor unit, half to even (JPY to whole yen, USD
/// to cents, BHD to fils). Everything before settlement stays exact; this is the one place
/// amounts meet a currency's precision.
///
/// # Errors
/// When the currency has no minor unit.
pub fn round_to_minor_units(amount: Decimal, currency: Currency) -> Result<Decimal, NoMinorUnit> {
    let places = currency.minor_units().ok_or(NoMinorUnit { currency })?;
    Ok(round(amount, places, RoundMode::HalfEven))
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
    fn settlement_rounding_to_minor_units() {
        let currency = |code: &str| Currency::parse(code).unwrap();
        let settle = |amount: &str, code: &str| round_to_minor_units(d(amount), currency(code)).unwrap();
        // JPY has no decimals: 123.5 is a tie, to the even 124; 124.5 to 124; 124.51 up to 125.
        assert_eq!(settle("123.5", "JPY"), d("124"));
        assert_eq!(settle("124.5", "JPY"), d("124"));
        assert_eq!(settle("124.51", "JPY"), d("125"));
        // BHD has 3: 1.2345 ties to 1.234, 1.2355 to 1.236, 1.23451 up to 1.235.
        assert_eq!(settle("1.2345", "BHD"), d("1.234"));
        assert_eq!(settle("1.2355", "BHD"), d("1.236"));
        assert_eq!(settle("1.23451", "BHD"), d("1.235"));
        // Credits are negative and tie the same way: -0.125 USD to -0.12.
        assert_eq!(settle("-0.125", "USD"), d("-0.12"));
        assert_eq!(settle("0.135", "USD"), d("0.14"));
        assert_eq!(round_to_minor_units(d("1"), currency("XAU")), Err(NoMinorUnit { currency: currency("XAU") }));
    }

    #[test]
    fn sums_past_a_decimal_are_an_error() {
        // 5e28 + 5e28 = 1e29 > 7.9e28: an error, and the total keeps its value.
        let mut total = d("50000000000000000000000000000");
        assert_eq!(add_to(&mut total, d("50000000000000000000000000000")), Err(TotalOverflow));
        assert_eq!(total, d("50000000000000000000000000000"));
        // 5e28 - 4e28 = 1e28
        assert_eq!(add_to(&mut total, d("-40000000000000000000000000000")), Ok(()));
        assert_eq!(total, d("10000000000000000000000000000"));
        // 1.5 + 2.25 = 3.75
        assert_eq!(checked_sum([d("1.5"), d("2.25")]), Ok(d("3.75")));
        assert_eq!(checked_sum([Decimal::MAX, Decimal::ONE]), Err(TotalOverflow));
    }

    #[test]
    fn half_even_rounds_ties_to_the_even_neighbour() {
        assert_eq!(round(d("0.125"), 2, RoundMode::HalfEven), d("0.12"));
        assert_eq!(round(d("0.135"), 2, RoundMode::HalfEven), d("0.14"));
        assert_eq!(round(d("-0.135"), 2, RoundMode::HalfEven), d("-0.14"));
        assert_eq!(round(d("2.5"), 0, RoundMode::HalfEven), d("2"));
    }

    #[test]
    fn up_and_down_round_every_discarded_digit() {
        assert_eq!(round(d("0.00011"), 4, RoundMode::Up), d("0.0002"));
        assert_eq!(round(d("-0.00011"), 4, RoundMode::Up), d("-0.0002"));
        assert_eq!(round(d("0.0001"), 4, RoundMode::Up), d("0.0001"));
        assert_eq!(round(d("0.00019"), 4, RoundMode::Down), d("0.0001"));
        assert_eq!(round(d("-0.00019"), 4, RoundMode::Down), d("-0.0001"));
        for mode in [RoundMode::HalfAwayFromZero, RoundMode::HalfEven, RoundMode::Up, RoundMode::Down] {
            assert_eq!(RoundMode::parse(mode.as_str()), Some(mode));
        }
        assert_eq!(RoundMode::parse("ceiling"), None);
    }
}
