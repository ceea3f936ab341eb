//! Parquet usage and invoices: each test writes a small file with the Arrow writer, reads it
//! like a user's file, and checks the values (exact decimals) or the message, word for word.

use super::*;
use crate::invoice::InvoiceReader;
use crate::usage::load_usage;
use crate::{BadRowPolicy, Loaded, NoProgress, Position};
use arrow_array::{
    DictionaryArray, Float64Array, Int64Array, LargeStringArray, RecordBatch, StringArray, TimestampMillisecondArray,
    TimestampNanosecondArray,
};
use reckon_core::UsageRecord;
use rust_decimal::Decimal;
use std::str::FromStr;
use std::sync::Arc;

/// Writes the columns as one Parquet file named `name` in a fresh folder.
fn write_parquet(name: &str, columns: Vec<(&str, ArrayRef)>) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut writer =
        ::parquet::arrow::ArrowWriter::try_new(std::fs::File::create(&path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
    (dir, path)
}

fn strings(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

fn decimals(values: &[Option<i128>], scale: i8) -> ArrayRef {
    Arc::new(Decimal128Array::from(values.to_vec()).with_precision_and_scale(38, scale).unwrap())
}

use arrow_array::Decimal128Array;

/// Two good usage rows, with a column to replace (or drop, with `None`).
fn usage_columns(replace: &str, with: Option<ArrayRef>) -> Vec<(&'static str, ArrayRef)> {
    let columns: Vec<(&'static str, ArrayRef)> = vec![
        ("record_id", strings(&[Some("r1"), Some("r2")])),
        ("service", Arc::new(["voice", "sms"].into_iter().collect::<DictionaryArray<arrow_array::types::Int32Type>>())),
        ("carrier", Arc::new(LargeStringArray::from(vec!["acme", "acme"]))),
        // 2026-03-01T12:00:05Z and 2026-03-01T12:01:00.250Z, in milliseconds, no time zone.
        ("started_at", Arc::new(TimestampMillisecondArray::from(vec![1_772_366_405_000, 1_772_366_460_250]))),
        ("destination", Arc::new(Int64Array::from(vec![442_071_234_567, 33_612_345_678]))),
        ("quantity", decimals(&[Some(61_400_000_000_000), Some(1_000_000_000_000)], 12)),
        ("ignored_float", Arc::new(Float64Array::from(vec![0.5, 1.5]))),
    ];
    let mut columns: Vec<_> = columns.into_iter().filter(|(name, _)| *name != replace).collect();
    if let Some(array) = with {
        columns.push((Box::leak(replace.to_owned().into_boxed_str()), array));
    }
    columns
}

/// Loads the usage (stopping at the first bad row) and gives the records or the message.
fn load(columns: Vec<(&str, ArrayRef)>) -> Result<Loaded<UsageRecord>, String> {
    let (_dir, path) = write_parquet("usage.parquet", columns);
    load_usage(&path, BadRowPolicy::Fail, &mut NoProgress).map_err(|error| {
        let text = error.to_string();
        text.strip_prefix(&format!("{}", path.display())).unwrap_or(&text).to_owned()
    })
}

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

#[test]
fn usage_reads_every_accepted_type_exactly() {
    let loaded = load(usage_columns("", None)).unwrap();
    assert_eq!(loaded.items.len(), 2);
    let [first, second] = [&loaded.items[0], &loaded.items[1]];
    assert_eq!(&*first.record_id, "r1");
    assert_eq!(first.service, reckon_core::Service::Voice);
    assert_eq!(second.service, reckon_core::Service::Sms);
    assert_eq!(&*first.carrier, "acme");
    assert_eq!(first.started_at.to_string(), "2026-03-01T12:00:05Z");
    assert_eq!(second.started_at.to_string(), "2026-03-01T12:01:00.25Z");
    assert_eq!(first.destination.digits(), "442071234567");
    assert_eq!(first.quantity, d("61.4"));
    assert_eq!(second.quantity, d("1"));
    assert_eq!(first.carrier_ref, None);
    // Rows are numbered as the same data written as CSV: the first row of data is row 2.
    assert_eq!(loaded.positions.iter().map(|position| position.line_number).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn decimals_keep_every_digit() {
    // 0.1 + 0.2 is 0.3 exactly, and twelve decimals survive, from decimals and from strings.
    let quantity = decimals(&[Some(100_000_000_000), Some(200_000_000_001)], 12);
    let loaded = load(usage_columns("quantity", Some(quantity))).unwrap();
    assert_eq!(loaded.items[0].quantity + loaded.items[1].quantity, d("0.300000000001"));
    let quantity = strings(&[Some("0.1"), Some(" 0.123456789012 ")]);
    let loaded = load(usage_columns("quantity", Some(quantity))).unwrap();
    assert_eq!(loaded.items[0].quantity + loaded.items[1].quantity, d("0.223456789012"));
    // A scale past rust_decimal's is read as CSV would read its digits: trailing zeros go.
    let quantity: ArrayRef = Arc::new(
        Decimal128Array::from(vec![15 * 10_i128.pow(29), 25 * 10_i128.pow(29)])
            .with_precision_and_scale(38, 30)
            .unwrap(),
    );
    let loaded = load(usage_columns("quantity", Some(quantity))).unwrap();
    assert_eq!(loaded.items[0].quantity, d("1.5"));
    assert_eq!(loaded.items[1].quantity, d("2.5"));
}

#[test]
fn nanosecond_timestamps_with_a_zone_are_exact() {
    let started_at: ArrayRef = Arc::new(
        TimestampNanosecondArray::from(vec![1_772_366_405_123_456_789, 1_772_366_405_000_000_000]).with_timezone("UTC"),
    );
    let loaded = load(usage_columns("started_at", Some(started_at))).unwrap();
    assert_eq!(loaded.items[0].started_at.to_string(), "2026-03-01T12:00:05.123456789Z");
    assert_eq!(loaded.items[0].started_at.as_nanosecond(), 1_772_366_405_123_456_789);
}

#[test]
fn bad_values_are_refused_naming_row_and_column() {
    let cases: Vec<(&str, ArrayRef, &str)> = vec![
        (
            "quantity",
            Arc::new(Float64Array::from(vec![61.4, 1.0])),
            ": column \"quantity\": a column of type Float64 is not accepted here: expected a decimal (Decimal128), \
             integer or string column (floats are not exact: write the values as decimals)",
        ),
        (
            "quantity",
            decimals(&[Some(1), Some(-1_500_000_000_000)], 12),
            ": row 3: column \"quantity\": \"-1.500000000000\" is not a quantity >= 0",
        ),
        (
            "quantity",
            strings(&[Some("1e3"), Some("1")]),
            ": row 2: column \"quantity\": \"1e3\" is not a decimal number like 12.5 (`.` as separator, no exponent)",
        ),
        (
            "started_at",
            Arc::new(Int64Array::from(vec![1_772_366_405, 1_772_366_405])),
            ": column \"started_at\": a column of type Int64 is not accepted here: expected a timestamp column (any \
             unit; one without a time zone is read as UTC) or a string column of RFC 3339 timestamps",
        ),
        (
            "started_at",
            strings(&[Some("2026-03-01T12:00:05Z"), Some("2026-03-01 12:00")]),
            ": row 3: column \"started_at\": \"2026-03-01 12:00\" is not an RFC 3339 timestamp with an offset, like \
             2026-03-01T12:00:05Z",
        ),
        (
            "started_at",
            Arc::new(TimestampMillisecondArray::from(vec![0, -1_000])),
            ": row 3: column \"started_at\": \"1969-12-31T23:59:59Z\" is not a time between 1970 and 2200",
        ),
        ("record_id", strings(&[Some("r1"), None]), ": row 3: column \"record_id\": a value is required"),
        (
            "service",
            strings(&[Some("fax"), Some("sms")]),
            ": row 2: column \"service\": \"fax\" is not a service: one of voice, video, sms, mms, email, data",
        ),
    ];
    for (column, array, expected) in cases {
        assert_eq!(load(usage_columns(column, Some(array))).unwrap_err(), expected, "{column}");
    }
}

#[test]
fn a_missing_required_column_is_named() {
    let message = load(usage_columns("quantity", None)).unwrap_err();
    assert_eq!(
        message,
        ": missing required column \"quantity\" (the header has: \
         record_id,service,carrier,started_at,destination,ignored_float)"
    );
}

#[test]
fn bad_rows_are_quarantined_and_repeated_ids_rejected() {
    let record_id = strings(&[Some("r1"), Some("r1")]);
    let mut columns = usage_columns("record_id", Some(record_id));
    columns.retain(|(name, _)| *name != "quantity");
    columns.push(("quantity", strings(&[Some("-1"), Some("2")])));
    let (_dir, path) = write_parquet("usage.parquet", columns);
    let loaded = load_usage(&path, BadRowPolicy::Quarantine, &mut NoProgress).unwrap();
    assert_eq!(loaded.items.len(), 1);
    assert_eq!(loaded.positions[0].line_number, 3);
    assert_eq!(loaded.rejected.len(), 1);
    let rejection = &loaded.rejected[0];
    assert_eq!((rejection.line_number, rejection.column.as_deref()), (2, Some("quantity")));
    assert_eq!(rejection.value.as_deref(), Some("-1"));
    assert_eq!(rejection.reason, "\"-1\" is not a quantity >= 0");

    let quantity = decimals(&[Some(1), Some(2)], 0);
    let columns = usage_columns("record_id", Some(strings(&[Some("r1"), Some("r1")])));
    let mut columns: Vec<_> = columns.into_iter().filter(|(name, _)| *name != "quantity").collect();
    columns.push(("quantity", quantity));
    let (_dir, path) = write_parquet("usage.parquet", columns);
    let error = load_usage(&path, BadRowPolicy::Fail, &mut NoProgress).unwrap_err();
    assert_eq!(error.to_string(), format!("{0}: row 3: record_id \"r1\" repeats line 2 of {0}", path.display()));
}

#[test]
fn batches_stop_at_the_end_of_the_file() {
    let (_dir, path) = write_parquet("usage.parquet", usage_columns("", None));
    let mut reader = crate::usage::UsageReader::open(&path).unwrap();
    let mut loaded = Loaded::default();
    assert!(reader.read_batch(&mut loaded, 1, BadRowPolicy::Fail, &mut NoProgress).unwrap());
    assert_eq!(loaded.items.len(), 1);
    assert!(!reader.read_batch(&mut loaded, 5, BadRowPolicy::Fail, &mut NoProgress).unwrap());
    assert_eq!(loaded.items.len(), 2);
    assert_eq!(loaded.positions[1], Position { file_index: 0, line_number: 3 });
}

#[test]
fn invoices_read_as_parquet_with_exact_amounts() {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("carrier", strings(&[Some("acme"), Some("acme")])),
        ("invoice_id", Arc::new(Int64Array::from(vec![202_603, 202_603]))),
        ("invoice_date", Arc::new(arrow_array::Date32Array::from(vec![Some(20_546), None]))),
        ("line_id", Arc::new(Int64Array::from(vec![1, 2]))),
        ("service", strings(&[Some("voice"), Some("voice")])),
        ("started_at", strings(&[Some("2026-03-01T12:00:05Z"), Some("2026-03-01T13:00:05+01:00")])),
        ("destination", strings(&[Some("+44 20 7123 4567"), Some("0033612345678")])),
        ("quantity", Arc::new(Int64Array::from(vec![78, 60]))),
        ("rate", decimals(&[Some(12_000_000_000), None], 12)),
        ("amount", decimals(&[Some(16_600_000_000), Some(100_000_000_001)], 12)),
        ("currency", strings(&[Some("usd"), Some("EUR")])),
    ];
    let (_dir, path) = write_parquet("invoice.parquet", columns);
    let loaded = InvoiceReader::new(&[path], BadRowPolicy::Fail).read_all(&mut NoProgress).unwrap();
    let [first, second] = [&loaded.items[0], &loaded.items[1]];
    assert_eq!((&*first.invoice_id, first.line_id.as_str()), ("202603", "1"));
    assert_eq!(first.invoice_date.map(|date| date.to_string()).as_deref(), Some("2026-04-03"));
    assert_eq!(second.invoice_date, None);
    assert_eq!(first.quantity, d("78"));
    assert_eq!(first.rate, Some(d("0.012")));
    assert_eq!(second.rate, None);
    assert_eq!(first.amount, d("0.0166"));
    assert_eq!(second.amount, d("0.100000000001"));
    assert_eq!(first.currency.as_str(), "USD");
    assert_eq!(second.started_at, first.started_at);
    assert_eq!(second.destination.digits(), "33612345678");
}

#[test]
fn an_invoice_amount_past_its_bound_is_refused() {
    let columns: Vec<(&str, ArrayRef)> = vec![
        ("carrier", strings(&[Some("acme")])),
        ("invoice_id", strings(&[Some("inv-1")])),
        ("line_id", strings(&[Some("1")])),
        ("service", strings(&[Some("voice")])),
        ("started_at", strings(&[Some("2026-03-01T12:00:05Z")])),
        ("destination", strings(&[Some("442071234567")])),
        ("quantity", strings(&[Some("60")])),
        // Thirteen decimals: one past what any amount may have.
        ("amount", decimals(&[Some(1)], 13)),
        ("currency", strings(&[Some("USD")])),
    ];
    let (_dir, path) = write_parquet("invoice.parquet", columns);
    let error =
        InvoiceReader::new(std::slice::from_ref(&path), BadRowPolicy::Fail).read_all(&mut NoProgress).unwrap_err();
    assert_eq!(
        error.to_string(),
        format!(
            "{}: row 2: column \"amount\": \"0.0000000000001\" is not an amount above -10^15 and below 10^15 with \
             at most 12 decimals",
            path.display()
        )
    );
}

#[test]
fn a_file_that_is_not_parquet_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("usage.parquet");
    std::fs::write(&path, "record_id,service\n").unwrap();
    let error = load_usage(&path, BadRowPolicy::Fail, &mut NoProgress).unwrap_err();
    let message = error.to_string();
    assert!(message.starts_with(&format!("{}: not a readable Parquet file: ", path.display())), "{message}");
}

#[test]
fn decimals_are_written_with_all_their_digits() {
    let text = |mantissa: i128, scale: i8| {
        let mut text = String::new();
        write_decimal(&mut text, mantissa, scale).unwrap();
        text
    };
    assert_eq!(text(614, 1), "61.4");
    assert_eq!(text(-5, 3), "-0.005");
    assert_eq!(text(120, 4), "0.0120");
    assert_eq!(text(0, 2), "0.00");
    assert_eq!(text(7, 0), "7");
    assert_eq!(text(7, -2), "700");
    assert_eq!(text(-7, -1), "-70");
    assert_eq!(text(0, -3), "0");
    assert_eq!(text(i128::MIN, 38), "-1.70141183460469231731687303715884105728");
}
