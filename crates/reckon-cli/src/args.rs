//! Command-line arguments (clap derive): one struct per subcommand, doc comments as help.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// Reckon: carrier cost reconciliation. Did the carrier bill what we sent, at the rate we
/// contracted?
#[derive(Debug, Parser)]
#[command(name = "reckon", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Reconcile usage records against a rate deck and carrier invoices.
    Reconcile(ReconcileArgs),
    /// Generate sample data for three carriers with planted discrepancies and reconcile it.
    Demo(DemoArgs),
    /// Rate every usage record: carrier cost, customer price and margin (rated.csv).
    Rate(RateArgs),
    /// Margin per customer, carrier and destination, and revenue leakage (leakage.csv).
    Margin(MarginArgs),
    /// Rate deck maintenance.
    #[command(subcommand)]
    Deck(DeckCommand),
}

#[derive(Debug, Subcommand)]
pub enum DeckCommand {
    /// Apply a carrier's new A-Z deck (rates.csv columns plus `change`) to the current rows.
    Update(DeckUpdateArgs),
    /// Convert an XLSX rate deck into rates.csv, given which header holds which column.
    FromXlsx(DeckFromXlsxArgs),
}

/// The inputs of rating.
#[derive(Debug, Clone, Args)]
pub struct RatingInputArgs {
    /// Our usage records (usage.csv).
    #[arg(long, value_name = "FILE")]
    pub usage: PathBuf,
    /// The carriers' rate decks (rates.csv); repeat for several files.
    #[arg(long, value_name = "FILE", required = true)]
    pub rates: Vec<PathBuf>,
    /// Customer price plans (prices.csv: rates.csv keyed by `customer`, `*` the default plan).
    #[arg(long, value_name = "FILE")]
    pub prices: Option<PathBuf>,
    /// Number-to-network table (networks.csv: prefix,mcc,mnc).
    #[arg(long, value_name = "FILE")]
    pub networks: Option<PathBuf>,
    /// Dated exchange rates, for costs and prices in different currencies.
    #[arg(long, value_name = "FILE")]
    pub fx: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct RateArgs {
    #[command(flatten)]
    pub inputs: RatingInputArgs,
    /// Where to write rated.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct MarginArgs {
    #[command(flatten)]
    pub inputs: RatingInputArgs,
    /// Folder for leakage.csv.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct DeckUpdateArgs {
    /// The rows in force today (rates.csv).
    #[arg(long, value_name = "FILE")]
    pub rates: PathBuf,
    /// The carrier's new deck with change indicators.
    #[arg(long, value_name = "FILE")]
    pub deck: PathBuf,
    /// When the carrier issued the new deck (RFC 3339, or a date for its midnight UTC).
    #[arg(long, value_name = "WHEN")]
    pub issued: String,
    /// Least notice, in days, that an increase needs under the contract.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub notice_days: u32,
    /// Where to write the updated rates.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Exit with 1 when the update raised flags (short notice, mislabelled changes).
    #[arg(long)]
    pub fail_on_flag: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DeckFromXlsxArgs {
    /// The workbook.
    #[arg(long, value_name = "FILE")]
    pub xlsx: PathBuf,
    /// The sheet holding the deck (default: the first).
    #[arg(long)]
    pub sheet: Option<String>,
    /// Which header holds which rates.csv column: `prefix=Dial Code,rate=Rate (USD)`; columns
    /// not mapped are looked for under their own name.
    #[arg(long, value_name = "COLUMN=HEADER,...", default_value = "")]
    pub map: String,
    /// Values for columns the sheet lacks: `carrier=acme,service=voice,currency=USD`.
    #[arg(long = "set", value_name = "COLUMN=VALUE,...", default_value = "")]
    pub constants: String,
    /// Where to write rates.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Our usage records (usage.csv).
    #[arg(long, value_name = "FILE")]
    pub usage: PathBuf,
    /// The carriers' rate decks (rates.csv); repeat for several files.
    #[arg(long, value_name = "FILE", required = true)]
    pub rates: Vec<PathBuf>,
    /// A carrier invoice (invoice.csv); repeat for several, taken in the order given.
    #[arg(long, value_name = "FILE", required = true)]
    pub invoice: Vec<PathBuf>,
    /// Dated exchange rates (fx.csv: date,currency,per_eur).
    #[arg(long, value_name = "FILE")]
    pub fx: Option<PathBuf>,
    /// The ECB's reference-rate history as published (eurofxref-hist.csv), as FX rates.
    #[arg(long, value_name = "FILE")]
    pub ecb: Option<PathBuf>,
    /// Contract terms per carrier (contracts.csv: FX policy, deck currency only).
    #[arg(long, value_name = "FILE")]
    pub contracts: Option<PathBuf>,
    /// Number-to-network table (networks.csv: prefix,mcc,mnc) for rates priced per network.
    #[arg(long, value_name = "FILE")]
    pub networks: Option<PathBuf>,
    /// Folder for discrepancies.csv, summary.json (and rejected.csv).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    #[command(flatten)]
    pub options: ReconcileOptions,
}

/// The settings of a reconciliation, shared by every command that reconciles.
#[derive(Debug, Clone, Args)]
pub struct ReconcileOptions {
    /// The invoices' period (YYYY-MM); default: the months the carrier's lines fall in.
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    /// Largest start-time difference, in seconds, of a match by time.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub time_tolerance: u32,
    /// Largest billed-quantity difference that still agrees.
    #[arg(long, value_name = "DECIMAL", default_value = "0")]
    pub quantity_tolerance: String,
    /// Largest amount difference, in the invoice currency, that still agrees.
    #[arg(long, value_name = "DECIMAL", default_value = "0.000001")]
    pub amount_tolerance: String,
    /// Most days an FX rate may be older than the amount it converts.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub fx_staleness_days: i32,
    /// The currency the summary also shows every amount in (ISO 4217).
    #[arg(long, value_name = "CODE", default_value = "EUR")]
    pub report_currency: String,
    /// Set bad input rows aside in rejected.csv (counted in the summary) instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Exit with 1 when the completed run found discrepancies (for pipelines that gate on them).
    #[arg(long)]
    pub fail_on_discrepancy: bool,
    /// Print nothing on stdout (the files are still written).
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Folder for the generated inputs and the results.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Usage records to generate.
    #[arg(long, default_value_t = 3_000)]
    pub records: usize,
    /// Seed of the generator: the same seed gives the same data.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}
