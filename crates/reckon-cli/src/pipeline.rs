//! The batch reconciliation pipeline over files: read the deck, FX, usage and invoices
//! (streaming), rate, reconcile, and write the reports. Shared by `reckon reconcile`, the demo
//! and the benchmark.

pub use crate::args::ReportFormat;
use crate::args::{ReconcileArgs, ReconcileOptions, ToleranceArgs};
use crate::profile_commands::{ConvertedInputs, ProfiledInput};
use crate::progress::ByteProgress;
use anyhow::{bail, Context};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party};
use reckon_core::summary::Summary;
use reckon_core::{Decimal, ReconcileConfig};
use reckon_export::summary::RunCounts;
use reckon_import::invoice::InvoiceReader;
use reckon_import::BadRowPolicy;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

/// The inputs and settings of one batch run.
#[derive(Clone, Debug)]
pub struct ReconcileRequest {
    pub usage: PathBuf,
    pub rates: Vec<PathBuf>,
    pub invoices: Vec<PathBuf>,
    pub fx: Option<PathBuf>,
    /// The ECB's published history, read as FX rates too.
    pub ecb: Option<PathBuf>,
    pub fx_staleness_days: Option<i32>,
    /// Contract terms per carrier (contracts.csv).
    pub contracts: Option<PathBuf>,
    /// Number-to-network table for network-priced messaging.
    pub networks: Option<PathBuf>,
    /// Holiday calendars per carrier (holidays.csv).
    pub holidays: Option<PathBuf>,
    pub out: PathBuf,
    /// Whether the discrepancies are written as CSV or as Parquet.
    pub output_format: ReportFormat,
    pub config: ReconcileConfig,
    pub policy: BadRowPolicy,
    /// How the run is split: `None` from the input size, 0 in memory, else that many partitions.
    pub partitions: Option<usize>,
    /// Where the spill files go (default: `out`).
    pub spill_dir: Option<PathBuf>,
    /// Print each step's time on stderr.
    pub timings: bool,
}

/// What a completed run found.
#[derive(Debug)]
pub struct ReconcileReport {
    pub summary: Summary,
    pub counts: RunCounts,
    pub discrepancy_count: usize,
}

/// Runs `reckon reconcile`.
pub fn reconcile_command(arguments: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    if arguments.all_carriers {
        return crate::jobs_command::reconcile_all_carriers(arguments);
    }
    if let Some(carrier) = &arguments.carrier {
        return crate::ledger_commands::reconcile_ledger(arguments, carrier);
    }
    let (Some(usage), Some(out)) = (arguments.usage.clone(), arguments.out.clone()) else {
        bail!("--usage and --out are required (or --carrier and --period to reconcile from the ledger)");
    };
    let policy = if arguments.options.skip_bad_rows { BadRowPolicy::Quarantine } else { BadRowPolicy::Fail };
    // Inputs given with an import profile are converted into canonical files first (in a
    // temporary folder inside the output folder, removed after the run); their errors and
    // rejected rows are told about the source files.
    let converted = convert_profiled_inputs(arguments, &usage, &out, policy)?;
    if !arguments.summary.invoice_summary.is_empty() {
        let mut canonical = arguments.clone();
        canonical.rates = arguments.rates.iter().map(|path| converted.path_for(path)).collect();
        return crate::summary_command::reconcile_summary_files(&canonical, &converted.path_for(&usage), &out);
    }
    let mut config = reconcile_config(&arguments.options.tolerances, arguments.options.period.as_deref())?;
    if let Some(path) = &arguments.contract_terms {
        config.charge_terms = reckon_import::contract_terms::load_contract_terms(path)?;
    }
    let request = ReconcileRequest {
        usage: converted.path_for(&usage),
        rates: arguments.rates.iter().map(|path| converted.path_for(path)).collect(),
        invoices: arguments.invoice.iter().map(|path| converted.path_for(path)).collect(),
        fx: arguments.reference.fx.clone(),
        ecb: arguments.reference.ecb.clone(),
        fx_staleness_days: Some(arguments.options.tolerances.fx_staleness_days),
        contracts: arguments.reference.contracts.clone(),
        networks: arguments.reference.networks.clone(),
        holidays: arguments.reference.holidays.clone(),
        out,
        output_format: arguments.output_format,
        config,
        policy,
        partitions: arguments.options.partitions,
        spill_dir: arguments.options.spill_dir.clone(),
        timings: arguments.options.timings,
    };
    let inputs: Vec<&PathBuf> =
        std::iter::once(&request.usage).chain(&request.rates).chain(&request.invoices).collect();
    let progress = ByteProgress::new(&inputs, arguments.options.quiet);
    let report = reconcile_files_with(&request, &progress, &|rejected| converted.remap_rejected(rejected));
    progress.finish();
    let report = report.map_err(|error| converted.remap_error(error))?;
    report_outcome(&report, &arguments.options)
}

/// Converts the inputs `reconcile` was given with an import profile.
fn convert_profiled_inputs(
    arguments: &ReconcileArgs,
    usage: &Path,
    out: &Path,
    policy: BadRowPolicy,
) -> anyhow::Result<ConvertedInputs> {
    use reckon_profiles::Target;
    let profiles = &arguments.profiles;
    let mut targets = Vec::new();
    let mut inputs: Vec<(&Path, &str, Target)> = Vec::new();
    if let Some(profile) = &profiles.usage_profile {
        targets.push(Target::Usage);
        inputs.push((usage, profile, Target::Usage));
    }
    if let Some(profile) = &profiles.invoice_profile {
        targets.push(Target::Invoice);
        inputs.extend(arguments.invoice.iter().map(|path| (path.as_path(), profile.as_str(), Target::Invoice)));
    }
    if let Some(profile) = &profiles.rates_profile {
        targets.push(Target::Rates);
        inputs.extend(arguments.rates.iter().map(|path| (path.as_path(), profile.as_str(), Target::Rates)));
    }
    let overridden = !profiles.overrides.set.is_empty()
        || !profiles.overrides.map.is_empty()
        || profiles.overrides.time_zone.is_some();
    if targets.is_empty() {
        if overridden {
            bail!("--set, --map and --time-zone change an import profile: give --usage-profile, --invoice-profile or --rates-profile");
        }
        return ConvertedInputs::convert(Vec::new(), out, policy);
    }
    let overrides = crate::profile_commands::overrides_for(&profiles.overrides, &targets)?;
    let inputs = inputs
        .into_iter()
        .map(|(file, profile, target)| ProfiledInput {
            file,
            profile,
            overrides: overrides[targets.iter().position(|candidate| *candidate == target).expect("pushed")].clone(),
            expected: target,
        })
        .collect();
    ConvertedInputs::convert(inputs, out, policy)
}

/// Prints the summary table (unless quiet) and picks the exit code.
pub(crate) fn report_outcome(report: &ReconcileReport, options: &ReconcileOptions) -> anyhow::Result<ExitCode> {
    if !options.quiet {
        crate::print_report(&reckon_export::summary::summary_table(&report.summary, &report.counts))?;
    }
    let found = report.discrepancy_count > 0;
    Ok(if found && options.fail_on_discrepancy { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// Turns the flags into the core's configuration.
pub(crate) fn reconcile_config(options: &ToleranceArgs, period: Option<&str>) -> anyhow::Result<ReconcileConfig> {
    let tolerance = |flag: &str, text: &str| -> anyhow::Result<Decimal> {
        let value =
            Decimal::from_str(text.trim()).map_err(|_| anyhow::anyhow!("--{flag}: {text:?} is not a decimal"))?;
        if value.is_sign_negative() {
            bail!("--{flag}: must be >= 0, got {text}");
        }
        Ok(value)
    };
    Ok(ReconcileConfig {
        time_tolerance: jiff::SignedDuration::from_secs(i64::from(options.time_tolerance)),
        quantity_tolerance: tolerance("quantity-tolerance", &options.quantity_tolerance)?,
        amount_tolerance: tolerance("amount-tolerance", &options.amount_tolerance)?,
        contracts: Default::default(),
        charge_terms: Vec::new(),
        report_currency: Some(reckon_core::Currency::parse(&options.report_currency).with_context(|| {
            format!("--report-currency {:?}: expected an ISO 4217 code like EUR", options.report_currency)
        })?),
        period: period.map(|text| Month::parse(text).with_context(|| format!("--period {text:?}"))).transpose()?,
    })
}

/// Reads every input, reconciles, and writes `discrepancies.csv`, `summary.json` and (when
/// bad rows are quarantined) `rejected.csv` into the output folder. Nothing is written unless
/// every input was read: a failed run leaves no partial report.
///
/// # Errors
/// The first input error (file, line, column), or an I/O error writing the reports.
pub fn reconcile_files(request: &ReconcileRequest, progress: &ByteProgress) -> anyhow::Result<ReconcileReport> {
    reconcile_files_with(request, progress, &|_| {})
}

/// [`reconcile_files`], with `remap_rejected` applied to the rows set aside before they are
/// counted and written (inputs converted by a profile name their source files).
fn reconcile_files_with(
    request: &ReconcileRequest,
    progress: &ByteProgress,
    remap_rejected: &dyn Fn(&mut Vec<reckon_import::Rejection>),
) -> anyhow::Result<ReconcileReport> {
    progress.set_phase("reading");
    let mut loaded_deck = reckon_import::rates::load_rates(&request.rates, request.policy, &mut progress.reader())?;
    let fx =
        reckon_import::fx::load_fx_sources(request.fx.as_deref(), request.ecb.as_deref(), request.fx_staleness_days)?;
    let mut config = request.config.clone();
    if let Some(path) = &request.contracts {
        config.contracts = reckon_import::contracts::load_contracts(path)?;
    }
    // A carrier's own rounding and holidays decide its costs, as in every command.
    let holidays = match &request.holidays {
        Some(path) => reckon_import::holidays::load_holidays(path)?,
        None => Default::default(),
    };
    loaded_deck.deck.apply_reference(Party::Carrier, &config.contracts, &holidays);
    let mut networks = NetworkMap::new();
    if let Some(path) = &request.networks {
        reckon_import::networks::load_networks(path, &mut networks)?;
    }
    let input_bytes: u64 = std::iter::once(&request.usage)
        .chain(&request.invoices)
        .filter_map(|path| std::fs::metadata(path).ok())
        .map(|metadata| metadata.len())
        .sum();
    let spill_dir = request.spill_dir.clone().unwrap_or_else(|| request.out.clone());
    let mut layout = reckon_partition::Layout::for_input_bytes(input_bytes, spill_dir);
    if let Some(partitions) = request.partitions {
        layout.partitions = partitions;
    }
    // A tiered deck prices each record from its whole month: such a run is not split.
    let split = layout.partitions > 0 && !loaded_deck.deck.has_tiers();
    let (reconciliation, mut counts, mut rejected) = if split {
        let inputs = reckon_partition::Inputs {
            usage: &request.usage,
            invoices: &request.invoices,
            deck: &loaded_deck.deck,
            networks: &networks,
            fx: &fx,
            config: &config,
            policy: request.policy,
        };
        let outcome = reckon_partition::reconcile(&inputs, &layout, &mut progress.reader(), &mut progress.reader())?;
        if request.timings {
            use std::io::Write;
            let timings = outcome.timings;
            let _ = writeln!(
                std::io::stderr(),
                "{} partitions: spill {:.2?}, join {:.2?}, reconcile {:.2?} (the crossing partition: {:.2?}, {} records, {} lines); {:.1} MiB spilled",
                layout.partitions,
                timings.spill,
                timings.join,
                timings.reconcile,
                timings.crossing,
                timings.crossing_records,
                timings.crossing_lines,
                outcome.spilled_bytes as f64 / 1_048_576.0
            );
        }
        progress.set_phase("reporting");
        let counts = RunCounts {
            report_currency: config.report_currency,
            usage_records: outcome.usage_records,
            rate_rows: 0,
            invoice_lines: outcome.invoice_lines + outcome.charge_lines.len() as u64,
            rejected_rows: 0,
        };
        let mut reconciliation = outcome.reconciliation;
        reconciliation.add_charges(&outcome.charge_lines, &config, &fx);
        (reconciliation.checked()?, counts, outcome.rejected)
    } else {
        reconcile_in_memory(request, &loaded_deck.deck, &networks, &fx, &config, progress)?
    };
    rejected.splice(0..0, std::mem::take(&mut loaded_deck.rejected));
    remap_rejected(&mut rejected);
    counts.rate_rows = loaded_deck.deck.len() as u64;
    counts.rejected_rows = rejected.len() as u64;
    write_reports(request, &reconciliation, &counts, &rejected)?;
    Ok(ReconcileReport {
        discrepancy_count: reconciliation.discrepancies.len(),
        summary: reconciliation.summary,
        counts,
    })
}

/// Reconciles the run with every record in memory (a tiered deck needs the whole month).
fn reconcile_in_memory(
    request: &ReconcileRequest,
    deck: &reckon_core::RateDeck,
    networks: &NetworkMap,
    fx: &reckon_core::FxTable,
    config: &ReconcileConfig,
    progress: &ByteProgress,
) -> anyhow::Result<(reckon_core::Reconciliation, RunCounts, Vec<reckon_import::Rejection>)> {
    std::thread::scope(|scope| -> anyhow::Result<_> {
        // A second thread parses the invoices into a bounded queue of batches while this one
        // loads and rates the usage, then matches the batches as they come: invoice lines are
        // never all in memory.
        let (sender, receiver) = std::sync::mpsc::sync_channel(INVOICE_BATCHES_QUEUED_MAX);
        let invoice_thread = scope.spawn(move || {
            let mut reader = InvoiceReader::new(&request.invoices, request.policy);
            let mut reader_progress = progress.reader();
            loop {
                let batch = reader.next_batch(&mut reader_progress, INVOICE_BATCH_LINES_MAX);
                let last = batch.as_ref().map_or(true, Vec::is_empty);
                if sender.send(batch).is_err() || last {
                    break;
                }
            }
            reader
        });
        let usage = reckon_import::usage::load_usage(&request.usage, request.policy, &mut progress.reader())?;
        let ratings = rate_all(deck, &usage.items, Party::Carrier, networks);
        let mut reconciler = reckon_core::reconcile::Reconciler::new(&usage.items, &ratings, fx, config);
        for batch in receiver {
            for line in &batch? {
                reconciler.add_line(line);
            }
        }
        let invoices = invoice_thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        progress.set_phase("reporting");
        let counts = RunCounts {
            report_currency: config.report_currency,
            usage_records: usage.items.len() as u64,
            rate_rows: 0,
            invoice_lines: invoices.lines_read + invoices.charge_lines.len() as u64,
            rejected_rows: 0,
        };
        let mut rejected = usage.rejected;
        rejected.extend(invoices.rejected);
        let mut reconciliation = reconciler.finish();
        reconciliation.add_charges(&invoices.charge_lines, config, fx);
        Ok((reconciliation.checked()?, counts, rejected))
    })
}

/// Lines per batch handed from the invoice reader to the matcher.
const INVOICE_BATCH_LINES_MAX: usize = 8_192;
/// Batches the invoice reader may run ahead of the matcher: enough to keep the second core busy
/// while the usage loads (about 262k lines, ~50 MB), and a bound on memory however large the
/// invoices. Measured on 1M records: 8 batches 2.6 s, 32 batches 2.2 s (+11 MB), all 1.9 s (+145 MB).
const INVOICE_BATCHES_QUEUED_MAX: usize = 32;

fn write_reports(
    request: &ReconcileRequest,
    reconciliation: &reckon_core::Reconciliation,
    counts: &RunCounts,
    rejected: &[reckon_import::Rejection],
) -> anyhow::Result<()> {
    let out = &request.out;
    fs_err::create_dir_all(out)?;
    let (discrepancies_path, other_format_path) = match request.output_format {
        ReportFormat::Csv => (out.join("discrepancies.csv"), out.join("discrepancies.parquet")),
        ReportFormat::Parquet => (out.join("discrepancies.parquet"), out.join("discrepancies.csv")),
    };
    write_atomically(&discrepancies_path, |file| match request.output_format {
        ReportFormat::Csv => {
            reckon_export::discrepancies::write_discrepancies(file, &reconciliation.discrepancies).map_err(Into::into)
        }
        ReportFormat::Parquet => {
            reckon_export::parquet::write_discrepancies_parquet(file, &reconciliation.discrepancies).map_err(Into::into)
        }
    })?;
    if other_format_path.exists() {
        // Discrepancies of an earlier run in the other format would contradict this run's.
        fs_err::remove_file(&other_format_path)?;
    }
    write_atomically(&out.join("summary.json"), |file| {
        use std::io::Write;
        file.write_all(reckon_export::summary::summary_json(&reconciliation.summary, counts).as_bytes())?;
        Ok(())
    })?;
    let rejected_path = out.join("rejected.csv");
    if request.policy == BadRowPolicy::Quarantine {
        write_atomically(&rejected_path, |file| {
            reckon_export::rejected::write_rejected(file, rejected).map_err(Into::into)
        })?;
    } else if rejected_path.exists() {
        // A rejects file of an earlier run would describe inputs this run did not skip.
        fs_err::remove_file(&rejected_path)?;
    }
    Ok(())
}

/// Writes a file through a temporary sibling and renames it into place, so a reader never sees
/// half a report.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut std::io::BufWriter<fs_err::File>) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let temporary = path.with_extension("partial");
    let mut file = std::io::BufWriter::new(fs_err::File::create(&temporary)?);
    write(&mut file).with_context(|| format!("writing {}", temporary.display()))?;
    let file = file.into_inner().map_err(|error| error.into_error())?;
    file.sync_all()?;
    drop(file);
    fs_err::rename(&temporary, path)?;
    Ok(())
}
