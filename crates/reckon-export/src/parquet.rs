//! `discrepancies.parquet`: the rows of `discrepancies.csv` (same columns, same order) as
//! typed Parquet columns, for platforms that keep their data in Parquet (FORMATS.md, "Parquet").
//!
//! Quantities and amounts are `Decimal128(38, 12)`: every number Reckon reads has at most 12
//! decimals (`reckon_core::bounds::DECIMAL_PLACES_MAX`) and costs round to 6, so the scale holds
//! each value exactly, and 26 integer digits hold far more than the bounds allow. A value that
//! would not fit is an error, never rounded. `started_at` is a UTC timestamp in nanoseconds,
//! which holds every instant a record may have (1970 to 2200) to its last digit.

use crate::discrepancies::COLUMNS;
use ::parquet::arrow::ArrowWriter;
use ::parquet::basic::Compression;
use ::parquet::errors::ParquetError;
use ::parquet::file::properties::WriterProperties;
use arrow_array::builder::{Decimal128Builder, StringBuilder, TimestampNanosecondBuilder};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, TimeUnit};
use reckon_core::Discrepancy;
use rust_decimal::Decimal;
use std::io::Write;
use std::sync::Arc;

/// Decimal places of the quantity and amount columns.
pub const DECIMAL_SCALE: i8 = 12;
/// Digits of the quantity and amount columns: the most a `Decimal128` has.
pub const DECIMAL_PRECISION: u8 = 38;
/// Rows per record batch (and so at most per row group's page run): bounds the memory the
/// builders hold, whatever the number of discrepancies.
const BATCH_ROWS_MAX: usize = 65_536;

/// The schema of `discrepancies.parquet`: the columns of `discrepancies.csv`, typed.
pub fn discrepancies_schema() -> Schema {
    let decimal = DataType::Decimal128(DECIMAL_PRECISION, DECIMAL_SCALE);
    let instant = DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into()));
    let types: [(DataType, bool); 14] = [
        (DataType::Utf8, false),  // carrier
        (DataType::Utf8, true),   // invoice_id
        (DataType::Utf8, true),   // line_id
        (DataType::Utf8, true),   // record_id
        (DataType::Utf8, false),  // kind
        (DataType::Utf8, false),  // service
        (DataType::Utf8, false),  // destination
        (instant, false),         // started_at
        (decimal.clone(), false), // billed_quantity
        (decimal.clone(), true),  // expected_quantity
        (decimal.clone(), false), // billed_amount
        (decimal.clone(), true),  // expected_amount
        (decimal, true),          // difference
        (DataType::Utf8, false),  // currency
    ];
    Schema::new(
        COLUMNS
            .iter()
            .zip(types)
            .map(|(name, (data_type, nullable))| Field::new(*name, data_type, nullable))
            .collect::<Vec<_>>(),
    )
}

/// Writes the rows (already in report order) as one Parquet file, snappy-compressed (the
/// codec every Parquet reader knows).
///
/// # Errors
/// When the writer fails, or a number does not fit `Decimal128(38, 12)` exactly (it cannot,
/// from numbers within the readers' bounds; never rounded all the same).
pub fn write_discrepancies_parquet<W: Write + Send>(
    writer: W,
    discrepancies: &[Discrepancy],
) -> Result<(), ParquetError> {
    let schema = Arc::new(discrepancies_schema());
    let properties = WriterProperties::builder().set_compression(Compression::SNAPPY).build();
    let mut parquet_writer = ArrowWriter::try_new(writer, schema.clone(), Some(properties))?;
    for chunk in discrepancies.chunks(BATCH_ROWS_MAX) {
        parquet_writer.write(&batch(&schema, chunk)?)?;
    }
    parquet_writer.close()?;
    Ok(())
}

fn batch(schema: &Arc<Schema>, discrepancies: &[Discrepancy]) -> Result<RecordBatch, ParquetError> {
    let mut texts: [StringBuilder; 8] = std::array::from_fn(|_| StringBuilder::new());
    let mut decimals: [Decimal128Builder; 5] = std::array::from_fn(|_| Decimal128Builder::new());
    let mut started_at = TimestampNanosecondBuilder::new();
    for discrepancy in discrepancies {
        let [carrier, invoice_id, line_id, record_id, kind, service, destination, currency] = &mut texts;
        carrier.append_value(&discrepancy.carrier);
        invoice_id.append_option(discrepancy.invoice_id.as_deref());
        line_id.append_option(discrepancy.line_id.as_deref());
        record_id.append_option(discrepancy.record_id.as_deref());
        kind.append_value(discrepancy.kind.as_str());
        service.append_value(discrepancy.service.as_str());
        destination.append_value(&discrepancy.destination);
        currency.append_value(discrepancy.currency.as_str());
        let nanoseconds = i64::try_from(discrepancy.started_at.as_nanosecond()).map_err(|_| {
            ParquetError::General(format!("started_at {} is past the nanosecond timestamps", discrepancy.started_at))
        })?;
        started_at.append_value(nanoseconds);
        let numbers = [
            Some(discrepancy.billed_quantity),
            discrepancy.expected_quantity,
            Some(discrepancy.billed_amount),
            discrepancy.expected_amount,
            discrepancy.difference,
        ];
        for (builder, number) in decimals.iter_mut().zip(numbers) {
            builder.append_option(number.map(scaled_mantissa).transpose()?);
        }
    }
    let [carrier, invoice_id, line_id, record_id, kind, service, destination, currency] =
        texts.map(|mut builder| builder.finish());
    let decimals = decimals.map(|mut builder| {
        builder
            .finish()
            .with_precision_and_scale(DECIMAL_PRECISION, DECIMAL_SCALE)
            .expect("38 digits and scale 12 are valid")
    });
    let [billed_quantity, expected_quantity, billed_amount, expected_amount, difference] = decimals;
    let columns: Vec<ArrayRef> = vec![
        Arc::new(carrier),
        Arc::new(invoice_id),
        Arc::new(line_id),
        Arc::new(record_id),
        Arc::new(kind),
        Arc::new(service),
        Arc::new(destination),
        Arc::new(started_at.finish().with_timezone("UTC")),
        Arc::new(billed_quantity),
        Arc::new(expected_quantity),
        Arc::new(billed_amount),
        Arc::new(expected_amount),
        Arc::new(difference),
        Arc::new(currency),
    ];
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The value as an integer count of 10^-12: exact, or an error.
fn scaled_mantissa(value: Decimal) -> Result<i128, ParquetError> {
    let value = value.normalize();
    let scale = value.scale();
    let unfit = || ParquetError::General(format!("{value} has more than {DECIMAL_SCALE} decimals"));
    let shift = u32::try_from(DECIMAL_SCALE).expect("a positive scale").checked_sub(scale).ok_or_else(unfit)?;
    // A Decimal's mantissa is below 2^96 and the shift at most 12 places: no i128 overflow.
    Ok(value.mantissa() * 10_i128.pow(shift))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use reckon_core::{Currency, DiscrepancyKind, Service};
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn mantissas_are_exact() {
        assert_eq!(scaled_mantissa(d("0.1")).unwrap(), 100_000_000_000);
        assert_eq!(scaled_mantissa(d("-0.000000000001")).unwrap(), -1);
        assert_eq!(scaled_mantissa(d("61.400")).unwrap(), 61_400_000_000_000);
        assert_eq!(scaled_mantissa(d("999999999999999.999999999999")).unwrap(), 999_999_999_999_999_999_999_999_999);
        assert_eq!(
            scaled_mantissa(d("0.0000000000001")).unwrap_err().to_string(),
            "Parquet error: 0.0000000000001 has more than 12 decimals"
        );
    }

    #[test]
    fn rows_round_trip_with_their_types() {
        let rows = vec![Discrepancy {
            carrier: "acme".into(),
            invoice_id: Some("inv-1".into()),
            line_id: Some("7".into()),
            record_id: None,
            kind: DiscrepancyKind::UnmatchedCharge,
            service: Service::Voice,
            destination: "442071234567".to_owned(),
            started_at: "2026-03-01T12:00:05.123456789Z".parse().unwrap(),
            billed_quantity: d("61.4"),
            expected_quantity: None,
            billed_amount: d("0.1"),
            expected_amount: Some(d("0.2")),
            difference: Some(d("-0.1")),
            currency: Currency::parse("USD").unwrap(),
            line_index: Some(0),
            record_index: None,
        }];
        let mut file = tempfile::tempfile().unwrap();
        write_discrepancies_parquet(&mut file, &rows).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
        let batches: Vec<RecordBatch> = reader.collect::<Result<_, _>>().unwrap();
        assert_eq!(batches.len(), 1);
        let batch = &batches[0];
        assert_eq!(batch.schema().as_ref(), &discrepancies_schema());
        let text =
            |column: usize| arrow_array::cast::AsArray::as_string::<i32>(batch.column(column)).value(0).to_owned();
        let decimal = |column: usize| {
            let array =
                arrow_array::cast::AsArray::as_primitive::<arrow_array::types::Decimal128Type>(batch.column(column));
            (!arrow_array::Array::is_null(array, 0)).then(|| array.value(0))
        };
        assert_eq!(
            (text(0), text(1), text(2), text(4)),
            ("acme".into(), "inv-1".into(), "7".into(), "unmatched_charge".into())
        );
        assert!(arrow_array::Array::is_null(batch.column(3).as_ref(), 0));
        let started_at =
            arrow_array::cast::AsArray::as_primitive::<arrow_array::types::TimestampNanosecondType>(batch.column(7));
        assert_eq!(started_at.value(0), 1_772_366_405_123_456_789);
        assert_eq!(decimal(8), Some(61_400_000_000_000));
        assert_eq!(decimal(9), None);
        assert_eq!(decimal(10), Some(100_000_000_000));
        assert_eq!(decimal(11), Some(200_000_000_000));
        assert_eq!(decimal(12), Some(-100_000_000_000));
        assert_eq!(text(13), "USD");
    }
}
