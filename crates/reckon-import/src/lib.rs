//! Readers of Reckon's canonical CSV formats (FORMATS.md): `usage.csv`, `rates.csv`,
//! `invoice.csv` and `fx.csv`, into `reckon-core` types; usage and invoices also as Parquet.
//!
//! Files are streamed record by record through a buffered reader, never read whole into one
//! string. Every error names the file, line and column, the value and what was expected. A
//! bad row either stops the load ([`BadRowPolicy::Fail`]) or is quarantined as a
//! [`Rejection`] and counted ([`BadRowPolicy::Quarantine`]); it never vanishes silently.

pub mod alert_rules;
pub mod contract_terms;
pub mod contracts;
mod csv_table;
mod error;
mod field;
pub mod fx;
pub mod holidays;
pub mod invoice;
pub mod invoice_summary;
mod names;
pub mod networks;
pub mod parquet;
pub mod rates;
pub mod usage;
pub mod xlsx;

pub use error::{ImportError, ImportErrorDetail, ImportErrorKind, Position};
pub use field::parse_decimal;

use std::path::PathBuf;

/// What to do with a row that does not parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BadRowPolicy {
    /// Stop at the first bad row with its error.
    Fail,
    /// Set the row aside as a [`Rejection`] and go on.
    Quarantine,
}

/// A row set aside under [`BadRowPolicy::Quarantine`], with why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub path: PathBuf,
    /// 1-based line of the row in its file.
    pub line_number: u64,
    /// The column at fault, when one is.
    pub column: Option<String>,
    /// The offending value, when there is one.
    pub value: Option<String>,
    /// What was wrong and what was expected.
    pub reason: String,
}

/// The rows of a file (or several) that loaded, with the ones set aside.
#[derive(Debug)]
pub struct Loaded<T> {
    pub items: Vec<T>,
    /// Where each item came from, parallel to `items`.
    pub positions: Vec<Position>,
    pub rejected: Vec<Rejection>,
}

impl<T> Default for Loaded<T> {
    fn default() -> Loaded<T> {
        Loaded { items: Vec::new(), positions: Vec::new(), rejected: Vec::new() }
    }
}

/// Hears how far the reading of input files has come.
pub trait Progress {
    /// Bytes read so far from the current file (called now and then, not for every row).
    fn advance_to(&mut self, bytes_read: u64);
    /// The current file has been read to its end; the next call is about another file.
    fn file_finished(&mut self);
}

/// A [`Progress`] that ignores everything.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance_to(&mut self, _bytes_read: u64) {}
    fn file_finished(&mut self) {}
}

impl<T> Loaded<T> {
    /// Handles a row's outcome under `policy`: keeps the item, quarantines the error, or
    /// returns it.
    fn accept(
        &mut self,
        outcome: Result<T, ImportError>,
        position: Position,
        policy: BadRowPolicy,
    ) -> Result<(), ImportError> {
        match outcome {
            Ok(item) => {
                self.items.push(item);
                self.positions.push(position);
                Ok(())
            }
            Err(error) => self.reject(error, policy),
        }
    }

    fn reject(&mut self, error: ImportError, policy: BadRowPolicy) -> Result<(), ImportError> {
        match policy {
            BadRowPolicy::Fail => Err(error),
            BadRowPolicy::Quarantine => {
                self.rejected.push(error.to_rejection());
                Ok(())
            }
        }
    }

    /// Drops the items at the given indexes, keeping the order of the rest.
    fn remove_indexes(&mut self, indexes: &[usize]) {
        if indexes.is_empty() {
            return;
        }
        let mut remove = vec![false; self.items.len()];
        for index in indexes {
            remove[*index] = true;
        }
        let mut index = 0;
        self.items.retain(|_| {
            index += 1;
            !remove[index - 1]
        });
        let mut index = 0;
        self.positions.retain(|_| {
            index += 1;
            !remove[index - 1]
        });
    }
}

/// Indexes `(first, repeat)` of items whose key repeats an earlier item's, in order of the
/// repeats. Sorting indexes keeps the memory cost at a few bytes per item.
fn repeated_keys<'a, T, K: Ord>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    // Stable: among equal keys, the earliest item comes first.
    order.sort_by(|a, b| key(&items[*a]).cmp(&key(&items[*b])));
    let mut repeats = Vec::new();
    let mut first = None;
    for window in order.windows(2) {
        if key(&items[window[0]]) == key(&items[window[1]]) {
            let first_index = *first.get_or_insert(window[0]);
            repeats.push((first_index, window[1]));
        } else {
            first = None;
        }
    }
    repeats.sort_by_key(|(_, repeat)| *repeat);
    repeats
}
