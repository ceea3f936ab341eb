//! Time bands: a rate row that applies only on some weekdays and local times (peak and
//! off-peak), in the row's own time zone.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
use std::collections::HashMap;
use std::fmt;

/// Weekdays and a local time range `[from, to)` in a time zone. A range whose `to` is not after
/// its `from` wraps past midnight (`22:00-06:00`); the weekday is that of the instant itself.
#[derive(Clone, Debug)]
pub struct TimeBand {
    /// IANA name of the zone, as written (`Europe/London`).
    pub zone_name: String,
    pub time_zone: TimeZone,
    /// Bit `n` set: the band applies on weekday `n` (Monday = 0).
    pub weekdays: u8,
    pub from: Time,
    /// Exclusive; `24:00` is written as `None` (end of day).
    pub to: Option<Time>,
}

/// Why a band could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeBandError {
    #[error("unknown time zone {0:?} (expected an IANA name like Europe/London)")]
    UnknownZone(String),
    #[error("expected weekdays like mon-fri, sat,sun or mon,wed-fri")]
    Weekdays,
    /// `time_from` does not parse.
    #[error("expected a local time like 08:00")]
    TimeFrom,
    /// `time_to` does not parse.
    #[error("expected a local time like 18:00, or 24:00 for the end of the day")]
    TimeTo,
}

/// A carrier's holidays: local dates that time bands rate as another weekday (a public holiday
/// rated as a Sunday gets the Sunday bands, at every hour of the date in the band's zone).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct HolidayCalendar {
    rated_as: HashMap<Date, Weekday>,
}

/// A date listed twice with two different weekdays.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{date} is listed already, rated as {existing}")]
pub struct HolidayConflict {
    pub date: Date,
    pub existing: &'static str,
}

impl HolidayCalendar {
    /// Adds a holiday; the same date and weekday again changes nothing.
    ///
    /// # Errors
    /// When the date is listed already with another weekday.
    pub fn insert(&mut self, date: Date, rated_as: Weekday) -> Result<(), HolidayConflict> {
        match self.rated_as.insert(date, rated_as) {
            Some(existing) if existing != rated_as => {
                self.rated_as.insert(date, existing);
                Err(HolidayConflict { date, existing: WEEKDAY_NAMES[usize::from(weekday_index(existing))] })
            }
            _ => Ok(()),
        }
    }

    /// The weekday a local date is rated as: a holiday's, else its own.
    pub fn weekday_of(&self, date: Date) -> Weekday {
        self.rated_as.get(&date).copied().unwrap_or_else(|| date.weekday())
    }

    pub fn is_empty(&self) -> bool {
        self.rated_as.is_empty()
    }

    /// The calendar as sorted `date,rated_as` lines: the same calendar always gives the same
    /// text (what a ledger run's id hashes).
    pub fn canonical_text(&self) -> String {
        let mut dates: Vec<(&Date, &Weekday)> = self.rated_as.iter().collect();
        dates.sort_by_key(|(date, _)| **date);
        dates
            .iter()
            .map(|(date, weekday)| format!("{date},{}\n", WEEKDAY_NAMES[usize::from(weekday_index(**weekday))]))
            .collect()
    }
}

/// Parses a weekday name as `days` writes it (`mon` ... `sun`).
pub fn parse_weekday(text: &str) -> Option<Weekday> {
    let index = WEEKDAY_NAMES.iter().position(|name| text.trim().eq_ignore_ascii_case(name))?;
    Some(Weekday::from_monday_zero_offset(index as i8).expect("0 to 6"))
}

const WEEKDAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl TimeBand {
    /// Builds a band from its written parts: zone, weekdays (`mon-fri`, `sat,sun`, `all`) and
    /// local times (`08:00`, `18:00`; `24:00` ends the day).
    ///
    /// # Errors
    /// When the zone is unknown or a part does not parse.
    pub fn parse(zone_name: &str, weekdays: &str, from: &str, to: &str) -> Result<TimeBand, TimeBandError> {
        let time_zone = TimeZone::get(zone_name).map_err(|_| TimeBandError::UnknownZone(zone_name.to_owned()))?;
        Ok(TimeBand {
            zone_name: zone_name.to_owned(),
            time_zone,
            weekdays: parse_weekdays(weekdays)?,
            from: parse_time(from).ok().flatten().ok_or(TimeBandError::TimeFrom)?,
            to: parse_time(to).map_err(|_| TimeBandError::TimeTo)?,
        })
    }

    /// Whether the band is in force at an instant.
    pub fn contains(&self, at: Timestamp) -> bool {
        self.contains_with(at, None)
    }

    /// [`TimeBand::contains`] with a holiday calendar: a holiday's local date (in the band's
    /// zone) counts as the weekday the calendar gives it.
    pub fn contains_with(&self, at: Timestamp, holidays: Option<&HolidayCalendar>) -> bool {
        let local = at.to_zoned(self.time_zone.clone());
        let weekday = holidays.map_or_else(|| local.weekday(), |calendar| calendar.weekday_of(local.date()));
        let weekday_bit = 1_u8 << weekday_index(weekday);
        if self.weekdays & weekday_bit == 0 {
            return false;
        }
        let time = local.time();
        match self.to {
            None => time >= self.from,
            Some(to) if to > self.from => time >= self.from && time < to,
            Some(to) => time >= self.from || time < to,
        }
    }
}

impl TimeBand {
    /// Whether two bands of one zone share an instant: a weekday in common and local times in
    /// common (a range that wraps midnight is the two ranges it covers on its own weekday).
    /// Bands of different zones are never said to overlap.
    pub fn overlaps(&self, other: &TimeBand) -> bool {
        if self.zone_name != other.zone_name || self.weekdays & other.weekdays == 0 {
            return false;
        }
        let (ours, theirs) = (self.seconds_ranges(), other.seconds_ranges());
        ours.iter()
            .flatten()
            .any(|(from, to)| theirs.iter().flatten().any(|(other_from, other_to)| from < other_to && other_from < to))
    }

    /// The band's local times as up to two half-open ranges of seconds since midnight.
    fn seconds_ranges(&self) -> [Option<(i32, i32)>; 2] {
        const DAY_END: i32 = 86_400;
        let seconds = |time: Time| i32::from(time.hour()) * 3600 + i32::from(time.minute()) * 60;
        let from = seconds(self.from);
        match self.to.map(seconds) {
            None => [Some((from, DAY_END)), None],
            Some(to) if to > from => [Some((from, to)), None],
            Some(to) => [Some((from, DAY_END)), Some((0, to)).filter(|(_, to)| *to > 0)],
        }
    }
}

impl PartialEq for TimeBand {
    fn eq(&self, other: &TimeBand) -> bool {
        self.zone_name == other.zone_name
            && self.weekdays == other.weekdays
            && self.from == other.from
            && self.to == other.to
    }
}

impl TimeBand {
    /// The weekdays as written in `rates.csv` (`mon,tue,wed`).
    pub fn weekdays_text(&self) -> String {
        let days: Vec<&str> =
            (0..7).filter(|day| self.weekdays & (1 << day) != 0).map(|day| WEEKDAY_NAMES[day]).collect();
        days.join(",")
    }

    /// The start as written (`08:00`).
    pub fn from_text(&self) -> String {
        self.from.strftime("%H:%M").to_string()
    }

    /// The end as written (`18:00`, `24:00` for the end of the day).
    pub fn to_text(&self) -> String {
        self.to.map_or("24:00".to_owned(), |to| to.strftime("%H:%M").to_string())
    }
}

impl fmt::Display for TimeBand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}-{}", self.zone_name, self.weekdays_text(), self.from_text(), self.to_text())
    }
}

fn weekday_index(weekday: Weekday) -> u8 {
    (weekday.to_monday_zero_offset()) as u8
}

fn parse_weekdays(text: &str) -> Result<u8, TimeBandError> {
    let text = text.trim().to_ascii_lowercase();
    if text == "all" || text == "*" {
        return Ok(0x7f);
    }
    let day = |name: &str| WEEKDAY_NAMES.iter().position(|known| *known == name.trim()).ok_or(TimeBandError::Weekdays);
    let mut bits = 0_u8;
    for part in text.split(',') {
        match part.split_once('-') {
            Some((first, last)) => {
                let (first, last) = (day(first)?, day(last)?);
                let mut current = first;
                loop {
                    bits |= 1 << current;
                    if current == last {
                        break;
                    }
                    current = (current + 1) % 7;
                }
            }
            None => bits |= 1 << day(part)?,
        }
    }
    Ok(bits)
}

/// `None` for `24:00`, the end of the day.
fn parse_time(text: &str) -> Result<Option<Time>, ()> {
    let text = text.trim();
    if text == "24:00" {
        return Ok(None);
    }
    let (hour, minute) = text.split_once(':').ok_or(())?;
    let hour: i8 = hour.parse().map_err(|_| ())?;
    let minute: i8 = minute.parse().map_err(|_| ())?;
    Time::new(hour, minute, 0, 0).map(Some).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    #[test]
    fn peak_band_in_london_follows_local_time_and_summer_time() {
        let peak = TimeBand::parse("Europe/London", "mon-fri", "08:00", "18:00").unwrap();
        // Monday 2026-03-02 08:00 GMT (= UTC in winter): inside.
        assert!(peak.contains(at("2026-03-02T08:00:00Z")));
        // 07:59:59: outside.
        assert!(!peak.contains(at("2026-03-02T07:59:59Z")));
        // 18:00 is exclusive.
        assert!(!peak.contains(at("2026-03-02T18:00:00Z")));
        // Saturday: outside.
        assert!(!peak.contains(at("2026-03-07T12:00:00Z")));
        // Summer (BST = UTC+1): 07:30Z is 08:30 local, inside.
        assert!(peak.contains(at("2026-06-01T07:30:00Z")));
    }

    #[test]
    fn wrapping_band_and_weekday_lists() {
        let night = TimeBand::parse("UTC", "all", "22:00", "06:00").unwrap();
        assert!(night.contains(at("2026-03-02T23:00:00Z")));
        assert!(night.contains(at("2026-03-03T05:59:00Z")));
        assert!(!night.contains(at("2026-03-03T06:00:00Z")));
        let weekend = TimeBand::parse("UTC", "sat,sun", "00:00", "24:00").unwrap();
        assert!(weekend.contains(at("2026-03-08T23:59:59Z")));
        assert!(!weekend.contains(at("2026-03-09T00:00:00Z")));
        assert_eq!(parse_weekdays("fri-mon").unwrap(), 0b111_0001);
        assert_eq!(weekend.to_string(), "UTC sat,sun 00:00-24:00");
    }

    #[test]
    fn bad_parts_are_errors() {
        assert!(matches!(TimeBand::parse("Mars/Olympus", "all", "00:00", "24:00"), Err(TimeBandError::UnknownZone(_))));
        assert_eq!(TimeBand::parse("UTC", "someday", "00:00", "24:00"), Err(TimeBandError::Weekdays));
        assert_eq!(TimeBand::parse("UTC", "mon", "8am", "24:00"), Err(TimeBandError::TimeFrom));
        // Issue 13, item 8: a bad end names the end, not the start.
        assert_eq!(TimeBand::parse("UTC", "mon", "08:00", "25:00"), Err(TimeBandError::TimeTo));
        assert_eq!(TimeBand::parse("UTC", "mon", "24:00", "18:00"), Err(TimeBandError::TimeFrom));
    }

    #[test]
    fn overlapping_bands() {
        let band = |days: &str, from: &str, to: &str| TimeBand::parse("UTC", days, from, to).unwrap();
        let overlap = |a: &TimeBand, b: &TimeBand| (a.overlaps(b), b.overlaps(a));
        let peak = band("mon-fri", "08:00", "18:00");
        // Shared weekday and hours: 17:00-18:00 on Monday to Friday.
        assert_eq!(overlap(&peak, &band("mon-fri", "17:00", "20:00")), (true, true));
        // Touching ranges share nothing ([08:00, 18:00) and [18:00, 24:00)).
        assert_eq!(overlap(&peak, &band("mon-fri", "18:00", "24:00")), (false, false));
        // No weekday in common.
        assert_eq!(overlap(&peak, &band("sat,sun", "00:00", "24:00")), (false, false));
        // A night band wrapping midnight covers 22:00-24:00 and 00:00-06:00 of its weekday.
        let night = band("all", "22:00", "06:00");
        assert_eq!(overlap(&night, &band("mon", "05:00", "07:00")), (true, true));
        assert_eq!(overlap(&night, &band("mon", "23:30", "24:00")), (true, true));
        assert_eq!(overlap(&night, &band("mon", "06:00", "22:00")), (false, false));
        assert_eq!(overlap(&night, &band("tue", "21:00", "01:00")), (true, true));
        // Another zone: never said to overlap.
        let london = TimeBand::parse("Europe/London", "mon-fri", "08:00", "18:00").unwrap();
        assert_eq!(overlap(&peak, &london), (false, false));
    }

    #[test]
    fn holidays_are_rated_as_their_weekday() {
        let weekend = TimeBand::parse("Europe/London", "sat,sun", "00:00", "24:00").unwrap();
        let mut holidays = HolidayCalendar::default();
        // Christmas 2026 is a Friday; rated as a Sunday.
        holidays.insert(jiff::civil::date(2026, 12, 25), Weekday::Sunday).unwrap();
        assert!(!weekend.contains(at("2026-12-25T10:00:00Z")));
        assert!(weekend.contains_with(at("2026-12-25T10:00:00Z"), Some(&holidays)));
        // 00:30 London on the 26th (a Saturday anyway) and 23:30Z on the 24th (a Thursday).
        assert!(!weekend.contains_with(at("2026-12-24T23:30:00Z"), Some(&holidays)));
        assert_eq!(
            holidays.insert(jiff::civil::date(2026, 12, 25), Weekday::Saturday),
            Err(HolidayConflict { date: jiff::civil::date(2026, 12, 25), existing: "sun" })
        );
        assert_eq!(parse_weekday("Sun"), Some(Weekday::Sunday));
        assert_eq!(parse_weekday("sunday"), None);
    }
}
