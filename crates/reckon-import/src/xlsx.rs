//! XLSX rate decks: a sheet converted into `rates.csv` columns, given which header holds which
//! column. Cell numbers are taken as the shortest decimal that reads back as the stored double,
//! which is the number the sheet shows (`0.012`, never `0.0120000000000000002`); dates become
//! RFC 3339 instants at UTC.

use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use calamine::{Data, Reader};
use std::io::Write;
use std::path::Path;

/// Where a sheet's header row and data start, for error positions.
#[derive(Clone, Debug)]
pub struct SheetInfo {
    pub sheet: String,
    /// 1-based row of the header in the sheet.
    pub header_row: u32,
    /// The sheet row (1-based) of each data line written, in order (empty rows are skipped).
    pub data_rows: Vec<u32>,
}

/// Writes the sheet (the first one, or `sheet`) as CSV: one column per `columns` name, taken
/// from the header `mapping` names for it (or the column's own name), else from `constants`.
///
/// # Errors
/// When the workbook cannot be read, the sheet does not exist, or a mapped header is absent.
pub fn xlsx_to_csv(
    path: &Path,
    sheet: Option<&str>,
    columns: &[&str],
    mapping: &[(String, String)],
    constants: &[(String, String)],
    out: impl Write,
) -> Result<SheetInfo, ImportError> {
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
    let header_row = range.start().map_or(1, |(row, _)| row + 1);
    let mut rows = range.rows();
    let header: Vec<String> = rows.next().map(|cells| cells.iter().map(cell_text).collect()).unwrap_or_default();
    let mut sources = Vec::new();
    for column in columns {
        let wanted = mapping.iter().find(|(name, _)| name == column).map_or(*column, |(_, header)| header.as_str());
        let position = header.iter().position(|name| name.trim().eq_ignore_ascii_case(wanted.trim()));
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
    let mut writer = csv::Writer::from_writer(out);
    let write_error = |error: csv::Error| fail(format!("writing the converted deck: {error}"));
    writer.write_record(sources.iter().map(|(column, _)| *column)).map_err(write_error)?;
    let mut data_rows = Vec::new();
    for (offset, cells) in rows.enumerate() {
        if cells.iter().all(|cell| matches!(cell, Data::Empty)) {
            continue;
        }
        data_rows.push(header_row + 1 + offset as u32);
        let record: Vec<String> = sources
            .iter()
            .map(|(_, source)| match source {
                Source::Cell(position) => cells.get(*position).map(cell_text).unwrap_or_default(),
                Source::Constant(value) => value.clone(),
            })
            .collect();
        writer.write_record(&record).map_err(write_error)?;
    }
    writer.flush().map_err(|error| fail(format!("writing the converted deck: {error}")))?;
    Ok(SheetInfo { sheet: sheet_name, header_row, data_rows })
}

enum Source {
    Cell(usize),
    Constant(String),
}

/// A cell as text: numbers in their shortest exact decimal form, dates as UTC instants.
fn cell_text(cell: &Data) -> String {
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
}
