//! Billing periods: calendar months in UTC, the period an invoice belongs to, and the usage a
//! period's reconciliation reads.

use jiff::{civil::Date, tz::TimeZone, SignedDuration, Timestamp};
use std::collections::BTreeMap;
use std::fmt;

/// The UTC date of an instant: the date FX rates and periods are read at. Computed for every
/// record and line, so by the day count's arithmetic ([`civil_from_days`]) rather than through
/// a time zone.
pub fn utc_date(instant: Timestamp) -> Date {
    let (year, month, day) = civil_from_days(instant.as_second().div_euclid(SECONDS_PER_DAY));
    // Every instant jiff holds has a date jiff holds: the other path is never taken.
    Date::new(year, month, day).unwrap_or_else(|_| jiff::tz::Offset::UTC.to_datetime(instant).date())
}

/// Seconds in a UTC day (no leap seconds: jiff and the data contract count none).
pub const SECONDS_PER_DAY: i64 = 86_400;

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (negative before it).
/// `month` is 1 to 12 and `day` 1 to the month's length; the caller checks them. (H. Hinnant's
/// `days_from_civil`: years counted from March, so the leap day ends the year.)
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01 as (year, month, day): the inverse of [`days_from_civil`].
pub fn civil_from_days(days: i64) -> (i16, i8, i8) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era = (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    // Within jiff's years (-9999 to 9999) for every instant it holds; saturated otherwise, which
    // `Date::new` then refuses.
    (year.clamp(i64::from(i16::MIN), i64::from(i16::MAX)) as i16, month as i8, day as i8)
}

/// Days in a month of the proleptic Gregorian calendar.
pub fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// One calendar month (UTC), the unit of an invoice's period.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Month {
    pub year: i16,
    pub month: i8,
}

/// Why a month could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a month as YYYY-MM between 1970-01 and 2199-12, like 2026-03")]
pub struct MonthError;

/// The years a period may fall in: those of usage instants ([`crate::usage::USAGE_INSTANTS`],
/// 1970 to 2200 exclusive). A month outside them is a mistyped year, not a period with no data.
pub const PERIOD_YEARS: std::ops::RangeInclusive<i16> = 1970..=2199;

impl Month {
    /// The UTC month an instant falls in.
    pub fn of(instant: Timestamp) -> Month {
        let date = utc_date(instant);
        Month { year: date.year(), month: date.month() }
    }

    /// Parses `YYYY-MM`, a year of [`PERIOD_YEARS`].
    ///
    /// # Errors
    /// When the text is not a valid year and month, or the year is outside [`PERIOD_YEARS`].
    pub fn parse(text: &str) -> Result<Month, MonthError> {
        let (year, month) = text.trim().split_once('-').ok_or(MonthError)?;
        if year.len() != 4 || month.len() != 2 {
            return Err(MonthError);
        }
        let year: i16 = year.parse().map_err(|_| MonthError)?;
        let month: i8 = month.parse().map_err(|_| MonthError)?;
        if !PERIOD_YEARS.contains(&year) {
            return Err(MonthError);
        }
        Date::new(year, month, 1).map_err(|_| MonthError)?;
        Ok(Month { year, month })
    }

    /// The month after this one.
    pub fn next(self) -> Month {
        if self.month == 12 {
            Month { year: self.year + 1, month: 1 }
        } else {
            Month { year: self.year, month: self.month + 1 }
        }
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

/// The period of an invoice whose lines start at `line_starts`, when the import does not give
/// one: the UTC month holding the most lines (by count, so that amounts in several currencies
/// or credits need no comparing); a tie goes to the earliest of the tied months. `None` for an
/// invoice without lines.
///
/// # Properties
/// The result is one of the lines' months and does not depend on the lines' order.
pub fn majority_month(line_starts: impl IntoIterator<Item = Timestamp>) -> Option<Month> {
    let mut lines_per_month: BTreeMap<Month, usize> = BTreeMap::new();
    for start in line_starts {
        *lines_per_month.entry(Month::of(start)).or_default() += 1;
    }
    // Months iterate in order, and `max_by_key` keeps the last maximum: reverse to keep the
    // earliest.
    lines_per_month.into_iter().rev().max_by_key(|(_, count)| *count).map(|(month, _)| month)
}

/// The instants of usage a reconciliation of `period` reads, `[from, to)`: the month, stretched
/// to cover every line of the period's invoices (a line may start just outside its month), then
/// widened by the time tolerance on both sides, so a line can match a record up to the tolerance
/// away from it. `None` only past the last representable instant.
pub fn usage_window(
    period: Month,
    line_starts: impl IntoIterator<Item = Timestamp>,
    time_tolerance: SignedDuration,
) -> Option<(Timestamp, Timestamp)> {
    let (mut from, mut to) = period.bounds()?;
    for start in line_starts {
        from = from.min(start);
        // `to` is exclusive: the latest line itself must be inside.
        to = to.max(start.checked_add(SignedDuration::from_nanos(1)).ok()?);
    }
    let tolerance = time_tolerance.abs();
    Some((from.checked_sub(tolerance).ok()?, to.checked_add(tolerance).ok()?))
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
    fn day_counts_by_hand() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        // 2000-03-01: 30 years of 365 days, 7 leap days (1972 to 1996), then 31 + 29 days.
        assert_eq!(days_from_civil(2000, 3, 1), 30 * 365 + 7 + 31 + 29);
        assert_eq!(civil_from_days(30 * 365 + 7 + 31 + 28), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(days_in_month(1900, 2), 28);
        assert_eq!(days_in_month(2000, 2), 29);
        assert_eq!(days_in_month(2026, 2), 28);
        assert_eq!(days_in_month(2028, 2), 29);
        assert_eq!(utc_date("2026-03-31T23:59:59Z".parse().unwrap()), jiff::civil::date(2026, 3, 31));
        assert_eq!(utc_date("1969-12-31T23:59:59Z".parse().unwrap()), jiff::civil::date(1969, 12, 31));
    }

    proptest::proptest! {
        /// The day arithmetic gives jiff's dates over all of jiff's instants.
        #[test]
        fn utc_dates_are_jiffs(seconds in Timestamp::MIN.as_second()..=Timestamp::MAX.as_second()) {
            let instant = Timestamp::from_second(seconds).unwrap();
            let date = jiff::tz::Offset::UTC.to_datetime(instant).date();
            proptest::prop_assert_eq!(utc_date(instant), date);
            let days = days_from_civil(i64::from(date.year()), i64::from(date.month()), i64::from(date.day()));
            proptest::prop_assert_eq!(days, seconds.div_euclid(SECONDS_PER_DAY));
            proptest::prop_assert_eq!(days_in_month(i64::from(date.year()), i64::from(date.month())), i64::from(date.days_in_month()));
        }
    }

    #[test]
    fn month_of_an_instant_is_utc() {
        let instant: Timestamp = "2026-04-01T00:30:00+01:00".parse().unwrap();
        assert_eq!(Month::of(instant), Month::parse("2026-03").unwrap());
        assert_eq!(Month::parse("2026-03").unwrap().to_string(), "2026-03");
        assert_eq!(Month::parse("2026-13"), Err(MonthError));
        assert_eq!(Month::parse("26-03"), Err(MonthError));
    }

    /// Issue 11, item 4: `--period 0000-01` was accepted; periods take the years of usage.
    #[test]
    fn months_outside_the_usage_years_are_refused() {
        assert_eq!(Month::parse("0000-01"), Err(MonthError));
        assert_eq!(Month::parse("1969-12"), Err(MonthError));
        assert_eq!(Month::parse("2200-01"), Err(MonthError));
        assert_eq!(Month::parse("1970-01").unwrap().to_string(), "1970-01");
        assert_eq!(Month::parse("2199-12").unwrap().to_string(), "2199-12");
        assert_eq!(MonthError.to_string(), "expected a month as YYYY-MM between 1970-01 and 2199-12, like 2026-03");
    }

    fn instants(texts: &[&str]) -> Vec<Timestamp> {
        texts.iter().map(|text| text.parse().unwrap()).collect()
    }

    /// Issue 11, item 1: an invoice belongs to one period, the month holding most of its lines.
    #[test]
    fn an_invoice_belongs_to_the_month_of_most_of_its_lines() {
        let month = |texts: &[&str]| majority_month(instants(texts)).map(|month| month.to_string());
        // Three April lines, the first 30 s into April: April.
        assert_eq!(
            month(&["2026-04-01T00:00:30Z", "2026-04-02T00:00:00Z", "2026-04-03T00:00:00Z"]),
            Some("2026-04".into())
        );
        // One line on the last day of February, two in March: March.
        assert_eq!(
            month(&["2026-03-05T00:00:00Z", "2026-02-28T23:50:00Z", "2026-03-06T00:00:00Z"]),
            Some("2026-03".into())
        );
        // One line each side of the month end (10.00 and 20.00): a tie, the earliest month.
        assert_eq!(month(&["2026-03-01T00:10:00Z", "2026-02-28T23:50:00Z"]), Some("2026-02".into()));
        assert_eq!(month(&["2026-02-28T23:50:00Z", "2026-03-01T00:10:00Z"]), Some("2026-02".into()));
        assert_eq!(month(&[]), None);
    }

    #[test]
    fn the_usage_window_covers_the_lines_and_the_tolerance() {
        let march = Month::parse("2026-03").unwrap();
        let window = |texts: &[&str]| {
            usage_window(march, instants(texts), SignedDuration::from_secs(60))
                .map(|(from, to)| (from.to_string(), to.to_string()))
        };
        // No lines: the month, 60 s wider each side.
        assert_eq!(window(&[]), Some(("2026-02-28T23:59:00Z".into(), "2026-04-01T00:01:00Z".into())));
        // A March invoice's line 30 s into April: up to 60 s after it (a record at
        // 2026-03-31T23:59:50Z or 2026-04-01T00:01:00Z is within reach).
        assert_eq!(
            window(&["2026-03-10T00:00:00Z", "2026-04-01T00:00:30Z"]),
            Some(("2026-02-28T23:59:00Z".into(), "2026-04-01T00:01:30.000000001Z".into()))
        );
        // A line ten minutes before March: from 60 s before that line.
        assert_eq!(
            window(&["2026-02-28T23:50:00Z"]),
            Some(("2026-02-28T23:49:00Z".into(), "2026-04-01T00:01:00Z".into()))
        );
    }

    #[test]
    fn bounds_run_from_midnight_to_the_next_month() {
        let bounds =
            |text: &str| Month::parse(text).unwrap().bounds().map(|(start, end)| (start.to_string(), end.to_string()));
        assert_eq!(bounds("2026-03"), Some(("2026-03-01T00:00:00Z".into(), "2026-04-01T00:00:00Z".into())));
        assert_eq!(bounds("2026-12"), Some(("2026-12-01T00:00:00Z".into(), "2027-01-01T00:00:00Z".into())));
        // Beyond the years `parse` accepts, but a `Month` can still be built.
        assert_eq!(Month { year: 9999, month: 12 }.bounds(), None);
    }
}
