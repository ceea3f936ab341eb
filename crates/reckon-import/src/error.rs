//! Import errors, each with the file, line and column it is about.

use crate::Rejection;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where in a file something is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// Index of the file among the files of one load (0 for a single file).
    pub file_index: u32,
    /// 1-based line where the row starts.
    pub line_number: u64,
}

/// An input error: `path:line:column: column "name": what`. Boxed, so that the `Result`s of
/// the per-field parsers on the hot path stay small.
#[derive(Debug)]
pub struct ImportError(Box<ImportErrorDetail>);

/// The parts of an [`ImportError`].
#[derive(Debug)]
pub struct ImportErrorDetail {
    pub path: PathBuf,
    /// 1-based line, when the error is about a row (or the header, line 1).
    pub line_number: Option<u64>,
    /// 1-based column number and name, when the error is about one field.
    pub column: Option<(usize, String)>,
    pub kind: ImportErrorKind,
}

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum ImportErrorKind {
    /// The cause is printed here, once: the error has no `source`, so that a chain printed with
    /// `{:#}` does not repeat it (an `fs_err` error would also repeat the path).
    #[error("cannot read the file: {}", root_cause(.0))]
    Io(std::io::Error),
    #[error("the file is empty: expected a header row naming the columns")]
    Empty,
    #[error("not valid CSV: {0}")]
    Malformed(String),
    /// Valid CSV whose values break a rule of the format (a band that overlaps another, a
    /// carrier listed twice, an alert rule that cannot watch its subject).
    #[error("{0}")]
    Rule(String),
    #[error("missing required column {name:?} (the header has: {found})")]
    MissingColumn { name: &'static str, found: String },
    #[error("the header names column {0:?} twice")]
    RepeatedColumn(String),
    #[error("a value is required")]
    MissingValue,
    #[error("{value:?} is not {expected}")]
    Invalid { value: String, expected: String },
    #[error("{what} repeats line {first_line} of {first_path}")]
    Repeated { what: String, first_path: String, first_line: u64 },
    #[error("not a readable Parquet file: {0}")]
    Parquet(String),
    /// A Parquet column whose type cannot hold the column's values exactly (a float quantity).
    #[error("a column of type {found} is not accepted here: expected {expected}")]
    ColumnType { found: String, expected: &'static str },
}

impl From<std::io::Error> for ImportErrorKind {
    fn from(error: std::io::Error) -> ImportErrorKind {
        ImportErrorKind::Io(error)
    }
}

/// The innermost cause of an I/O error: for an error `fs_err` wrapped with its path (which the
/// import error names already), the operating system's error.
fn root_cause(error: &std::io::Error) -> &(dyn std::error::Error + 'static) {
    let mut cause: &(dyn std::error::Error + 'static) = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause
}

impl From<ImportErrorDetail> for ImportError {
    fn from(detail: ImportErrorDetail) -> ImportError {
        ImportError(Box::new(detail))
    }
}

impl std::ops::Deref for ImportError {
    type Target = ImportErrorDetail;

    fn deref(&self) -> &ImportErrorDetail {
        &self.0
    }
}

impl ImportError {
    pub(crate) fn file(path: &Path, kind: ImportErrorKind) -> ImportError {
        ImportErrorDetail { path: path.to_owned(), line_number: None, column: None, kind }.into()
    }

    pub(crate) fn at_line(path: &Path, line_number: u64, kind: ImportErrorKind) -> ImportError {
        ImportErrorDetail { path: path.to_owned(), line_number: Some(line_number), column: None, kind }.into()
    }

    /// Moves the error's line on by `lines` (a correction of the reader's count).
    pub(crate) fn shift_line(&mut self, lines: u64) {
        if let Some(line) = self.0.line_number.as_mut() {
            *line += lines;
        }
    }

    /// The offending value, when the error is about one.
    pub fn value(&self) -> Option<&str> {
        match &self.kind {
            ImportErrorKind::Invalid { value, .. } => Some(value),
            _ => None,
        }
    }

    /// What was wrong, without the position (for a rejects file's `reason` column).
    pub fn reason(&self) -> String {
        self.kind.to_string()
    }

    /// The row set aside for this error (under [`crate::BadRowPolicy::Quarantine`]).
    pub fn to_rejection(&self) -> Rejection {
        Rejection {
            path: self.path.clone(),
            line_number: self.line_number.unwrap_or(0),
            column: self.column.as_ref().map(|(_, name)| name.clone()),
            value: self.value().map(str::to_owned),
            reason: self.reason(),
        }
    }
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if crate::parquet::is_parquet(&self.path) {
            // A Parquet file has rows but no lines, and its columns go by name, not by place.
            if let Some(line_number) = self.line_number {
                write!(f, ": row {line_number}")?;
            }
            if let Some((_, name)) = &self.column {
                write!(f, ": column {name:?}")?;
            }
            return write!(f, ": {}", self.kind);
        }
        if let Some(line_number) = self.line_number {
            write!(f, ":{line_number}")?;
        }
        if let Some((number, name)) = &self.column {
            write!(f, ":{number}: column {name:?}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

/// No `source`: the message already ends with the cause (see [`ImportErrorKind::Io`]).
impl std::error::Error for ImportError {}
