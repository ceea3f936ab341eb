//! `usage.csv`: the platform's own usage records.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::names::Names;
use crate::{repeated_keys, BadRowPolicy, Loaded, Position, Progress};
use reckon_core::UsageRecord;
use std::path::Path;

/// The columns of `usage.csv` in their canonical order (`network` is Reckon's extension).
/// Writers and the service's event fields use this list too.
pub const USAGE_COLUMN_NAMES: [&str; 10] = [
    "record_id",
    "service",
    "carrier",
    "carrier_ref",
    "customer",
    "started_at",
    "origin",
    "destination",
    "quantity",
    "network",
];

/// Whether each of [`USAGE_COLUMN_NAMES`] is required.
pub(crate) const USAGE_COLUMNS_REQUIRED: [bool; 10] = [true, true, true, false, false, true, false, true, true, false];

/// Loads a usage file (CSV, or Parquet when its name ends in `.parquet`): every row parsed, in
/// file order.
///
/// # Errors
/// A file-level error (unreadable, empty, a missing column), or under [`BadRowPolicy::Fail`] the
/// first bad row: a value that does not parse, an unknown service, a negative quantity, or a
/// `record_id` that repeats an earlier row's.
pub fn load_usage(
    path: &Path,
    policy: BadRowPolicy,
    progress: &mut dyn Progress,
) -> Result<Loaded<UsageRecord>, ImportError> {
    if crate::parquet::is_parquet(path) {
        let mut reader = crate::parquet::ParquetUsageReader::open(path)?;
        let mut loaded = Loaded::default();
        while reader.read_batch(&mut loaded, 65_536, policy, progress)? {}
        reject_repeated_ids(path, &mut loaded, policy)?;
        return Ok(loaded);
    }
    let mut table = CsvTable::open(path)?;
    let [record_id, service, carrier, carrier_ref, customer, started_at, origin, destination, quantity, network] =
        table.resolve(std::array::from_fn(|index| ColumnSpec {
            name: USAGE_COLUMN_NAMES[index],
            required: USAGE_COLUMNS_REQUIRED[index],
        }))?;
    let mut loaded = Loaded::default();
    let mut names = Names::default();
    while let Some(row) = table.next_row(progress)? {
        let row = match row {
            Ok(row) => row,
            Err(error) => {
                loaded.reject(error, policy)?;
                continue;
            }
        };
        let position = Position { file_index: 0, line_number: row.line_number };
        let columns =
            [record_id, service, carrier, carrier_ref, customer, started_at, origin, destination, quantity, network];
        loaded.accept(usage_record(&row, columns, &mut names), position, policy)?;
    }
    reject_repeated_ids(path, &mut loaded, policy)?;
    Ok(loaded)
}

/// One row's usage record: the one parser of each field, for files and the service's events.
pub(crate) fn usage_record(
    row: &Row<'_>,
    columns: [Option<usize>; 10],
    names: &mut Names,
) -> Result<UsageRecord, ImportError> {
    let [record_id, service, carrier, carrier_ref, customer, started_at, origin, destination, quantity, network] =
        columns;
    Ok(UsageRecord {
        record_id: row.id(record_id)?,
        service: row.service(service)?,
        carrier: row.name(carrier, names)?,
        carrier_ref: row.optional_id(carrier_ref),
        customer: row.optional_name(customer, names),
        started_at: row.usage_timestamp(started_at)?,
        origin: row.optional_destination(origin)?,
        destination: row.destination(destination)?,
        quantity: row.non_negative_decimal(quantity)?,
        network: row.network(network)?,
    })
}

/// Reads usage events given field by field (the service's HTTP and NATS events) with the same
/// field parsers as `usage.csv` rows, so a value a file refuses is refused here too.
pub struct UsageEventReader {
    header: Vec<String>,
    names: Names,
}

impl Default for UsageEventReader {
    fn default() -> UsageEventReader {
        UsageEventReader { header: USAGE_COLUMN_NAMES.map(str::to_owned).to_vec(), names: Names::default() }
    }
}

impl UsageEventReader {
    /// The record of one event whose fields are given in [`USAGE_COLUMN_NAMES`] order (`None`
    /// or blank: absent). `source` and `number` name the event in the error.
    ///
    /// # Errors
    /// The first field that is missing or does not parse; [`ImportErrorDetail::column`] names it.
    pub fn read(&mut self, source: &Path, number: u64, fields: [Option<&str>; 10]) -> Result<UsageRecord, ImportError> {
        let record: csv::StringRecord = fields.iter().map(|field| field.unwrap_or("")).collect();
        let row = Row::detached(source, &self.header, &record, number);
        usage_record(&row, std::array::from_fn(Some), &mut self.names)
    }
}

fn reject_repeated_ids(path: &Path, loaded: &mut Loaded<UsageRecord>, policy: BadRowPolicy) -> Result<(), ImportError> {
    let repeats = repeated_keys(&loaded.items, |record| &*record.record_id);
    let mut repeat_indexes = Vec::with_capacity(repeats.len());
    for (first, repeat) in repeats {
        let error = ImportErrorDetail {
            path: path.to_owned(),
            line_number: Some(loaded.positions[repeat].line_number),
            column: None,
            kind: ImportErrorKind::Repeated {
                what: format!("record_id {:?}", loaded.items[repeat].record_id),
                first_path: path.display().to_string(),
                first_line: loaded.positions[first].line_number,
            },
        }
        .into();
        loaded.reject(error, policy)?;
        repeat_indexes.push(repeat);
    }
    loaded.remove_indexes(&repeat_indexes);
    Ok(())
}
