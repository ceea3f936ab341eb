//! Parquet files in the canonical shapes (FORMATS.md, "Parquet"): usage and invoices read with
//! the field parsers of their CSV forms.
//!
//! Each value is first written as the text its CSV form would hold (a decimal's exact digits, an
//! integer's, a timestamp's RFC 3339 instant) and then parsed by the CSV row's parser, so every
//! value a CSV row refuses is refused here, with the same message. A column whose type cannot
//! hold its values exactly (a float quantity) is refused when the file is opened, naming the
//! column. Only the columns the format knows are decoded.

use crate::csv_table::{ColumnSpec, CsvTable, Row};
use crate::error::{ImportError, ImportErrorDetail, ImportErrorKind};
use crate::Progress;
use ::parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use ::parquet::arrow::ProjectionMask;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Date32Type, Date64Type, Decimal128Type, Decimal32Type, Decimal64Type, Int16Type, Int32Type, Int64Type, Int8Type,
    TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType, TimestampSecondType, UInt16Type,
    UInt32Type, UInt64Type, UInt8Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Rows decoded at a time: large enough to amortise the decoder's per-batch work, small enough
/// that a batch of ten string columns stays a few MB.
const DECODE_BATCH_ROWS: usize = 8_192;
/// How often (in rows) the reader reports progress, as the CSV reader does.
const PROGRESS_EVERY_ROWS: u64 = 16_384;

/// Whether a file is read as Parquet (and its positions named as rows): its name ends in
/// `.parquet`, in any case. Every other file is read as CSV.
pub fn is_parquet(path: &Path) -> bool {
    path.extension().is_some_and(|extension| extension.eq_ignore_ascii_case("parquet"))
}

/// A table of rows read from CSV or Parquet, chosen by the file's extension ([`is_parquet`]).
///
/// Parquet rows are numbered as the same data written as CSV would number its lines: the first
/// row of data is row 2 (row 1 being the header the Parquet schema stands for), so a record's
/// position, its messages and `rejected.csv` read alike whichever form the input came in.
// One per open file: the size of the variants does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Table {
    Csv(CsvTable),
    Parquet(Box<ParquetTable>),
}

impl Table {
    /// Opens a file as CSV or, when its name ends in `.parquet`, as Parquet.
    pub fn open(path: &Path) -> Result<Table, ImportError> {
        if is_parquet(path) {
            ParquetTable::open(path).map(|table| Table::Parquet(Box::new(table)))
        } else {
            CsvTable::open(path).map(Table::Csv)
        }
    }

    /// As [`CsvTable::resolve`]; a Parquet table also checks the columns' types.
    pub fn resolve<const N: usize>(&mut self, columns: [ColumnSpec; N]) -> Result<[Option<usize>; N], ImportError> {
        match self {
            Table::Csv(table) => table.resolve(columns),
            Table::Parquet(table) => table.resolve(columns),
        }
    }

    /// As [`CsvTable::next_row`].
    pub fn next_row(
        &mut self,
        progress: &mut dyn Progress,
    ) -> Result<Option<Result<Row<'_>, ImportError>>, ImportError> {
        match self {
            Table::Csv(table) => table.next_row(progress),
            Table::Parquet(table) => table.next_row(progress),
        }
    }
}

/// An open Parquet file whose rows are handed out as [`Row`]s of text, one field per top-level
/// column (the columns not read stay empty).
pub(crate) struct ParquetTable {
    path: PathBuf,
    /// The names of the top-level columns, in file order.
    header: Vec<String>,
    data_types: Vec<DataType>,
    /// The decoder, until [`ParquetTable::resolve`] picks the columns to read.
    builder: Option<ParquetRecordBatchReaderBuilder<std::fs::File>>,
    batches: Option<ParquetRecordBatchReader>,
    /// The columns read (header index and kind of value), in file order, as a batch holds them.
    read_columns: Vec<(usize, ValueKind)>,
    batch: Vec<ArrayRef>,
    batch_row_count: usize,
    batch_row_index: usize,
    rows_read: u64,
    rows_total: u64,
    file_bytes: u64,
    record: csv::StringRecord,
    text: String,
}

/// What a column holds, which decides the Parquet types it may have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ValueKind {
    /// Names, ids, numbers to dial, codes.
    Text,
    /// Quantities, rates, amounts: exact decimals.
    Number,
    /// `started_at`.
    Instant,
    /// `invoice_date`.
    Date,
}

impl ValueKind {
    /// The kind of a canonical column, by its name.
    fn of_column(name: &str) -> ValueKind {
        match name {
            "started_at" => ValueKind::Instant,
            "invoice_date" => ValueKind::Date,
            "quantity" | "rate" | "amount" => ValueKind::Number,
            _ => ValueKind::Text,
        }
    }

    fn accepts(self, data_type: &DataType) -> bool {
        let string = matches!(data_type, DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View);
        match self {
            ValueKind::Text => string || data_type.is_integer(),
            ValueKind::Number => {
                string
                    || data_type.is_integer()
                    || matches!(data_type, DataType::Decimal32(..) | DataType::Decimal64(..) | DataType::Decimal128(..))
            }
            ValueKind::Instant => string || matches!(data_type, DataType::Timestamp(..)),
            ValueKind::Date => string || matches!(data_type, DataType::Date32 | DataType::Date64),
        }
    }

    fn expected(self) -> &'static str {
        match self {
            ValueKind::Text => "a string or integer column",
            ValueKind::Number => {
                "a decimal (Decimal128), integer or string column (floats are not exact: write the values as decimals)"
            }
            ValueKind::Instant => {
                "a timestamp column (any unit; one without a time zone is read as UTC) or a string column of RFC 3339 timestamps"
            }
            ValueKind::Date => "a date (Date32 or Date64) or string column",
        }
    }
}

impl ParquetTable {
    /// Opens a file and reads its schema.
    pub fn open(path: &Path) -> Result<ParquetTable, ImportError> {
        let file = fs_err::File::open(path).map_err(|error| ImportError::file(path, error.into()))?;
        let file_bytes = file.metadata().map_err(|error| ImportError::file(path, error.into()))?.len();
        let builder = ParquetRecordBatchReaderBuilder::try_new(file.into_parts().0)
            .map_err(|error| parquet_error(path, &error))?;
        let schema = builder.schema().clone();
        let header: Vec<String> = schema.fields().iter().map(|field| field.name().trim().to_owned()).collect();
        if header.is_empty() {
            return Err(ImportError::file(path, ImportErrorKind::Empty));
        }
        for (index, name) in header.iter().enumerate() {
            if header[..index].contains(name) {
                return Err(ImportError::file(path, ImportErrorKind::RepeatedColumn(name.clone())));
            }
        }
        let rows_total = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
        let column_count = header.len();
        Ok(ParquetTable {
            path: path.to_owned(),
            header,
            data_types: schema.fields().iter().map(|field| field.data_type().clone()).collect(),
            builder: Some(builder),
            batches: None,
            read_columns: Vec::new(),
            batch: Vec::new(),
            batch_row_count: 0,
            batch_row_index: 0,
            rows_read: 0,
            rows_total,
            file_bytes,
            record: csv::StringRecord::with_capacity(256, column_count),
            text: String::new(),
        })
    }

    /// Resolves the format's columns by name, checks each one's type, and starts decoding
    /// them (only them). Called once.
    ///
    /// # Errors
    /// A required column absent, or a column of a type its values do not fit exactly.
    pub fn resolve<const N: usize>(&mut self, columns: [ColumnSpec; N]) -> Result<[Option<usize>; N], ImportError> {
        let mut resolved = [None; N];
        for (slot, spec) in resolved.iter_mut().zip(columns) {
            *slot = self.header.iter().position(|name| name == spec.name);
            let Some(index) = *slot else {
                if spec.required {
                    let found = self.header.join(",");
                    return Err(ImportError::file(
                        &self.path,
                        ImportErrorKind::MissingColumn { name: spec.name, found },
                    ));
                }
                continue;
            };
            let kind = ValueKind::of_column(spec.name);
            let data_type = match &self.data_types[index] {
                DataType::Dictionary(_, values) => values.as_ref(),
                data_type => data_type,
            };
            if !kind.accepts(data_type) {
                return Err(ImportErrorDetail {
                    path: self.path.clone(),
                    line_number: None,
                    column: Some((index + 1, spec.name.to_owned())),
                    kind: ImportErrorKind::ColumnType { found: data_type.to_string(), expected: kind.expected() },
                }
                .into());
            }
            self.read_columns.push((index, kind));
        }
        self.read_columns.sort_unstable_by_key(|(index, _)| *index);
        let builder = self.builder.take().expect("a table's columns are resolved once");
        let mask = ProjectionMask::roots(builder.parquet_schema(), self.read_columns.iter().map(|(index, _)| *index));
        let batches = builder
            .with_projection(mask)
            .with_batch_size(DECODE_BATCH_ROWS)
            .build()
            .map_err(|error| parquet_error(&self.path, &error))?;
        self.batches = Some(batches);
        Ok(resolved)
    }

    /// Reads the next row: `Ok(None)` at the end of the file, `Ok(Some(Err(..)))` for a row
    /// with a value no text stands for (a timestamp out of range).
    ///
    /// # Errors
    /// When the file cannot be decoded on: nothing after it can be trusted.
    pub fn next_row(
        &mut self,
        progress: &mut dyn Progress,
    ) -> Result<Option<Result<Row<'_>, ImportError>>, ImportError> {
        while self.batch_row_index >= self.batch_row_count {
            let batches = self.batches.as_mut().expect("the columns are resolved before rows are read");
            let Some(batch) = batches.next() else {
                progress.advance_to(self.file_bytes);
                progress.file_finished();
                return Ok(None);
            };
            let batch = batch.map_err(|error| parquet_error(&self.path, &error))?;
            self.batch = batch
                .columns()
                .iter()
                .map(plain_array)
                .collect::<Result<_, _>>()
                .map_err(|error| parquet_error(&self.path, &error))?;
            self.batch_row_count = batch.num_rows();
            self.batch_row_index = 0;
        }
        let row_index = self.batch_row_index;
        self.batch_row_index += 1;
        self.rows_read += 1;
        if self.rows_read % PROGRESS_EVERY_ROWS == 0 {
            // Rows are decoded column by column, so bytes are estimated by the share of rows.
            let share = u128::from(self.file_bytes) * u128::from(self.rows_read) / u128::from(self.rows_total.max(1));
            progress.advance_to(u64::try_from(share).unwrap_or(self.file_bytes));
        }
        // Numbered as the same data written as CSV would be: the header is line 1.
        let line_number = self.rows_read + 1;
        let mut failure = None;
        self.record.clear();
        let mut read_columns = self.read_columns.iter().zip(&self.batch).peekable();
        for header_index in 0..self.header.len() {
            let Some(((_, kind), array)) = read_columns.next_if(|((index, _), _)| *index == header_index) else {
                self.record.push_field("");
                continue;
            };
            self.text.clear();
            if let Err((value, expected)) = write_value(&mut self.text, array.as_ref(), row_index, *kind) {
                failure.get_or_insert(ImportErrorDetail {
                    path: self.path.clone(),
                    line_number: Some(line_number),
                    column: Some((header_index + 1, self.header[header_index].clone())),
                    kind: ImportErrorKind::Invalid { value, expected: expected.to_owned() },
                });
            }
            self.record.push_field(&self.text);
        }
        if let Some(failure) = failure {
            return Ok(Some(Err(failure.into())));
        }
        Ok(Some(Ok(Row::detached(&self.path, &self.header, &self.record, line_number))))
    }
}

/// A dictionary-encoded column (pandas' categories, say) as the plain array of its values.
fn plain_array(array: &ArrayRef) -> Result<ArrayRef, arrow_schema::ArrowError> {
    match array.as_any_dictionary_opt() {
        Some(dictionary) => arrow_select::take::take(dictionary.values().as_ref(), dictionary.keys(), None),
        None => Ok(array.clone()),
    }
}

/// Writes the value of row `row_index` as its CSV form would hold it (nothing for a null,
/// which then reads as a missing value).
///
/// # Errors
/// The value as text and what was expected, for a value no text stands for.
fn write_value(
    text: &mut String,
    array: &dyn Array,
    row_index: usize,
    kind: ValueKind,
) -> Result<(), (String, &'static str)> {
    if array.is_null(row_index) {
        return Ok(());
    }
    macro_rules! integer {
        ($type:ty) => {
            write!(text, "{}", array.as_primitive::<$type>().value(row_index))
        };
    }
    let written = match array.data_type() {
        DataType::Utf8 => text.write_str(array.as_string::<i32>().value(row_index)),
        DataType::LargeUtf8 => text.write_str(array.as_string::<i64>().value(row_index)),
        DataType::Utf8View => text.write_str(array.as_string_view().value(row_index)),
        DataType::Int8 => integer!(Int8Type),
        DataType::Int16 => integer!(Int16Type),
        DataType::Int32 => integer!(Int32Type),
        DataType::Int64 => integer!(Int64Type),
        DataType::UInt8 => integer!(UInt8Type),
        DataType::UInt16 => integer!(UInt16Type),
        DataType::UInt32 => integer!(UInt32Type),
        DataType::UInt64 => integer!(UInt64Type),
        DataType::Decimal32(_, scale) => {
            let mantissa = array.as_primitive::<Decimal32Type>().value(row_index);
            write_decimal(text, i128::from(mantissa), *scale)
        }
        DataType::Decimal64(_, scale) => {
            let mantissa = array.as_primitive::<Decimal64Type>().value(row_index);
            write_decimal(text, i128::from(mantissa), *scale)
        }
        DataType::Decimal128(_, scale) => {
            write_decimal(text, array.as_primitive::<Decimal128Type>().value(row_index), *scale)
        }
        DataType::Timestamp(unit, _) => write_timestamp(text, array, row_index, *unit)?,
        DataType::Date32 => {
            let days = array.as_primitive::<Date32Type>().value(row_index);
            let date = jiff::Timestamp::from_second(i64::from(days) * 86_400)
                .map_err(|_| (format!("{days} days since 1970-01-01"), "a date of the years -9999 to 9999"))?;
            write!(text, "{}", date.to_zoned(jiff::tz::TimeZone::UTC).date())
        }
        DataType::Date64 => {
            let milliseconds = array.as_primitive::<Date64Type>().value(row_index);
            let date = jiff::Timestamp::from_millisecond(milliseconds)
                .map_err(|_| (format!("{milliseconds} ms since 1970-01-01"), "a date of the years -9999 to 9999"))?;
            write!(text, "{}", date.to_zoned(jiff::tz::TimeZone::UTC).date())
        }
        // `resolve` let no other type through.
        other => return Err((other.to_string(), kind.expected())),
    };
    written.expect("writing to a String cannot fail");
    Ok(())
}

/// A timestamp as the RFC 3339 instant it stands for. A timestamp without a time zone is read
/// as UTC; one with a zone is already counted from 1970 in UTC (the zone only says how to show
/// it), so its instant is the same either way.
fn write_timestamp(
    text: &mut String,
    array: &dyn Array,
    row_index: usize,
    unit: TimeUnit,
) -> Result<std::fmt::Result, (String, &'static str)> {
    let (raw, unit_name, instant) = match unit {
        TimeUnit::Second => {
            let raw = array.as_primitive::<TimestampSecondType>().value(row_index);
            (raw, "s", jiff::Timestamp::from_second(raw))
        }
        TimeUnit::Millisecond => {
            let raw = array.as_primitive::<TimestampMillisecondType>().value(row_index);
            (raw, "ms", jiff::Timestamp::from_millisecond(raw))
        }
        TimeUnit::Microsecond => {
            let raw = array.as_primitive::<TimestampMicrosecondType>().value(row_index);
            (raw, "us", jiff::Timestamp::from_microsecond(raw))
        }
        TimeUnit::Nanosecond => {
            let raw = array.as_primitive::<TimestampNanosecondType>().value(row_index);
            (raw, "ns", jiff::Timestamp::from_nanosecond(i128::from(raw)))
        }
    };
    let instant = instant
        .map_err(|_| (format!("{raw} {unit_name} since 1970-01-01T00:00:00Z"), "a time between 1970 and 2200"))?;
    Ok(write!(text, "{instant}"))
}

/// Writes `mantissa × 10^-scale` as a plain decimal with exactly `scale` decimals (all its
/// digits, so nothing is rounded on the way to the decimal parser).
fn write_decimal(text: &mut String, mantissa: i128, scale: i8) -> std::fmt::Result {
    if scale <= 0 {
        write!(text, "{mantissa}")?;
        if mantissa != 0 {
            text.extend(std::iter::repeat_n('0', usize::from(scale.unsigned_abs())));
        }
        return Ok(());
    }
    let digits = mantissa.unsigned_abs().to_string();
    let scale = usize::from(scale.unsigned_abs());
    if mantissa < 0 {
        text.push('-');
    }
    if digits.len() <= scale {
        text.push_str("0.");
        text.extend(std::iter::repeat_n('0', scale - digits.len()));
        text.push_str(&digits);
    } else {
        let (whole, fraction) = digits.split_at(digits.len() - scale);
        text.push_str(whole);
        text.push('.');
        text.push_str(fraction);
    }
    Ok(())
}

fn parquet_error(path: &Path, error: &dyn std::fmt::Display) -> ImportError {
    ImportError::file(path, ImportErrorKind::Parquet(error.to_string()))
}

#[cfg(test)]
mod tests;
