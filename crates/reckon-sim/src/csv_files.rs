//! A [`Sink`] that writes the workload as the canonical CSV files, streaming (so a benchmark
//! can generate millions of records without holding them).

use crate::Sink;
use reckon_core::{InvoiceLine, RateRow, UsageRecord};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Writes `usage.csv`, `rates.csv`, `prices.csv`, `fx.csv`, `contracts.csv` and one
/// `invoice-<carrier>.csv` per carrier into a folder.
pub struct CsvSink {
    dir: PathBuf,
    usage: csv::Writer<BufWriter<File>>,
    rates: csv::Writer<BufWriter<File>>,
    prices: csv::Writer<BufWriter<File>>,
    fx: csv::Writer<BufWriter<File>>,
    invoices: BTreeMap<Arc<str>, csv::Writer<BufWriter<File>>>,
    error: Option<io::Error>,
}

fn writer(path: &Path, header: &[&str]) -> io::Result<csv::Writer<BufWriter<File>>> {
    let file =
        File::create(path).map_err(|error| io::Error::new(error.kind(), format!("{}: {error}", path.display())))?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
    writer.write_record(header)?;
    Ok(writer)
}

/// Writes the workload's contract terms (`crate::contracts`) as `contracts.csv`.
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
        write_contracts(&dir.join("contracts.csv"))?;
        Ok(CsvSink {
            dir: dir.to_owned(),
            usage: writer(&dir.join("usage.csv"), &reckon_import::usage::USAGE_COLUMN_NAMES)?,
            prices: writer(
                &dir.join("prices.csv"),
                &RATE_COLUMNS.map(|column| if column == "carrier" { "customer" } else { column }),
            )?,
            fx: writer(&dir.join("fx.csv"), &["date", "currency", "per_eur"])?,
            rates: writer(&dir.join("rates.csv"), &RATE_COLUMNS)?,
            invoices: BTreeMap::new(),
            error: None,
        })
    }

    /// Flushes every file and returns the invoice files, in carrier order.
    ///
    /// # Errors
    /// The first write error met, or a flush error.
    pub fn finish(mut self) -> io::Result<Vec<PathBuf>> {
        if let Some(error) = self.error.take() {
            return Err(error);
        }
        self.usage.flush()?;
        self.rates.flush()?;
        self.prices.flush()?;
        self.fx.flush()?;
        let mut paths = Vec::new();
        for (carrier, mut writer) in self.invoices {
            writer.flush()?;
            paths.push(self.dir.join(format!("invoice-{carrier}.csv")));
        }
        Ok(paths)
    }

    fn keep_error(&mut self, outcome: csv::Result<()>) {
        if let Err(error) = outcome {
            self.error.get_or_insert(error.into());
        }
    }
}

/// The columns the workload's decks use.
const RATE_COLUMNS: [&str; 12] = [
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
];

fn rate_record(row: &RateRow) -> [String; 12] {
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
        let outcome = self.usage.write_record([
            &*record.record_id,
            record.service.as_str(),
            &record.carrier,
            record.carrier_ref.as_deref().unwrap_or(""),
            record.customer.as_deref().unwrap_or(""),
            &record.started_at.to_string(),
            &optional(&record.origin),
            &format!("+{}", record.destination),
            &record.quantity.to_string(),
            record.network.as_deref().unwrap_or(""),
        ]);
        self.keep_error(outcome);
    }

    fn line(&mut self, line: &InvoiceLine) {
        if !self.invoices.contains_key(&line.carrier) {
            let header = [
                "carrier",
                "invoice_id",
                "line_id",
                "carrier_ref",
                "service",
                "started_at",
                "destination",
                "quantity",
                "rate",
                "amount",
                "currency",
            ];
            match writer(&self.dir.join(format!("invoice-{}.csv", line.carrier)), &header) {
                Ok(writer) => {
                    self.invoices.insert(line.carrier.clone(), writer);
                }
                Err(error) => {
                    self.error.get_or_insert(error);
                    return;
                }
            }
        }
        let writer = self.invoices.get_mut(&line.carrier).expect("inserted above");
        let outcome = writer.write_record([
            &*line.carrier,
            &line.invoice_id,
            &line.line_id,
            line.carrier_ref.as_deref().unwrap_or(""),
            line.service.as_str(),
            &line.started_at.to_string(),
            line.destination.digits(),
            &line.quantity.to_string(),
            &optional(&line.rate),
            &line.amount.to_string(),
            line.currency.as_str(),
        ]);
        self.keep_error(outcome);
    }
}
