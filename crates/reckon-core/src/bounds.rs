//! Bounds on the numbers Reckon reads: amounts, rates, rate units, quantities and increments
//! (FORMATS.md, "Bounds on numbers").
//!
//! A `Decimal` holds 96 bits, about 7.9 × 10^28. The bounds are chosen so that every product
//! rating computes for one record fits with room to spare: a billed quantity is at most
//! `QUANTITY_ABS_MAX + INCREMENT_MAX` (2 × 10^12), a rate below 10^9 and a rate unit at least 1,
//! so a record costs less than 2 × 10^21 plus its fees (each below 10^15). Sums of many such
//! values (totals, summaries) are added with checked arithmetic all the same: an overflow there
//! is an error, never a panic. Input past a bound is refused where it is read, naming what was
//! expected; every reader (files, HTTP, NATS) calls these checks.

use rust_decimal::Decimal;

/// Most decimal places of any number read (trailing zeros do not count: `0.10` has 1).
pub const DECIMAL_PLACES_MAX: u32 = 12;

/// Amounts (invoice amounts, fees, minimum charges) are below this in absolute value: 10^15.
pub const AMOUNT_ABS_LIMIT: Decimal = Decimal::from_parts(0xA4C6_8000, 0x0003_8D7E, 0, false, 0);

/// Quantities (measured or billed) are at most this in absolute value: 10^12 base units
/// (31,700 years of seconds, a terabyte of data).
pub const QUANTITY_ABS_MAX: Decimal = Decimal::from_parts(0xD4A5_1000, 0xE8, 0, false, 0);

/// Rates are below this in absolute value: 10^9 per rate unit.
pub const RATE_ABS_LIMIT: Decimal = Decimal::from_parts(0x3B9A_CA00, 0, 0, false, 0);

/// A rate unit is at least one base unit, so dividing by it never makes a cost larger.
pub const RATE_UNIT_MIN: Decimal = Decimal::ONE;

/// Rate units and increment blocks are at most 10^12 base units, like quantities.
pub const INCREMENT_MAX: Decimal = QUANTITY_ABS_MAX;

/// The smallest later increment block: 10^-6 base units, so a quantity has at most 10^18 blocks.
pub const INCREMENT_NEXT_MIN: Decimal = Decimal::from_parts(1, 0, 0, false, 6);

/// Checks an amount: `|amount| < 10^15`, at most 12 decimal places.
///
/// # Errors
/// What was expected, for the message of the field.
pub fn check_amount(amount: Decimal) -> Result<Decimal, &'static str> {
    check(amount, amount.abs() < AMOUNT_ABS_LIMIT, "an amount above -10^15 and below 10^15 with at most 12 decimals")
}

/// Checks a quantity: `|quantity| <= 10^12`, at most 12 decimal places (whether it may be
/// negative is the caller's rule).
///
/// # Errors
/// What was expected, for the message of the field.
pub fn check_quantity(quantity: Decimal) -> Result<Decimal, &'static str> {
    check(
        quantity,
        quantity.abs() <= QUANTITY_ABS_MAX,
        "a quantity of at most 10^12 base units with at most 12 decimals",
    )
}

/// Checks a rate: `|rate| < 10^9`, at most 12 decimal places.
///
/// # Errors
/// What was expected, for the message of the field.
pub fn check_rate(rate: Decimal) -> Result<Decimal, &'static str> {
    check(rate, rate.abs() < RATE_ABS_LIMIT, "a rate above -10^9 and below 10^9 with at most 12 decimals")
}

/// Checks a rate unit: `1 <= rate_unit <= 10^12`, at most 12 decimal places.
///
/// # Errors
/// What was expected, for the message of the field.
pub fn check_rate_unit(rate_unit: Decimal) -> Result<Decimal, &'static str> {
    check(
        rate_unit,
        (RATE_UNIT_MIN..=INCREMENT_MAX).contains(&rate_unit),
        "a rate unit between 1 and 10^12 base units with at most 12 decimals",
    )
}

/// Checks billing increments `A/B`: `0 <= A <= 10^12` and `10^-6 <= B <= 10^12`.
///
/// # Errors
/// What was expected, for the message of the field.
pub fn check_increments(first: Decimal, next: Decimal) -> Result<(), &'static str> {
    let expected = "increments A/B with 0 <= A <= 10^12, 10^-6 <= B <= 10^12 and at most 12 decimals";
    check(first, (Decimal::ZERO..=INCREMENT_MAX).contains(&first), expected)?;
    check(next, (INCREMENT_NEXT_MIN..=INCREMENT_MAX).contains(&next), expected)?;
    Ok(())
}

/// Whether an amount computed from bounded inputs (an expected amount converted into another
/// currency, say) can still be compared with any amount read: `billed - expected` fits.
pub fn is_comparable_amount(amount: Decimal) -> bool {
    amount.abs() <= Decimal::MAX - AMOUNT_ABS_LIMIT
}

fn check(value: Decimal, in_range: bool, expected: &'static str) -> Result<Decimal, &'static str> {
    // Trailing zeros only lower the scale: a value written within the places needs no
    // normalizing (this runs for every amount and quantity read).
    let within_places = value.scale() <= DECIMAL_PLACES_MAX || value.normalize().scale() <= DECIMAL_PLACES_MAX;
    if in_range && within_places {
        Ok(value)
    } else {
        Err(expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn the_limits_are_the_powers_of_ten_they_name() {
        assert_eq!(AMOUNT_ABS_LIMIT, d("1000000000000000"));
        assert_eq!(QUANTITY_ABS_MAX, d("1000000000000"));
        assert_eq!(RATE_ABS_LIMIT, d("1000000000"));
        assert_eq!(INCREMENT_NEXT_MIN, d("0.000001"));
    }

    #[test]
    fn values_at_and_past_each_bound() {
        assert!(check_amount(d("999999999999999.999999999999")).is_ok());
        assert!(check_amount(d("-999999999999999")).is_ok());
        assert!(check_amount(d("1000000000000000")).is_err());
        assert!(check_amount(d("50000000000000000000000000000")).is_err());
        // 13 decimals is one too many; trailing zeros do not count.
        assert!(check_amount(d("0.0000000000001")).is_err());
        assert!(check_amount(d("0.1000000000000")).is_ok());
        assert!(check_quantity(d("1000000000000")).is_ok());
        assert!(check_quantity(d("1000000000000.000000000001")).is_err());
        assert!(check_rate(d("999999999.999999999999")).is_ok());
        assert!(check_rate(d("1000000000")).is_err());
        assert!(check_rate_unit(d("1")).is_ok());
        assert!(check_rate_unit(d("0.5")).is_err());
        assert!(check_rate_unit(d("1000000000001")).is_err());
        assert!(check_increments(d("0"), d("0.000001")).is_ok());
        assert!(check_increments(d("0"), d("0.0000001")).is_err());
        assert!(check_increments(d("1000000000001"), d("1")).is_err());
    }

    #[test]
    fn the_largest_record_cost_fits_with_room_for_sums() {
        // Rate just below 10^9 per unit of 1, billed 10^12 + a block of 10^12 = 2 * 10^12, plus
        // a connect fee and a surcharge below 10^15 each: about 2 * 10^21 + 2 * 10^15.
        let rate = d("999999999.999999999999");
        let billed = QUANTITY_ABS_MAX + INCREMENT_MAX;
        let fees = d("999999999999999.999999999999") * Decimal::TWO;
        let cost = rate.checked_mul(billed).and_then(|units| units.checked_add(fees)).unwrap();
        assert!(cost < d("2000000000000000000000") + fees);
        // Ten million such records still sum inside a Decimal (2 * 10^28 < 7.9 * 10^28).
        assert!(cost.checked_mul(Decimal::from(10_000_000)).is_some());
    }
}
