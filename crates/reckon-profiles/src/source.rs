//! Reading a source file row by row: delimited rows (csv crate) or lines cut by a pattern.

use crate::schema::{SourceFormat, SourceSpec, UnmatchedLines};
use reckon_import::{ImportError, ImportErrorDetail, ImportErrorKind};
use regex::Regex;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// A row as read: its fields (trimmed on use) and the line it starts on.
pub(crate) enum Read_ {
    Row {
        line_number: u64,
    },
    /// A line the pattern does not match, under `unmatched_lines = "skip"`.
    Unmatched,
    /// A row that cannot be read (a bad CSV row, a line that does not match the pattern):
    /// the next one can still be.
    Bad(ImportError),
}

/// An open source file.
pub(crate) struct SourceReader {
    path: PathBuf,
    kind: ReaderKind,
    /// The header row's names (after a byte-order mark and spaces are removed).
    pub header: Option<Vec<String>>,
    pub strip_quotes: bool,
    display_path: PathBuf,
}

enum ReaderKind {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        /// Lines before the CSV reader's line 1 (`skip_lines`), and the CRLF correction.
        line_offset: u64,
    },
    Sheet {
        rows: std::vec::IntoIter<(u64, Vec<String>)>,
    },
    Lines {
        input: Box<dyn BufRead + Send>,
        pattern: Regex,
        unmatched: UnmatchedLines,
        line_number: u64,
        line: String,
    },
    /// A table read whole (a spreadsheet's sheet, a tariff plan's joined files: `sheet`,
    /// `cgrates`), its rows with their lines.
    Table {
        rows: std::vec::IntoIter<Result<(u64, Vec<String>), ImportError>>,
    },
}

impl SourceReader {
    /// Opens a source file and reads its header when it has one.
    ///
    /// # Errors
    /// The file cannot be read, or its header cannot.
    pub(crate) fn open(path: &Path, spec: &SourceSpec) -> Result<SourceReader, ImportError> {
        if spec.format == SourceFormat::Xlsx {
            return SourceReader::open_sheet(path, spec);
        }
        // std's error: the import error names the path itself (as reckon-import's reader does).
        #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
        let file = std::fs::File::open(path).map_err(|error| file_error(path, error.into()))?;
        let mut input: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, file));
        let mut skipped = 0;
        let mut discard = Vec::new();
        while skipped < spec.skip_lines {
            discard.clear();
            if input.read_until(b'\n', &mut discard).map_err(|error| file_error(path, error.into()))? == 0 {
                break;
            }
            skipped += 1;
        }
        // A byte-order mark (spreadsheets write one) is not part of the first value.
        let head = input.fill_buf().map_err(|error| file_error(path, error.into()))?;
        if head.starts_with("\u{feff}".as_bytes()) {
            input.consume(3);
        }
        let head = input.fill_buf().map_err(|error| file_error(path, error.into()))?;
        // With CRLF line ends the csv crate reports each record one line early (rust-csv
        // issue #395), as reckon-import's reader corrects too.
        let crlf = head.iter().position(|byte| *byte == b'\n').is_some_and(|end| end > 0 && head[end - 1] == b'\r');
        let strip_quotes = spec.strip_quotes;
        match spec.format {
            SourceFormat::Csv => {
                let mut builder = csv::ReaderBuilder::new();
                builder.has_headers(false).flexible(true).delimiter(spec.delimiter.as_bytes()[0]);
                match spec.quote.as_bytes().first() {
                    Some(quote) => builder.quote(*quote),
                    None => builder.quoting(false),
                };
                if let Some(comment) = spec.comment.as_ref().and_then(|comment| comment.as_bytes().first()) {
                    builder.comment(Some(*comment));
                }
                let reader = builder.from_reader(Box::new(input) as Box<dyn Read + Send>);
                let mut source = SourceReader {
                    path: path.to_owned(),
                    kind: ReaderKind::Csv { reader, line_offset: skipped + u64::from(crlf) },
                    header: None,
                    strip_quotes,
                    display_path: path.to_owned(),
                };
                source.read_header(spec.header)?;
                Ok(source)
            }
            SourceFormat::Xlsx => unreachable!("opened by open_sheet"),
            SourceFormat::Lines => {
                let pattern = Regex::new(spec.line_pattern.as_deref().expect("checked")).expect("checked");
                Ok(SourceReader {
                    path: path.to_owned(),
                    kind: ReaderKind::Lines {
                        input,
                        pattern,
                        unmatched: spec.unmatched_lines,
                        line_number: skipped,
                        line: String::new(),
                    },
                    header: None,
                    strip_quotes,
                    display_path: path.to_owned(),
                })
            }
        }
    }

    /// Reads the first row as the header, when the file has one.
    fn read_header(&mut self, header: bool) -> Result<(), ImportError> {
        if !header {
            return Ok(());
        }
        let mut record = csv::StringRecord::new();
        loop {
            match self.next(&mut record)? {
                // Blank rows above a sheet's header are not the header.
                Some(Read_::Row { .. }) if record.iter().all(|field| field.trim().is_empty()) => continue,
                Some(Read_::Row { .. }) => {
                    self.header = Some(record.iter().map(|name| self.clean(name).to_owned()).collect::<Vec<String>>());
                    return Ok(());
                }
                Some(Read_::Bad(error)) => return Err(error),
                _ => return Err(file_error(&self.path, ImportErrorKind::Empty)),
            }
        }
    }

    /// A sheet of a workbook: read whole (calamine reads a sheet at once; decks are small), its
    /// cells as reckon-import's spreadsheet reader writes them (numbers in their shortest
    /// decimal form, dates as UTC instants), rows numbered as the sheet numbers them.
    fn open_sheet(path: &Path, spec: &SourceSpec) -> Result<SourceReader, ImportError> {
        use calamine::Reader as _;
        let fail = |message: String| file_error(path, ImportErrorKind::Malformed(message));
        let mut workbook =
            calamine::open_workbook_auto(path).map_err(|error| fail(format!("not a readable workbook: {error}")))?;
        let sheet = match &spec.sheet {
            Some(name) => name.clone(),
            None => workbook.sheet_names().first().cloned().ok_or_else(|| fail("the workbook has no sheet".into()))?,
        };
        let range = workbook.worksheet_range(&sheet).map_err(|error| {
            fail(format!("sheet {sheet:?}: {error} (sheets: {})", workbook.sheet_names().join(", ")))
        })?;
        let first_row = range.start().map_or(0, |(row, _)| u64::from(row));
        let rows: Vec<(u64, Vec<String>)> = range
            .rows()
            .enumerate()
            .map(|(index, cells)| {
                (first_row + index as u64 + 1, cells.iter().map(reckon_import::xlsx::cell_text).collect())
            })
            .filter(|(line_number, _)| *line_number > spec.skip_lines)
            .collect();
        let mut source = SourceReader {
            path: path.to_owned(),
            kind: ReaderKind::Sheet { rows: rows.into_iter() },
            header: None,
            strip_quotes: spec.strip_quotes,
            display_path: PathBuf::from(format!("{}[{sheet}]", path.display())),
        };
        source.read_header(spec.header)?;
        Ok(source)
    }

    /// How rows are named in messages: the file, or `deck.xlsx[Rates]` for a sheet.
    pub(crate) fn display_path(&self) -> &Path {
        &self.display_path
    }

    /// A reader of a table read whole; its `path` names it in errors.
    pub(crate) fn from_table(table: crate::sheet::Table) -> SourceReader {
        SourceReader {
            display_path: table.path.clone(),
            path: table.path,
            kind: ReaderKind::Table { rows: table.rows.into_iter() },
            header: Some(table.header),
            strip_quotes: false,
        }
    }

    /// The names of a line pattern's groups, in group order (group 1 first).
    pub(crate) fn group_names(&self) -> Option<Vec<String>> {
        match &self.kind {
            ReaderKind::Lines { pattern, .. } => Some(
                pattern
                    .capture_names()
                    .skip(1)
                    .enumerate()
                    .map(|(index, name)| name.map_or_else(|| format!("{}", index + 1), str::to_owned))
                    .collect(),
            ),
            ReaderKind::Csv { .. } | ReaderKind::Sheet { .. } | ReaderKind::Table { .. } => None,
        }
    }

    /// A field's value: trimmed, and unquoted under `strip_quotes`.
    pub(crate) fn clean<'v>(&self, value: &'v str) -> &'v str {
        let value = value.trim();
        if self.strip_quotes && value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            return value[1..value.len() - 1].trim();
        }
        value
    }

    /// Reads the next row into `record`: `Ok(None)` at the end.
    ///
    /// # Errors
    /// When the file cannot be read on (an I/O error).
    pub(crate) fn next(&mut self, record: &mut csv::StringRecord) -> Result<Option<Read_>, ImportError> {
        match &mut self.kind {
            ReaderKind::Table { rows } => Ok(rows.next().map(|row| match row {
                Ok((line_number, cells)) => {
                    record.clear();
                    cells.iter().for_each(|cell| record.push_field(cell));
                    Read_::Row { line_number }
                }
                Err(error) => Read_::Bad(error),
            })),
            ReaderKind::Csv { reader, line_offset } => match reader.read_record(record) {
                Ok(false) => Ok(None),
                Ok(true) => {
                    let line_number = record.position().map_or(0, csv::Position::line) + *line_offset;
                    Ok(Some(Read_::Row { line_number }))
                }
                Err(error) if matches!(error.kind(), csv::ErrorKind::Utf8 { .. }) => {
                    let line_number = error.position().map_or(0, csv::Position::line) + *line_offset;
                    Ok(Some(Read_::Bad(line_error(
                        &self.path,
                        line_number,
                        ImportErrorKind::Malformed("a field is not valid UTF-8 text".to_owned()),
                    ))))
                }
                Err(error) => Err(file_error(&self.path, ImportErrorKind::Malformed(error.to_string()))),
            },
            ReaderKind::Sheet { rows } => Ok(rows.next().map(|(line_number, cells)| {
                record.clear();
                for cell in &cells {
                    record.push_field(cell);
                }
                Read_::Row { line_number }
            })),
            ReaderKind::Lines { input, pattern, unmatched, line_number, line } => loop {
                line.clear();
                let mut bytes = Vec::new();
                if input.read_until(b'\n', &mut bytes).map_err(|error| file_error(&self.path, error.into()))? == 0 {
                    return Ok(None);
                }
                *line_number += 1;
                let Ok(text) = std::str::from_utf8(&bytes) else {
                    return Ok(Some(Read_::Bad(line_error(
                        &self.path,
                        *line_number,
                        ImportErrorKind::Malformed("the line is not valid UTF-8 text".to_owned()),
                    ))));
                };
                let text = text.trim_end_matches(['\n', '\r']);
                if text.trim().is_empty() {
                    continue;
                }
                let Some(captures) = pattern.captures(text) else {
                    return Ok(Some(match unmatched {
                        UnmatchedLines::Skip => Read_::Unmatched,
                        UnmatchedLines::Error => Read_::Bad(line_error(
                            &self.path,
                            *line_number,
                            ImportErrorKind::Invalid {
                                value: text.chars().take(120).collect(),
                                expected: format!("a line matching the profile's line_pattern {:?}", pattern.as_str()),
                            },
                        )),
                    }));
                };
                record.clear();
                for group in captures.iter().skip(1) {
                    record.push_field(group.map_or("", |found| found.as_str()));
                }
                return Ok(Some(Read_::Row { line_number: *line_number }));
            },
        }
    }
}

fn file_error(path: &Path, kind: ImportErrorKind) -> ImportError {
    ImportErrorDetail { path: path.to_owned(), line_number: None, column: None, kind }.into()
}

pub(crate) fn line_error(path: &Path, line_number: u64, kind: ImportErrorKind) -> ImportError {
    ImportErrorDetail { path: path.to_owned(), line_number: Some(line_number), column: None, kind }.into()
}
