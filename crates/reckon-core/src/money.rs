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

/// `amount * multiplier / divisor` rounded to `decimal_places` by `mode`: the same value, to
/// the last digit and scale, as `round(amount * multiplier / divisor, ...)` in `Decimal`
/// arithmetic, which divides to 28 digits in software (the most expensive step of converting
/// every invoice line into the report currency).
///
/// The quotient is computed on integers, two digits past the rounding place, with its
/// remainder. Where those two digits lie away from the tie (not 49 or 50), the 28-digit
/// quotient and the exact one round alike; otherwise, and for modes, magnitudes or scales
/// this shortcut does not cover, `None`: the caller takes the `Decimal` path.
pub fn rounded_quotient(
    amount: Decimal,
    multiplier: Decimal,
    divisor: Decimal,
    decimal_places: u32,
    mode: RoundMode,
) -> Option<Decimal> {
    // Up and down round every discarded digit, so a quotient a hair past a whole unit is
    // ambiguous at any digit: those modes keep the `Decimal` path.
    if !matches!(mode, RoundMode::HalfAwayFromZero | RoundMode::HalfEven)
        || decimal_places > 12
        || multiplier.is_sign_negative()
        || divisor <= Decimal::ZERO
        || amount.scale() + multiplier.scale() > 28
    {
        return None;
    }
    // The `Decimal` product is exact only below 2^96 and 28 places (beyond, it drops digits).
    let product = amount.mantissa().unsigned_abs().checked_mul(multiplier.mantissa().unsigned_abs())?;
    if product >> 96 != 0 {
        return None;
    }
    // |quotient| * 10^(places + 2) = product * 10^exponent / divisor's mantissa.
    let exponent = i64::from(divisor.scale()) + i64::from(decimal_places) + 2
        - i64::from(amount.scale())
        - i64::from(multiplier.scale());
    let power = |exponent: i64| 10u128.checked_pow(u32::try_from(exponent).ok()?);
    let (numerator, denominator) = if exponent >= 0 {
        (product.checked_mul(power(exponent)?)?, divisor.mantissa().unsigned_abs())
    } else {
        (product, divisor.mantissa().unsigned_abs().checked_mul(power(-exponent)?)?)
    };
    let scaled = numerator / denominator;
    let remainder = numerator % denominator;
    // Below 10^20 the 28-digit quotient keeps at least 8 decimals past the two guard digits.
    if scaled >= 10u128.pow(20) {
        return None;
    }
    let (kept, guard) = (scaled / 100, scaled % 100);
    // A tie or a hair from it, or a quotient that ends within the places (its scale is then
    // whatever the division left it): the `Decimal` path decides.
    if guard == 49 || guard == 50 || (guard == 0 && remainder == 0) {
        return None;
    }
    let rounded = kept + u128::from(guard > 50);
    // A negative amount rounding to 0 keeps the `Decimal` path's sign of zero.
    if rounded == 0 {
        return None;
    }
    let magnitude = i128::try_from(rounded).ok()?;
    let signed = if amount.is_sign_negative() { -magnitude } else { magnitude };
    Decimal::try_from_i128_with_scale(signed, decimal_places).ok()
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

    /// The `Decimal` path the integer shortcut must equal.
    fn decimal_quotient_rounded(
        amount: Decimal,
        multiplier: Decimal,
        divisor: Decimal,
        places: u32,
        mode: RoundMode,
    ) -> Option<Decimal> {
        Some(round(amount.checked_mul(multiplier)?.checked_div(divisor)?, places, mode))
    }

    #[test]
    fn rounded_quotient_by_hand() {
        let quotient = |amount: &str, multiplier: &str, divisor: &str| {
            rounded_quotient(d(amount), d(multiplier), d(divisor), 6, RoundMode::HalfAwayFromZero)
        };
        // 1.315875 USD at 1.0850 per EUR: 1.315875 / 1.085 = 1.21278801843... -> 1.212788
        assert_eq!(quotient("1.315875", "1", "1.0850").map(|q| q.to_string()), Some("1.212788".into()));
        // -2 GBP at 0.84: -2 / 0.84 = -2.38095238... -> -2.380952
        assert_eq!(quotient("-2", "1", "0.84").map(|q| q.to_string()), Some("-2.380952".into()));
        // 0.0000015 * 1 / 3 = 0.0000005: a tie, left to the Decimal path.
        assert_eq!(quotient("0.0000015", "1", "3"), None);
        // 10.85 / 1.085 = 10 exactly: ends within the places, left to the Decimal path.
        assert_eq!(quotient("10.85", "1", "1.085"), None);
        // Rounding up or down every digit is never taken.
        assert_eq!(rounded_quotient(d("1"), d("1"), d("3"), 6, RoundMode::Up), None);
    }

    #[test]
    fn rounded_quotient_answers_for_nearly_every_invoice_amount() {
        // Amounts of 6 places converted at 4-place rates, as a run's report conversion does:
        // the shortcut must answer (not only stay out of the way) and agree with `Decimal`.
        let mut answered = 0;
        let mut state = 12345u64;
        for _ in 0..10_000 {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let amount = Decimal::new((state >> 20) as i64 % 100_000_000, 6);
            let rate = Decimal::new(5_000 + (state >> 50) as i64 % 20_000, 4);
            let slow = decimal_quotient_rounded(amount, Decimal::ONE, rate, 6, RoundMode::HalfAwayFromZero);
            if let Some(fast) = rounded_quotient(amount, Decimal::ONE, rate, 6, RoundMode::HalfAwayFromZero) {
                assert_eq!(Some(fast.to_string()), slow.map(|slow| slow.to_string()), "{amount} / {rate}");
                answered += 1;
            }
        }
        assert!(answered > 9_500, "the shortcut answered {answered} of 10,000");
    }

    proptest::proptest! {
        /// The shortcut, where it answers, gives the `Decimal` path's digits and scale; on
        /// quotients built to sit on or beside a tie as well as on random ones.
        #[test]
        fn rounded_quotient_equals_the_decimal_path(
            amount_mantissa in -10i64.pow(15)..10i64.pow(15),
            amount_scale in 0u32..=12,
            multiplier_mantissa in 1i64..10i64.pow(9),
            multiplier_scale in 0u32..=8,
            divisor_mantissa in 1i64..10i64.pow(9),
            divisor_scale in 0u32..=8,
            places in 0u32..=8,
            half_even in proptest::bool::ANY,
            near_tie in proptest::bool::ANY,
        ) {
            let mode = if half_even { RoundMode::HalfEven } else { RoundMode::HalfAwayFromZero };
            let multiplier = Decimal::new(multiplier_mantissa, multiplier_scale);
            let divisor = Decimal::new(divisor_mantissa, divisor_scale);
            let mut amount = Decimal::new(amount_mantissa, amount_scale);
            if near_tie {
                // An amount whose quotient is a tie at `places`, nudged by at most a unit of its own scale.
                let tie = (Decimal::new(amount_mantissa.abs() % 1_000_000, 0) + Decimal::new(5, 1)) / Decimal::from(10u64.pow(places));
                if let Some(exact) = tie.checked_mul(divisor).and_then(|value| value.checked_div(multiplier)) {
                    amount = round(exact, 12, RoundMode::HalfEven) + Decimal::new(amount_mantissa % 3 - 1, 12);
                }
            }
            if let Some(fast) = rounded_quotient(amount, multiplier, divisor, places, mode) {
                let slow = decimal_quotient_rounded(amount, multiplier, divisor, places, mode);
                proptest::prop_assert_eq!(Some(fast.to_string()), slow.map(|slow| slow.to_string()), "{} * {} / {}", amount, multiplier, divisor);
            }
        }
    }
}
