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
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("the file is empty: expected a header row naming the columns")]
    Empty,
    #[error("not valid CSV: {0}")]
    Malformed(String),
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

    pub(crate) fn to_rejection(&self) -> Rejection {
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
        if let Some(line_number) = self.line_number {
            write!(f, ":{line_number}")?;
        }
        if let Some((number, name)) = &self.column {
            write!(f, ":{number}: column {name:?}")?;
        }
        write!(f, ": {}", self.kind)
    }
}

impl std::error::Error for ImportError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.0.kind {
            ImportErrorKind::Io(error) => Some(error),
            _ => None,
        }
    }
}
