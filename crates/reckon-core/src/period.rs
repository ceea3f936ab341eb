//! Billing periods: calendar months in UTC.

use jiff::{civil::Date, tz::TimeZone, Timestamp};
use std::fmt;

/// One calendar month (UTC), the unit of an invoice's period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

/// Why a month could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a month as YYYY-MM, like 2026-03")]
pub struct MonthError;

impl Month {
    /// The UTC month an instant falls in.
    pub fn of(instant: Timestamp) -> Month {
        let date = instant.to_zoned(TimeZone::UTC).date();
        Month { year: date.year(), month: date.month() }
    }

    /// Parses `YYYY-MM`.
    ///
    /// # Errors
    /// When the text is not a valid year and month.
    pub fn parse(text: &str) -> Result<Month, MonthError> {
        let (year, month) = text.trim().split_once('-').ok_or(MonthError)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(MonthError);
        }
        let year: i16 = year.parse().map_err(|_| MonthError)?;
        let month: i8 = month.parse().map_err(|_| MonthError)?;
        Date::new(year, month, 1).map_err(|_| MonthError)?;
        Ok(Month { year, month })
    }

    /// The month's instants: from its first midnight (UTC), inclusive, to the next month's,
    /// exclusive. `None` only for 9999-12, whose end no instant can hold.
    pub fn bounds(self) -> Option<(Timestamp, Timestamp)> {
        let start = Date::new(self.year, self.month, 1).ok()?;
        let end = start.checked_add(jiff::Span::new().months(1)).ok()?;
        let instant = |date: Date| date.to_zoned(TimeZone::UTC).ok().map(|zoned| zoned.timestamp());
        Some((instant(start)?, instant(end)?))
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn month_of_an_instant_is_utc() {
        let instant: Timestamp = "2026-04-01T00:30:00+01:00".parse().unwrap();
        assert_eq!(Month::of(instant), Month::parse("2026-03").unwrap());
        assert_eq!(Month::parse("2026-03").unwrap().to_string(), "2026-03");
        assert_eq!(Month::parse("2026-13"), Err(MonthError));
        assert_eq!(Month::parse("26-03"), Err(MonthError));
    }

    #[test]
    fn bounds_run_from_midnight_to_the_next_month() {
        let bounds =
            |text: &str| Month::parse(text).unwrap().bounds().map(|(start, end)| (start.to_string(), end.to_string()));
        assert_eq!(bounds("2026-03"), Some(("2026-03-01T00:00:00Z".into(), "2026-04-01T00:00:00Z".into())));
        assert_eq!(bounds("2026-12"), Some(("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())));
        assert_eq!(bounds("9999-12"), None);
    }
}
