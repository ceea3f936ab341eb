//! Parsing one field of a row into a core value, with an error that says what was expected.

use crate::csv_table::Row;
use crate::error::ImportError;
use crate::names::Names;
use compact_str::CompactString;
use jiff::civil::Date;
use jiff::Timestamp;
use reckon_core::period::{days_from_civil, days_in_month, SECONDS_PER_DAY};
use reckon_core::{Currency, Destination, Increments, Service};
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

pub(crate) const EXPECTED_DECIMAL: &str = "a decimal number like 12.5 (`.` as separator, no exponent)";
/// A bound of [`reckon_core::bounds`]: the value, or what was expected.
pub type BoundCheck = fn(Decimal) -> Result<Decimal, &'static str>;

const EXPECTED_TIMESTAMP: &str = "an RFC 3339 timestamp with an offset, like 2026-03-01T12:00:05Z";

impl Row<'_> {
    pub fn decimal(&self, column: Option<usize>) -> Result<Decimal, ImportError> {
        let value = self.required(column)?;
        parse_decimal(value).ok_or_else(|| self.invalid(column, value, EXPECTED_DECIMAL))
    }

    pub fn optional_decimal(&self, column: Option<usize>) -> Result<Option<Decimal>, ImportError> {
        self.get(column)
            .map(|value| parse_decimal(value).ok_or_else(|| self.invalid(column, value, EXPECTED_DECIMAL)))
            .transpose()
    }

    /// A decimal within a bound of [`reckon_core::bounds`] (`check` says what is expected).
    pub fn bounded_decimal(&self, column: Option<usize>, check: BoundCheck) -> Result<Decimal, ImportError> {
        let value = self.decimal(column)?;
        check(value).map_err(|expected| self.invalid(column, self.get(column).unwrap_or_default(), expected))
    }

    pub fn optional_bounded_decimal(
        &self,
        column: Option<usize>,
        check: BoundCheck,
    ) -> Result<Option<Decimal>, ImportError> {
        if self.get(column).is_none() {
            return Ok(None);
        }
        self.bounded_decimal(column, check).map(Some)
    }

    /// A measured quantity: `>= 0` and within [`reckon_core::bounds::check_quantity`].
    pub fn non_negative_decimal(&self, column: Option<usize>) -> Result<Decimal, ImportError> {
        let value = self.bounded_decimal(column, reckon_core::bounds::check_quantity)?;
        if value.is_sign_negative() && !value.is_zero() {
            let text = self.required(column)?;
            return Err(self.invalid(column, text, "a quantity >= 0"));
        }
        Ok(value)
    }

    pub fn timestamp(&self, column: Option<usize>) -> Result<Timestamp, ImportError> {
        let value = self.required(column)?;
        self.parse_timestamp(column, value)
    }

    /// When traffic started: a timestamp between 1970 and 2200.
    pub fn usage_timestamp(&self, column: Option<usize>) -> Result<Timestamp, ImportError> {
        let value = self.required(column)?;
        let instant = self.parse_timestamp(column, value)?;
        reckon_core::usage::check_usage_instant(instant).map_err(|expected| self.invalid(column, value, expected))
    }

    pub fn optional_timestamp(&self, column: Option<usize>) -> Result<Option<Timestamp>, ImportError> {
        self.get(column).map(|value| self.parse_timestamp(column, value)).transpose()
    }

    fn parse_timestamp(&self, column: Option<usize>, value: &str) -> Result<Timestamp, ImportError> {
        parse_timestamp(value).ok_or_else(|| self.invalid(column, value, EXPECTED_TIMESTAMP))
    }

    pub fn optional_date(&self, column: Option<usize>) -> Result<Option<Date>, ImportError> {
        self.get(column)
            .map(|value| Date::from_str(value).map_err(|_| self.invalid(column, value, "a date like 2026-04-03")))
            .transpose()
    }

    pub fn service(&self, column: Option<usize>) -> Result<Service, ImportError> {
        let value = self.required(column)?;
        Service::parse(value)
            .ok_or_else(|| self.invalid(column, value, "a service: one of voice, video, sms, mms, email, data"))
    }

    pub fn currency(&self, column: Option<usize>) -> Result<Currency, ImportError> {
        let value = self.required(column)?;
        Currency::parse(value).ok_or_else(|| self.invalid(column, value, "an ISO 4217 currency code like EUR"))
    }

    pub fn destination(&self, column: Option<usize>) -> Result<Destination, ImportError> {
        let value = self.required(column)?;
        self.parse_destination(column, value)
    }

    pub fn optional_destination(&self, column: Option<usize>) -> Result<Option<Destination>, ImportError> {
        self.get(column).map(|value| self.parse_destination(column, value)).transpose()
    }

    fn parse_destination(&self, column: Option<usize>, value: &str) -> Result<Destination, ImportError> {
        Destination::parse(value)
            .map_err(|error| self.invalid(column, value, &format!("a phone number (E.164, `+` optional): it {error}")))
    }

    pub fn optional_increments(&self, column: Option<usize>) -> Result<Option<Increments>, ImportError> {
        self.get(column)
            .map(|value| {
                let increments = Increments::parse(value)
                    .map_err(|error| self.invalid(column, value, &format!("billing increments: {error}")))?;
                reckon_core::bounds::check_increments(increments.first, increments.next)
                    .map_err(|expected| self.invalid(column, value, expected))?;
                Ok(increments)
            })
            .transpose()
    }

    pub fn text(&self, column: Option<usize>) -> Result<String, ImportError> {
        self.required(column).map(str::to_owned)
    }

    pub fn optional_text(&self, column: Option<usize>) -> Option<String> {
        self.get(column).map(str::to_owned)
    }

    /// A mobile network as MCC and MNC digits joined (`23410`), or nothing.
    pub fn network(&self, column: Option<usize>) -> Result<Option<CompactString>, ImportError> {
        match self.get(column) {
            Some(text) if (5..=6).contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit()) => {
                Ok(Some(text.into()))
            }
            Some(text) => Err(self.invalid(column, text, "a mobile network as MCC and MNC digits, like 23410")),
            None => Ok(None),
        }
    }

    /// An id unique to the row (record id, line id, reference): stored inline when short.
    pub fn id(&self, column: Option<usize>) -> Result<CompactString, ImportError> {
        self.required(column).map(CompactString::from)
    }

    pub fn optional_id(&self, column: Option<usize>) -> Option<CompactString> {
        self.get(column).map(CompactString::from)
    }

    /// A name many rows share (carrier, customer, invoice), interned.
    pub fn name(&self, column: Option<usize>, names: &mut Names) -> Result<Arc<str>, ImportError> {
        self.required(column).map(|name| names.intern(name))
    }

    pub fn optional_name(&self, column: Option<usize>, names: &mut Names) -> Option<Arc<str>> {
        self.get(column).map(|name| names.intern(name))
    }
}

/// Parses an RFC 3339 timestamp. The form of nearly every row, `2026-03-01T12:00:05Z`, is read
/// directly; any other form (fractions, offsets, a leap second) by jiff's parser. Both give the
/// same instant for every text (`fast_timestamps_read_as_jiff_does`).
pub(crate) fn parse_timestamp(text: &str) -> Option<Timestamp> {
    utc_seconds_timestamp(text.as_bytes()).or_else(|| Timestamp::from_str(text).ok())
}

/// `YYYY-MM-DDTHH:MM:SSZ`, exactly, as an instant; `None` for any other text.
fn utc_seconds_timestamp(text: &[u8]) -> Option<Timestamp> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2, b'T', h1, h2, b':', i1, i2, b':', s1, s2, b'Z'] = *text else {
        return None;
    };
    let digit = |byte: u8| byte.is_ascii_digit().then(|| i64::from(byte - b'0'));
    let pair = |tens: u8, units: u8| Some(digit(tens)? * 10 + digit(units)?);
    let year = pair(y1, y2)? * 100 + pair(y3, y4)?;
    let (month, day) = (pair(m1, m2)?, pair(d1, d2)?);
    let (hour, minute, second) = (pair(h1, h2)?, pair(i1, i2)?, pair(s1, s2)?);
    // What jiff's civil date-time refuses (a leap second among them) goes to jiff's parser.
    let valid = (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    // Seconds since the epoch by the calendar's arithmetic, not through jiff's civil types and
    // an offset: this runs for every record and line.
    let seconds = days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3_600 + minute * 60 + second;
    Timestamp::from_second(seconds).ok()
}

/// Parses a plain decimal: an optional sign, digits, at most one `.`. Stricter than
/// `Decimal::from_str`, which also takes `_` separators. Import profiles (`reckon-profiles`)
/// read source numbers with it, so a converted file holds only numbers this crate reads.
pub fn parse_decimal(text: &str) -> Option<Decimal> {
    if let Some(value) = short_unsigned_decimal(text.as_bytes()) {
        return Some(value);
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let mut dots = 0;
    let plain = !digits.is_empty()
        && digits.bytes().all(|byte| {
            dots += usize::from(byte == b'.');
            byte.is_ascii_digit() || byte == b'.'
        })
        && dots <= 1
        && digits != ".";
    if !plain {
        return None;
    }
    Decimal::from_str(text).ok()
}

/// The form of nearly every quantity and amount: up to 18 digits with at most one `.` between
/// digits, read into the mantissa directly (18 digits always fit an `i64`). Keeps the written
/// scale (`0.0600` has 4 places), as `Decimal::from_str` does. `None` for any other text.
fn short_unsigned_decimal(text: &[u8]) -> Option<Decimal> {
    if text.is_empty() || text.len() > 18 {
        return None;
    }
    let mut mantissa = 0_i64;
    let mut scale = None;
    for (index, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => mantissa = mantissa * 10 + i64::from(byte - b'0'),
            b'.' if scale.is_none() && index > 0 && index + 1 < text.len() => scale = Some(text.len() - index - 1),
            _ => return None,
        }
    }
    Some(Decimal::new(mantissa, scale.unwrap_or(0) as u32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_plain() {
        assert_eq!(parse_decimal("0.0120"), Some(Decimal::new(120, 4)));
        assert_eq!(parse_decimal("-1.5"), Some(Decimal::new(-15, 1)));
        assert_eq!(parse_decimal("61."), Some(Decimal::from(61)));
        assert_eq!(parse_decimal(".5"), Some(Decimal::new(5, 1)));
        for bad in ["", ".", "1e5", "1_000", "0,0123", "abc", "1.2.3", "--1", "NaN"] {
            assert_eq!(parse_decimal(bad), None, "{bad}");
        }
    }

    proptest::proptest! {
        /// The short form read directly is the number (and scale) `Decimal::from_str` reads.
        #[test]
        fn short_decimals_read_as_rust_decimal_does(text in "[0-9.]{0,20}|[0-9]{1,19}(\\.[0-9]{0,19})?") {
            if let Some(fast) = short_unsigned_decimal(text.as_bytes()) {
                let reference = Decimal::from_str(&text).unwrap();
                proptest::prop_assert_eq!(fast, reference);
                proptest::prop_assert_eq!(fast.scale(), reference.scale());
                proptest::prop_assert_eq!(fast.to_string(), reference.to_string());
            }
        }

        /// Every day of jiff's years (and impossible days, and leap seconds) in the usual form.
        #[test]
        fn fast_timestamps_of_any_valid_date_read_as_jiff_does(
            year in 0_i16..=9999, month in 1_i8..=12, day in 1_i8..=31, hour in 0_i8..=23, minute in 0_i8..=59, second in 0_i8..=60,
        ) {
            let text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z");
            proptest::prop_assert_eq!(parse_timestamp(&text), Timestamp::from_str(&text).ok(), "{}", text);
        }

        /// Any text: the fast path takes only what jiff reads, as the same instant.
        #[test]
        fn fast_timestamps_read_as_jiff_does(
            text in "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[Zz+]|[0-9T:Z-]{18,21}",
            seconds in 0_i64..7_258_118_400,
        ) {
            proptest::prop_assert_eq!(parse_timestamp(&text), Timestamp::from_str(&text).ok());
            let written = Timestamp::from_second(seconds).unwrap().to_string();
            proptest::prop_assert_eq!(utc_seconds_timestamp(written.as_bytes()), Some(Timestamp::from_second(seconds).unwrap()));
        }
    }

    #[test]
    fn timestamps_of_every_form_parse() {
        assert_eq!(parse_timestamp("2026-03-01T12:00:05Z"), Some(Timestamp::from_second(1_772_366_405).unwrap()));
        // Not the direct form: read by jiff.
        assert_eq!(parse_timestamp("2026-03-01T13:00:05+01:00"), Some(Timestamp::from_second(1_772_366_405).unwrap()));
        assert_eq!(
            parse_timestamp("2026-03-01T12:00:05.5Z"),
            Some(Timestamp::new(1_772_366_405, 500_000_000).unwrap())
        );
        for bad in ["2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-03-01T24:00:00Z", "2026-03-01 12:00:05", ""] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }
}
