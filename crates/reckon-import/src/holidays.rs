//! `holidays.csv`: each carrier's holidays, `carrier,date,rated_as`: on `date` (local, in each
//! banded row's own time zone) the carrier's time bands see the weekday `rated_as` (`sun`)
//! instead of the date's own.

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::NoProgress;
use reckon_core::time_band::{parse_weekday, HolidayCalendar};
use std::collections::HashMap;
use std::path::Path;

/// Loads holiday calendars per carrier (or price plan). Bad rows always fail: a holiday rated
/// at the wrong band would misprice every call of the day.
///
/// # Errors
/// A file-level error, a bad date or weekday, or a date listed twice for one carrier with two
/// different weekdays.
pub fn load_holidays(path: &Path) -> Result<HashMap<String, HolidayCalendar>, ImportError> {
    let mut table = CsvTable::open(path)?;
    let [carrier, date, rated_as] = table.resolve([
        ColumnSpec { name: "carrier", required: true },
        ColumnSpec { name: "date", required: true },
        ColumnSpec { name: "rated_as", required: true },
    ])?;
    let mut calendars: HashMap<String, HolidayCalendar> = HashMap::new();
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let name = row.text(carrier)?;
        let day = row.optional_date(date)?.ok_or_else(|| row.error(date, ImportErrorKind::MissingValue))?;
        let text = row.required(rated_as)?;
        let weekday = parse_weekday(text).ok_or_else(|| row.invalid(rated_as, text, "a weekday: mon to sun"))?;
        calendars
            .entry(name)
            .or_default()
            .insert(day, weekday)
            .map_err(|conflict| row.error(date, ImportErrorKind::Rule(conflict.to_string())))?;
    }
    Ok(calendars)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<HashMap<String, HolidayCalendar>, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("holidays.csv");
        std::fs::write(&path, text).unwrap();
        load_holidays(&path)
    }

    #[test]
    fn calendars_load_and_bad_rows_are_named() {
        let calendars = load("carrier,date,rated_as\nacme,2026-12-25,sun\nacme,2026-12-25,sun\n").unwrap();
        // 2026-12-25 is a Friday, rated as a Sunday.
        assert_eq!(calendars["acme"].weekday_of(jiff::civil::date(2026, 12, 25)), jiff::civil::Weekday::Sunday);
        let error = load("carrier,date,rated_as\nacme,2026-12-25,holiday\n").unwrap_err().to_string();
        assert!(error.contains("holidays.csv:2:3: column \"rated_as\"") && error.contains("mon to sun"), "{error}");
        let error = load("carrier,date,rated_as\nacme,2026-12-25,sun\nacme,2026-12-25,sat\n").unwrap_err().to_string();
        assert!(
            error.contains("holidays.csv:3:2: column \"date\": 2026-12-25 is listed already, rated as sun"),
            "{error}"
        );
    }
}
