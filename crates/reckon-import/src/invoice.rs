//! `invoice.csv`: a carrier's itemised invoice, one line per billed record. Invoices are read as
//! a stream of batches, so a run never holds every line in memory.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::names::Names;
use crate::parquet::Table;
use crate::{BadRowPolicy, Loaded, Position, Progress, Rejection};
use reckon_core::charges::{ChargeLine, ChargeType};
use reckon_core::{bounds, InvoiceLine};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Reads the invoices of a run in the order given, lines in file order, a batch at a time.
///
/// A `(carrier, invoice_id, line_id)` that repeats an earlier line of the run is an error (or a
/// rejection). Lines are remembered by a 128-bit hash of that key and their position, not by
/// the key itself: about 32 bytes per line. Two distinct keys sharing a 128-bit hash (odds
/// around 10^-27 for a million lines) would be reported as a repeat, loudly, never lost.
pub struct InvoiceReader {
    paths: Vec<PathBuf>,
    policy: BadRowPolicy,
    next_file_index: usize,
    open: Option<OpenInvoice>,
    names: Names,
    /// The key of every line read so far, to refuse a repeat as it comes; `None` when the
    /// caller finds repeats itself ([`InvoiceReader::without_repeat_check`]).
    seen: Option<HashMap<u128, Position, rustc_hash::FxBuildHasher>>,
    /// The keys of the charge lines, checked even without `seen` (a caller that finds repeats
    /// itself sees only the usage lines; a repeat between a charge and a usage line is then
    /// not found).
    charge_seen: HashMap<u128, Position, rustc_hash::FxBuildHasher>,
    /// Where each line of the last batch came from.
    pub positions: Vec<Position>,
    /// Rows set aside under [`BadRowPolicy::Quarantine`].
    pub rejected: Vec<Rejection>,
    /// Lines returned so far.
    pub lines_read: u64,
    /// The lines that are not usage (`charge_type` other than `usage`), in file order: they
    /// are not matched to records but checked against the contract terms once the run is in
    /// (`reckon_core::Reconciliation::add_charges`).
    pub charge_lines: Vec<ChargeLine>,
    /// Where each charge line came from.
    pub charge_positions: Vec<Position>,
}

struct OpenInvoice {
    table: Table,
    file_index: u32,
    columns: [Option<usize>; 14],
}

const COLUMNS: [ColumnSpec; 14] = [
    ColumnSpec { name: "carrier", required: true },
    ColumnSpec { name: "invoice_id", required: true },
    ColumnSpec { name: "invoice_date", required: false },
    ColumnSpec { name: "line_id", required: true },
    ColumnSpec { name: "carrier_ref", required: false },
    ColumnSpec { name: "service", required: true },
    ColumnSpec { name: "started_at", required: true },
    ColumnSpec { name: "destination", required: true },
    ColumnSpec { name: "quantity", required: true },
    ColumnSpec { name: "rate", required: false },
    ColumnSpec { name: "amount", required: true },
    ColumnSpec { name: "currency", required: true },
    ColumnSpec { name: "charge_type", required: false },
    ColumnSpec { name: "charge_code", required: false },
];

impl InvoiceReader {
    /// A reader over the files; each is opened when its turn comes.
    pub fn new(paths: &[PathBuf], policy: BadRowPolicy) -> InvoiceReader {
        InvoiceReader {
            paths: paths.to_vec(),
            policy,
            next_file_index: 0,
            open: None,
            names: Names::default(),
            seen: Some(HashMap::default()),
            charge_seen: HashMap::default(),
            positions: Vec::new(),
            rejected: Vec::new(),
            lines_read: 0,
            charge_lines: Vec::new(),
            charge_positions: Vec::new(),
        }
    }

    /// A reader that does not look for repeated line keys: its memory does not grow with the
    /// lines. The caller finds repeats by [`line_key_hash`] and reports them with
    /// [`repeated_line`].
    pub fn without_repeat_check(paths: &[PathBuf], policy: BadRowPolicy) -> InvoiceReader {
        InvoiceReader { seen: None, ..InvoiceReader::new(paths, policy) }
    }

    /// The files read, in order (a [`Position`]'s `file_index` indexes them).
    pub fn paths(&self) -> &[PathBuf] {
        &self.paths
    }

    /// A reader over one invoice file already in hand (an upload); `name` names it in errors.
    ///
    /// # Errors
    /// When the header lacks a required column.
    pub fn from_reader(
        name: &Path,
        input: Box<dyn std::io::Read + Send>,
        policy: BadRowPolicy,
    ) -> Result<InvoiceReader, ImportError> {
        let mut reader = InvoiceReader::new(&[name.to_owned()], policy);
        let mut table = Table::Csv(CsvTable::from_reader(name, input)?);
        let columns = table.resolve(COLUMNS)?;
        reader.open = Some(OpenInvoice { table, file_index: 0, columns });
        reader.next_file_index = 1;
        Ok(reader)
    }

    /// Reads every remaining line at once: the usage lines, and the contract charge lines in
    /// file order (what the ledger stores of an invoice file).
    ///
    /// # Errors
    /// As [`InvoiceReader::next_batch`].
    pub fn read_all_with_charges(
        mut self,
        progress: &mut dyn Progress,
    ) -> Result<(Loaded<InvoiceLine>, Vec<ChargeLine>), ImportError> {
        let mut loaded = Loaded::default();
        loop {
            let batch = self.next_batch(progress, 65_536)?;
            if batch.is_empty() {
                break;
            }
            loaded.items.extend(batch);
        }
        loaded.rejected = self.rejected;
        Ok((loaded, self.charge_lines))
    }

    /// Reads every remaining usage line at once (for small inputs and tests; a batch run
    /// streams). Contract charge lines are refused: a caller that reads them takes
    /// [`InvoiceReader::charge_lines`] after [`InvoiceReader::next_batch`].
    ///
    /// # Errors
    /// As [`InvoiceReader::next_batch`], and the first line that is not usage.
    pub fn read_all(mut self, progress: &mut dyn Progress) -> Result<Loaded<InvoiceLine>, ImportError> {
        let mut loaded = Loaded::default();
        loop {
            let batch = self.next_batch(progress, 65_536)?;
            if batch.is_empty() {
                break;
            }
            loaded.items.extend(batch);
        }
        if let (Some(line), Some(position)) = (self.charge_lines.first(), self.charge_positions.first()) {
            return Err(ImportErrorDetail {
                path: self.paths[position.file_index as usize].clone(),
                line_number: Some(position.line_number),
                column: None,
                kind: ImportErrorKind::Rule(format!(
                    "a {} line: only usage lines are read here; check contract charges with \
                     `reckon reconcile --contract-terms`, or import the invoice into the ledger",
                    line.charge_type.as_str()
                )),
            }
            .into());
        }
        loaded.rejected = self.rejected;
        Ok(loaded)
    }

    /// Reads up to `batch_size_max` lines; an empty batch means every file has been read.
    ///
    /// # Errors
    /// A file-level error, or under [`BadRowPolicy::Fail`] the first bad row: a value that does
    /// not parse, an unknown service, or a line key that repeats across the files.
    pub fn next_batch(
        &mut self,
        progress: &mut dyn Progress,
        batch_size_max: usize,
    ) -> Result<Vec<InvoiceLine>, ImportError> {
        let mut batch = Vec::with_capacity(batch_size_max.min(16_384));
        self.positions.clear();
        while batch.len() < batch_size_max {
            if self.open.is_none() {
                let Some(path) = self.paths.get(self.next_file_index) else {
                    break;
                };
                // CSV, or Parquet when the name ends in `.parquet`: the same columns and rules.
                let mut table = Table::open(path)?;
                let columns = table.resolve(COLUMNS)?;
                self.open = Some(OpenInvoice {
                    table,
                    file_index: u32::try_from(self.next_file_index).expect("fewer than 2^32 files"),
                    columns,
                });
                self.next_file_index += 1;
            }
            let open = self.open.as_mut().expect("opened above");
            let file_index = open.file_index;
            let outcome = match open.table.next_row(progress)? {
                None => {
                    self.open = None;
                    continue;
                }
                Some(Err(error)) => Err(error),
                Some(Ok(row)) => parse_line(&row, &open.columns, &mut self.names).and_then(|line| {
                    let position = Position { file_index, line_number: row.line_number };
                    let (key, seen) = match &line {
                        ParsedLine::Usage(line) => {
                            ([&*line.carrier, &line.invoice_id, line.line_id.as_str()], self.seen.as_mut())
                        }
                        ParsedLine::Charge(line) => (
                            [&*line.carrier, &line.invoice_id, line.line_id.as_str()],
                            Some(self.seen.as_mut().unwrap_or(&mut self.charge_seen)),
                        ),
                    };
                    match seen {
                        Some(seen) => check_unique(seen, &self.paths, key, position),
                        None => Ok(()),
                    }
                    .map(|()| (line, position))
                }),
            };
            match outcome {
                Ok((ParsedLine::Usage(line), position)) => {
                    batch.push(line);
                    self.positions.push(position);
                }
                Ok((ParsedLine::Charge(line), position)) => {
                    self.charge_lines.push(line);
                    self.charge_positions.push(position);
                }
                Err(error) => match self.policy {
                    BadRowPolicy::Fail => return Err(error),
                    BadRowPolicy::Quarantine => self.rejected.push(error.to_rejection()),
                },
            }
        }
        self.lines_read += batch.len() as u64;
        Ok(batch)
    }
}

/// Loads every line of the invoices at once (for small runs and tests; a batch run streams).
///
/// # Errors
/// As [`InvoiceReader::next_batch`].
pub fn load_invoices(
    paths: &[PathBuf],
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<Loaded<InvoiceLine>, ImportError> {
    InvoiceReader::new(paths, policy).read_all(progress)
}

/// A row of `invoice.csv`: a usage line, or a contract charge.
enum ParsedLine {
    Usage(InvoiceLine),
    Charge(ChargeLine),
}

fn parse_line(row: &Row<'_>, columns: &[Option<usize>; 14], names: &mut Names) -> Result<ParsedLine, ImportError> {
    let [carrier, invoice_id, invoice_date, line_id, carrier_ref, service, started_at, destination, quantity, rate, amount, currency, charge_type, charge_code] =
        *columns;
    let charge_type = match row.get(charge_type) {
        None => ChargeType::Usage,
        Some(text) => ChargeType::parse(text).ok_or_else(|| row.invalid(charge_type, text, ChargeType::EXPECTED))?,
    };
    if charge_type != ChargeType::Usage {
        // A charge bills a term, not a record: no destination, reference or quantity is read.
        return Ok(ParsedLine::Charge(ChargeLine {
            carrier: row.name(carrier, names)?,
            invoice_id: row.name(invoice_id, names)?,
            invoice_date: row.optional_date(invoice_date)?,
            line_id: row.id(line_id)?,
            charge_type,
            charge_code: row.optional_id(charge_code),
            service: row.service(service)?,
            started_at: row.usage_timestamp(started_at)?,
            amount: row.bounded_decimal(amount, bounds::check_amount)?,
            currency: row.currency(currency)?,
        }));
    }
    Ok(ParsedLine::Usage(InvoiceLine {
        carrier: row.name(carrier, names)?,
        invoice_id: row.name(invoice_id, names)?,
        invoice_date: row.optional_date(invoice_date)?,
        line_id: row.id(line_id)?,
        carrier_ref: row.optional_id(carrier_ref),
        service: row.service(service)?,
        started_at: row.usage_timestamp(started_at)?,
        destination: row.destination(destination)?,
        quantity: row.bounded_decimal(quantity, bounds::check_quantity)?,
        rate: row.optional_bounded_decimal(rate, bounds::check_rate)?,
        amount: row.bounded_decimal(amount, bounds::check_amount)?,
        currency: row.currency(currency)?,
    }))
}

/// A 128-bit hash of a line's key (carrier, invoice, line id): XXH3-128 of the three parts, each
/// after its length, so that two keys that differ share it with a chance of about 2^-128. (It is
/// computed for every line: one XXH3 pass costs a tenth of the two SipHash runs it replaced.)
pub fn line_key_hash(line: &InvoiceLine) -> u128 {
    key_hash([&line.carrier, &line.invoice_id, &line.line_id])
}

fn key_hash([carrier, invoice_id, line_id]: [&str; 3]) -> u128 {
    const ON_STACK: usize = 256;
    let parts = [carrier.as_bytes(), invoice_id.as_bytes(), line_id.as_bytes()];
    let length = parts.iter().map(|part| 8 + part.len()).sum::<usize>();
    let mut stack = [0_u8; ON_STACK];
    let mut heap = Vec::new();
    let key: &mut [u8] = if length <= ON_STACK {
        &mut stack[..length]
    } else {
        heap.resize(length, 0);
        &mut heap
    };
    let mut at = 0;
    for part in parts {
        key[at..at + 8].copy_from_slice(&(part.len() as u64).to_le_bytes());
        key[at + 8..at + 8 + part.len()].copy_from_slice(part);
        at += 8 + part.len();
    }
    twox_hash::XxHash3_128::oneshot(key)
}

fn check_unique(
    seen: &mut HashMap<u128, Position, rustc_hash::FxBuildHasher>,
    paths: &[PathBuf],
    key: [&str; 3],
    position: Position,
) -> Result<(), ImportError> {
    let first = match seen.entry(key_hash(key)) {
        std::collections::hash_map::Entry::Vacant(vacant) => {
            vacant.insert(position);
            return Ok(());
        }
        std::collections::hash_map::Entry::Occupied(occupied) => *occupied.get(),
    };
    Err(repeated_line(paths, key, position, first))
}

/// The error of a line whose key (carrier, invoice, line id) repeats an earlier line's (at
/// `first`): the repeat is the bad row.
pub fn repeated_line(
    paths: &[PathBuf],
    [carrier, invoice_id, line_id]: [&str; 3],
    position: Position,
    first: Position,
) -> ImportError {
    ImportErrorDetail {
        path: paths[position.file_index as usize].clone(),
        line_number: Some(position.line_number),
        column: None,
        kind: ImportErrorKind::Repeated {
            what: format!("line {line_id:?} of invoice {invoice_id:?} of carrier {carrier:?}"),
            first_path: paths[first.file_index as usize].display().to_string(),
            first_line: first.line_number,
        },
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reckon_core::{Currency, Destination, Service};

    fn line(carrier: &str, invoice_id: &str, line_id: &str) -> InvoiceLine {
        InvoiceLine {
            carrier: carrier.into(),
            invoice_id: invoice_id.into(),
            invoice_date: None,
            line_id: line_id.into(),
            carrier_ref: None,
            service: Service::Sms,
            started_at: jiff::Timestamp::UNIX_EPOCH,
            destination: Destination::from_digits("44").unwrap(),
            quantity: rust_decimal::Decimal::ONE,
            rate: None,
            amount: rust_decimal::Decimal::ONE,
            currency: Currency::parse("EUR").unwrap(),
        }
    }

    #[test]
    fn line_keys_hash_by_all_three_parts_and_their_bounds() {
        assert_eq!(line_key_hash(&line("acme", "INV-1", "7")), line_key_hash(&line("acme", "INV-1", "7")));
        // The same bytes split differently are another key.
        assert_ne!(line_key_hash(&line("acme", "INV-1", "7")), line_key_hash(&line("acme", "INV-17", "")));
        assert_ne!(line_key_hash(&line("acme", "INV-1", "7")), line_key_hash(&line("acm", "eINV-1", "7")));
        assert_ne!(line_key_hash(&line("acme", "INV-1", "7")), line_key_hash(&line("acme", "INV-1", "8")));
        // Keys longer than the stack buffer hash too, by every byte.
        let long = "x".repeat(300);
        assert_eq!(line_key_hash(&line("acme", &long, "1")), line_key_hash(&line("acme", &long, "1")));
        assert_ne!(line_key_hash(&line("acme", &long, "1")), line_key_hash(&line("acme", &long, "2")));
    }
}
