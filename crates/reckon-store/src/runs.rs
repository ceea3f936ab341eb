//! Reconciliation runs over the ledger: the inputs of a carrier's period read back, reconciled
//! by `reckon-core`, and the run and its discrepancies recorded once.
//!
//! A run's id is a hash of everything that decides its result (usage, deck, invoice versions and
//! periods, settings), so running it again with nothing changed finds the same run and stores
//! nothing.

use crate::dialect::{decimal, instant, nanoseconds, optional_decimal};
use crate::imports::{
    invoice_line_from_row, usage_from_row, CURRENT_VERSION, INVOICE_LINES_FROM, INVOICE_LINE_COLUMNS, USAGE_COLUMNS,
};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::network::NetworkMap;
use reckon_core::period::{usage_window, Month};
use reckon_core::rating::{rate_all, Party};
use reckon_core::reconcile::Reconciler;
use reckon_core::spelling::near_match;
use reckon_core::time_band::HolidayCalendar;
use reckon_core::Reconciliation;
use reckon_core::{
    CompactString, Currency, Discrepancy, DiscrepancyKind, FxTable, InvoiceLine, ReconcileConfig, Service, Timestamp,
    UsageRecord,
};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

/// The scope of a run.
#[derive(Clone, Debug)]
pub struct RunInputs<'a> {
    pub carrier: &'a str,
    pub period: Month,
    pub config: &'a ReconcileConfig,
    pub fx: &'a FxTable,
    pub networks: &'a NetworkMap,
    /// Holiday calendars per carrier (`holidays.csv`): the carrier's own rates its holidays.
    pub holidays: &'a HashMap<String, HolidayCalendar>,
}

/// What a carrier's period reads from the ledger ([`Ledger::period_inputs`]).
pub(crate) struct PeriodInputs {
    /// The run's settings, with the period set.
    pub config: ReconcileConfig,
    pub lines: Vec<InvoiceLine>,
    pub summaries: Vec<reckon_core::summary_invoice::SummaryLine>,
    pub usage: Vec<UsageRecord>,
    pub other_lines: Vec<InvoiceLine>,
    /// The contract charge lines of the period's invoices (checked against the stored terms,
    /// which the config carries).
    pub charge_lines: Vec<reckon_core::charges::ChargeLine>,
    /// The start of the usage window.
    pub from: Timestamp,
    /// The stored rates' text (a part of the run id).
    pub deck_text: String,
    pub deck: reckon_core::RateDeck,
}

/// A recorded run.
#[derive(Clone, Debug)]
pub struct StoredRun {
    pub run_id: String,
    /// Whether this call recorded it (false: the same run was recorded before).
    pub created: bool,
    pub discrepancies: Vec<Discrepancy>,
    pub summary: Option<reckon_core::summary::Summary>,
    /// What the run read from the ledger.
    pub read: RunReads,
}

/// How much a run read: the counts its summary shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReads {
    /// Usage records of the period's window.
    pub usage_records: u64,
    /// Rows of the carrier's rate deck.
    pub rate_rows: u64,
    /// Lines of the period's invoices (those reconciled).
    pub invoice_lines: u64,
}

/// Every setting and reference table that decides a run's result, as text for its id:
/// tolerances, period, contract terms (sorted by carrier), report currency, the FX table, the
/// network map and the carrier's holidays (written only when it has some, so that a run without
/// any keeps the id it had before holidays were read).
fn run_settings_text(config: &ReconcileConfig, inputs: &RunInputs<'_>) -> String {
    let mut contracts: Vec<(&String, &reckon_core::contract::ContractTerms)> = config.contracts.iter().collect();
    contracts.sort_by(|a, b| a.0.cmp(b.0));
    let holidays = match inputs.holidays.get(inputs.carrier).filter(|calendar| !calendar.is_empty()) {
        Some(calendar) => format!("|holidays:{}", calendar.canonical_text()),
        None => String::new(),
    };
    // The contract terms beyond the deck, only when the carrier has some: a run without any
    // keeps the id it had before they were stored.
    let charge_terms: String = config
        .charge_terms
        .iter()
        .map(|term| format!("|term:{}", reckon_import::contract_terms::term_row(term)))
        .collect();
    format!(
        "{:?}|{}|{}|{}|{:?}|{:?}|fx:{}|networks:{}{holidays}{charge_terms}",
        config.time_tolerance,
        config.quantity_tolerance,
        config.amount_tolerance,
        inputs.period,
        contracts,
        config.report_currency,
        inputs.fx.canonical_text(),
        inputs.networks.canonical_text()
    )
}

/// Usage records of a run's window from which [`Ledger::reconcile_period`] streams the run
/// from the database into partitions instead of reading it into memory (about 500 MiB read
/// whole).
pub const SPLIT_USAGE_RECORDS_MIN: u64 = 1_000_000;

/// A usage record's and an invoice line's size as CSV, to lay out the partitions of a ledger
/// run as a file run of the same month's (`reckon generate`'s months: ~190 bytes a record).
const USAGE_BYTES_PER_RECORD: u64 = 190;
const LINE_BYTES_PER_LINE: u64 = 200;

/// Records or lines per batch streamed from the database to a split run, and batches a
/// channel holds ahead of the reconciliation: memory holds a few batches, not the month.
const STREAM_BATCH_ROWS: usize = 8_192;
const STREAM_BATCHES_AHEAD: usize = 4;

/// How a ledger run holds its month.
#[derive(Clone, Debug)]
pub enum RunSplit {
    /// In memory below [`SPLIT_USAGE_RECORDS_MIN`] records, else split with partitions sized
    /// from the month, spilled into a folder in `spill_dir`.
    BySize { spill_dir: std::path::PathBuf },
    /// Read into memory whole.
    InMemory,
    /// Streamed from the database into partitions on disk laid out so, and reconciled
    /// partition by partition (`reckon_partition`): memory holds a few partitions, not the
    /// month. A deck with tiers prices a record from the whole month: such a run is read into
    /// memory instead.
    Split(reckon_partition::Layout),
}

/// What a run reads, counted in the database before it reads it.
struct RunScope {
    /// The usage window (`[from, to)`).
    from: Timestamp,
    to: Timestamp,
    usage_records: u64,
    /// Lines of the period's invoices.
    own_lines: u64,
}

/// What a split run streamed: the records and lines it reconciled.
struct Streamed {
    usage_records: u64,
    own_lines: u64,
    /// The run id's hasher, fed the content hash of every record streamed, in usage order.
    run_id_hasher: ContentHasher,
}

/// A split run's inputs, owned by the thread that reconciles them.
struct OwnedRunInputs {
    usage_name: std::path::PathBuf,
    deck: reckon_core::RateDeck,
    networks: NetworkMap,
    fx: FxTable,
    config: ReconcileConfig,
    layout: reckon_partition::Layout,
}

/// The usage batches streamed from the database, as a split run's usage source.
struct StreamedUsage {
    receiver: tokio::sync::mpsc::Receiver<Vec<UsageRecord>>,
    /// The run's records are numbered from 1 in their positions (a ledger has no lines).
    line_number: u64,
}

impl reckon_partition::UsageSource for StreamedUsage {
    fn read_batch(
        &mut self,
        loaded: &mut reckon_import::Loaded<UsageRecord>,
        _max_rows: usize,
        _policy: reckon_import::BadRowPolicy,
        _progress: &mut dyn reckon_import::Progress,
    ) -> Result<bool, reckon_import::ImportError> {
        let Some(batch) = self.receiver.blocking_recv() else { return Ok(false) };
        for record in batch {
            self.line_number += 1;
            loaded.positions.push(reckon_import::Position { file_index: 0, line_number: self.line_number });
            loaded.items.push(record);
        }
        Ok(true)
    }

    fn stop(&mut self) {
        // The stream's next send fails: it stops, and closes the lines' channel.
        self.receiver.close();
    }
}

/// The invoice line batches streamed from the database, as a split run's line source; each
/// batch says whether its lines only take records (other periods' invoices).
struct StreamedLines {
    receiver: tokio::sync::mpsc::Receiver<(Vec<InvoiceLine>, bool)>,
    positions: Vec<reckon_import::Position>,
    takes_only: bool,
    line_number: u64,
}

impl reckon_partition::LineSource for StreamedLines {
    fn next_batch(
        &mut self,
        _progress: &mut dyn reckon_import::Progress,
        _max_lines: usize,
    ) -> Result<Vec<InvoiceLine>, reckon_import::ImportError> {
        self.positions.clear();
        let Some((batch, takes_only)) = self.receiver.blocking_recv() else { return Ok(Vec::new()) };
        self.takes_only = takes_only;
        for _ in &batch {
            self.line_number += 1;
            self.positions.push(reckon_import::Position { file_index: 0, line_number: self.line_number });
        }
        Ok(batch)
    }

    fn positions(&self) -> &[reckon_import::Position] {
        &self.positions
    }

    fn takes_only(&self) -> bool {
        self.takes_only
    }

    fn take_rejected(&mut self) -> Vec<reckon_import::Rejection> {
        Vec::new()
    }

    fn paths(&self) -> &[std::path::PathBuf] {
        &[]
    }
}

/// [`content_hash`] fed part by part: the hash of parts streamed from the database.
#[derive(Clone)]
struct ContentHasher(sha2::Sha256);

/// A run as recorded: its id, carrier, period, the invoice versions of the period it
/// reconciled, and what it measured rebates on.
#[derive(Clone, Copy)]
struct RecordedRun<'a> {
    run_id: &'a str,
    carrier: &'a str,
    period: Month,
    invoice_versions: &'a [(&'a str, i64)],
    rebate_basis: Option<&'a str>,
}

/// The first month a rebate checked on `period` counts (the quarter's first for a quarterly
/// one) when one of the carrier's rebate terms is checked on `period`; `None` otherwise.
pub(crate) fn rebate_checked_on(terms: &[reckon_core::contract_terms::ChargeTerm], period: Month) -> Option<Month> {
    measured_from(terms, period, &[reckon_core::charges::ChargeType::Rebate])
}

/// The first month the terms of `kinds` (rebates, commitments) checked on `period` count the
/// usage of; `None` when none is checked on it.
fn measured_from(
    terms: &[reckon_core::contract_terms::ChargeTerm],
    period: Month,
    kinds: &[reckon_core::charges::ChargeType],
) -> Option<Month> {
    terms
        .iter()
        .filter(|term| {
            kinds.contains(&term.charge_type()) && term.checked_on(period) == Some(period) && term.applies_to(period)
        })
        .filter_map(|term| term.measured_from(period))
        .min()
}

impl Default for ContentHasher {
    fn default() -> ContentHasher {
        ContentHasher(<sha2::Sha256 as sha2::Digest>::new())
    }
}

impl ContentHasher {
    fn part(&mut self, text: &str) {
        use sha2::Digest;
        self.0.update(text.as_bytes());
        self.0.update([0x1f]);
    }

    fn parts<'a>(&mut self, texts: impl IntoIterator<Item = &'a str>) {
        for text in texts {
            self.part(text);
        }
    }

    fn finish(self) -> String {
        use sha2::Digest;
        const HEX: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(64);
        for byte in self.0.finalize() {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0f)]));
        }
        text
    }
}

fn count(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

fn timestamp(nanoseconds: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_nanosecond(i128::from(nanoseconds)).map_err(|error| StoreError::Corrupt {
        column: "started_at_ns",
        value: nanoseconds.to_string(),
        reason: error.to_string(),
    })
}

impl Ledger {
    /// Every carrier the ledger has usage, invoices or rates of, sorted.
    async fn known_carriers(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT carrier FROM usage_records UNION SELECT carrier FROM invoices UNION SELECT carrier FROM rate_rows ORDER BY carrier",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Reconciles a carrier's period from the ledger and records the run (once).
    ///
    /// The run reconciles exactly the invoices of the period (see
    /// [`Ledger::import_invoices_in`]) against the usage of the month, stretched to the lines
    /// of those invoices and widened by the time tolerance ([`reckon_core::period::usage_window`]).
    /// Lines of other periods' invoices in that window only take the records they bill, so
    /// those are not reported as unbilled here.
    ///
    /// A month of [`SPLIT_USAGE_RECORDS_MIN`] records or more streams from the database into
    /// partitions on disk (in the system's temporary folder) and is reconciled partition by
    /// partition ([`RunSplit::Split`]); a smaller one is read into memory. Both give the same
    /// run.
    ///
    /// # Errors
    /// A period with neither usage nor invoices of the carrier (naming a near match of the
    /// carrier when there is one), a stored deck that does not read back, or a database error.
    pub async fn reconcile_period(&self, inputs: &RunInputs<'_>, now: Timestamp) -> Result<StoredRun, StoreError> {
        self.reconcile_period_in(inputs, now, RunSplit::BySize { spill_dir: std::env::temp_dir() }).await
    }

    /// Reconciles a carrier's period as [`Ledger::reconcile_period`] does, split as `split`
    /// says. Every way gives the same run.
    ///
    /// # Errors
    /// As [`Ledger::reconcile_period`], or an I/O error on the spill files.
    pub async fn reconcile_period_in(
        &self,
        inputs: &RunInputs<'_>,
        now: Timestamp,
        split: RunSplit,
    ) -> Result<StoredRun, StoreError> {
        // A summary invoice is compared with sums over the period's records: its period is
        // reconciled in memory.
        if self.has_summary_invoices(inputs.carrier, inputs.period).await? {
            return self.reconcile_period_in_memory(inputs, now).await;
        }
        match split {
            RunSplit::InMemory => self.reconcile_period_in_memory(inputs, now).await,
            RunSplit::Split(layout) => self.reconcile_period_split(inputs, now, &layout).await,
            RunSplit::BySize { spill_dir } => {
                let scope = self.run_scope(inputs).await?;
                if scope.usage_records < SPLIT_USAGE_RECORDS_MIN {
                    return self.reconcile_period_in_memory(inputs, now).await;
                }
                let input_bytes = scope.usage_records * USAGE_BYTES_PER_RECORD + scope.own_lines * LINE_BYTES_PER_LINE;
                let layout = reckon_partition::Layout::for_input_bytes(input_bytes, spill_dir);
                self.reconcile_period_split(inputs, now, &layout).await
            }
        }
    }

    /// The run of a carrier's period, read into memory.
    async fn reconcile_period_in_memory(
        &self,
        inputs: &RunInputs<'_>,
        now: Timestamp,
    ) -> Result<StoredRun, StoreError> {
        // What the rebates and commitments are measured on, read before the inputs: usage stored
        // meanwhile makes the run look out of date (refused at settlement until run again),
        // never current.
        let terms = self.contract_terms_of(inputs.carrier).await?;
        let basis = self.rebate_basis(inputs.carrier, inputs.period, &terms).await?;
        let PeriodInputs { config, lines, summaries, usage, other_lines, charge_lines, from, deck_text, deck } =
            self.period_inputs(inputs).await?;
        // The versions of the invoices read, each with its period: what the run reconciled and
        // what it only took records away for.
        let read: std::collections::HashSet<&str> = lines
            .iter()
            .chain(&other_lines)
            .map(|line| &*line.invoice_id)
            .chain(summaries.iter().map(|line| &*line.invoice_id))
            .chain(charge_lines.iter().map(|line| &*line.invoice_id))
            .collect();
        let versions: Vec<(String, i64, String, Option<String>)> = self
            .invoice_versions(inputs.carrier)
            .await?
            .into_iter()
            .filter(|(invoice_id, ..)| read.contains(invoice_id.as_str()))
            .collect();
        let fingerprint = run_settings_text(&config, inputs);
        let usage_ids: Vec<String> = usage.iter().map(crate::imports::usage_hash).collect();
        let version_parts: Vec<String> = versions
            .iter()
            .map(|(invoice_id, version, hash, period)| {
                format!("{invoice_id}|{version}|{hash}|{}", period.as_deref().unwrap_or(""))
            })
            .collect();
        let run_id = content_hash(
            [inputs.carrier, fingerprint.as_str(), deck_text.as_str()]
                .into_iter()
                .chain(version_parts.iter().map(String::as_str))
                .chain(usage_ids.iter().map(String::as_str))
                .chain(basis.as_deref()),
        );
        let read = RunReads {
            usage_records: usage.len() as u64,
            rate_rows: deck.rows().len() as u64,
            invoice_lines: (lines.len() + summaries.len() + charge_lines.len()) as u64,
        };
        if let Some(stored) = self.run_discrepancies(&run_id).await? {
            return Ok(StoredRun { run_id, created: false, discrepancies: stored, summary: None, read });
        }
        let ratings = rate_all(&deck, &usage, Party::Carrier, inputs.networks);
        let mut reconciler = Reconciler::new(&usage, &ratings, inputs.fx, &config);
        for line in &lines {
            reconciler.add_line(line);
        }
        for line in &other_lines {
            reconciler.add_line_of_other_period(line);
        }
        let mut reconciliation = reconciler.finish();
        self.check_charges(inputs, &config, &deck, from, &charge_lines, &mut reconciliation).await?;
        if !summaries.is_empty() {
            // The same records and ratings, grouped the carriers' way (issue 14).
            let compared = reckon_core::summary_invoice::reconcile_summaries(
                &usage, &ratings, &deck, &summaries, inputs.fx, &config,
            )
            .map_err(|error| {
                StoreError::Invalid(format!("reconciling {} {}: {error}", inputs.carrier, inputs.period))
            })?;
            reconciliation.discrepancies.extend(compared.discrepancies);
            reconciliation.discrepancies.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        }
        // A total past Decimal's range (inputs beyond the documented bounds) fails the run before
        // anything is recorded, never an incomplete summary.
        self.record_reconciliation(run_id, inputs, &versions, basis, reconciliation, read, now).await
    }

    /// What the run of a carrier's period in memory reads: the period's own lines, its summary
    /// lines, the usage of its window, the lines of other periods in that window, and the deck
    /// made ready to rate (also what `explain` reads, so it explains that very run).
    ///
    /// # Errors
    /// As [`Ledger::reconcile_period`].
    pub(crate) async fn period_inputs(&self, inputs: &RunInputs<'_>) -> Result<PeriodInputs, StoreError> {
        let config = self.run_config(inputs).await?;
        let lines = self.invoice_lines_of_period(inputs.carrier, inputs.period).await?;
        let charge_lines = self.charge_lines_of_period(inputs.carrier, inputs.period).await?;
        let summaries = self.summary_lines_of_period(inputs.carrier, inputs.period).await?;
        let (from, to) = usage_window(inputs.period, lines.iter().map(|line| line.started_at), config.time_tolerance)
            .and_then(|window| crate::summary_invoices::widened_to_summaries(window, &summaries))
            .ok_or_else(|| StoreError::Invalid(format!("{}: past the last month", inputs.period)))?;
        let usage = self.usage_between(inputs.carrier, from, to).await?;
        if usage.is_empty() && lines.is_empty() && summaries.is_empty() && charge_lines.is_empty() {
            return Err(self.nothing_to_reconcile(inputs).await);
        }
        let other_lines = self.invoice_lines_of_other_periods(inputs.carrier, inputs.period, from, to).await?;
        let (deck_text, mut deck) = self.stored_deck_of(inputs.carrier).await?;
        // The contract's rounding and the holidays, as every command builds a deck.
        deck.apply_reference(Party::Carrier, &config.contracts, inputs.holidays);
        Ok(PeriodInputs { config, lines, summaries, usage, other_lines, charge_lines, from, deck_text, deck })
    }

    /// A run's settings: the period set, and the carrier's contract terms beyond the deck as
    /// stored in the ledger (`reckon import contract-terms`).
    async fn run_config(&self, inputs: &RunInputs<'_>) -> Result<ReconcileConfig, StoreError> {
        Ok(ReconcileConfig {
            period: Some(inputs.period),
            charge_terms: self.contract_terms_of(inputs.carrier).await?,
            ..inputs.config.clone()
        })
    }

    /// Checks the period's charge lines against the stored terms once every usage line and
    /// record is in, as a file run does; a quarterly term takes the quarter's earlier usage too.
    async fn check_charges(
        &self,
        inputs: &RunInputs<'_>,
        config: &ReconcileConfig,
        deck: &reckon_core::RateDeck,
        from: Timestamp,
        charge_lines: &[reckon_core::charges::ChargeLine],
        reconciliation: &mut Reconciliation,
    ) -> Result<(), StoreError> {
        if charge_lines.is_empty() && config.charge_terms.is_empty() {
            return Ok(());
        }
        self.add_earlier_quarter_usage(
            inputs.carrier,
            inputs.period,
            from,
            deck,
            inputs.networks,
            config,
            &mut reconciliation.charge_context,
        )
        .await?;
        reconciliation.add_charges(charge_lines, config, inputs.fx);
        Ok(())
    }

    /// Records a run's result (a summary past Decimal's range fails it first, recording
    /// nothing) with the versions of the period's own invoices it reconciled.
    #[allow(clippy::too_many_arguments)]
    async fn record_reconciliation(
        &self,
        run_id: String,
        inputs: &RunInputs<'_>,
        versions: &[(String, i64, String, Option<String>)],
        rebate_basis: Option<String>,
        reconciliation: Reconciliation,
        read: RunReads,
        now: Timestamp,
    ) -> Result<StoredRun, StoreError> {
        let reconciliation = reconciliation.checked().map_err(|error| {
            StoreError::Invalid(format!("reconciling {} {}: {error}", inputs.carrier, inputs.period))
        })?;
        let period_text = inputs.period.to_string();
        let reconciled: Vec<(&str, i64)> = versions
            .iter()
            .filter(|(.., period)| period.as_deref() == Some(period_text.as_str()))
            .map(|(invoice_id, version, ..)| (invoice_id.as_str(), *version))
            .collect();
        let run = RecordedRun {
            run_id: &run_id,
            carrier: inputs.carrier,
            period: inputs.period,
            invoice_versions: &reconciled,
            rebate_basis: rebate_basis.as_deref(),
        };
        self.record_run(&run, &reconciliation, now).await?;
        Ok(StoredRun {
            run_id,
            created: true,
            discrepancies: reconciliation.discrepancies,
            summary: Some(reconciliation.summary),
            read,
        })
    }

    /// A carrier's stored rates: their text (a part of the run id) and the deck read from it.
    async fn stored_deck_of(&self, carrier: &str) -> Result<(String, reckon_core::RateDeck), StoreError> {
        let deck_text = self.rates_csv(carrier).await?;
        let deck = crate::service::deck_of(
            deck_text.clone(),
            reckon_import::rates::DeckKind::CarrierRates,
            &format!("stored rates of {carrier}"),
        )?;
        Ok((deck_text, deck))
    }

    /// The error of a run with neither usage nor invoices.
    async fn nothing_to_reconcile(&self, inputs: &RunInputs<'_>) -> StoreError {
        // Nothing to reconcile is not an all-clear: most often the carrier or the month is
        // mistyped.
        let known = match self.known_carriers().await {
            Ok(known) => known,
            Err(error) => return error,
        };
        let hint = match near_match(inputs.carrier, known.iter().map(String::as_str)) {
            Some(carrier) => format!(" (did you mean {carrier}?)"),
            None => String::new(),
        };
        StoreError::Invalid(format!(
            "no usage and no invoices of carrier {} in {}{hint}",
            inputs.carrier, inputs.period
        ))
    }

    /// What a run of `inputs` reads, counted in the database: its usage window, its records and
    /// its lines.
    async fn run_scope(&self, inputs: &RunInputs<'_>) -> Result<RunScope, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT MIN(l.started_at_ns), MAX(l.started_at_ns), COUNT(*) {INVOICE_LINES_FROM} \
             WHERE i.carrier = {{1}} AND i.period = {{2}} AND {CURRENT_VERSION}"
        ));
        let (first, last, own_lines): (Option<i64>, Option<i64>, i64) = sqlx::query_as(&select)
            .bind(inputs.carrier.to_owned())
            .bind(inputs.period.to_string())
            .fetch_one(&self.pool)
            .await?;
        let line_starts = [first, last].into_iter().flatten().map(timestamp).collect::<Result<Vec<_>, _>>()?;
        let (from, to) = usage_window(inputs.period, line_starts, inputs.config.time_tolerance)
            .ok_or_else(|| StoreError::Invalid(format!("{}: past the last month", inputs.period)))?;
        let select = self.dialect.sql(
            "SELECT COUNT(*) FROM usage_records WHERE carrier = {1} AND started_at_ns >= {2} AND started_at_ns < {3}",
        );
        let usage_records: i64 = sqlx::query_scalar(&select)
            .bind(inputs.carrier.to_owned())
            .bind(nanoseconds(from))
            .bind(nanoseconds(to))
            .fetch_one(&self.pool)
            .await?;
        Ok(RunScope { from, to, usage_records: count(usage_records), own_lines: count(own_lines) })
    }

    /// The run of a carrier's period in bounded memory ([`RunSplit::Split`]): the usage and
    /// the invoice lines stream from the database (the usage twice: its stored hashes first,
    /// to find a run recorded before without reading the records) into partitions on disk.
    ///
    /// # Errors
    /// As [`Ledger::reconcile_period`], or an I/O error on the spill files.
    async fn reconcile_period_split(
        &self,
        inputs: &RunInputs<'_>,
        now: Timestamp,
        layout: &reckon_partition::Layout,
    ) -> Result<StoredRun, StoreError> {
        let config = self.run_config(inputs).await?;
        let charge_lines = self.charge_lines_of_period(inputs.carrier, inputs.period).await?;
        let scope = self.run_scope(inputs).await?;
        if scope.usage_records == 0 && scope.own_lines == 0 && charge_lines.is_empty() {
            return Err(self.nothing_to_reconcile(inputs).await);
        }
        let (deck_text, mut deck) = self.stored_deck_of(inputs.carrier).await?;
        if deck.has_tiers() {
            return self.reconcile_period_in_memory(inputs, now).await;
        }
        deck.apply_reference(Party::Carrier, &config.contracts, inputs.holidays);
        // The invoices whose lines the run reads, each version with its period.
        let select = self.dialect.sql(&format!(
            "SELECT DISTINCT l.invoice_id {INVOICE_LINES_FROM} WHERE i.carrier = {{1}} AND {CURRENT_VERSION} \
             AND (i.period = {{2}} OR (i.period <> {{2}} AND l.started_at_ns >= {{3}} AND l.started_at_ns < {{4}}))"
        ));
        let read: std::collections::HashSet<String> = sqlx::query_scalar(&select)
            .bind(inputs.carrier.to_owned())
            .bind(inputs.period.to_string())
            .bind(nanoseconds(scope.from))
            .bind(nanoseconds(scope.to))
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .chain(charge_lines.iter().map(|line| line.invoice_id.to_string()))
            .collect();
        let versions: Vec<(String, i64, String, Option<String>)> = self
            .invoice_versions(inputs.carrier)
            .await?
            .into_iter()
            .filter(|(invoice_id, ..)| read.contains(invoice_id))
            .collect();
        let fingerprint = run_settings_text(&config, inputs);
        let version_parts: Vec<String> = versions
            .iter()
            .map(|(invoice_id, version, hash, period)| {
                format!("{invoice_id}|{version}|{hash}|{}", period.as_deref().unwrap_or(""))
            })
            .collect();
        // The run id's parts before the usage's (see `reconcile_period_in_memory`).
        let mut run_id_hasher = ContentHasher::default();
        for part in [inputs.carrier, fingerprint.as_str(), deck_text.as_str()] {
            run_id_hasher.part(part);
        }
        for part in &version_parts {
            run_id_hasher.part(part);
        }
        let mut reads = RunReads {
            usage_records: scope.usage_records,
            rate_rows: deck.rows().len() as u64,
            invoice_lines: scope.own_lines + charge_lines.len() as u64,
        };
        // A run recorded before is found from the stored content hashes, without reading the
        // records (the id that counts is the one of the records reconciled, below).
        let basis = self.rebate_basis(inputs.carrier, inputs.period, &config.charge_terms).await?;
        let mut stored_hasher = self.stored_usage_hashes(inputs.carrier, &scope, run_id_hasher.clone()).await?;
        stored_hasher.parts(basis.as_deref());
        let run_id = stored_hasher.finish();
        if let Some(stored) = self.run_discrepancies(&run_id).await? {
            return Ok(StoredRun { run_id, created: false, discrepancies: stored, summary: None, read: reads });
        }

        // The partitions are written and reconciled on a thread of their own, fed batch by batch
        // from here through channels of a few batches.
        let (usage_sender, usage_receiver) = tokio::sync::mpsc::channel(STREAM_BATCHES_AHEAD);
        let (line_sender, line_receiver) = tokio::sync::mpsc::channel(STREAM_BATCHES_AHEAD);
        let owned = OwnedRunInputs {
            usage_name: std::path::PathBuf::from(format!("ledger usage of {}", inputs.carrier)),
            deck,
            networks: inputs.networks.clone(),
            fx: inputs.fx.clone(),
            config: config.clone(),
            layout: layout.clone(),
        };
        let reconciling = tokio::task::spawn_blocking(move || {
            let inputs = reckon_partition::Inputs {
                usage: &owned.usage_name,
                invoices: &[],
                deck: &owned.deck,
                networks: &owned.networks,
                fx: &owned.fx,
                config: &owned.config,
                policy: reckon_import::BadRowPolicy::Fail,
            };
            let mut usage = StreamedUsage { receiver: usage_receiver, line_number: 0 };
            let mut lines =
                StreamedLines { receiver: line_receiver, positions: Vec::new(), takes_only: false, line_number: 0 };
            let outcome = reckon_partition::reconcile_sources(
                &inputs,
                &mut usage,
                &mut lines,
                &owned.layout,
                &mut reckon_import::NoProgress,
                &mut reckon_import::NoProgress,
            );
            // The deck comes back for the charge check (a quarter's earlier usage is rated).
            (outcome, owned.deck)
        });
        let streamed = self.stream_run_inputs(inputs, &scope, run_id_hasher, usage_sender, line_sender).await;
        let (outcome, deck) =
            reconciling.await.map_err(|error| StoreError::Invalid(format!("the split run failed: {error}")))?;
        // A database error ended the streams early: what was reconciled is not the run.
        let streamed = streamed?;
        let outcome = outcome.map_err(|error| match error {
            reckon_partition::Error::Import(error) => StoreError::Import(error),
            spill @ reckon_partition::Error::Spill { .. } => StoreError::Invalid(spill.to_string()),
        })?;
        reads.usage_records = streamed.usage_records;
        reads.invoice_lines = streamed.own_lines + charge_lines.len() as u64;
        // Usage imported between the two reads changes the run: its id is that of what was read.
        let mut run_id_hasher = streamed.run_id_hasher;
        run_id_hasher.parts(basis.as_deref());
        let run_id = run_id_hasher.finish();
        if let Some(stored) = self.run_discrepancies(&run_id).await? {
            return Ok(StoredRun { run_id, created: false, discrepancies: stored, summary: None, read: reads });
        }
        let mut reconciliation = outcome.reconciliation;
        self.check_charges(inputs, &config, &deck, scope.from, &charge_lines, &mut reconciliation).await?;
        self.record_reconciliation(run_id, inputs, &versions, basis, reconciliation, reads, now).await
    }

    /// What a carrier's rebates and commitments checked on `period` are measured on, when one
    /// is: a hash of the stored deck, the contract terms, and the content hashes of the
    /// carrier's usage of the months they count (the quarter's, for a quarterly one). It is a
    /// part of the run's id (so a record imported into an earlier month of the quarter makes a
    /// new run, whose shortfalls and rebates count it) and stored with the run, so that
    /// settlement reads rebates due only from a run of what the ledger holds now. `None`
    /// otherwise.
    ///
    /// # Errors
    /// A database error.
    pub(crate) async fn rebate_basis(
        &self,
        carrier: &str,
        period: Month,
        terms: &[reckon_core::contract_terms::ChargeTerm],
    ) -> Result<Option<String>, StoreError> {
        use futures_util::TryStreamExt;
        let measured =
            [reckon_core::charges::ChargeType::Rebate, reckon_core::charges::ChargeType::CommitmentShortfall];
        let Some(first_month) = measured_from(terms, period, &measured) else { return Ok(None) };
        let from = first_month.bounds().map(|(start, _)| start);
        let to = period.bounds().map(|(_, end)| end);
        let (Some(from), Some(to)) = (from, to) else { return Ok(None) };
        let mut hasher = ContentHasher::default();
        hasher.part(&self.rates_csv(carrier).await?);
        hasher.part(&self.contract_terms_csv(carrier).await?);
        let select = self.dialect.sql(
            "SELECT content_sha256 FROM usage_records WHERE carrier = {1} AND started_at_ns >= {2} \
             AND started_at_ns < {3} ORDER BY started_at_ns, record_id",
        );
        let mut rows = sqlx::query_scalar::<_, String>(&select)
            .bind(carrier.to_owned())
            .bind(nanoseconds(from))
            .bind(nanoseconds(to))
            .fetch(&self.pool);
        while let Some(hash) = rows.try_next().await? {
            hasher.part(&hash);
        }
        Ok(Some(hasher.finish()))
    }

    /// `hasher` fed the stored content hashes of the run's usage, in its order, as its run id
    /// takes them.
    async fn stored_usage_hashes(
        &self,
        carrier: &str,
        scope: &RunScope,
        mut hasher: ContentHasher,
    ) -> Result<ContentHasher, StoreError> {
        use futures_util::TryStreamExt;
        let select = self.dialect.sql(
            "SELECT content_sha256 FROM usage_records WHERE carrier = {1} AND started_at_ns >= {2} \
             AND started_at_ns < {3} ORDER BY started_at_ns, record_id",
        );
        let mut rows = sqlx::query_scalar::<_, String>(&select)
            .bind(carrier.to_owned())
            .bind(nanoseconds(scope.from))
            .bind(nanoseconds(scope.to))
            .fetch(&self.pool);
        while let Some(hash) = rows.try_next().await? {
            hasher.part(&hash);
        }
        Ok(hasher)
    }

    /// Streams the run's usage (in its order, as [`Ledger::usage_between`] reads it), then its
    /// own lines, then the lines of other periods' invoices in its window (each in the order
    /// [`Ledger::invoice_lines_of_period`] reads them), in batches. A closed channel (the
    /// reconciliation stopped on an error) ends the stream early.
    async fn stream_run_inputs(
        &self,
        inputs: &RunInputs<'_>,
        scope: &RunScope,
        run_id_hasher: ContentHasher,
        usage_sender: tokio::sync::mpsc::Sender<Vec<UsageRecord>>,
        line_sender: tokio::sync::mpsc::Sender<(Vec<InvoiceLine>, bool)>,
    ) -> Result<Streamed, StoreError> {
        use futures_util::TryStreamExt;
        let mut streamed = Streamed { usage_records: 0, own_lines: 0, run_id_hasher };
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        {
            let select = self.dialect.sql(&format!(
                "SELECT {USAGE_COLUMNS} FROM usage_records WHERE carrier = {{1}} AND started_at_ns >= {{2}} \
                 AND started_at_ns < {{3}} ORDER BY started_at_ns, record_id"
            ));
            let mut rows = sqlx::query(&select)
                .bind(inputs.carrier.to_owned())
                .bind(nanoseconds(scope.from))
                .bind(nanoseconds(scope.to))
                .fetch(&self.pool);
            let mut batch = Vec::with_capacity(STREAM_BATCH_ROWS);
            while let Some(row) = rows.try_next().await? {
                let record = usage_from_row(&row, &mut names)?;
                streamed.run_id_hasher.part(&crate::imports::usage_hash(&record));
                batch.push(record);
                if batch.len() == STREAM_BATCH_ROWS {
                    streamed.usage_records += batch.len() as u64;
                    if usage_sender
                        .send(std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH_ROWS)))
                        .await
                        .is_err()
                    {
                        return Ok(streamed);
                    }
                }
            }
            streamed.usage_records += batch.len() as u64;
            if !batch.is_empty() && usage_sender.send(batch).await.is_err() {
                return Ok(streamed);
            }
        }
        drop(usage_sender);
        let own = self.dialect.sql(&format!(
            "{INVOICE_LINE_COLUMNS} {INVOICE_LINES_FROM} WHERE i.carrier = {{1}} AND i.period = {{2}} AND {CURRENT_VERSION} \
             ORDER BY l.invoice_id, l.line_index"
        ));
        let other = self.dialect.sql(&format!(
            "{INVOICE_LINE_COLUMNS} {INVOICE_LINES_FROM} WHERE i.carrier = {{1}} AND i.period <> {{2}} AND {CURRENT_VERSION} \
             AND l.started_at_ns >= {{3}} AND l.started_at_ns < {{4}} ORDER BY l.invoice_id, l.line_index"
        ));
        for (select, takes_only) in [(own, false), (other, true)] {
            let mut rows = sqlx::query(&select)
                .bind(inputs.carrier.to_owned())
                .bind(inputs.period.to_string())
                .bind(nanoseconds(scope.from))
                .bind(nanoseconds(scope.to))
                .fetch(&self.pool);
            let mut batch = Vec::with_capacity(STREAM_BATCH_ROWS);
            while let Some(row) = rows.try_next().await? {
                batch.push(invoice_line_from_row(&row, &mut names)?);
                if batch.len() == STREAM_BATCH_ROWS {
                    if !takes_only {
                        streamed.own_lines += batch.len() as u64;
                    }
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(STREAM_BATCH_ROWS));
                    if line_sender.send((full, takes_only)).await.is_err() {
                        return Ok(streamed);
                    }
                }
            }
            if !takes_only {
                streamed.own_lines += batch.len() as u64;
            }
            if !batch.is_empty() && line_sender.send((batch, takes_only)).await.is_err() {
                return Ok(streamed);
            }
        }
        Ok(streamed)
    }

    async fn record_run(
        &self,
        run: &RecordedRun<'_>,
        reconciliation: &Reconciliation,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let RecordedRun { run_id, carrier, period, invoice_versions, rebate_basis } = *run;
        let discrepancies = &reconciliation.discrepancies;
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO runs (run_id, carrier, period, discrepancies_count, created_at_ns, rebate_basis) VALUES ({1}, {2}, {3}, {4}, {5}, {6}) ON CONFLICT (run_id) DO NOTHING",
        );
        let inserted = sqlx::query(&insert)
            .bind(run_id.to_owned())
            .bind(carrier.to_owned())
            .bind(period.to_string())
            .bind(discrepancies.len() as i64)
            .bind(nanoseconds(now))
            .bind(rebate_basis.map(str::to_owned))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if inserted == 0 {
            // Another process recorded the same run meanwhile.
            return Ok(());
        }
        let insert = self
            .dialect
            .sql("INSERT INTO run_invoices (run_id, carrier, invoice_id, version) VALUES ({1}, {2}, {3}, {4})");
        for (invoice_id, version) in invoice_versions {
            sqlx::query(&insert)
                .bind(run_id.to_owned())
                .bind(carrier.to_owned())
                .bind((*invoice_id).to_owned())
                .bind(*version)
                .execute(&mut *transaction)
                .await?;
        }
        let insert = self.dialect.sql(
            "INSERT INTO run_discrepancies (run_id, seq, carrier, invoice_id, line_id, record_id, kind, service, destination, started_at_ns, \
             billed_quantity, expected_quantity, billed_amount, expected_amount, difference, currency) \
             VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11:d}, {12:d}, {13:d}, {14:d}, {15:d}, {16})",
        );
        let text = |value: Option<reckon_core::Decimal>| value.map(|value| value.normalize().to_string());
        for (seq, found) in discrepancies.iter().enumerate() {
            sqlx::query(&insert)
                .bind(run_id.to_owned())
                .bind(seq as i64)
                .bind(found.carrier.to_string())
                .bind(found.invoice_id.as_ref().map(ToString::to_string))
                .bind(found.line_id.as_ref().map(ToString::to_string))
                .bind(found.record_id.as_ref().map(ToString::to_string))
                .bind(found.kind.as_str())
                .bind(found.service.as_str())
                .bind(found.destination.clone())
                .bind(nanoseconds(found.started_at))
                .bind(found.billed_quantity.normalize().to_string())
                .bind(text(found.expected_quantity))
                .bind(found.billed_amount.normalize().to_string())
                .bind(text(found.expected_amount))
                .bind(text(found.difference))
                .bind(found.currency.to_string())
                .execute(&mut *transaction)
                .await?;
        }
        // The totals `reckon reconcile` printed, kept with the run (the console's billed vs
        // expected).
        self.insert_run_summary(&mut transaction, run_id, &reconciliation.summary).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The discrepancies of a recorded run, in report order; `None` when no such run.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_discrepancies(&self, run_id: &str) -> Result<Option<Vec<Discrepancy>>, StoreError> {
        let exists = self.dialect.sql("SELECT COUNT(*) FROM runs WHERE run_id = {1}");
        let count: i64 = sqlx::query_scalar(&exists).bind(run_id.to_owned()).fetch_one(&self.pool).await?;
        if count == 0 {
            return Ok(None);
        }
        let select = self
            .dialect
            .sql(&format!("SELECT {DISCREPANCY_COLUMNS} FROM run_discrepancies WHERE run_id = {{1}} ORDER BY seq"));
        let rows = sqlx::query(&select).bind(run_id.to_owned()).fetch_all(&self.pool).await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let mut discrepancies = Vec::with_capacity(rows.len());
        for row in &rows {
            discrepancies.push(discrepancy_from_row(row, &mut names)?);
        }
        Ok(Some(discrepancies))
    }

    /// The invoice versions a run reconciled (version per invoice id) and what it measured
    /// rebates on ([`Ledger::rebate_basis`]; `None` for a run made without).
    ///
    /// # Errors
    /// No such run, or a database error.
    pub(crate) async fn run_rebate_inputs(
        &self,
        run_id: &str,
    ) -> Result<(std::collections::BTreeMap<String, i64>, Option<String>), StoreError> {
        let select = self.dialect.sql("SELECT rebate_basis FROM runs WHERE run_id = {1}");
        let basis: Option<Option<String>> =
            sqlx::query_scalar(&select).bind(run_id.to_owned()).fetch_optional(&self.pool).await?;
        let basis = basis.ok_or_else(|| StoreError::NotFound(format!("run {run_id}")))?;
        let select = self.dialect.sql("SELECT invoice_id, version FROM run_invoices WHERE run_id = {1}");
        let versions: Vec<(String, i64)> =
            sqlx::query_as(&select).bind(run_id.to_owned()).fetch_all(&self.pool).await?;
        Ok((versions.into_iter().collect(), basis))
    }

    /// The `rebate_missing` rows of a recorded run, in report order.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub(crate) async fn run_rebates_missing(&self, run_id: &str) -> Result<Vec<Discrepancy>, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT {DISCREPANCY_COLUMNS} FROM run_discrepancies WHERE run_id = {{1}} AND kind = {{2}} ORDER BY seq"
        ));
        let rows = sqlx::query(&select)
            .bind(run_id.to_owned())
            .bind(reckon_core::DiscrepancyKind::RebateMissing.as_str())
            .fetch_all(&self.pool)
            .await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        rows.iter().map(|row| discrepancy_from_row(row, &mut names)).collect()
    }

    /// The ids of a carrier's runs for a period, newest first.
    ///
    /// # Errors
    /// A database error.
    pub async fn runs_of(&self, carrier: &str, period: Month) -> Result<Vec<String>, StoreError> {
        let select = self
            .dialect
            .sql("SELECT run_id FROM runs WHERE carrier = {1} AND period = {2} ORDER BY created_at_ns DESC, run_id");
        Ok(sqlx::query_scalar(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await?)
    }
}

/// The columns [`discrepancy_from_row`] reads, decimals as text.
pub(crate) const DISCREPANCY_COLUMNS: &str = "seq, carrier, invoice_id, line_id, record_id, kind, service, destination, \
     started_at_ns, CAST(billed_quantity AS TEXT) AS billed_quantity, CAST(expected_quantity AS TEXT) AS expected_quantity, \
     CAST(billed_amount AS TEXT) AS billed_amount, CAST(expected_amount AS TEXT) AS expected_amount, \
     CAST(difference AS TEXT) AS difference, currency";

/// A stored discrepancy of a run, selected with [`DISCREPANCY_COLUMNS`]; carrier and invoice
/// names shared through `names`.
pub(crate) fn discrepancy_from_row(
    row: &sqlx::any::AnyRow,
    names: &mut HashMap<String, Arc<str>>,
) -> Result<Discrepancy, StoreError> {
    let mut intern = |name: String| names.entry(name).or_insert_with_key(|name| Arc::from(name.as_str())).clone();
    let kind: String = row.try_get("kind")?;
    let service: String = row.try_get("service")?;
    let currency: String = row.try_get("currency")?;
    let seq: i64 = row.try_get("seq")?;
    let invoice_id: Option<String> = row.try_get("invoice_id")?;
    Ok(Discrepancy {
        carrier: intern(row.try_get("carrier")?),
        invoice_id: invoice_id.map(&mut intern),
        line_id: row.try_get::<Option<String>, _>("line_id")?.map(CompactString::from),
        record_id: row.try_get::<Option<String>, _>("record_id")?.map(CompactString::from),
        kind: DiscrepancyKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
            column: "kind",
            value: kind.clone(),
            reason: "unknown kind".into(),
        })?,
        service: Service::parse(&service).ok_or_else(|| StoreError::Corrupt {
            column: "service",
            value: service.clone(),
            reason: "unknown".into(),
        })?,
        destination: row.try_get("destination")?,
        started_at: instant(row, "started_at_ns")?,
        billed_quantity: decimal(row, "billed_quantity")?,
        expected_quantity: optional_decimal(row, "expected_quantity")?,
        billed_amount: decimal(row, "billed_amount")?,
        expected_amount: optional_decimal(row, "expected_amount")?,
        difference: optional_decimal(row, "difference")?,
        currency: Currency::parse(&currency).ok_or_else(|| StoreError::Corrupt {
            column: "currency",
            value: currency.clone(),
            reason: "not a code".into(),
        })?,
        line_index: Some(seq as usize),
        record_index: None,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_streamed_content_hash_is_the_content_hash_of_its_parts() {
        let parts = ["acme", "settings", "", "u1-hash"];
        let mut hasher = super::ContentHasher::default();
        for part in parts {
            hasher.part(part);
        }
        assert_eq!(hasher.finish(), crate::content_hash(parts));
    }
}
