//! ISO 4217 currency codes.

use std::fmt;

/// A three-letter ISO 4217 currency code, stored uppercase (`usd` reads as `USD`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency([u8; 3]);

impl Currency {
    /// The euro, through which all conversions triangulate.
    pub const EUR: Currency = Currency(*b"EUR");

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

    #[test]
    fn parses_case_insensitively() {
        assert_eq!(Currency::parse("usd").unwrap().as_str(), "USD");
        assert_eq!(Currency::parse("EuR"), Some(Currency::EUR));
        assert_eq!(Currency::parse("US"), None);
        assert_eq!(Currency::parse("US1"), None);
        assert_eq!(Currency::parse("USDX"), None);
    }
}
