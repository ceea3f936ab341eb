//! Destination numbers reduced to the digits that rating and matching compare.

use compact_str::CompactString;
use std::fmt;

/// The digits of a destination: what is left after dropping spaces, punctuation and a leading
/// international prefix (`+` or `00`). `+44 (20) 7123-4567` and `00442071234567` are both
/// `442071234567`. Any digit string is accepted (short codes too): rating is by prefix.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination(CompactString);

/// Why a destination could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DestinationError {
    /// Nothing but punctuation (or nothing at all).
    #[error("has no digits")]
    NoDigits,
    /// A letter or other character that no number contains.
    #[error("contains {0:?}, expected digits, spaces and punctuation only")]
    BadCharacter(char),
}

impl Destination {
    /// Normalises a written number to its digits.
    ///
    /// # Errors
    /// When the text has no digit, or a character other than digits, white space, `+` and the
    /// punctuation numbers are written with (`()-./`).
    pub fn parse(text: &str) -> Result<Destination, DestinationError> {
        // Most numbers arrive as bare digits, or digits after a `+`: taken whole, not character
        // by character. (`00` is the international prefix only without a `+`.)
        let (plus, bare) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if !bare.is_empty() && bare.bytes().all(|byte| byte.is_ascii_digit()) {
            let digits = if plus { bare } else { bare.strip_prefix("00").unwrap_or(bare) };
            return if digits.is_empty() { Err(DestinationError::NoDigits) } else { Ok(Destination(digits.into())) };
        }
        let mut digits = CompactString::with_capacity(text.len());
        for character in text.chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '\t' | '(' | ')' | '-' | '.' | '/' | '+' => {}
                other => return Err(DestinationError::BadCharacter(other)),
            }
        }
        let has_plus = text.trim_start().starts_with('+');
        // `00` is the international call prefix; after a `+` it would be part of the number.
        let digits = if !has_plus && digits.starts_with("00") { CompactString::from(&digits[2..]) } else { digits };
        if digits.is_empty() {
            return Err(DestinationError::NoDigits);
        }
        Ok(Destination(digits))
    }

    /// A destination from digits already reduced by [`Destination::parse`] (read back from
    /// where Reckon stored them); `None` unless `digits` is one or more ASCII digits.
    pub fn from_digits(digits: &str) -> Option<Destination> {
        let all_digits = !digits.is_empty() && digits.bytes().all(|byte| byte.is_ascii_digit());
        all_digits.then(|| Destination(CompactString::from(digits)))
    }

    /// The digits.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Destination {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Destination({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_the_written_forms_of_one_number() {
        for written in ["+44 (20) 7123-4567", "00442071234567", "442071234567", "+442071234567", " 0044 20 7123 4567 "]
        {
            assert_eq!(Destination::parse(written).unwrap().digits(), "442071234567");
        }
    }

    #[test]
    fn keeps_short_codes_and_rejects_letters() {
        assert_eq!(Destination::parse("12345").unwrap().digits(), "12345");
        assert_eq!(Destination::parse("+44 ABC"), Err(DestinationError::BadCharacter('A')));
        assert_eq!(Destination::parse("+ -"), Err(DestinationError::NoDigits));
        assert_eq!(Destination::parse("00"), Err(DestinationError::NoDigits));
        // After a `+`, `00` is part of the number.
        assert_eq!(Destination::parse("+0044").unwrap().digits(), "0044");
        assert_eq!(Destination::parse("+"), Err(DestinationError::NoDigits));
    }

    /// The rule written character by character: what the fast paths must agree with.
    fn model(text: &str) -> Result<String, DestinationError> {
        let mut digits = String::new();
        for character in text.chars() {
            match character {
                '0'..='9' => digits.push(character),
                ' ' | '\t' | '(' | ')' | '-' | '.' | '/' | '+' => {}
                other => return Err(DestinationError::BadCharacter(other)),
            }
        }
        if !text.trim_start().starts_with('+') && digits.starts_with("00") {
            digits.drain(..2);
        }
        if digits.is_empty() {
            return Err(DestinationError::NoDigits);
        }
        Ok(digits)
    }

    proptest::proptest! {
        #[test]
        fn every_written_form_parses_as_the_model_says(text in "[+ 0-9()a-]{0,8}|\\+?[0-9]{0,14}|(00)?[0-9]{0,12}") {
            let parsed = Destination::parse(&text).map(|destination| destination.digits().to_owned());
            proptest::prop_assert_eq!(parsed, model(&text));
        }
    }
}
