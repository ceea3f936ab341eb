//! Reading the times of source files: several formats, and the time zone of times written
//! without an offset.
//!
//! The rule for local times (docs/FORMATS.md, "Import profiles"): a local time that occurs
//! twice (the autumn hour when clocks go back) is taken at its **earlier** instant, the one
//! before the change (jiff's `Disambiguation::Earlier`): a switch writing local time cannot
//! tell the two apart, and the first is the one a call starting in that hour most often has
//! (the second comes only after an hour of the first). A local time that does not exist (the
//! spring hour skipped when clocks go forward) is an error: no clock writes it, so the file
//! is wrong or not in the zone the profile says.

use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, TimeZone};
use jiff::Timestamp;
use rust_decimal::Decimal;

/// One way a time may be written.
#[derive(Clone, Debug)]
pub(crate) enum TimeFormat {
    Rfc3339,
    Rfc2822,
    /// Seconds since 1970 (decimals allowed).
    EpochSeconds,
    EpochMillis,
    Strftime(String),
}

impl TimeFormat {
    pub(crate) fn parse(text: &str) -> Result<TimeFormat, String> {
        Ok(match text {
            "rfc3339" => TimeFormat::Rfc3339,
            "rfc2822" => TimeFormat::Rfc2822,
            "epoch" => TimeFormat::EpochSeconds,
            "epoch_ms" => TimeFormat::EpochMillis,
            pattern if pattern.contains('%') => TimeFormat::Strftime(pattern.to_owned()),
            other => {
                return Err(format!(
                    "time format {other:?} is not rfc3339, rfc2822, epoch, epoch_ms or a strftime pattern with `%`"
                ))
            }
        })
    }

    fn describe(&self) -> String {
        match self {
            TimeFormat::Rfc3339 => "RFC 3339 (2026-03-01T12:00:05Z)".to_owned(),
            TimeFormat::Rfc2822 => "RFC 2822 (Sun, 01 Mar 2026 12:00:05 +0000)".to_owned(),
            TimeFormat::EpochSeconds => "seconds since 1970".to_owned(),
            TimeFormat::EpochMillis => "milliseconds since 1970".to_owned(),
            TimeFormat::Strftime(pattern) => pattern.clone(),
        }
    }
}

/// The formats of a field and the zone of its local times.
#[derive(Clone, Debug)]
pub(crate) struct TimeReader {
    pub formats: Vec<TimeFormat>,
    pub zone: Option<(String, TimeZone)>,
}

impl TimeReader {
    /// What a value must look like, for messages.
    pub(crate) fn expected(&self) -> String {
        let formats = self.formats.iter().map(TimeFormat::describe).collect::<Vec<_>>().join(" or ");
        match &self.zone {
            Some((name, _)) => format!("a time written {formats} (local times in {name})"),
            None => format!("a time written {formats}"),
        }
    }

    /// The instant a text stands for.
    ///
    /// # Errors
    /// What was expected: no format reads it, it is a local time and no zone is known, or it
    /// does not exist in the zone (the skipped spring hour).
    pub(crate) fn instant(&self, text: &str) -> Result<Timestamp, String> {
        for format in &self.formats {
            match self.instant_in(format, text) {
                Ok(Some(instant)) => return Ok(instant),
                Ok(None) => continue,
                Err(message) => return Err(message),
            }
        }
        Err(self.expected())
    }

    /// `Ok(None)` when this format does not read the text; an error when it does but the time
    /// cannot be placed (no zone, or a skipped local time).
    fn instant_in(&self, format: &TimeFormat, text: &str) -> Result<Option<Timestamp>, String> {
        match format {
            TimeFormat::Rfc3339 => Ok(text.parse::<Timestamp>().ok()),
            TimeFormat::Rfc2822 => Ok(jiff::fmt::rfc2822::parse(text).ok().map(|zoned| zoned.timestamp())),
            TimeFormat::EpochSeconds => Ok(epoch(text, 1)),
            TimeFormat::EpochMillis => Ok(epoch(text, 1000)),
            TimeFormat::Strftime(pattern) => {
                let Ok(broken_down) = jiff::fmt::strtime::parse(pattern, text) else {
                    return Ok(None);
                };
                if broken_down.offset().is_some() {
                    return Ok(broken_down.to_timestamp().ok());
                }
                let Ok(datetime) = broken_down.to_datetime() else {
                    return Ok(None);
                };
                self.local(datetime).map(Some)
            }
        }
    }

    /// A local time in the zone, by the rule of this module's documentation.
    fn local(&self, datetime: DateTime) -> Result<Timestamp, String> {
        let Some((name, zone)) = &self.zone else {
            return Err(format!(
                "a time with an offset: {datetime} has none and no time zone is set (give --time-zone, or `zone` in \
                 the profile's [time])"
            ));
        };
        local_instant(zone, datetime).map_err(|_| {
            format!("a local time that exists in {name}: {datetime} falls in the hour skipped when clocks go forward")
        })
    }

    /// A calendar date.
    pub(crate) fn date(&self, text: &str) -> Result<Date, String> {
        for format in &self.formats {
            if let TimeFormat::Strftime(pattern) = format {
                if let Ok(date) = jiff::fmt::strtime::parse(pattern, text).and_then(|parsed| parsed.to_date()) {
                    return Ok(date);
                }
            }
        }
        if let Ok(date) = text.parse::<Date>() {
            return Ok(date);
        }
        Err(format!(
            "a date written {} or 2026-04-03",
            self.formats.iter().map(TimeFormat::describe).collect::<Vec<_>>().join(" or ")
        ))
    }
}

/// The instant of a local time in a zone: the earlier of two in the autumn fold; an error in
/// the spring gap.
pub(crate) fn local_instant(zone: &TimeZone, datetime: DateTime) -> Result<Timestamp, ()> {
    let offset = match zone.to_ambiguous_timestamp(datetime).offset() {
        AmbiguousOffset::Unambiguous { offset } => offset,
        AmbiguousOffset::Fold { before, .. } => before,
        AmbiguousOffset::Gap { .. } => return Err(()),
    };
    offset.to_timestamp(datetime).map_err(|_| ())
}

/// Seconds (or `per_second` parts of one) since 1970, as an instant.
fn epoch(text: &str, per_second: i64) -> Option<Timestamp> {
    let value = reckon_import::parse_decimal(text)?;
    let nanoseconds = value.checked_mul(Decimal::from(1_000_000_000_i64 / per_second))?.trunc();
    let nanoseconds = i128::try_from(nanoseconds).ok()?;
    Timestamp::from_nanosecond(nanoseconds).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paris() -> TimeReader {
        TimeReader {
            formats: vec![TimeFormat::Strftime("%Y-%m-%d %H:%M:%S".to_owned())],
            zone: Some(("Europe/Paris".to_owned(), TimeZone::get("Europe/Paris").unwrap())),
        }
    }

    /// 2026-10-25 in Paris: 03:00 CEST becomes 02:00 CET, so 02:30 happens twice (00:30Z and
    /// 01:30Z). The rule takes the earlier, 00:30Z; 01:59:59 before it is 23:59:59Z; 03:00
    /// after it is 02:00Z.
    #[test]
    fn the_autumn_hour_that_occurs_twice_is_taken_at_its_earlier_instant() {
        let reader = paris();
        let utc = |text: &str| reader.instant(text).map(|instant| instant.to_string());
        assert_eq!(utc("2026-10-25 01:59:59").unwrap(), "2026-10-24T23:59:59Z");
        assert_eq!(utc("2026-10-25 02:30:00").unwrap(), "2026-10-25T00:30:00Z");
        assert_eq!(utc("2026-10-25 03:00:00").unwrap(), "2026-10-25T02:00:00Z");
    }

    /// 2026-03-29 in Paris: 02:00 CET becomes 03:00 CEST; 02:30 does not exist.
    #[test]
    fn the_spring_hour_that_is_skipped_is_an_error() {
        let reader = paris();
        let error = reader.instant("2026-03-29 02:30:00").unwrap_err();
        assert!(error.contains("skipped when clocks go forward"), "{error}");
        assert_eq!(reader.instant("2026-03-29 01:59:59").unwrap().to_string(), "2026-03-29T00:59:59Z");
        assert_eq!(reader.instant("2026-03-29 03:00:00").unwrap().to_string(), "2026-03-29T01:00:00Z");
    }

    #[test]
    fn every_format_reads_the_same_instant() {
        let reader = TimeReader {
            // `epoch` reads any number, so it comes after the all-digit `%y%m%d%H%M`.
            formats: ["rfc2822", "rfc3339", "%Y-%m-%dT%H:%M:%S%.f%z", "%y%m%d%H%M", "epoch"]
                .iter()
                .map(|text| TimeFormat::parse(text).unwrap())
                .collect(),
            zone: Some(("UTC".to_owned(), TimeZone::UTC)),
        };
        for text in [
            "Sun, 01 Mar 2026 12:00:05 +0000",
            "2026-03-01T12:00:05Z",
            "2026-03-01T13:00:05+01:00",
            "1772366405",
            "2026-03-01T12:00:05.000+0000",
        ] {
            assert_eq!(reader.instant(text).unwrap().to_string(), "2026-03-01T12:00:05Z", "{text}");
        }
        assert_eq!(reader.instant("2603011200").unwrap().to_string(), "2026-03-01T12:00:00Z");
        let millis = TimeReader { formats: vec![TimeFormat::EpochMillis], zone: None };
        assert_eq!(millis.instant("1772366405250").unwrap().to_string(), "2026-03-01T12:00:05.25Z");
        let error = reader.instant("01/03/2026").unwrap_err();
        assert!(error.starts_with("a time written RFC 2822"), "{error}");
    }

    #[test]
    fn a_local_time_without_a_zone_is_an_error_saying_how_to_give_one() {
        let reader = TimeReader { formats: vec![TimeFormat::Strftime("%Y-%m-%d %H:%M:%S".to_owned())], zone: None };
        let error = reader.instant("2026-03-01 12:00:05").unwrap_err();
        assert!(error.contains("--time-zone"), "{error}");
    }
}
