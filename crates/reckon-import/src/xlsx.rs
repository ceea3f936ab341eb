//! XLSX rate decks: a sheet converted into `rates.csv` columns, given which header holds which
//! column. Cell numbers are taken as the shortest decimal that reads back as the stored double,
//! which is the number the sheet shows (`0.012`, never `0.0120000000000000002`); dates become
//! RFC 3339 instants at UTC.

use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use calamine::{Data, Reader};
use std::io::Write;
use std::path::Path;

/// Where a sheet's header row and data start, for error positions, and what was set aside.
#[derive(Clone, Debug)]
pub struct SheetInfo {
    pub sheet: String,
    /// 1-based row of the header in the sheet.
    pub header_row: u32,
    /// The sheet row (1-based) of each data line written, in order (empty rows are skipped; a
    /// cell with several codes or a range writes one line per code, each with the cell's row).
    pub data_rows: Vec<u32>,
    /// The footer that ended the data (its sheet row and text), if any.
    pub footer: Option<(u32, String)>,
}

/// How to read a sheet that is not a plain table.
#[derive(Clone, Debug, Default)]
pub struct SheetLayout {
    /// The sheet holding the deck (default: the first).
    pub sheet: Option<String>,
    /// The 1-based sheet row of the header; default: the first row naming every mapped header.
    pub header_row: Option<u32>,
    /// A strftime format (`%d/%m/%Y`) for dates written as text; default: RFC 3339 or ISO dates.
    pub date_format: Option<String>,
}

/// Most codes one range cell (`1201-1209`) may expand to.
const RANGE_CODES_MAX: u64 = 10_000;
/// Rows searched for the header when no `header_row` is given.
const HEADER_SEARCH_ROWS: usize = 50;

/// Writes the sheet as CSV: one column per `columns` name, taken from the header `mapping` names
/// for it (or the column's own name), else from `constants`.
///
/// Real decks are read as published: the header is the first row naming every mapped header
/// (title rows above it are skipped), blank rows are skipped, a row with one text cell and no code
/// after the data is a footer that ends it, a prefix cell with several codes (`44, 447`) or a
/// range (`1201-1209`) becomes one row per code, increments `60-60` read as `60/60`, a rate or
/// change cell `Closed`/`Removed` closes the code (`change` = `closed`, for `deck update`), and
/// text dates follow `date_format`.
///
/// # Errors
/// When the workbook cannot be read, the sheet or a mapped header is absent, or a cell cannot be
/// converted (named by its sheet row and column).
pub fn xlsx_to_csv(
    path: &Path,
    layout: &SheetLayout,
    columns: &[&str],
    mapping: &[(String, String)],
    constants: &[(String, String)],
    out: impl Write,
) -> Result<SheetInfo, ImportError> {
    let fail = |message: String| ImportError::file(path, ImportErrorKind::Malformed(message));
    let mut workbook =
        calamine::open_workbook_auto(path).map_err(|error| fail(format!("not a readable workbook: {error}")))?;
    let sheet_name = match &layout.sheet {
        Some(name) => name.clone(),
        None => workbook.sheet_names().first().cloned().ok_or_else(|| fail("the workbook has no sheet".into()))?,
    };
    let range = workbook.worksheet_range(&sheet_name).map_err(|error| {
        fail(format!("sheet {sheet_name:?}: {error} (sheets: {})", workbook.sheet_names().join(", ")))
    })?;
    let first_row = range.start().map_or(1, |(row, _)| row + 1);
    let rows: Vec<&[Data]> = range.rows().collect();
    let wanted = |column: &str| -> String {
        mapping.iter().find(|(name, _)| name == column).map_or(column, |(_, header)| header.as_str()).to_owned()
    };
    let names_header = |cells: &[Data], name: &str| cells.iter().any(|cell| same_name(&cell_text(cell), name));
    let header_index = match layout.header_row {
        Some(row) => {
            let index = row.checked_sub(first_row).map(|index| index as usize).filter(|index| *index < rows.len());
            index.ok_or_else(|| fail(format!("--header-row {row}: sheet {sheet_name:?} has no such row")))?
        }
        None => {
            // The mapped headers, else `prefix`: a title row (often merged cells) never names them all.
            let required: Vec<String> = if mapping.is_empty() {
                vec!["prefix".to_owned()]
            } else {
                mapping.iter().map(|(_, header)| header.clone()).collect()
            };
            rows.iter()
                .take(HEADER_SEARCH_ROWS)
                .position(|cells| required.iter().all(|name| names_header(cells, name)))
                .ok_or_else(|| {
                    fail(format!(
                        "sheet {sheet_name:?} has no row naming {} in its first {HEADER_SEARCH_ROWS} rows (give --header-row N)",
                        required.iter().map(|name| format!("{name:?}")).collect::<Vec<_>>().join(", ")
                    ))
                })?
        }
    };
    let header_row = first_row + header_index as u32;
    let header: Vec<String> = rows[header_index].iter().map(cell_text).collect();
    let mut sources = Vec::new();
    for column in columns {
        let wanted = wanted(column);
        let position = header.iter().position(|name| same_name(name, &wanted));
        let constant = constants.iter().find(|(name, _)| name == column).map(|(_, value)| value.clone());
        match (position, constant) {
            (Some(position), _) => sources.push((*column, Source::Cell(position))),
            (None, Some(value)) => sources.push((*column, Source::Constant(value))),
            (None, None) if mapping.iter().any(|(name, _)| name == column) => {
                return Err(fail(format!(
                    "sheet {sheet_name:?} has no header {wanted:?} (mapped to {column}); headers: {}",
                    header.join(", ")
                )));
            }
            (None, None) => {}
        }
    }
    let sheet_path = std::path::PathBuf::from(format!("{}[{sheet_name}]", path.display()));
    let cell_error = |row: u32, column: &str, value: &str, expected: &str| -> ImportError {
        ImportErrorDetail {
            path: sheet_path.clone(),
            line_number: Some(u64::from(row)),
            column: header
                .iter()
                .position(|name| same_name(name, &wanted(column)))
                .map(|at| (at + 1, column.to_owned())),
            kind: ImportErrorKind::Invalid { value: value.to_owned(), expected: expected.to_owned() },
        }
        .into()
    };
    let prefix_source = sources.iter().position(|(column, _)| *column == "prefix");
    let change_source = sources.iter().position(|(column, _)| *column == "change");
    let mut writer = csv::Writer::from_writer(out);
    let write_error = |error: csv::Error| fail(format!("writing the converted deck: {error}"));
    writer.write_record(sources.iter().map(|(column, _)| *column)).map_err(write_error)?;
    let mut data_rows = Vec::new();
    let mut footer = None;
    for (offset, cells) in rows[header_index + 1..].iter().enumerate() {
        let sheet_row = header_row + 1 + offset as u32;
        let texts: Vec<String> = cells.iter().map(cell_text).collect();
        let filled: Vec<&String> = texts.iter().filter(|text| !text.is_empty()).collect();
        if filled.is_empty() {
            continue;
        }
        let mut record: Vec<String> = sources
            .iter()
            .map(|(_, source)| match source {
                Source::Cell(position) => texts.get(*position).cloned().unwrap_or_default(),
                Source::Constant(value) => value.clone(),
            })
            .collect();
        let prefix_text = prefix_source.map(|at| record[at].clone()).unwrap_or_default();
        let has_code = prefix_text.chars().any(|c| c.is_ascii_digit());
        if !has_code && filled.len() == 1 && !data_rows.is_empty() {
            footer = Some((sheet_row, filled[0].clone()));
            break;
        }
        for (at, (column, _)) in sources.iter().enumerate() {
            let value = record[at].clone();
            match *column {
                "increments" => record[at] = normalize_increments(&value),
                "effective_from" | "effective_to" if !value.is_empty() => {
                    record[at] = normalize_date(&value, layout.date_format.as_deref())
                        .map_err(|expected| cell_error(sheet_row, column, &value, &expected))?;
                }
                _ => {}
            }
        }
        // `Closed`/`Removed` in the rate or change cell: the code ends at the row's date.
        let closed = sources
            .iter()
            .enumerate()
            .any(|(at, (column, _))| matches!(*column, "rate" | "change") && is_closed_marker(&record[at]));
        if closed {
            let Some(change) = change_source else {
                return Err(cell_error(
                    sheet_row,
                    "rate",
                    "Closed",
                    "a rate (a closed code ends a row only in `deck update`: map a `change` column)",
                ));
            };
            record[change] = "closed".to_owned();
            if let Some(rate) = sources.iter().position(|(column, _)| *column == "rate") {
                if is_closed_marker(&record[rate]) {
                    record[rate] = "0".to_owned();
                }
            }
        }
        let codes = match prefix_source {
            Some(_) => expand_codes(&prefix_text)
                .map_err(|expected| cell_error(sheet_row, "prefix", &prefix_text, &expected))?,
            None => vec![String::new()],
        };
        for code in codes {
            if let Some(at) = prefix_source {
                record[at] = code;
            }
            data_rows.push(sheet_row);
            writer.write_record(&record).map_err(write_error)?;
        }
    }
    writer.flush().map_err(|error| fail(format!("writing the converted deck: {error}")))?;
    Ok(SheetInfo { sheet: sheet_name, header_row, data_rows, footer })
}

/// A sheet's rows as cell texts, each with its 1-based sheet row.
pub type SheetRows = Vec<(u32, Vec<String>)>;

/// Every row of a sheet (the first, or `sheet`) as cell texts, with its 1-based sheet row: numbers
/// in their shortest exact decimal form, dates as RFC 3339 instants at UTC (as [`xlsx_to_csv`]
/// reads them). Returns the sheet's name too.
///
/// # Errors
/// When the workbook cannot be read or has no such sheet.
pub fn sheet_rows(path: &Path, sheet: Option<&str>) -> Result<(String, SheetRows), ImportError> {
    let fail = |message: String| ImportError::file(path, ImportErrorKind::Malformed(message));
    let mut workbook =
        calamine::open_workbook_auto(path).map_err(|error| fail(format!("not a readable workbook: {error}")))?;
    let sheet_name = match sheet {
        Some(name) => name.to_owned(),
        None => workbook.sheet_names().first().cloned().ok_or_else(|| fail("the workbook has no sheet".into()))?,
    };
    let range = workbook.worksheet_range(&sheet_name).map_err(|error| {
        fail(format!("sheet {sheet_name:?}: {error} (sheets: {})", workbook.sheet_names().join(", ")))
    })?;
    let first_row = range.start().map_or(1, |(row, _)| row + 1);
    let rows = range
        .rows()
        .enumerate()
        .map(|(offset, cells)| (first_row + offset as u32, cells.iter().map(cell_text).collect()))
        .collect();
    Ok((sheet_name, rows))
}

/// Header names compare trimmed, case-insensitively, with runs of white space as one space.
fn same_name(found: &str, wanted: &str) -> bool {
    let fold = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    fold(found) == fold(wanted)
}

fn is_closed_marker(text: &str) -> bool {
    matches!(text.trim().to_ascii_lowercase().as_str(), "closed" | "removed")
}

/// `60-60`, `60 / 60` and `60/60` all mean first block 60, next 60.
fn normalize_increments(text: &str) -> String {
    let trimmed = text.trim();
    match trimmed.split_once(['-', '/']) {
        Some((first, next)) if !first.trim().is_empty() => format!("{}/{}", first.trim(), next.trim()),
        _ => trimmed.to_owned(),
    }
}

/// A date cell's text as an RFC 3339 instant: already one (a date cell, or text in that form), an
/// ISO date (midnight UTC), or text in the explicit `date_format` (midnight UTC unless the format
/// has a time). Day-first and month-first dates look alike, so they need the format.
fn normalize_date(text: &str, date_format: Option<&str>) -> Result<String, String> {
    if let Some(format) = date_format {
        if let Ok(instant) = jiff::fmt::strtime::parse(format, text)
            .and_then(|parsed| parsed.to_datetime().or_else(|_| parsed.to_date().map(|date| date.at(0, 0, 0, 0))))
        {
            return instant
                .to_zoned(jiff::tz::TimeZone::UTC)
                .map(|zoned| zoned.timestamp().to_string())
                .map_err(|error| error.to_string());
        }
    }
    if let Ok(instant) = text.parse::<jiff::Timestamp>() {
        return Ok(instant.to_string());
    }
    if let Ok(date) = text.parse::<jiff::civil::Date>() {
        return date
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|zoned| zoned.timestamp().to_string())
            .map_err(|e| e.to_string());
    }
    Err(match date_format {
        Some(format) => format!("a date in the format {format:?} given by --date-format"),
        None => "an RFC 3339 instant or a date like 2026-03-01 (give --date-format, e.g. %d/%m/%Y, for other forms)"
            .to_owned(),
    })
}

/// The codes of a prefix cell: one code, several separated by commas, semicolons or spaces
/// (`44, 447, 4479`), or ranges of codes of one length (`1201-1209`), each a string of digits.
/// Import profiles (`reckon-profiles`) expand a deck's code cells with it too.
///
/// # Errors
/// What was expected, when a part is a range that is not two codes of one length, low first,
/// of at most 10,000 codes.
pub fn expand_codes(text: &str) -> Result<Vec<String>, String> {
    let expected = "dial codes (digits), separated by commas, or a range like 1201-1209";
    let mut codes = Vec::new();
    for part in text.split([',', ';', ' ', '\n']).map(str::trim).filter(|part| !part.is_empty()) {
        if let Some((low, high)) = part.split_once('-') {
            let (low, high) = (low.trim(), high.trim());
            let digits = |code: &str| !code.is_empty() && code.bytes().all(|byte| byte.is_ascii_digit());
            if !digits(low) || !digits(high) || low.len() != high.len() || low.len() > 18 {
                return Err(format!("{expected} (a range's two ends have the same number of digits)"));
            }
            let (from, to): (u64, u64) = (low.parse().map_err(|_| expected)?, high.parse().map_err(|_| expected)?);
            if to < from || to - from >= RANGE_CODES_MAX {
                return Err(format!("{expected} (a range of 1 to {RANGE_CODES_MAX} codes, low end first)"));
            }
            codes.extend((from..=to).map(|code| format!("{code:0width$}", width = low.len())));
        } else {
            codes.push(part.to_owned());
        }
    }
    if codes.is_empty() {
        codes.push(String::new()); // The deck reader reports the empty prefix, positioned.
    }
    Ok(codes)
}

enum Source {
    Cell(usize),
    Constant(String),
}

/// A cell as text: numbers in their shortest exact decimal form, dates as UTC instants. Import
/// profiles (`reckon-profiles`) read sheets with it too.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(text) | Data::DateTimeIso(text) | Data::DurationIso(text) => text.trim().to_owned(),
        Data::Int(value) => value.to_string(),
        // Display prints the shortest decimal that reads back as the same double.
        Data::Float(value) => value.to_string(),
        Data::Bool(value) => value.to_string(),
        Data::DateTime(value) => excel_serial_to_rfc3339(value.as_f64()).unwrap_or_else(|| value.as_f64().to_string()),
        Data::Error(error) => format!("#{error:?}"),
    }
}

/// Excel stores dates as days since 1899-12-30 (with the time as the fraction).
fn excel_serial_to_rfc3339(serial: f64) -> Option<String> {
    let seconds = (serial * 86_400.0).round();
    if !seconds.is_finite() || seconds.abs() > 1e12 {
        return None;
    }
    let epoch = jiff::civil::date(1899, 12, 30).at(0, 0, 0, 0).to_zoned(jiff::tz::TimeZone::UTC).ok()?;
    let instant = epoch.timestamp().checked_add(jiff::SignedDuration::from_secs(seconds as i64)).ok()?;
    Some(instant.to_string())
}

/// Rewrites an error about the converted CSV to point at the sheet's rows.
pub fn locate_in_sheet(error: &ImportError, xlsx: &Path, info: &SheetInfo) -> ImportError {
    ImportErrorDetail {
        path: std::path::PathBuf::from(format!("{}[{}]", xlsx.display(), info.sheet)),
        // CSV line 1 is the header row; line 2 on are the data rows, in order.
        line_number: error.line_number.map(|line| match line {
            0 | 1 => u64::from(info.header_row),
            data_line => info.data_rows.get(data_line as usize - 2).map_or(data_line, |row| u64::from(*row)),
        }),
        column: error.column.clone(),
        kind: ImportErrorKind::Malformed(error.reason()),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_dates() {
        // 46082 is 2026-03-01; .5 is noon.
        assert_eq!(excel_serial_to_rfc3339(46082.0).as_deref(), Some("2026-03-01T00:00:00Z"));
        assert_eq!(excel_serial_to_rfc3339(46082.5).as_deref(), Some("2026-03-01T12:00:00Z"));
        assert_eq!(cell_text(&Data::Float(0.012)), "0.012");
        assert_eq!(cell_text(&Data::Float(44.0)), "44");
    }

    #[test]
    fn codes_lists_and_ranges() {
        assert_eq!(expand_codes("44, 447, 4479").unwrap(), ["44", "447", "4479"]);
        assert_eq!(expand_codes("1201-1203").unwrap(), ["1201", "1202", "1203"]);
        assert_eq!(expand_codes("0701-0702; 33").unwrap(), ["0701", "0702", "33"]);
        assert!(expand_codes("1209-1201").is_err());
        assert!(expand_codes("12-1201").is_err());
        assert!(expand_codes("1-99999").is_err());
    }

    #[test]
    fn increments_and_dates_as_decks_write_them() {
        assert_eq!(normalize_increments("60-60"), "60/60");
        assert_eq!(normalize_increments(" 30 / 6 "), "30/6");
        assert_eq!(normalize_increments("1/1"), "1/1");
        assert_eq!(normalize_date("01/03/2026", Some("%d/%m/%Y")).unwrap(), "2026-03-01T00:00:00Z");
        assert_eq!(normalize_date("2026-03-01", None).unwrap(), "2026-03-01T00:00:00Z");
        assert!(normalize_date("01/03/2026", None).unwrap_err().contains("--date-format"));
    }
}
