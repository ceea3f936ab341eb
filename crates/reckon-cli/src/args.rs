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
    #[arg(long, value_name = "DAYS")]
    pub fx_staleness_days: Option<i32>,
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
