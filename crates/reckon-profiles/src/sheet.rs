//! Spreadsheet sources (`.xlsx`, `.xlsm`, `.xlsb`, `.xls`, `.ods`): one sheet read as rows, as
//! carriers publish decks. Title rows above the table are skipped (the header is the first row
//! naming every column the profile's required fields read), blank rows are skipped, and so is a
//! row with a single filled cell outside the code column: a section title (`EUROPE`) or a
//! footer (`Rates are subject to change without notice.`), never a deck row; the rows after it
//! are still read, so no data row is lost to a note. A row's line number is its sheet row, so
//! errors point into the sheet. Decks are small: the sheet is held in memory.

use crate::profile::Profile;
use crate::schema::{ColumnRef, SourceFormat, SourceSpec};
use crate::source::SourceReader;
use reckon_import::{ImportError, ImportErrorDetail, ImportErrorKind};
use std::path::Path;

/// Rows searched for the header.
const HEADER_SEARCH_ROWS: usize = 50;

/// The reader of a profile's source: a tariff plan folder (`[rows] tariff_plan`), a spreadsheet
/// (by its extension), else the file as `[source]` describes it.
///
/// # Errors
/// The source cannot be read.
pub(crate) fn open_reader(profile: &Profile, input: &Path, spec: &SourceSpec) -> Result<SourceReader, ImportError> {
    let rows = profile.spec.rows.as_ref();
    if rows.and_then(|rows| rows.tariff_plan.as_deref()) == Some("cgrates") {
        if !crate::cgrates::is_tariff_plan(input) {
            return Err(ImportErrorDetail {
                path: input.to_owned(),
                line_number: None,
                column: None,
                kind: ImportErrorKind::Malformed(format!(
                    "profile {} reads a CGRateS tariff plan folder (with DestinationRates.csv, Rates.csv and \
                     Destinations.csv)",
                    profile.name()
                )),
            }
            .into());
        }
        return Ok(SourceReader::from_table(crate::cgrates::read(input)?));
    }
    // A csv profile given a spreadsheet (an A-Z deck comes either way) reads its table.
    if spec.format == SourceFormat::Csv && is_spreadsheet(input) {
        return Ok(SourceReader::from_table(read(profile, input)?));
    }
    SourceReader::open(input, spec)
}

/// Whether the file is a spreadsheet, by its extension.
pub(crate) fn is_spreadsheet(path: &Path) -> bool {
    path.extension().and_then(|extension| extension.to_str()).is_some_and(|extension| {
        ["xlsx", "xlsm", "xlsb", "xls", "ods"].iter().any(|known| known.eq_ignore_ascii_case(extension))
    })
}

/// A table read whole (a sheet, or a tariff plan's joined files), for the source reader.
pub(crate) struct Table {
    /// What errors name (`deck.xlsx[A-Z]`, a tariff plan's folder).
    pub path: std::path::PathBuf,
    pub header: Vec<String>,
    /// Each data row with its line (a sheet row), in order (blank rows left out), or the error
    /// that row is.
    pub rows: Vec<Result<(u64, Vec<String>), ImportError>>,
    /// The last note row of a sheet's table skipped (its sheet row and text), if any.
    pub footer: Option<(u64, String)>,
}

/// Header names compare trimmed, case-insensitively, with runs of white space as one space.
fn same_name(found: &str, wanted: &str) -> bool {
    let fold = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    fold(found) == fold(wanted)
}

/// Reads the profile's sheet of a spreadsheet.
///
/// # Errors
/// The workbook cannot be read, has no such sheet, or no row of its first 50 names every column
/// the profile's required fields read.
pub(crate) fn read(profile: &Profile, path: &Path) -> Result<Table, ImportError> {
    let sheet = profile.spec.source.sheet.as_deref();
    let (sheet_name, rows) = reckon_import::xlsx::sheet_rows(path, sheet)?;
    let sheet_path = std::path::PathBuf::from(format!("{}[{sheet_name}]", path.display()));
    let wanted = required_names(profile);
    let is_blank = |cells: &[String]| cells.iter().all(|cell| cell.is_empty());
    let header_at = rows
        .iter()
        .take(HEADER_SEARCH_ROWS)
        .position(|(_, cells)| {
            !is_blank(cells) && wanted.iter().all(|name| cells.iter().any(|cell| same_name(cell, name)))
        })
        .ok_or_else(|| -> ImportError {
            ImportErrorDetail {
                path: sheet_path.clone(),
                line_number: None,
                column: None,
                kind: ImportErrorKind::Malformed(format!(
                    "no row of the first {HEADER_SEARCH_ROWS} names the columns {} that profile {} reads",
                    wanted.iter().map(|name| format!("{name:?}")).collect::<Vec<_>>().join(", "),
                    profile.name()
                )),
            }
            .into()
        })?;
    let header: Vec<String> = rows[header_at].1.clone();
    // A single filled cell in the code column is a code, not a footer.
    let code_column =
        profile.spec.fields.get("prefix").and_then(|prefix| prefix.column.as_ref()).and_then(|codes| match codes {
            ColumnRef::Number(number) => number.checked_sub(1),
            ColumnRef::Name(name) => header.iter().position(|cell| same_name(cell, name)),
        });
    let mut table = Table { path: sheet_path, header, rows: Vec::new(), footer: None };
    for (row, cells) in rows.into_iter().skip(header_at + 1) {
        let filled: Vec<usize> = (0..cells.len()).filter(|at| !cells[*at].is_empty()).collect();
        if filled.is_empty() {
            continue;
        }
        if filled.len() == 1 && Some(filled[0]) != code_column {
            table.footer = Some((u64::from(row), cells[filled[0]].clone()));
            continue;
        }
        let mut cells = cells;
        cells.resize(table.header.len().max(cells.len()), String::new());
        table.rows.push(Ok((u64::from(row), cells)));
    }
    Ok(table)
}

/// The column names the profile's required fields read (the header must name them all).
fn required_names(profile: &Profile) -> Vec<String> {
    let target = profile.target();
    let mut names = Vec::new();
    for column in target.columns().iter().filter(|column| column.required) {
        if let Some(field) = profile.spec.fields.get(column.name) {
            let columns = field.column.iter().chain(field.join.iter().flatten());
            for column in columns {
                if let ColumnRef::Name(name) = column {
                    if !names.contains(name) {
                        names.push(name.clone());
                    }
                }
            }
        }
    }
    names
}
