//! Time bands: a rate row that applies only on some weekdays and local times (peak and
//! off-peak), in the row's own time zone.

use jiff::civil::{Time, Weekday};
use jiff::tz::TimeZone;
use jiff::Timestamp;
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
    #[error("expected a local time like 08:00, or 24:00 for the end of the day")]
    Time,
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
            from: parse_time(from)?.ok_or(TimeBandError::Time)?,
            to: parse_time(to)?,
        })
    }

    /// Whether the band is in force at an instant.
    pub fn contains(&self, at: Timestamp) -> bool {
        let local = at.to_zoned(self.time_zone.clone());
        let weekday_bit = 1_u8 << weekday_index(local.weekday());
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
fn parse_time(text: &str) -> Result<Option<Time>, TimeBandError> {
    let text = text.trim();
    if text == "24:00" {
        return Ok(None);
    }
    let (hour, minute) = text.split_once(':').ok_or(TimeBandError::Time)?;
    let hour: i8 = hour.parse().map_err(|_| TimeBandError::Time)?;
    let minute: i8 = minute.parse().map_err(|_| TimeBandError::Time)?;
    Time::new(hour, minute, 0, 0).map(Some).map_err(|_| TimeBandError::Time)
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
        assert_eq!(TimeBand::parse("UTC", "mon", "8am", "24:00"), Err(TimeBandError::Time));
    }
}
