//! A [`Sink`] that writes the workload as the canonical CSV files, streaming (so a benchmark
//! can generate a hundred million records without holding them).
//!
//! Usage and invoice lines are written by hand rather than through `csv::Writer`: none of their
//! values needs quoting (ids, digits, decimals, instants), and formatting straight into the
//! buffer, with each day's date written once, is what lets 10M records generate in seconds.

use crate::workload::{InvoiceColumn, InvoiceLayout, Planted};
use crate::Sink;
use reckon_core::{InvoiceLine, RateRow, Timestamp, UsageRecord};
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes `usage.csv`, `rates.csv`, `prices.csv`, `fx.csv`, `contracts.csv`, `planted.csv` and
/// the invoices into a folder: `invoice-<carrier>.csv`, or `invoice-<carrier>-<invoice_id>.csv`
/// for a carrier that sends an invoice per half month.
pub struct CsvSink {
    dir: PathBuf,
    usage: Output,
    rates: csv::Writer<BufWriter<File>>,
    prices: csv::Writer<BufWriter<File>>,
    fx: csv::Writer<BufWriter<File>>,
    planted: Output,
    layouts: HashMap<Arc<str>, InvoiceLayout>,
    /// Open invoice files by carrier and invoice id.
    invoices: BTreeMap<(Arc<str>, Arc<str>), Invoice>,
    error: Option<io::Error>,
}

struct Invoice {
    path: PathBuf,
    layout: InvoiceLayout,
    output: Output,
}

/// A buffered file that writes CSV values without allocating, and counts its bytes.
struct Output {
    writer: BufWriter<File>,
    bytes: u64,
    /// The UTC day last written (days since 1970) and its `YYYY-MM-DDT`.
    day: i64,
    day_text: [u8; 11],
}

fn create(path: &Path) -> io::Result<File> {
    File::create(path).map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))
}

fn writer(path: &Path, header: &[&str]) -> io::Result<csv::Writer<BufWriter<File>>> {
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, create(path)?));
    writer.write_record(header)?;
    Ok(writer)
}

impl Output {
    fn create(path: &Path, header: &[&str]) -> io::Result<Output> {
        let mut output = Output {
            writer: BufWriter::with_capacity(1 << 20, create(path)?),
            bytes: 0,
            day: i64::MIN,
            day_text: [0; 11],
        };
        for (index, name) in header.iter().enumerate() {
            if index > 0 {
                output.raw(b",")?;
            }
            output.raw(name.as_bytes())?;
        }
        output.raw(b"\n")?;
        Ok(output)
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.bytes += bytes.len() as u64;
        self.writer.write_all(bytes)
    }

    fn text(&mut self, text: &str) -> io::Result<()> {
        debug_assert!(!text.contains([',', '"', '\n', '\r']), "{text:?} would need quoting");
        self.raw(text.as_bytes())
    }

    fn display(&mut self, value: impl std::fmt::Display) -> io::Result<()> {
        // Counted by the writer's position would need a flush; a small adapter counts instead.
        struct Counting<'w>(&'w mut BufWriter<File>, u64);
        impl Write for Counting<'_> {
            fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
                let written = self.0.write(bytes)?;
                self.1 += written as u64;
                Ok(written)
            }
            fn flush(&mut self) -> io::Result<()> {
                self.0.flush()
            }
        }
        let mut counting = Counting(&mut self.writer, 0);
        write!(counting, "{value}")?;
        self.bytes += counting.1;
        Ok(())
    }

    /// `2026-03-01T12:00:05Z`, as `Timestamp`'s `Display` writes whole seconds, the date
    /// formatted once a day.
    fn timestamp(&mut self, instant: Timestamp) -> io::Result<()> {
        if instant.subsec_nanosecond() != 0 {
            return self.display(instant);
        }
        let seconds = instant.as_second();
        let day = seconds.div_euclid(86_400);
        if day != self.day {
            let date = Timestamp::from_second(day * 86_400).expect("in range").to_zoned(jiff::tz::TimeZone::UTC).date();
            let mut text = Vec::with_capacity(11);
            write!(text, "{date}T")?;
            if text.len() != 11 {
                return self.display(instant); // years past 9999 or before 0
            }
            self.day_text.copy_from_slice(&text);
            self.day = day;
        }
        let of_day = seconds - day * 86_400;
        let [hour, minute, second] = [of_day / 3_600, of_day / 60 % 60, of_day % 60].map(|value| value as u8);
        let time = [
            b'0' + hour / 10,
            b'0' + hour % 10,
            b':',
            b'0' + minute / 10,
            b'0' + minute % 10,
            b':',
            b'0' + second / 10,
            b'0' + second % 10,
            b'Z',
        ];
        let day_text = self.day_text;
        self.raw(&day_text)?;
        self.raw(&time)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.writer.flush()
    }
}

/// Writes the workload's contract terms as `contracts.csv`.
fn write_contracts(path: &Path) -> io::Result<()> {
    let mut writer = writer(path, &["carrier", "fx_policy", "deck_currency_only"])?;
    let contracts: BTreeMap<String, _> = crate::contracts().into_iter().collect();
    for (carrier, terms) in contracts {
        // The workload's contracts all convert at the record's date.
        assert_eq!(terms.fx_policy, reckon_core::contract::FxPolicy::RecordDate);
        writer.write_record([carrier, "record_date".to_owned(), terms.deck_currency_only.to_string()])?;
    }
    writer.flush()
}

fn optional<T: ToString>(value: &Option<T>) -> String {
    value.as_ref().map(ToString::to_string).unwrap_or_default()
}

impl CsvSink {
    /// Creates the folder and the usage and rates files.
    ///
    /// # Errors
    /// When the folder or a file cannot be created.
    pub fn create(dir: &Path) -> io::Result<CsvSink> {
        std::fs::create_dir_all(dir)?;
        // Invoices of an earlier run in the folder would join this run's (`invoice-*.csv`).
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|name| name.to_str()).unwrap_or("");
            if name.starts_with("invoice-") && name.ends_with(".csv") {
                std::fs::remove_file(&path)?;
            }
        }
        write_contracts(&dir.join("contracts.csv"))?;
        Ok(CsvSink {
            dir: dir.to_owned(),
            usage: Output::create(&dir.join("usage.csv"), &reckon_import::usage::USAGE_COLUMN_NAMES)?,
            prices: writer(
                &dir.join("prices.csv"),
                &RATE_COLUMNS.map(|column| if column == "carrier" { "customer" } else { column }),
            )?,
            fx: writer(&dir.join("fx.csv"), &["date", "currency", "per_eur"])?,
            rates: writer(&dir.join("rates.csv"), &RATE_COLUMNS)?,
            planted: Output::create(&dir.join("planted.csv"), &["carrier", "line_id", "record_id", "kind"])?,
            layouts: HashMap::new(),
            invoices: BTreeMap::new(),
            error: None,
        })
    }

    /// Flushes every file and returns the invoice files, in carrier and invoice order.
    ///
    /// # Errors
    /// The first write error met, or a flush error.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        self.usage.flush()?;
        self.planted.flush()?;
        self.rates.flush()?;
        self.prices.flush()?;
        self.fx.flush()?;
        let mut paths = Vec::new();
        for (_, mut invoice) in self.invoices {
            invoice.output.flush()?;
            paths.push(invoice.path);
        }
        Ok(paths)
    }

    /// Bytes of usage and invoice lines written so far.
    pub fn bytes_written(&self) -> u64 {
        self.usage.bytes + self.invoices.values().map(|invoice| invoice.output.bytes).sum::<u64>()
    }

    fn keep_error<E: Into<io::Error>>(&mut self, outcome: Result<(), E>) {
        if let Err(error) = outcome {
            self.error.get_or_insert(error.into());
        }
    }

    fn write_usage(&mut self, record: &UsageRecord) -> io::Result<()> {
        let output = &mut self.usage;
        output.text(&record.record_id)?;
        output.raw(b",")?;
        output.text(record.service.as_str())?;
        output.raw(b",")?;
        output.text(&record.carrier)?;
        output.raw(b",")?;
        output.text(record.carrier_ref.as_deref().unwrap_or(""))?;
        output.raw(b",")?;
        output.text(record.customer.as_deref().unwrap_or(""))?;
        output.raw(b",")?;
        output.timestamp(record.started_at)?;
        output.raw(b",")?;
        if let Some(origin) = &record.origin {
            output.raw(b"+")?;
            output.text(origin.digits())?;
        }
        output.raw(b",+")?;
        output.text(record.destination.digits())?;
        output.raw(b",")?;
        output.display(record.quantity)?;
        output.raw(b",")?;
        output.text(record.network.as_deref().unwrap_or(""))?;
        output.raw(b",")?;
        output.text(record.status.map_or("", |status| status.as_str()))?;
        output.raw(b"\n")
    }

    fn write_line(&mut self, line: &InvoiceLine) -> io::Result<()> {
        let key = (line.carrier.clone(), line.invoice_id.clone());
        if !self.invoices.contains_key(&key) {
            let layout = self.layouts.get(&line.carrier).copied().unwrap_or(InvoiceLayout::Canonical);
            let name = if layout == InvoiceLayout::WithInvoiceDate {
                format!("invoice-{}-{}.csv", line.carrier, line.invoice_id.replace('/', "-"))
            } else {
                format!("invoice-{}.csv", line.carrier)
            };
            let path = self.dir.join(name);
            let header: Vec<&str> = layout.columns().iter().map(|column| column.name()).collect();
            let output = Output::create(&path, &header)?;
            self.invoices.insert(key.clone(), Invoice { path, layout, output });
        }
        let invoice = self.invoices.get_mut(&key).expect("inserted above");
        let output = &mut invoice.output;
        for (index, column) in invoice.layout.columns().iter().enumerate() {
            if index > 0 {
                output.raw(b",")?;
            }
            match column {
                InvoiceColumn::Carrier => output.text(&line.carrier)?,
                InvoiceColumn::InvoiceId => output.text(&line.invoice_id)?,
                InvoiceColumn::InvoiceDate => {
                    if let Some(date) = line.invoice_date {
                        output.display(date)?;
                    }
                }
                InvoiceColumn::LineId => output.text(&line.line_id)?,
                InvoiceColumn::CarrierRef => output.text(line.carrier_ref.as_deref().unwrap_or(""))?,
                InvoiceColumn::Service => output.text(line.service.as_str())?,
                InvoiceColumn::StartedAt => output.timestamp(line.started_at)?,
                InvoiceColumn::Destination => output.text(line.destination.digits())?,
                InvoiceColumn::Quantity => output.display(line.quantity)?,
                InvoiceColumn::Rate => {
                    if let Some(rate) = line.rate {
                        output.display(rate)?;
                    }
                }
                InvoiceColumn::Amount => output.display(line.amount)?,
                InvoiceColumn::Currency => output.text(line.currency.as_str())?,
            }
        }
        output.raw(b"\n")
    }
}

/// The columns the workload's decks use.
const RATE_COLUMNS: [&str; 13] = [
    "carrier",
    "service",
    "prefix",
    "destination_name",
    "rate",
    "currency",
    "rate_unit",
    "increments",
    "connect_fee",
    "min_charge",
    "effective_from",
    "effective_to",
    "billed_on",
];

fn rate_record(row: &RateRow) -> [String; 13] {
    [
        row.carrier.clone(),
        row.service.to_string(),
        row.prefix.clone(),
        optional(&row.destination_name),
        row.rate.to_string(),
        row.currency.to_string(),
        row.rate_unit.to_string(),
        row.increments.to_string(),
        row.connect_fee.to_string(),
        row.min_charge.to_string(),
        row.effective_from.to_string(),
        optional(&row.effective_to),
        row.rules.billed_on.map_or_else(String::new, |billed_on| billed_on.as_str().to_owned()),
    ]
}

impl Sink for CsvSink {
    fn fx_rate(&mut self, date: jiff::civil::Date, currency: reckon_core::Currency, per_eur: reckon_core::Decimal) {
        let outcome = self.fx.write_record([date.to_string(), currency.to_string(), per_eur.to_string()]);
        self.keep_error(outcome);
    }

    fn price_row(&mut self, row: &RateRow) {
        let outcome = self.prices.write_record(rate_record(row));
        self.keep_error(outcome);
    }

    fn rate_row(&mut self, row: &RateRow) {
        let outcome = self.rates.write_record(rate_record(row));
        self.keep_error(outcome);
    }

    fn usage(&mut self, record: &UsageRecord) {
        let outcome = self.write_usage(record);
        self.keep_error(outcome);
    }

    fn line(&mut self, line: &InvoiceLine) {
        let outcome = self.write_line(line);
        self.keep_error(outcome);
    }

    fn invoice_layout(&mut self, carrier: &str, layout: InvoiceLayout) {
        self.layouts.insert(carrier.into(), layout);
    }

    fn planted(&mut self, planted: &Planted) {
        let output = &mut self.planted;
        let outcome = (|| {
            output.text(&planted.carrier)?;
            output.raw(b",")?;
            output.text(planted.line_id.as_deref().unwrap_or(""))?;
            output.raw(b",")?;
            output.text(planted.record_id.as_deref().unwrap_or(""))?;
            output.raw(b",")?;
            output.text(planted.kind.as_str())?;
            output.raw(b"\n")
        })();
        self.keep_error(outcome);
    }
}
