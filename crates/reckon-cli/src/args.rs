//! Command-line arguments (clap derive): one struct per subcommand, doc comments as help.

use clap::{Args, Parser, Subcommand, ValueEnum};
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
    Reconcile(Box<ReconcileArgs>),
    /// Generate sample data for three carriers with planted discrepancies and reconcile it.
    Demo(DemoArgs),
    /// Generate a synthetic month (usage, decks, FX, invoices with planted discrepancies) of any
    /// size, streaming to disk.
    Generate(GenerateArgs),
    /// Rate every usage record: carrier cost, customer price and margin (rated.csv).
    Rate(RateArgs),
    /// Margin per customer, carrier and destination, and revenue leakage (leakage.csv).
    Margin(MarginArgs),
    /// Rate deck maintenance.
    #[command(subcommand)]
    Deck(DeckCommand),
    /// Store inputs in the ledger (idempotent; one transaction per file).
    #[command(subcommand)]
    Import(ImportCommand),
    /// Disputes: open from a run, drive through their lifecycle, show, export evidence.
    #[command(subcommand)]
    Dispute(DisputeCommand),
    /// Compute (or correct) the settlement statement of a carrier's period.
    Settle(SettleArgs),
    /// Export the journal entries of a carrier's settlement (CSV, hledger or beancount).
    Journal(JournalArgs),
    /// Serve the real-time service: usage over HTTP and NATS, accruals, alerts, and the ledger
    /// (invoices, runs, disputes, settlements) over HTTP.
    Serve(Box<ServeArgs>),
    /// API keys of the service.
    #[command(subcommand)]
    Apikey(ApikeyCommand),
    /// Convert a source file (switch CDRs, an SMS gateway's log, a carrier's export, a deck)
    /// into a canonical file through an import profile, or name the likely profile (--detect).
    Convert(ConvertArgs),
    /// List the built-in import profiles, or print one's TOML (--show NAME) to adapt.
    Profiles(ProfilesArgs),
    /// Explain in plain words why a record or an invoice line is expected at its amount: deck
    /// row, increments, fees, rounding, FX, the match and the comparison that failed.
    Explain(Box<ExplainArgs>),
    /// A carrier's commitments during their period: spend so far from the real-time accruals,
    /// the minimum, and the shortfall projected at the current run rate.
    Commitments(CommitmentsArgs),
}

/// `reckon commitments`.
#[derive(Debug, Clone, Args)]
pub struct CommitmentsArgs {
    #[arg(long)]
    pub carrier: String,
    /// The month (YYYY-MM) to forecast, as of today (or its last day, once it is over);
    /// default: today's.
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

/// `reckon explain`: over files (--usage, --rates, --invoice, as `reconcile`) or the ledger.
#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The usage record to explain.
    #[arg(long, value_name = "ID", required_unless_present = "line", conflicts_with = "line")]
    pub record: Option<String>,
    /// The invoice line to explain.
    #[arg(long, value_name = "CARRIER/INVOICE/LINE")]
    pub line: Option<String>,
    /// Our usage records (usage.csv); without it, the ledger is read.
    #[arg(long, value_name = "FILE", requires = "rates")]
    pub usage: Option<PathBuf>,
    /// The carriers' rate decks (rates.csv); repeat for several files.
    #[arg(long, value_name = "FILE", requires = "usage")]
    pub rates: Vec<PathBuf>,
    /// A carrier invoice (invoice.csv); repeat for several, in the order `reconcile` took them.
    #[arg(long, value_name = "FILE", requires = "usage")]
    pub invoice: Vec<PathBuf>,
    /// The invoices' period (YYYY-MM), as given to `reconcile`.
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub reference: ReferenceArgs,
    #[command(flatten)]
    pub tolerances: ToleranceArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ConvertArgs {
    /// The source file.
    pub input: PathBuf,
    /// The import profile: a built-in name (`reckon profiles`) or a profile file (TOML).
    #[arg(long, conflicts_with = "detect")]
    pub profile: Option<String>,
    /// Name the built-in profiles that read the file, with why, instead of converting.
    #[arg(long)]
    pub detect: bool,
    /// Where to write the canonical file.
    #[arg(long, value_name = "FILE", conflicts_with = "detect")]
    pub out: Option<PathBuf>,
    /// Set rows that do not convert aside (listed on stderr, or in --rejected) instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// With --skip-bad-rows: write the rows set aside here (file,line,column,value,reason).
    #[arg(long, value_name = "FILE", requires = "skip_bad_rows")]
    pub rejected: Option<PathBuf>,
    #[command(flatten)]
    pub overrides: ProfileOverrideArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ProfilesArgs {
    /// Print this built-in profile's TOML (to copy and adapt) instead of the list.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
}

/// What a conversion changes in a profile.
#[derive(Debug, Clone, Default, Args)]
pub struct ProfileOverrideArgs {
    /// A canonical field set to a constant: FIELD=VALUE (repeat), e.g. `--set carrier=acme`.
    #[arg(long = "set", value_name = "FIELD=VALUE")]
    pub set: Vec<String>,
    /// A canonical field read from another source column: FIELD=COLUMN (repeat), e.g.
    /// `--map quantity=duration`.
    #[arg(long = "map", value_name = "FIELD=COLUMN")]
    pub map: Vec<String>,
    /// The IANA time zone of times the source writes without an offset (`Europe/Paris`).
    #[arg(long, value_name = "ZONE")]
    pub time_zone: Option<String>,
}

/// Import profiles of `reconcile`'s inputs: each file is converted into its canonical form
/// first.
#[derive(Debug, Clone, Default, Args)]
pub struct InputProfileArgs {
    /// The profile of --usage (a built-in name or a profile file): `asterisk`, `kannel`, ...
    #[arg(long, value_name = "PROFILE")]
    pub usage_profile: Option<String>,
    /// The profile of every --invoice file.
    #[arg(long, value_name = "PROFILE")]
    pub invoice_profile: Option<String>,
    /// The profile of every --rates file.
    #[arg(long, value_name = "PROFILE")]
    pub rates_profile: Option<String>,
    #[command(flatten)]
    pub overrides: ProfileOverrideArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on (port 0: any free port, printed on start).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub reference: ReferenceArgs,
    #[command(flatten)]
    pub tolerances: ToleranceArgs,
    /// Consume usage events from this NATS server's JetStream too (nats://host:port).
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// The subjects to consume (with --nats).
    #[arg(long, default_value = "usage.>", requires = "nats")]
    pub subject: String,
    /// The JetStream stream holding the subjects (created when missing).
    #[arg(long, default_value = "RECKON_USAGE", requires = "nats")]
    pub nats_stream: String,
    /// The durable consumer's name: where consumption resumes after a restart.
    #[arg(long, default_value = "reckon", requires = "nats")]
    pub nats_durable: String,
    /// Where bad events are published (they are also kept in the ledger: `GET /v1/rejected`).
    #[arg(long, default_value = "reckon.dead", requires = "nats")]
    pub nats_dead_letter: String,
    /// How long a fetched message may stay unacknowledged before redelivery, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000, requires = "nats")]
    pub nats_ack_wait_ms: u64,
    /// Alert rules (alerts.csv: rule,subject,threshold).
    #[arg(long, value_name = "FILE")]
    pub alerts: Option<PathBuf>,
    /// POST each new alert as JSON to this http:// or https:// URL (with retries); alerts always
    /// go to the log.
    #[arg(long, value_name = "URL", requires = "alerts")]
    pub webhook: Option<String>,
    /// Sign each webhook POST with the secret in this file (`Reckon-Signature` header, an
    /// HMAC-SHA256 of the timestamp and body; see FORMATS.md). A file, so that the secret is
    /// not in the process list; surrounding whitespace is ignored.
    #[arg(long, value_name = "FILE", requires = "webhook")]
    pub webhook_secret_file: Option<PathBuf>,
    /// Trust this CA certificate (PEM) for an https:// webhook instead of the system's roots
    /// (a private CA, or a receiver's self-signed certificate).
    #[arg(long, value_name = "FILE", requires = "webhook")]
    pub webhook_ca: Option<PathBuf>,
    /// How often months with new usage are checked against the alert rules, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 5_000)]
    pub alert_interval_ms: u64,
    /// Attempts to deliver an alert to the webhook before giving up.
    #[arg(long, default_value_t = 8)]
    pub webhook_attempts: u32,
    /// Wait before the first webhook retry, in milliseconds; doubled after each failure.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub webhook_backoff_ms: u64,
    /// Connections served at once; more wait until one closes.
    #[arg(long, default_value_t = 1024)]
    pub max_connections: usize,
    /// Close a connection that has not sent a whole request head within this time (idle
    /// keep-alive connections too), in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub header_read_timeout_ms: u64,
    /// On SIGTERM, close the connections still open after this time, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 30_000)]
    pub shutdown_timeout_ms: u64,
    /// This replica's name in logs and leases, when several `reckon serve` share one PostgreSQL
    /// ledger (any number may; SQLite serves one process).
    #[arg(long, value_name = "NAME")]
    pub replica_id: Option<String>,
    /// How long a replica's lease on a shared duty (the alert checks, an alert's delivery) holds
    /// without renewal: a dead replica's duty passes to another after at most this long.
    #[arg(long, value_name = "MS", default_value_t = 15_000)]
    pub lease_ttl_ms: u64,
    /// Serve HTTPS with this certificate chain (PEM, leaf first); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS #8, PKCS #1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Requests a second each API key may make, sustained (a token bucket per key, in each
    /// replica: behind a balancer over N replicas a key gets up to N times this). Over it:
    /// 429 with Retry-After. Unlimited when absent.
    #[arg(long, value_name = "N")]
    pub key_rate_limit: Option<f64>,
    /// Requests a key may make at once after a quiet spell (with --key-rate-limit; default:
    /// the rate, at least 1).
    #[arg(long, value_name = "B", requires = "key_rate_limit")]
    pub key_burst: Option<f64>,
    /// The log on stderr: `text` lines, or `json` objects (one a line) for a log collector.
    /// Each request is logged (method, route, status, latency, key id).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// How `reckon serve` writes its log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ApikeyCommand {
    /// Create a key; the token is printed once (only its hash is stored).
    Create(ApikeyCreateArgs),
    /// List the keys: id, scopes, created, last used, expiry, revocation (never the secret).
    List(ApikeyListArgs),
    /// Revoke a key: it is refused (401) from now on.
    Revoke(ApikeyRevokeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ApikeyListArgs {
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ApikeyRevokeArgs {
    /// The key's id (the part after `rk_` of its token, as `reckon apikey list` shows it).
    pub key_id: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ApikeyCreateArgs {
    /// Scopes: ingest, read, admin (comma-separated or repeated).
    #[arg(long = "scope", value_delimiter = ',', required = true)]
    pub scopes: Vec<String>,
    /// The key is refused from this instant on (RFC 3339, like 2027-01-01T00:00:00Z).
    #[arg(long, value_name = "INSTANT", conflicts_with = "expires_in_days")]
    pub expires: Option<String>,
    /// The key is refused after this many days.
    #[arg(long, value_name = "DAYS")]
    pub expires_in_days: Option<u32>,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

/// Where the ledger is.
#[derive(Debug, Clone, Args)]
pub struct LedgerArgs {
    /// The ledger database: postgres://... or sqlite://PATH (default: an SQLite file in the
    /// data directory).
    #[arg(long, env = "RECKON_DATABASE_URL", value_name = "URL")]
    pub database_url: Option<String>,
    /// The data directory of the embedded ledger.
    #[arg(long, env = "RECKON_DATA_DIR", value_name = "DIR", default_value = "reckon-data")]
    pub data_dir: PathBuf,
    /// Who is acting, for the audit trail (default: $USER).
    #[arg(long, env = "USER", default_value = "reckon")]
    pub actor: String,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Usage records (usage.csv).
    Usage(ImportFileArgs),
    /// A rate deck (rates.csv).
    Rates(ImportFileArgs),
    /// Customer price plans (prices.csv), for margins and revenue in the service's accruals.
    Prices(ImportFileArgs),
    /// Carrier invoices (invoice.csv); every invoice of the file in one transaction.
    Invoice(ImportInvoiceArgs),
    /// Carrier summary invoices (invoice-summary.csv: totals per destination for a period);
    /// reconciled, disputed and settled like itemised ones.
    InvoiceSummary(ImportInvoiceArgs),
    /// One of our invoices to a carrier, netted at settlement.
    Receivable(ReceivableArgs),
    /// Contract terms beyond the deck (contract_terms.csv: recurring charges, commitments,
    /// rebates, taxes), effective-dated; a ledger run checks the charge lines against them.
    ContractTerms(ImportFileArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ImportFileArgs {
    /// The file.
    pub file: PathBuf,
    /// Read the file through this import profile (a built-in name or a profile file).
    #[arg(long, value_name = "PROFILE")]
    pub profile: Option<String>,
    #[command(flatten)]
    pub overrides: ProfileOverrideArgs,
    /// Supersede stored items whose content differs (with an audit entry) instead of refusing.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ImportInvoiceArgs {
    #[command(flatten)]
    pub file: ImportFileArgs,
    /// The period (YYYY-MM) every invoice of the file belongs to; default: for each invoice,
    /// the month holding most of its lines (the earliest on a tie).
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
}

#[derive(Debug, Clone, Args)]
pub struct ReceivableArgs {
    #[arg(long)]
    pub carrier: String,
    #[arg(long)]
    pub invoice_id: String,
    /// YYYY-MM.
    #[arg(long)]
    pub period: String,
    /// What the carrier owes us (>= 0; a negative amount is refused with the reason).
    #[arg(long, allow_negative_numbers = true)]
    pub amount: String,
    #[arg(long)]
    pub currency: String,
    /// Correct a receivable stored with other figures (the old ones go to the audit log)
    /// instead of refusing.
    #[arg(long)]
    pub replace: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Subcommand)]
pub enum DisputeCommand {
    /// Open disputes from a run's overbilled discrepancies, one per carrier invoice.
    Open(DisputeOpenArgs),
    /// Mark a dispute as sent to the carrier.
    Submit(DisputeActionArgs),
    /// The carrier credits every line, or with --credit LINE=AMOUNT only those (partial).
    Accept(DisputeAcceptArgs),
    /// The carrier credits nothing.
    Reject(DisputeActionArgs),
    /// Close an answered dispute.
    Close(DisputeActionArgs),
    /// Print a dispute, its lines and its history.
    Show(DisputeIdArgs),
    /// Write the evidence file the carrier receives.
    Export(DisputeExportArgs),
}

#[derive(Debug, Clone, Args)]
pub struct DisputeOpenArgs {
    /// The run (printed by `reckon reconcile --carrier ... --period ...`).
    #[arg(long)]
    pub run: String,
    /// Only lines overbilled by more than this amount are disputed.
    #[arg(long, default_value = "0")]
    pub threshold: String,
    /// The carriers' dispute thresholds as practised (contracts.csv: dispute_min_share,
    /// dispute_min_amount, dispute_min_currency, rate_dispute_window_days).
    #[arg(long, value_name = "FILE")]
    pub contracts: Option<PathBuf>,
    /// Exchange rates for a dispute_min_amount in another currency than the invoice's.
    #[arg(long, value_name = "FILE")]
    pub fx: Option<PathBuf>,
    /// The day thresholds are applied on (YYYY-MM-DD; default: today, UTC): what decides
    /// whether a rate dispute is still within its window.
    #[arg(long, value_name = "DATE")]
    pub on: Option<String>,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DisputeActionArgs {
    pub dispute_id: String,
    /// Why (kept in the history).
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DisputeAcceptArgs {
    pub dispute_id: String,
    /// A line's credit, for a partial acceptance: LINE_ID=AMOUNT (repeat).
    #[arg(long = "credit", value_name = "LINE=AMOUNT")]
    pub credits: Vec<String>,
    #[arg(long, default_value = "")]
    pub reason: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DisputeIdArgs {
    pub dispute_id: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DisputeExportArgs {
    pub dispute_id: String,
    /// Where to write the evidence CSV.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct SettleArgs {
    #[arg(long)]
    pub carrier: String,
    /// YYYY-MM.
    #[arg(long)]
    pub period: String,
    /// Issue a correction superseding the statement in force when the figures changed.
    #[arg(long)]
    pub correct: bool,
    /// Settle only this currency (ISO 4217); default: one statement per currency billed.
    #[arg(long, value_name = "CODE")]
    pub currency: Option<String>,
    /// Contract terms per carrier (contracts.csv): a `settlement_currency` settles every
    /// currency billed as one statement in it.
    #[arg(long, value_name = "FILE")]
    pub contracts: Option<PathBuf>,
    /// Dated exchange rates (fx.csv: date,currency,per_eur) for a settlement currency.
    #[arg(long, value_name = "FILE")]
    pub fx: Option<PathBuf>,
    /// The ECB's reference-rate history as published (eurofxref-hist.csv), as FX rates.
    #[arg(long, value_name = "FILE")]
    pub ecb: Option<PathBuf>,
    /// Most days an FX rate may be older than the period's last day.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub fx_staleness_days: i32,
    #[command(flatten)]
    pub ledger: LedgerArgs,
}

#[derive(Debug, Clone, Args)]
pub struct JournalArgs {
    #[arg(long)]
    pub carrier: String,
    /// YYYY-MM.
    #[arg(long)]
    pub period: String,
    /// Where to write the journal.
    #[arg(long)]
    pub out: PathBuf,
    /// csv (entry_id,date,account_code,account,debit,credit,currency,memo), hledger or beancount.
    #[arg(long, default_value = "csv", value_parser = ["csv", "hledger", "beancount"])]
    pub format: String,
    #[command(flatten)]
    pub ledger: LedgerArgs,
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
    /// FX rates (fx.csv, the ECB history), contract terms and the number-to-network table,
    /// read as `reconcile` reads them.
    #[command(flatten)]
    pub reference: ReferenceArgs,
    /// Most days an FX rate may be older than the amount it converts.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub fx_staleness_days: i32,
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
    /// The currency the report also shows revenue, cost and margin in.
    #[arg(long, value_name = "CODE", default_value = "EUR")]
    pub report_currency: String,
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
    /// Least notice, in days, that an increase or a currency change needs under the contract.
    #[arg(long, value_name = "DAYS", default_value_t = 7)]
    pub notice_days: u32,
    /// contracts.csv: a carrier's `notice_days` replaces --notice-days for its rows.
    #[arg(long, value_name = "FILE")]
    pub contracts: Option<PathBuf>,
    /// A change with too little notice takes effect when the notice is met (issue + notice)
    /// instead of on the carrier's date; it is flagged either way.
    #[arg(long)]
    pub defer_short_notice: bool,
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
    /// The sheet row (1-based) of the header; default: the first row naming every mapped header.
    #[arg(long, value_name = "N")]
    pub header_row: Option<u32>,
    /// The form of dates written as text, strftime style: `%d/%m/%Y` for 01/03/2026.
    #[arg(long, value_name = "FORMAT")]
    pub date_format: Option<String>,
    /// Where to write rates.csv.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Args)]
pub struct ReconcileArgs {
    /// Our usage records (usage.csv).
    #[arg(long, value_name = "FILE", required_unless_present_any = ["carrier", "all_carriers"])]
    pub usage: Option<PathBuf>,
    /// The carriers' rate decks (rates.csv); repeat for several files.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["carrier", "all_carriers"])]
    pub rates: Vec<PathBuf>,
    /// A carrier invoice (invoice.csv); repeat for several, taken in the order given.
    #[arg(long, value_name = "FILE", required_unless_present_any = ["carrier", "invoice_summary", "all_carriers"])]
    pub invoice: Vec<PathBuf>,
    #[command(flatten)]
    pub summary: SummaryInvoiceArgs,
    /// Reconcile a carrier's period from the ledger instead of files (with --period).
    #[arg(long, requires = "period", conflicts_with_all = ["usage", "rates", "invoice"])]
    pub carrier: Option<String>,
    /// Reconcile every carrier of the period (--period) from the ledger, as jobs in the ledger
    /// that running `reckon serve` replicas share; this command works the queue too and waits
    /// until its jobs are done.
    #[arg(long, requires = "period", conflicts_with_all = ["usage", "rates", "invoice", "carrier"])]
    pub all_carriers: bool,
    #[command(flatten)]
    pub ledger: LedgerArgs,
    #[command(flatten)]
    pub reference: ReferenceArgs,
    /// Contract terms beyond the deck (contract_terms.csv: recurring charges, commitments,
    /// rebates, taxes): the invoice lines that are not usage are checked against them. A
    /// ledger run (--carrier) takes the terms stored by `reckon import contract-terms`.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["carrier", "all_carriers"])]
    pub contract_terms: Option<PathBuf>,
    /// Folder for discrepancies.csv, summary.json (and rejected.csv).
    #[arg(long, value_name = "DIR", required_unless_present_any = ["carrier", "all_carriers"])]
    pub out: Option<PathBuf>,
    /// The discrepancies as discrepancies.csv or as discrepancies.parquet (typed columns,
    /// exact decimals); summary.json and rejected.csv are written either way.
    #[arg(long, value_enum, value_name = "FORMAT", default_value_t = ReportFormat::Csv, conflicts_with = "carrier")]
    pub output_format: ReportFormat,
    #[command(flatten)]
    pub options: ReconcileOptions,
    #[command(flatten)]
    pub profiles: InputProfileArgs,
}

/// A reconciliation of summary invoices (totals per destination) instead of itemised ones.
#[derive(Debug, Clone, Args)]
pub struct SummaryInvoiceArgs {
    /// A carrier summary invoice (invoice-summary.csv); repeat for several.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["invoice", "carrier"])]
    pub invoice_summary: Vec<PathBuf>,
    /// Write summary-evidence.csv (our calls, quantity and amount per day of each group that
    /// differs) and summary-detail.csv here (default: the --out folder).
    #[arg(long, value_name = "DIR", requires = "invoice_summary")]
    pub evidence_dir: Option<PathBuf>,
    /// Write the records of this group (a prefix, destination name or line_id, as in
    /// discrepancies.csv) to summary-detail.csv; repeat for several.
    #[arg(long, value_name = "GROUP", requires = "invoice_summary")]
    pub detail: Vec<String>,
}

/// The file format of the discrepancies report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// discrepancies.csv (FORMATS.md).
    Csv,
    /// discrepancies.parquet: the same columns, typed (Reckon's extension).
    Parquet,
}

/// The reference data of reconciliations and margins, shared by `reconcile` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct ReferenceArgs {
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
    /// Holiday calendars (holidays.csv: carrier,date,rated_as): a carrier's holiday is rated as
    /// the weekday given (`sun`) by its time-banded rows.
    #[arg(long, value_name = "FILE")]
    pub holidays: Option<PathBuf>,
}

/// The settings of a reconciliation, shared by every command that reconciles.
#[derive(Debug, Clone, Args)]
pub struct ReconcileOptions {
    /// The invoices' period (YYYY-MM); default: the months the carrier's lines fall in.
    #[arg(long, value_name = "YYYY-MM")]
    pub period: Option<String>,
    #[command(flatten)]
    pub tolerances: ToleranceArgs,
    /// Set bad input rows aside in rejected.csv (counted in the summary) instead of stopping.
    #[arg(long)]
    pub skip_bad_rows: bool,
    /// Exit with 1 when the completed run found discrepancies (for pipelines that gate on them).
    #[arg(long)]
    pub fail_on_discrepancy: bool,
    /// Print nothing on stdout (the files are still written).
    #[arg(long)]
    pub quiet: bool,
    /// Partitions the run is split into on disk (0: reconcile in memory); default: from the
    /// input size, so that memory stays bounded however large the month.
    #[arg(long, value_name = "N")]
    pub partitions: Option<usize>,
    /// Folder for the partitions' spill files (removed after the run); default: the output folder.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Print on stderr how long each step of a split run took and the disk its partitions used.
    #[arg(long)]
    pub timings: bool,
}

/// Tolerances, FX staleness and report currency: how a reconciliation judges, shared by
/// `reconcile` and `serve`.
#[derive(Debug, Clone, Args)]
pub struct ToleranceArgs {
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
}

#[derive(Debug, Clone, Args)]
pub struct GenerateArgs {
    /// Folder to write usage.csv, rates.csv, fx.csv, contracts.csv, prices.csv, planted.csv and
    /// the invoice-*.csv files into.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Usage records to generate (`10000000`, `10_000_000`, `10m`, `500k`).
    #[arg(long, value_name = "N", default_value = "1000000", value_parser = crate::generate_command::parse_count)]
    pub records: u64,
    /// Seed of the generator: the same seed and flags give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Carriers (acme, borealis, cobalt, dynamo, then acme2, ...).
    #[arg(long, value_name = "K", default_value_t = 4)]
    pub carriers: usize,
    /// Deck rows per carrier beyond the hand-written ones (country codes and their ranges).
    #[arg(long, value_name = "N", default_value_t = 21_500)]
    pub prefixes_per_carrier: usize,
    /// Share of billable records given a planted discrepancy, per mille.
    #[arg(long, value_name = "PER_MILLE", default_value_t = 10)]
    pub discrepancies_per_mille: u64,
    /// The month of the usage (YYYY-MM).
    #[arg(long, value_name = "YYYY-MM", default_value = "2026-03")]
    pub month: String,
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
