//! `usage.csv`: the platform's own usage records.

use crate::csv_table::{ColumnSpec, Row};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::names::Names;
use crate::parquet::Table;
use crate::{repeated_keys, BadRowPolicy, Loaded, Position, Progress};
use reckon_core::usage::DeliveryStatus;
use reckon_core::UsageRecord;
use std::path::Path;

/// The columns of `usage.csv` in their canonical order (`network` and `status` are Reckon's
/// extensions). Writers and the service's event fields use this list too.
pub const USAGE_COLUMN_NAMES: [&str; USAGE_COLUMN_COUNT] = [
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
    "status",
];

/// How many columns `usage.csv` has (required and optional).
pub const USAGE_COLUMN_COUNT: usize = 11;

/// Whether each of [`USAGE_COLUMN_NAMES`] is required.
const USAGE_COLUMNS_REQUIRED: [bool; USAGE_COLUMN_COUNT] =
    [true, true, true, false, false, true, false, true, true, false, false];

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
    let mut reader = UsageReader::open(path)?;
    let mut loaded = Loaded::default();
    while reader.read_batch(&mut loaded, usize::MAX, policy, progress)? {}
    reject_repeated_ids(path, &mut loaded, policy)?;
    Ok(loaded)
}

/// A usage file (CSV, or Parquet when its name ends in `.parquet`) read batch by batch, so that
/// a caller can stream it. It parses rows; it does not find repeated `record_id`s (that needs the
/// whole file: [`load_usage`] does it in memory, a streaming caller by its own means).
pub struct UsageReader {
    table: Table,
    columns: [Option<usize>; USAGE_COLUMN_COUNT],
    names: Names,
}

impl UsageReader {
    /// Opens a usage file and resolves its columns (a Parquet file's also by type).
    ///
    /// # Errors
    /// The file cannot be read, is empty, lacks a required column, or (Parquet) has a column of
    /// a type that cannot hold its values exactly.
    pub fn open(path: &Path) -> Result<UsageReader, ImportError> {
        let mut table = Table::open(path)?;
        let columns = table.resolve(std::array::from_fn(|index| ColumnSpec {
            name: USAGE_COLUMN_NAMES[index],
            required: USAGE_COLUMNS_REQUIRED[index],
        }))?;
        Ok(UsageReader { table, columns, names: Names::default() })
    }

    /// Appends up to `max_rows` accepted records (with their positions) to `loaded`, bad rows to
    /// its rejections under [`BadRowPolicy::Quarantine`]. Returns `false` once the file is read
    /// to its end.
    ///
    /// # Errors
    /// An I/O error, or under [`BadRowPolicy::Fail`] the first bad row.
    pub fn read_batch(
        &mut self,
        loaded: &mut Loaded<UsageRecord>,
        max_rows: usize,
        policy: BadRowPolicy,
        progress: &mut dyn Progress,
    ) -> Result<bool, ImportError> {
        let mut rows = 0;
        while rows < max_rows {
            let Some(row) = self.table.next_row(progress)? else {
                return Ok(false);
            };
            rows += 1;
            let row = match row {
                Ok(row) => row,
                Err(error) => {
                    loaded.reject(error, policy)?;
                    continue;
                }
            };
            let position = Position { file_index: 0, line_number: row.line_number };
            loaded.accept(usage_record(&row, self.columns, &mut self.names), position, policy)?;
        }
        Ok(true)
    }
}

/// One row's usage record: the one parser of each field, for files and the service's events.
fn usage_record(
    row: &Row<'_>,
    columns: [Option<usize>; USAGE_COLUMN_COUNT],
    names: &mut Names,
) -> Result<UsageRecord, ImportError> {
    let [record_id, service, carrier, carrier_ref, customer, started_at, origin, destination, quantity, network, status] =
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
        status: delivery_status(row, status)?,
    })
}

/// `status`: what the message's delivery receipt says; blank is not given.
fn delivery_status(row: &Row<'_>, column: Option<usize>) -> Result<Option<DeliveryStatus>, ImportError> {
    match row.get(column) {
        None => Ok(None),
        Some(text) => DeliveryStatus::parse(text).map(Some).ok_or_else(|| {
            row.invalid(column, text, "a delivery status: delivered, failed, expired, rejected or unknown")
        }),
    }
}

/// Reads usage events given field by field (the service's HTTP and NATS events) with the same
/// field parsers as `usage.csv` rows, so a value a file refuses is refused here too.
pub struct UsageEventReader {
    header: Vec<String>,
    names: Names,
    /// The event being read, its buffers kept from one event to the next (a record collected
    /// afresh grew them event after event: a measurable share of a batch's ingest).
    record: csv::StringRecord,
}

impl Default for UsageEventReader {
    fn default() -> UsageEventReader {
        UsageEventReader {
            header: USAGE_COLUMN_NAMES.map(str::to_owned).to_vec(),
            names: Names::default(),
            record: csv::StringRecord::new(),
        }
    }
}

impl UsageEventReader {
    /// The record of one event whose fields are given in [`USAGE_COLUMN_NAMES`] order (`None`
    /// or blank: absent). `source` and `number` name the event in the error.
    ///
    /// # Errors
    /// The first field that is missing or does not parse; [`ImportErrorDetail::column`] names it.
    pub fn read(
        &mut self,
        source: &Path,
        number: u64,
        fields: [Option<&str>; USAGE_COLUMN_COUNT],
    ) -> Result<UsageRecord, ImportError> {
        self.record.clear();
        for field in fields {
            self.record.push_field(field.unwrap_or(""));
        }
        let row = Row::detached(source, &self.header, &self.record, number);
        usage_record(&row, std::array::from_fn(Some), &mut self.names)
    }
}

fn reject_repeated_ids(path: &Path, loaded: &mut Loaded<UsageRecord>, policy: BadRowPolicy) -> Result<(), ImportError> {
    let repeats = repeated_keys(&loaded.items, |record| &*record.record_id);
    let mut repeat_indexes = Vec::with_capacity(repeats.len());
    for (first, repeat) in repeats {
        let error = repeated_record_id(
            path,
            &loaded.items[repeat].record_id,
            loaded.positions[repeat].line_number,
            loaded.positions[first].line_number,
        );
        loaded.reject(error, policy)?;
        repeat_indexes.push(repeat);
    }
    loaded.remove_indexes(&repeat_indexes);
    Ok(())
}

/// The error of a row whose `record_id` repeats an earlier row's: the repeat is the bad row.
pub fn repeated_record_id(path: &Path, record_id: &str, line_number: u64, first_line: u64) -> ImportError {
    ImportErrorDetail {
        path: path.to_owned(),
        line_number: Some(line_number),
        column: None,
        kind: ImportErrorKind::Repeated {
            what: format!("record_id {record_id:?}"),
            first_path: path.display().to_string(),
            first_line,
        },
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reckon_core::usage::DeliveryStatus;

    fn load(text: &str) -> Result<Vec<UsageRecord>, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("usage.csv");
        std::fs::write(&path, text).unwrap();
        load_usage(&path, BadRowPolicy::Fail, &mut crate::NoProgress).map(|loaded| loaded.items)
    }

    /// Issue 13: `status` is optional; blank is not given; any case of the five names reads;
    /// anything else is an error naming file, line and column.
    #[test]
    fn issue13_delivery_status_is_read_and_a_bad_one_is_named() {
        let header = "record_id,service,carrier,started_at,destination,quantity,status\n";
        let records = load(&format!(
            "{header}u1,sms,acme,2026-03-02T10:00:00Z,447700000001,1,delivered\n\
             u2,sms,acme,2026-03-02T10:00:00Z,447700000001,1,FAILED\n\
             u3,sms,acme,2026-03-02T10:00:00Z,447700000001,1,\n"
        ))
        .unwrap();
        let statuses: Vec<_> = records.iter().map(|record| record.status).collect();
        assert_eq!(statuses, [Some(DeliveryStatus::Delivered), Some(DeliveryStatus::Failed), None]);
        // Without the column: no status.
        let records =
            load("record_id,service,carrier,started_at,destination,quantity\nu1,sms,acme,2026-03-02T10:00:00Z,44,1\n")
                .unwrap();
        assert_eq!(records[0].status, None);
        let error =
            load(&format!("{header}u1,sms,acme,2026-03-02T10:00:00Z,447700000001,1,sent\n")).unwrap_err().to_string();
        assert!(
            error.contains(
                "usage.csv:2:7: column \"status\": \"sent\" is not a delivery status: delivered, failed, expired, \
                 rejected or unknown"
            ),
            "{error}"
        );
    }

    /// The service's events read `status` with the same parser.
    #[test]
    fn issue13_an_event_status_is_parsed_as_in_a_file() {
        let mut reader = UsageEventReader::default();
        let mut fields: [Option<&str>; USAGE_COLUMN_COUNT] = [
            Some("e1"),
            Some("sms"),
            Some("acme"),
            None,
            None,
            Some("2026-03-02T10:00:00Z"),
            None,
            Some("44"),
            Some("1"),
            None,
            Some("expired"),
        ];
        let record = reader.read(Path::new("event"), 1, fields).unwrap();
        assert_eq!(record.status, Some(DeliveryStatus::Expired));
        fields[10] = Some("lost");
        let error = reader.read(Path::new("event"), 1, fields).unwrap_err();
        assert_eq!(error.column.as_ref().map(|(_, name)| name.as_str()), Some("status"));
    }
}
