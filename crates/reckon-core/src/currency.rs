//! ISO 4217 currency codes, their minor units, and amounts shown in them.

use std::fmt;

/// A three-letter ISO 4217 currency code, stored uppercase (`usd` reads as `USD`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro, through which all conversions triangulate.
    pub const EUR: Currency = Currency(*b"EUR");

    /// A code written in the source, three uppercase ASCII letters (not checked: for tables of
    /// known codes).
    pub(crate) const fn of_code(code: [u8; 3]) -> Currency {
        Currency(code)
    }

    /// Parses a code of exactly three ASCII letters, case-insensitively.
    pub fn parse(code: &str) -> Option<Currency> {
        let bytes = code.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_alphabetic) {
            return None;
        }
        Some(Currency([bytes[0].to_ascii_uppercase(), bytes[1].to_ascii_uppercase(), bytes[2].to_ascii_uppercase()]))
    }

    /// Decimal places of the currency's minor unit (ISO 4217: JPY 0, USD 2, BHD 3); `None` for
    /// codes without one (gold, special drawing rights) or unknown to ISO 4217.
    pub fn minor_units(&self) -> Option<u32> {
        iso_currency::Currency::from_code(self.as_str()).and_then(|currency| currency.exponent()).map(u32::from)
    }

    /// The uppercase code.
    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).expect("currency codes are ASCII")
    }
}

/// An amount as people read it in its currency: at least the decimals of the currency's minor
/// unit (3.7 EUR is `3.70`, 0 KWD is `0.000`, 12 JPY is `12`), never fewer digits than the
/// exact amount has (3.724983 EUR stays `3.724983`), no trailing zeros beyond the minor unit, and
/// never a negative zero. A currency without a minor unit shows the exact amount.
///
/// # Example
/// ```
/// use reckon_core::currency::format_amount;
/// use reckon_core::{Currency, Decimal};
/// let eur = Currency::EUR;
/// assert_eq!(format_amount(Decimal::new(37, 1), eur), "3.70");
/// assert_eq!(format_amount(-Decimal::ZERO, Currency::parse("KWD").unwrap()), "0.000");
/// ```
pub fn format_amount(amount: rust_decimal::Decimal, currency: Currency) -> String {
    // `normalize` drops trailing zeros and turns -0 into 0.
    let mut shown = amount.normalize();
    let places = currency.minor_units().unwrap_or(0);
    if shown.scale() < places {
        shown.rescale(places);
    }
    shown.to_string()
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minor_units_follow_iso_4217() {
        let units = |code: &str| Currency::parse(code).unwrap().minor_units();
        assert_eq!(units("JPY"), Some(0));
        assert_eq!(units("USD"), Some(2));
        assert_eq!(units("EUR"), Some(2));
        assert_eq!(units("BHD"), Some(3));
        assert_eq!(units("KWD"), Some(3));
        assert_eq!(units("XAU"), None);
        assert_eq!(units("ZZZ"), None);
    }

    /// Issue 11, item 17: statements printed "3.7 EUR" and "-0 KWD".
    #[test]
    fn amounts_show_the_minor_unit_and_no_negative_zero() {
        use rust_decimal::Decimal;
        use std::str::FromStr;
        let show = |amount: &str, code: &str| {
            format_amount(Decimal::from_str(amount).unwrap(), Currency::parse(code).unwrap())
        };
        assert_eq!(show("3.7", "EUR"), "3.70");
        assert_eq!(show("-0", "KWD"), "0.000");
        assert_eq!(show("-0.000", "KWD"), "0.000");
        assert_eq!(show("0", "EUR"), "0.00");
        assert_eq!(show("3.724983", "EUR"), "3.724983");
        assert_eq!(show("2.6100", "EUR"), "2.61");
        assert_eq!(show("-12.5", "USD"), "-12.50");
        assert_eq!(show("1500", "JPY"), "1500");
        assert_eq!(show("1.2", "BHD"), "1.200");
        assert_eq!(show("1.25", "XAU"), "1.25");
        assert_eq!(show("-0", "XAU"), "0");
    }

    #[test]
    fn parses_case_insensitively() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("EuR"), Some(Currency::EUR));
        assert_eq!(Currency::parse("US"), None);
        assert_eq!(Currency::parse("US1"), None);
        assert_eq!(Currency::parse("USDX"), None);
    }
}
