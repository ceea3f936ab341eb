//! Parquet in and out (issue 12): usage and invoices given as Parquet reconcile exactly like the
//! same data given as CSV, `--output-format parquet` writes the rows of `discrepancies.csv` as
//! typed columns, and bad Parquet values are refused with the CSV readers' messages.
//!
//! Method: each test converts CSV rows (the worked example's fixtures, or a few written here)
//! into Parquet with the Arrow writer, typed as a platform would type them (timestamps,
//! `Decimal128(38, 12)`, strings), runs the built binary on both forms and compares the reports.

use crate::{fixtures, read_csv, reckon, text};
use ::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use ::parquet::arrow::ArrowWriter;
use arrow_array::cast::AsArray;
use arrow_array::types::{Decimal128Type, TimestampNanosecondType};
use arrow_array::{
    Array, ArrayRef, Decimal128Array, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMicrosecondArray,
};
use arrow_schema::{DataType, TimeUnit};
use rust_decimal::Decimal;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

/// How a column of CSV text is typed in Parquet.
#[derive(Clone, Copy)]
enum Typed {
    Text,
    /// RFC 3339 text as a UTC timestamp in microseconds.
    Instant,
    /// Decimal text as `Decimal128(38, 12)`.
    Decimal,
    /// Decimal text as a float, which Reckon refuses.
    Float,
    /// RFC 3339 text as whole seconds since 1970 in an Int64, which Reckon refuses for a time.
    EpochSeconds,
}

/// The Parquet type a canonical column gets in these tests.
fn typed(column: &str) -> Typed {
    match column {
        "started_at" => Typed::Instant,
        "quantity" | "rate" | "amount" => Typed::Decimal,
        _ => Typed::Text,
    }
}

/// Writes rows of CSV text (header first) as a Parquet file; an empty value is a null.
fn write_parquet(path: &Path, rows: &[Vec<String>], typed: impl Fn(&str) -> Typed) {
    let (header, rows) = rows.split_first().unwrap();
    let columns = header.iter().enumerate().map(|(index, name)| {
        let values: Vec<Option<&str>> =
            rows.iter().map(|row| Some(row[index].as_str()).filter(|value| !value.is_empty())).collect();
        let array: ArrayRef = match typed(name) {
            Typed::Text => Arc::new(StringArray::from(values)),
            Typed::Instant => Arc::new(
                TimestampMicrosecondArray::from_iter(
                    values
                        .iter()
                        .map(|value| value.map(|text| jiff::Timestamp::from_str(text).unwrap().as_microsecond())),
                )
                .with_timezone("UTC"),
            ),
            Typed::Decimal => Arc::new(
                Decimal128Array::from_iter(values.iter().map(|value| {
                    value.map(|text| {
                        let mut decimal = Decimal::from_str(text).unwrap();
                        decimal.rescale(12);
                        decimal.mantissa()
                    })
                }))
                .with_precision_and_scale(38, 12)
                .unwrap(),
            ),
            Typed::Float => {
                Arc::new(Float64Array::from_iter(values.iter().map(|value| value.map(|text| text.parse().unwrap()))))
            }
            Typed::EpochSeconds => Arc::new(Int64Array::from_iter(
                values.iter().map(|value| value.map(|text| jiff::Timestamp::from_str(text).unwrap().as_second())),
            )),
        };
        (name.clone(), array)
    });
    let batch = RecordBatch::try_from_iter(columns).unwrap();
    let mut writer = ArrowWriter::try_new(std::fs::File::create(path).unwrap(), batch.schema(), None).unwrap();
    writer.write(&batch).unwrap();
    writer.close().unwrap();
}

/// Runs `reckon reconcile` over the usage and invoices given, with the worked example's deck.
fn reconcile(usage: &Path, invoices: &[PathBuf], out: &Path, extra: &[&str]) -> std::process::Output {
    let rates = fixtures().join("basic/rates.csv");
    let mut arguments = vec![
        "reconcile".to_owned(),
        "--usage".to_owned(),
        usage.display().to_string(),
        "--rates".to_owned(),
        rates.display().to_string(),
    ];
    for invoice in invoices {
        arguments.extend(["--invoice".to_owned(), invoice.display().to_string()]);
    }
    arguments.extend(["--out".to_owned(), out.display().to_string()]);
    arguments.extend(extra.iter().map(|argument| (*argument).to_owned()));
    reckon(&arguments.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The worked example's usage and invoices, as CSV (the fixtures) and as Parquet (in `dir`).
struct Example {
    csv: [PathBuf; 3],
    parquet: [PathBuf; 3],
}

fn example(dir: &Path) -> Example {
    let basic = fixtures().join("basic");
    let names = ["usage", "invoice-acme", "invoice-borealis"];
    let csv = names.map(|name| basic.join(format!("{name}.csv")));
    let parquet = names.map(|name| dir.join(format!("{name}.parquet")));
    for (csv_path, parquet_path) in csv.iter().zip(&parquet) {
        write_parquet(parquet_path, &read_csv(csv_path), typed);
    }
    Example { csv, parquet }
}

/// The rows of `discrepancies.parquet` as `discrepancies.csv` writes them (header first).
fn read_discrepancies_parquet(path: &Path) -> Vec<Vec<String>> {
    let builder = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap();
    let schema = builder.schema().clone();
    let mut rows = vec![schema.fields().iter().map(|field| field.name().clone()).collect::<Vec<_>>()];
    for batch in builder.build().unwrap() {
        let batch = batch.unwrap();
        for row_index in 0..batch.num_rows() {
            let row = batch.columns().iter().map(|column| {
                if column.is_null(row_index) {
                    return String::new();
                }
                match column.data_type() {
                    DataType::Utf8 => column.as_string::<i32>().value(row_index).to_owned(),
                    DataType::Decimal128(38, 12) => {
                        let mantissa = column.as_primitive::<Decimal128Type>().value(row_index);
                        Decimal::from_i128_with_scale(mantissa, 12).normalize().to_string()
                    }
                    DataType::Timestamp(TimeUnit::Nanosecond, Some(zone)) if zone.as_ref() == "UTC" => {
                        let nanoseconds = column.as_primitive::<TimestampNanosecondType>().value(row_index);
                        jiff::Timestamp::from_nanosecond(i128::from(nanoseconds)).unwrap().to_string()
                    }
                    other => panic!("unexpected column type {other}"),
                }
            });
            rows.push(row.collect());
        }
    }
    rows
}

#[test]
fn parquet_usage_and_invoices_reconcile_like_csv() {
    let dir = tempfile::tempdir().unwrap();
    let example = example(dir.path());
    let [csv_out, parquet_out] = ["csv-out", "parquet-out"].map(|name| dir.path().join(name));
    let output = reconcile(&example.csv[0], &example.csv[1..], &csv_out, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let output = reconcile(&example.parquet[0], &example.parquet[1..], &parquet_out, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let csv_rows = std::fs::read_to_string(csv_out.join("discrepancies.csv")).unwrap();
    assert_eq!(std::fs::read_to_string(parquet_out.join("discrepancies.csv")).unwrap(), csv_rows);
    assert_eq!(csv_rows.lines().count(), 28, "the worked example's 27 discrepancies and the header");
    assert_eq!(
        std::fs::read_to_string(parquet_out.join("summary.json")).unwrap(),
        std::fs::read_to_string(csv_out.join("summary.json")).unwrap()
    );
    // Mixed forms too: Parquet usage with CSV invoices.
    let mixed_out = dir.path().join("mixed-out");
    let output = reconcile(&example.parquet[0], &example.csv[1..], &mixed_out, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    assert_eq!(std::fs::read_to_string(mixed_out.join("discrepancies.csv")).unwrap(), csv_rows);
}

#[test]
fn discrepancies_parquet_holds_the_csv_rows_typed() {
    let dir = tempfile::tempdir().unwrap();
    let example = example(dir.path());
    let out = dir.path().join("out");
    let output = reconcile(&example.csv[0], &example.csv[1..], &out, &[]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let csv_rows = read_csv(&out.join("discrepancies.csv"));
    // The same folder again, as Parquet: the CSV of the earlier run goes.
    let output = reconcile(&example.parquet[0], &example.parquet[1..], &out, &["--output-format", "parquet"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    assert!(!out.join("discrepancies.csv").exists());
    assert!(out.join("summary.json").exists());
    let parquet_rows = read_discrepancies_parquet(&out.join("discrepancies.parquet"));
    assert_eq!(parquet_rows.len(), 28);
    assert_eq!(parquet_rows, csv_rows);
    // And back: a CSV run removes the Parquet report of the earlier one.
    let output = reconcile(&example.csv[0], &example.csv[1..], &out, &["--output-format", "csv"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    assert!(!out.join("discrepancies.parquet").exists());
    assert_eq!(read_csv(&out.join("discrepancies.csv")), csv_rows);
}

#[test]
fn amounts_stay_exact_to_the_twelfth_decimal() {
    // One call of 61 s to 44 under acme's 0.0120 per 60 s, increments 60/6 and connect fee
    // 0.0010: billed 66 s, cost 0.0010 + 0.0120 * 66 / 60 = 0.0142. The carrier bills
    // 0.014200000001: a difference of 10^-12, which a float would lose.
    let dir = tempfile::tempdir().unwrap();
    let usage = dir.path().join("usage.parquet");
    let invoice = dir.path().join("invoice.parquet");
    let rows = |lines: &[&str]| -> Vec<Vec<String>> {
        lines.iter().map(|line| line.split(',').map(str::to_owned).collect()).collect()
    };
    write_parquet(
        &usage,
        &rows(&[
            "record_id,service,carrier,started_at,destination,quantity",
            "u1,voice,acme,2026-03-02T10:00:00Z,442071234567,61.000000000000",
        ]),
        typed,
    );
    write_parquet(
        &invoice,
        &rows(&[
            "carrier,invoice_id,line_id,service,started_at,destination,quantity,amount,currency",
            "acme,A-1,1,voice,2026-03-02T10:00:01Z,442071234567,66,0.014200000001,USD",
        ]),
        typed,
    );
    let out = dir.path().join("out");
    let flags = ["--amount-tolerance", "0", "--output-format", "parquet"];
    let output = reconcile(&usage, &[invoice], &out, &flags);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let rows = read_discrepancies_parquet(&out.join("discrepancies.parquet"));
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1],
        [
            "acme",
            "A-1",
            "1",
            "u1",
            "amount_mismatch",
            "voice",
            "442071234567",
            "2026-03-02T10:00:01Z",
            "66",
            "66",
            "0.014200000001",
            "0.0142",
            "0.000000000001",
            "USD"
        ]
    );
}

/// The worked example's usage with one change, as Parquet; the reconcile's outcome.
fn reconcile_changed_usage(
    dir: &Path,
    change: impl FnOnce(&mut Vec<Vec<String>>),
    typed: impl Fn(&str) -> Typed,
    extra: &[&str],
) -> (PathBuf, std::process::Output) {
    let basic = fixtures().join("basic");
    let mut rows = read_csv(&basic.join("usage.csv"));
    change(&mut rows);
    let usage = dir.join("usage.parquet");
    write_parquet(&usage, &rows, typed);
    let output = reconcile(&usage, &[basic.join("invoice-acme.csv")], &dir.join("out"), extra);
    (usage, output)
}

#[test]
fn bad_parquet_values_are_refused_naming_row_and_column() {
    let quantity_column = 8;
    type Case<'a> = (Box<dyn FnOnce(&mut Vec<Vec<String>>) + 'a>, fn(&str) -> Typed, &'static str);
    let cases: Vec<Case<'_>> = vec![
        (
            Box::new(|_| {}),
            |column| if column == "quantity" { Typed::Float } else { typed(column) },
            ": column \"quantity\": a column of type Float64 is not accepted here: expected a decimal (Decimal128), \
             integer or string column (floats are not exact: write the values as decimals)",
        ),
        (
            Box::new(|rows| rows[4][quantity_column] = "-1".to_owned()),
            typed,
            ": row 5: column \"quantity\": \"-1.000000000000\" is not a quantity >= 0",
        ),
        (
            Box::new(|_| {}),
            |column| if column == "started_at" { Typed::EpochSeconds } else { typed(column) },
            ": column \"started_at\": a column of type Int64 is not accepted here: expected a timestamp \
             column (any unit; one without a time zone is read as UTC) or a string column of RFC 3339 timestamps",
        ),
        (
            Box::new(|rows| {
                for row in rows.iter_mut() {
                    row.remove(quantity_column);
                }
            }),
            typed,
            ": missing required column \"quantity\" (the header has: \
             record_id,service,carrier,carrier_ref,customer,started_at,origin,destination)",
        ),
        (Box::new(|rows| rows[3][1] = String::new()), typed, ": row 4: column \"service\": a value is required"),
    ];
    for (change, typed, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let (usage, output) = reconcile_changed_usage(dir.path(), change, typed, &[]);
        assert_eq!(output.status.code(), Some(2), "{expected}");
        assert_eq!(text(&output.stderr), format!("error: {}{expected}\n", usage.display()));
        assert!(!dir.path().join("out/discrepancies.csv").exists());
    }
}

#[test]
fn skipped_parquet_rows_are_listed_in_rejected_csv() {
    let dir = tempfile::tempdir().unwrap();
    let change = |rows: &mut Vec<Vec<String>>| rows[4][8] = "-1".to_owned();
    let (usage, output) = reconcile_changed_usage(dir.path(), change, typed, &["--skip-bad-rows"]);
    assert_eq!(output.status.code(), Some(0), "stderr: {}", text(&output.stderr));
    let rejected = read_csv(&dir.path().join("out/rejected.csv"));
    assert_eq!(
        rejected,
        [
            vec!["file", "line", "column", "value", "reason"],
            vec![
                &usage.display().to_string(),
                "5",
                "quantity",
                "-1.000000000000",
                "\"-1.000000000000\" is not a quantity >= 0"
            ],
        ]
    );
}
