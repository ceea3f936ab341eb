//! A CSV file read row by row, with its columns resolved by name from the header.

use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::Progress;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

/// How often (in rows) the reader reports progress.
const PROGRESS_EVERY_ROWS: u64 = 16_384;

/// An open CSV file with a header.
pub(crate) struct CsvTable {
    path: PathBuf,
    reader: csv::Reader<Box<dyn Read + Send>>,
    header: Vec<String>,
    record: csv::StringRecord,
    rows_read: u64,
    /// Lines end in CRLF: the csv crate then reports each record one line early (it starts the
    /// record at the `\n` left of the previous terminator; rust-csv issue #395).
    crlf: bool,
}

/// A column the format knows, and whether a file must have it.
pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub required: bool,
}

/// One data row of a [`CsvTable`] (or fields given one by one, like the service's events),
/// with errors that name its position.
pub(crate) struct Row<'t> {
    path: &'t Path,
    header: &'t [String],
    record: &'t csv::StringRecord,
    pub line_number: u64,
}

impl CsvTable {
    /// Opens a file and reads its header.
    pub fn open(path: &Path) -> Result<CsvTable, ImportError> {
        // std's error, not fs_err's: the import error names the path itself, and fs_err's
        // message ("failed to open file `path`: cause") would name it a second time (issue 13,
        // item 8).
        #[allow(clippy::disallowed_methods, clippy::disallowed_types)]
        let file = std::fs::File::open(path).map_err(|error| ImportError::file(path, error.into()))?;
        CsvTable::from_reader(path, Box::new(file))
    }

    /// Reads CSV from any reader; `name` stands for the file in messages.
    pub fn from_reader(name: &Path, input: Box<dyn Read + Send>) -> Result<CsvTable, ImportError> {
        let path = name;
        let mut input = BufReader::with_capacity(1 << 16, input);
        let crlf = {
            let head = input.fill_buf().map_err(|error| ImportError::file(path, error.into()))?;
            head.iter().position(|byte| *byte == b'\n').is_some_and(|end| end > 0 && head[end - 1] == b'\r')
        };
        let input: Box<dyn Read + Send> = Box::new(input);
        let mut reader =
            csv::ReaderBuilder::new().has_headers(true).flexible(false).buffer_capacity(1 << 16).from_reader(input);
        let header = reader
            .headers()
            .map_err(|error| csv_error(path, error))?
            .iter()
            .map(|name| name.trim_start_matches('\u{feff}').trim().to_owned())
            .collect::<Vec<_>>();
        if header.is_empty() || header.iter().all(String::is_empty) {
            return Err(ImportError::file(path, ImportErrorKind::Empty));
        }
        for (index, name) in header.iter().enumerate() {
            if !name.is_empty() && header[..index].contains(name) {
                return Err(ImportError::at_line(path, 1, ImportErrorKind::RepeatedColumn(name.clone())));
            }
        }
        Ok(CsvTable { path: path.to_owned(), reader, header, record: csv::StringRecord::new(), rows_read: 0, crlf })
    }

    /// Resolves the format's columns to positions in this file: `None` for an absent optional
    /// column.
    ///
    /// # Errors
    /// When a required column is absent.
    pub fn resolve<const N: usize>(&self, columns: [ColumnSpec; N]) -> Result<[Option<usize>; N], ImportError> {
        let mut resolved = [None; N];
        for (slot, spec) in resolved.iter_mut().zip(columns) {
            *slot = self.header.iter().position(|name| name == spec.name);
            if slot.is_none() && spec.required {
                return Err(ImportError::at_line(
                    &self.path,
                    1,
                    ImportErrorKind::MissingColumn { name: spec.name, found: self.header.join(",") },
                ));
            }
        }
        Ok(resolved)
    }

    /// The header's column names (a byte-order mark and spaces removed).
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Reads the next row: `Ok(None)` at the end of the file, `Ok(Some(Err(..)))` for a row
    /// that is not valid CSV (the next one can still be read).
    ///
    /// # Errors
    /// When the file cannot be read on (an I/O error): nothing after it can be trusted.
    pub fn next_row(
        &mut self,
        progress: &mut dyn Progress,
    ) -> Result<Option<Result<Row<'_>, ImportError>>, ImportError> {
        match self.reader.read_record(&mut self.record) {
            Ok(false) => {
                progress.advance_to(self.reader.position().byte());
                progress.file_finished();
                Ok(None)
            }
            Ok(true) => {
                self.rows_read += 1;
                if self.rows_read % PROGRESS_EVERY_ROWS == 0 {
                    progress.advance_to(self.reader.position().byte());
                }
                let line_number = self.record.position().map_or(0, csv::Position::line) + u64::from(self.crlf);
                Ok(Some(Ok(Row { path: &self.path, header: &self.header, record: &self.record, line_number })))
            }
            Err(error)
                if matches!(error.kind(), csv::ErrorKind::UnequalLengths { .. } | csv::ErrorKind::Utf8 { .. }) =>
            {
                let mut error = csv_error(&self.path, error);
                error.shift_line(u64::from(self.crlf));
                Ok(Some(Err(error)))
            }
            Err(error) => Err(csv_error(&self.path, error)),
        }
    }
}

impl<'t> Row<'t> {
    /// A row of fields that come from elsewhere than a file, named by `header`; `path` and
    /// `line_number` stand for where they come from in messages.
    pub fn detached(path: &'t Path, header: &'t [String], record: &'t csv::StringRecord, line_number: u64) -> Row<'t> {
        Row { path, header, record, line_number }
    }

    /// The trimmed value of a column; `None` when the column is absent or the value empty.
    /// (Trimming here, per field read, is cheaper than the reader's whole-record trim.)
    pub fn get(&self, column: Option<usize>) -> Option<&str> {
        let value = self.record.get(column?)?;
        // Most fields start and end with a visible ASCII character: nothing to trim, and
        // `str::trim` would look at them as Unicode.
        let bounded_by_visible_ascii = |value: &str| {
            value.as_bytes().first().is_some_and(u8::is_ascii_graphic)
                && value.as_bytes().last().is_some_and(u8::is_ascii_graphic)
        };
        let value = if bounded_by_visible_ascii(value) { value } else { value.trim() };
        (!value.is_empty()).then_some(value)
    }

    /// The value of a required column.
    pub fn required(&self, column: Option<usize>) -> Result<&str, ImportError> {
        self.get(column).ok_or_else(|| self.error(column, ImportErrorKind::MissingValue))
    }

    /// An error about one field of this row (or the whole row when `column` is `None`).
    pub fn error(&self, column: Option<usize>, kind: ImportErrorKind) -> ImportError {
        ImportErrorDetail {
            path: self.path.to_owned(),
            line_number: Some(self.line_number),
            column: column.map(|index| (index + 1, self.header[index].clone())),
            kind,
        }
        .into()
    }

    /// An error for a value that does not parse as `expected`.
    pub fn invalid(&self, column: Option<usize>, value: &str, expected: &str) -> ImportError {
        self.error(column, ImportErrorKind::Invalid { value: value.to_owned(), expected: expected.to_owned() })
    }
}

fn csv_error(path: &Path, error: csv::Error) -> ImportError {
    let line_number = error.position().map(csv::Position::line);
    let kind = match error.kind() {
        csv::ErrorKind::Io(_) => match error.into_kind() {
            csv::ErrorKind::Io(io) => ImportErrorKind::Io(io),
            _ => unreachable!("matched as Io above"),
        },
        csv::ErrorKind::Utf8 { .. } => ImportErrorKind::Malformed("a field is not valid UTF-8 text".to_owned()),
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => {
            ImportErrorKind::Malformed(format!("the row has {len} fields, expected {expected_len} like the header"))
        }
        _ => ImportErrorKind::Malformed(error.to_string()),
    };
    ImportErrorDetail { path: path.to_owned(), line_number, column: None, kind }.into()
}
