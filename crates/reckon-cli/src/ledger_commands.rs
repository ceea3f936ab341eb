//! The ledger commands: `reckon import`, `reckon reconcile --carrier --period`, `reckon
//! dispute`, `reckon settle` and `reckon journal`. Each opens the ledger (SQLite by default,
//! PostgreSQL by URL), does one thing in `reckon-store`, and prints what it did.

use crate::args::{
    ApikeyCreateArgs, ApikeyListArgs, ApikeyRevokeArgs, DisputeCommand, ImportCommand, ImportFileArgs, JournalArgs,
    LedgerArgs, ReconcileArgs, ReferenceArgs, ServeArgs, SettleArgs,
};
use crate::pipeline::{reconcile_config, write_atomically};
use crate::profile_commands::{overrides_for, ConvertedInputs, ProfiledInput};
use anyhow::{bail, Context};
use reckon_core::currency::format_amount;
use reckon_core::dispute::DisputeAction;
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, FxTable, Timestamp};
use reckon_import::rates::DeckKind;
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_profiles::Target;
use reckon_store::{InvoiceImport, InvoiceOutcome, Ledger, Receivable, RunInputs, RunSplit};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::process::ExitCode;
use std::str::FromStr;

/// Runs an async ledger operation to completion on a small runtime.
pub(crate) fn block_on<T>(future: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(future)
}

pub(crate) async fn open(ledger: &LedgerArgs) -> anyhow::Result<Ledger> {
    if ledger.database_url.is_none() {
        fs_err::create_dir_all(&ledger.data_dir)?;
    }
    // The store's error names the ledger (password redacted) and the cause.
    Ok(Ledger::open(&ledger_url(ledger)).await?)
}

/// The ledger's URL: `--database-url`, else the SQLite file in the data directory.
fn ledger_url(ledger: &LedgerArgs) -> String {
    ledger.database_url.clone().unwrap_or_else(|| Ledger::sqlite_url(&ledger.data_dir))
}

/// A progress note on stderr (stdout carries reports only).
pub(crate) fn note(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

pub(crate) fn month(text: &str) -> anyhow::Result<Month> {
    Month::parse(text).with_context(|| format!("--period {text:?}"))
}

fn decimal(text: &str, what: &str) -> anyhow::Result<Decimal> {
    Decimal::from_str(text.trim()).map_err(|_| anyhow::anyhow!("{what}: {text:?} is not a decimal"))
}

/// Runs `reckon import ...`.
pub fn import_command(command: &ImportCommand) -> anyhow::Result<ExitCode> {
    let now = Timestamp::now();
    // A file given with --profile is read through its canonical conversion (a temporary file),
    // and errors about that file are told about the source file and line.
    let (file, converted) = match command {
        ImportCommand::Usage(arguments) => import_input(arguments, Target::Usage)?,
        ImportCommand::Rates(arguments) => import_input(arguments, Target::Rates)?,
        ImportCommand::Prices(arguments) => import_input(arguments, Target::Rates)?,
        ImportCommand::Invoice(arguments) => import_input(&arguments.file, Target::Invoice)?,
        ImportCommand::InvoiceSummary(arguments) => {
            if let Some(profile) = &arguments.file.profile {
                bail!("--profile {profile}: import profiles convert usage, invoices and decks; a summary invoice is read as invoice-summary.csv");
            }
            (arguments.file.file.clone(), ConvertedInputs::none())
        }
        ImportCommand::Receivable(_) => (std::path::PathBuf::new(), ConvertedInputs::none()),
        ImportCommand::ContractTerms(arguments) => {
            if let Some(profile) = &arguments.profile {
                bail!("--profile {profile}: import profiles convert usage, invoices and decks; contract terms are read as contract_terms.csv");
            }
            (arguments.file.clone(), ConvertedInputs::none())
        }
    };
    block_on(async {
        let text = match command {
            ImportCommand::Usage(arguments) => {
                // The file streams batch by batch: memory holds one batch, whatever its size. A
                // `record_id` that repeats within the file is found by the ledger in its staging
                // table, which names both lines as the loader does.
                let mut reader = reckon_import::usage::UsageReader::open(&file)?;
                let ledger = open(&arguments.ledger).await?;
                note(&format!(
                    "writing the usage records of {} to the ledger in one transaction, batch by batch",
                    arguments.file.display()
                ));
                let source = arguments.file.display().to_string();
                let next_batch = |batch: &mut reckon_import::Loaded<reckon_core::UsageRecord>| {
                    reader.read_batch(batch, reckon_store::USAGE_BATCH_ROWS, BadRowPolicy::Fail, &mut NoProgress)
                };
                let outcome = ledger
                    .import_usage_batches(next_batch, &source, &arguments.ledger.actor, arguments.replace, now)
                    .await?;
                format!(
                    "usage {source}: {} stored, {} already stored unchanged, {} replaced\n",
                    outcome.inserted, outcome.unchanged, outcome.replaced
                )
            }
            ImportCommand::Rates(arguments) => import_deck(arguments, &file, DeckKind::CarrierRates, now).await?,
            ImportCommand::Prices(arguments) => import_deck(arguments, &file, DeckKind::CustomerPrices, now).await?,
            ImportCommand::Invoice(invoice_arguments) => {
                let arguments = &invoice_arguments.file;
                let period = invoice_arguments.period.as_deref().map(month).transpose()?;
                // Usage lines and contract charge lines (kept with their type and code).
                let (loaded, charges) =
                    reckon_import::invoice::InvoiceReader::new(std::slice::from_ref(&file), BadRowPolicy::Fail)
                        .read_all_with_charges(&mut NoProgress)?;
                let lines = loaded.items;
                let ledger = open(&arguments.ledger).await?;
                note(&format!(
                    "writing {} invoice lines to the ledger in one transaction",
                    lines.len() + charges.len()
                ));
                let source = arguments.file.display().to_string();
                let imported = ledger
                    .import_invoices_with_charges(
                        &lines,
                        &charges,
                        period,
                        &source,
                        &arguments.ledger.actor,
                        arguments.replace,
                        now,
                    )
                    .await?;
                imported_invoices_text(&imported, "invoice", "lines")
            }
            ImportCommand::InvoiceSummary(arguments) => import_invoice_summary(arguments, now).await?,
            ImportCommand::ContractTerms(arguments) => {
                let terms = reckon_import::contract_terms::load_contract_terms(&arguments.file)?;
                let ledger = open(&arguments.ledger).await?;
                let source = arguments.file.display().to_string();
                let outcome = ledger
                    .import_contract_terms(&terms, &source, &arguments.ledger.actor, arguments.replace, now)
                    .await?;
                format!(
                    "contract terms {source}: {} stored, {} already stored unchanged, {} replaced\n",
                    outcome.inserted, outcome.unchanged, outcome.replaced
                )
            }
            ImportCommand::Receivable(arguments) => {
                let amount = decimal(&arguments.amount, "--amount")?;
                let currency = Currency::parse(&arguments.currency).with_context(|| {
                    format!(
                        "--currency {:?}: not an ISO 4217 currency code (three letters, like EUR)",
                        arguments.currency
                    )
                })?;
                let period = month(&arguments.period)?.to_string();
                let ledger = open(&arguments.ledger).await?;
                let receivable = Receivable {
                    carrier: &arguments.carrier,
                    invoice_id: &arguments.invoice_id,
                    period: &period,
                    amount,
                    currency,
                };
                let outcome =
                    ledger.store_receivable(&receivable, arguments.replace, &arguments.ledger.actor, now).await?;
                format!(
                    "receivable {} of {}: {}\n",
                    arguments.invoice_id,
                    arguments.carrier,
                    match outcome {
                        InvoiceOutcome::Imported => "stored",
                        InvoiceOutcome::Unchanged => "already stored (no-op)",
                        InvoiceOutcome::Replaced => "corrected (the old figures are in the audit log)",
                    }
                )
            }
        };
        crate::print_report(&text)?;
        Ok(ExitCode::SUCCESS)
    })
    .map_err(|error| converted.remap_error(error))
}

/// The file an import reads: the file itself, or its canonical conversion through `--profile`.
fn import_input(arguments: &ImportFileArgs, target: Target) -> anyhow::Result<(std::path::PathBuf, ConvertedInputs)> {
    let Some(profile) = &arguments.profile else {
        let overrides = &arguments.overrides;
        if !overrides.set.is_empty() || !overrides.map.is_empty() || overrides.time_zone.is_some() {
            bail!("--set, --map and --time-zone change an import profile: give --profile");
        }
        return Ok((arguments.file.clone(), ConvertedInputs::none()));
    };
    let overrides = overrides_for(&arguments.overrides, &[target])?.remove(0);
    let input = ProfiledInput { file: &arguments.file, profile, overrides, expected: target };
    let converted = ConvertedInputs::convert(vec![input], &std::env::temp_dir(), BadRowPolicy::Fail)?;
    Ok((converted.path_for(&arguments.file), converted))
}

/// Stores the summary invoices of a file; says what it did for each.
async fn import_invoice_summary(
    invoice_arguments: &crate::args::ImportInvoiceArgs,
    now: Timestamp,
) -> anyhow::Result<String> {
    let arguments = &invoice_arguments.file;
    let period = invoice_arguments.period.as_deref().map(month).transpose()?;
    let lines = reckon_import::invoice_summary::load_invoice_summaries(
        std::slice::from_ref(&arguments.file),
        BadRowPolicy::Fail,
        &mut NoProgress,
    )?
    .items;
    let ledger = open(&arguments.ledger).await?;
    let source = arguments.file.display().to_string();
    let imported = ledger
        .import_invoice_summaries(&lines, period, &source, &arguments.ledger.actor, arguments.replace, now)
        .await?;
    Ok(imported_invoices_text(&imported, "summary invoice", "groups"))
}

/// What an invoice import did, a line per invoice: `document` names the kind of invoice,
/// `rows` what its rows are.
fn imported_invoices_text(imported: &[InvoiceImport], document: &str, rows: &str) -> String {
    let mut text = String::new();
    for invoice in imported {
        let what = match invoice.outcome {
            InvoiceOutcome::Imported => "stored",
            InvoiceOutcome::Unchanged => "already stored unchanged (no-op)",
            InvoiceOutcome::Replaced => "replaced by a new version",
        };
        let _ = writeln!(
            text,
            "{document} {} of {} for {}: {} {rows} {what} (version {})",
            invoice.invoice_id, invoice.carrier, invoice.period, invoice.lines, invoice.version
        );
    }
    text
}

/// Opens a run's disputes, applying the carriers' dispute thresholds when `--contracts` gives
/// them; says what was opened and what was held back, with why.
async fn open_disputes(arguments: &crate::args::DisputeOpenArgs, now: Timestamp) -> anyhow::Result<String> {
    let threshold = decimal(&arguments.threshold, "--threshold")?;
    let thresholds = match &arguments.contracts {
        Some(path) => reckon_import::contracts::load_dispute_thresholds(path)?,
        None => HashMap::new(),
    };
    let fx = reckon_import::fx::load_fx_sources(arguments.fx.as_deref(), None, None)?;
    let today = match &arguments.on {
        Some(text) => jiff::civil::Date::from_str(text.trim())
            .map_err(|_| anyhow::anyhow!("--on {text:?}: expected a date like 2026-04-30"))?,
        None => reckon_core::period::utc_date(now),
    };
    let practice = reckon_store::DisputePractice { thresholds: &thresholds, fx: &fx, today };
    let ledger = open(&arguments.ledger).await?;
    let outcome = ledger
        .open_disputes_as_practised(&arguments.run, threshold, Some(&practice), &arguments.ledger.actor, now)
        .await?;
    let mut text = String::new();
    for (dispute_id, created) in &outcome.opened {
        let dispute = ledger.dispute(dispute_id).await?;
        let _ = writeln!(
            text,
            "dispute {dispute_id}: {} {} {} lines, {} {} claimed{}",
            dispute.carrier,
            dispute.invoice_id,
            dispute.lines.len(),
            dispute.claimed_total,
            dispute.currency,
            if *created { "" } else { " (already open: unchanged)" }
        );
    }
    for held_back in &outcome.not_raised {
        let _ = writeln!(
            text,
            "not raised: {} {} {} lines, {} {}: {}",
            held_back.carrier,
            held_back.invoice_id,
            held_back.lines,
            held_back.claimed.normalize(),
            held_back.currency,
            held_back.reason
        );
    }
    if outcome.opened.is_empty() && outcome.not_raised.is_empty() {
        text.push_str("nothing to dispute in this run\n");
    }
    Ok(text)
}

/// Stores a rate deck or price plans; says what it did.
async fn import_deck(
    arguments: &ImportFileArgs,
    file: &std::path::Path,
    kind: DeckKind,
    now: Timestamp,
) -> anyhow::Result<String> {
    let deck = reckon_import::rates::load_deck(
        std::slice::from_ref(&file.to_path_buf()),
        kind,
        BadRowPolicy::Fail,
        &mut NoProgress,
    )?
    .deck;
    let ledger = open(&arguments.ledger).await?;
    let source = arguments.file.display().to_string();
    let (what, actor) = (if kind == DeckKind::CarrierRates { "rates" } else { "prices" }, &arguments.ledger.actor);
    let outcome = match kind {
        DeckKind::CarrierRates => ledger.import_rates(deck.rows(), &source, actor, arguments.replace, now).await?,
        DeckKind::CustomerPrices => ledger.import_prices(deck.rows(), &source, actor, arguments.replace, now).await?,
    };
    Ok(format!(
        "{what} {source}: {} rows stored, {} already stored unchanged, {} replaced\n",
        outcome.inserted, outcome.unchanged, outcome.replaced
    ))
}

/// Runs `reckon reconcile --carrier C --period P`: from the ledger, recording the run.
pub fn reconcile_ledger(arguments: &ReconcileArgs, carrier: &str) -> anyhow::Result<ExitCode> {
    let options = &arguments.options;
    let period_text = options.period.as_deref().context("--period is required with --carrier")?;
    let period = month(period_text)?;
    let mut config = reconcile_config(&options.tolerances, Some(period_text))?;
    let Reference { fx, contracts, networks, holidays } =
        load_reference(&arguments.reference, options.tolerances.fx_staleness_days)?;
    config.contracts = contracts;
    let run = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        let inputs = RunInputs { carrier, period, config: &config, fx: &fx, networks: &networks, holidays: &holidays };
        // As a file run: `--partitions 0` in memory, N partitions, or from the month's size.
        let spill_dir = options.spill_dir.clone().or_else(|| arguments.out.clone()).unwrap_or_else(std::env::temp_dir);
        let split = match options.partitions {
            Some(0) => RunSplit::InMemory,
            Some(partitions) => RunSplit::Split(reckon_partition::Layout {
                partitions,
                ..reckon_partition::Layout::for_input_bytes(0, spill_dir)
            }),
            None => RunSplit::BySize { spill_dir },
        };
        Ok(ledger.reconcile_period_in(&inputs, Timestamp::now(), split).await?)
    })?;
    if let Some(out) = &arguments.out {
        fs_err::create_dir_all(out)?;
        write_atomically(&out.join("discrepancies.csv"), |file| {
            Ok(reckon_export::discrepancies::write_discrepancies(file, &run.discrepancies)?)
        })?;
    }
    let mut text = format!(
        "run {} for {carrier} {period}: {} discrepancies{}\n",
        run.run_id,
        run.discrepancies.len(),
        if run.created { "" } else { " (the same inputs were reconciled before: nothing new recorded)" }
    );
    if let Some(summary) = &run.summary {
        let counts = reckon_export::summary::RunCounts {
            report_currency: config.report_currency,
            usage_records: run.read.usage_records,
            rate_rows: run.read.rate_rows,
            invoice_lines: run.read.invoice_lines,
            rejected_rows: 0,
        };
        text.push_str(&reckon_export::summary::summary_table(summary, &counts));
    }
    if !options.quiet {
        crate::print_report(&text)?;
    }
    let found = !run.discrepancies.is_empty();
    Ok(if found && options.fail_on_discrepancy { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The reference data of `rate`, `margin`, a ledger run or the service.
pub(crate) struct Reference {
    pub fx: FxTable,
    pub contracts: HashMap<String, reckon_core::contract::ContractTerms>,
    pub networks: NetworkMap,
    pub holidays: HashMap<String, reckon_core::time_band::HolidayCalendar>,
}

/// Loads the reference data files: FX rates (with the staleness bound), contract terms, the
/// number-to-network table and the holiday calendars.
pub(crate) fn load_reference(reference: &ReferenceArgs, fx_staleness_days: i32) -> anyhow::Result<Reference> {
    // The one FX loader of every command, with the staleness limit reconcile applies.
    let fx =
        reckon_import::fx::load_fx_sources(reference.fx.as_deref(), reference.ecb.as_deref(), Some(fx_staleness_days))?;
    let contracts = match &reference.contracts {
        Some(path) => reckon_import::contracts::load_contracts(path)?,
        None => Default::default(),
    };
    let mut networks = NetworkMap::new();
    if let Some(path) = &reference.networks {
        reckon_import::networks::load_networks(path, &mut networks)?;
    }
    let holidays = match &reference.holidays {
        Some(path) => reckon_import::holidays::load_holidays(path)?,
        None => HashMap::new(),
    };
    Ok(Reference { fx, contracts, networks, holidays })
}

/// Runs `reckon dispute ...`.
pub fn dispute_command(command: &DisputeCommand) -> anyhow::Result<ExitCode> {
    let now = Timestamp::now();
    block_on(async {
        let (ledger_args, dispute_id, action, reason) = match command {
            DisputeCommand::Open(arguments) => {
                crate::print_report(&open_disputes(arguments, now).await?)?;
                return Ok(ExitCode::SUCCESS);
            }
            DisputeCommand::Show(arguments) => {
                let ledger = open(&arguments.ledger).await?;
                crate::print_report(&show(&ledger.dispute(&arguments.dispute_id).await?))?;
                return Ok(ExitCode::SUCCESS);
            }
            DisputeCommand::Export(arguments) => {
                let ledger = open(&arguments.ledger).await?;
                let evidence = ledger.dispute_evidence(&arguments.dispute_id).await?;
                write_atomically(&arguments.out, |file| Ok(reckon_export::disputes::write_evidence(file, &evidence)?))?;
                crate::print_report(&format!(
                    "{} disputed lines written to {}\n",
                    evidence.len(),
                    arguments.out.display()
                ))?;
                return Ok(ExitCode::SUCCESS);
            }
            DisputeCommand::Submit(arguments) => {
                (&arguments.ledger, &arguments.dispute_id, DisputeAction::Submit, &arguments.reason)
            }
            DisputeCommand::Reject(arguments) => {
                (&arguments.ledger, &arguments.dispute_id, DisputeAction::Reject, &arguments.reason)
            }
            DisputeCommand::Close(arguments) => {
                (&arguments.ledger, &arguments.dispute_id, DisputeAction::Close, &arguments.reason)
            }
            DisputeCommand::Accept(arguments) => {
                let action = if arguments.credits.is_empty() {
                    DisputeAction::Accept
                } else {
                    let mut credits = BTreeMap::new();
                    for credit in &arguments.credits {
                        let (line, amount) = credit
                            .split_once('=')
                            .with_context(|| format!("--credit {credit:?}: expected LINE=AMOUNT"))?;
                        let line = line.trim();
                        if credits.insert(line.to_owned(), decimal(amount, "--credit")?).is_some() {
                            bail!("--credit {credit:?}: line {line} is credited twice; give each line once");
                        }
                    }
                    DisputeAction::AcceptPartially { credits }
                };
                (&arguments.ledger, &arguments.dispute_id, action, &arguments.reason)
            }
        };
        let ledger = open(ledger_args).await?;
        let dispute = ledger.act_on_dispute(dispute_id, &action, &ledger_args.actor, reason, now).await?;
        crate::print_report(&show(&dispute))?;
        Ok(ExitCode::SUCCESS)
    })
}

fn show(dispute: &reckon_store::DisputeRecord) -> String {
    let amount = |value: Decimal| match Currency::parse(&dispute.currency) {
        Some(currency) => format_amount(value, currency),
        None => value.to_string(),
    };
    let mut text = format!(
        "dispute {}: {} invoice {} version {} ({}), {}\nclaimed {} {}, credited {} {}\n\nline  record  kind  billed  expected  claimed  credited\n",
        dispute.dispute_id,
        dispute.carrier,
        dispute.invoice_id,
        dispute.invoice_version,
        dispute.period,
        dispute.state,
        amount(dispute.claimed_total),
        dispute.currency,
        amount(dispute.credited_total()),
        dispute.currency
    );
    for (line, credited) in &dispute.lines {
        let _ = writeln!(
            text,
            "{}  {}  {}  {}  {}  {}  {}",
            line.line_id,
            line.record_id.as_deref().unwrap_or("-"),
            line.kind,
            line.billed_amount,
            line.expected_amount,
            line.claimed,
            credited
        );
    }
    text.push_str("\nhistory:\n");
    for event in &dispute.events {
        let _ = writeln!(
            text,
            "{}  {}  {}  {} -> {}  {}",
            event.at,
            event.actor,
            event.action,
            event.from_state.as_deref().unwrap_or("-"),
            event.to_state,
            event.reason
        );
    }
    text
}

/// Runs `reckon settle`.
pub fn settle_command(arguments: &SettleArgs) -> anyhow::Result<ExitCode> {
    let period = month(&arguments.period)?;
    let currency = arguments.currency.as_deref().map(currency_code).transpose()?;
    let fx = reckon_import::fx::load_fx_sources(
        arguments.fx.as_deref(),
        arguments.ecb.as_deref(),
        Some(arguments.fx_staleness_days),
    )?;
    let settlement_currency = match &arguments.contracts {
        Some(path) => reckon_import::contracts::load_contracts(path)?
            .get(&arguments.carrier)
            .and_then(|terms| terms.settlement_currency),
        None => None,
    };
    let options = reckon_store::SettleOptions {
        correct: arguments.correct,
        currency,
        settlement_currency: settlement_currency.map(|settlement_currency| (settlement_currency, &fx)),
    };
    let statements = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        Ok(ledger.settle_period_with(&arguments.carrier, period, &options, Timestamp::now()).await?)
    })?;
    let text: Vec<String> = statements.iter().map(statement_text).collect();
    crate::print_report(&text.join("\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// A currency code given on the command line.
fn currency_code(text: &str) -> anyhow::Result<Currency> {
    Currency::parse(text).with_context(|| format!("--currency {text:?}: expected an ISO 4217 code, like EUR"))
}

/// A charge type's name in invoice.csv, the shortfall's shortened to fit a statement's column.
fn charge_label(charge_type: reckon_core::charges::ChargeType) -> &'static str {
    match charge_type {
        reckon_core::charges::ChargeType::CommitmentShortfall => "shortfall",
        other => other.as_str(),
    }
}

fn statement_text(stored: &reckon_store::StoredStatement) -> String {
    let inputs = &stored.statement.inputs;
    let currency = inputs.currency;
    // Deductions are shown negated, so a zero one reads 0.00, never -0.
    let amount = |value: Decimal| format_amount(value, currency);
    // Contract charges (issue 17): each type on its own line under the invoiced figure, the
    // rebates due under the receivable.
    let mut charges = String::new();
    if !inputs.charges.is_empty() {
        let usage = inputs.usage_invoiced().unwrap_or(inputs.invoiced);
        let _ = writeln!(charges, "    {:<17}{} {currency}", "usage", amount(usage));
        for (charge_type, value) in &inputs.charges {
            let _ = writeln!(charges, "    {:<17}{} {currency}", charge_label(*charge_type), amount(*value));
        }
    }
    let mut rebates = if inputs.rebates_due.is_zero() {
        String::new()
    } else {
        format!("    {:<17}{} {currency}\n", "rebates due", amount(-inputs.rebates_due))
    };
    if !inputs.rebates_netted_before.is_zero() {
        // Credited late on these invoices, taken already by their own period: paid back.
        let _ = writeln!(rebates, "  {:<19}{} {currency}", "late rebates", amount(inputs.rebates_netted_before));
    }
    // The credits granted on charge lines, each type under the accepted credits.
    let mut credits = String::new();
    for (charge_type, value) in &inputs.credited_charges {
        let _ =
            writeln!(credits, "    {:<17}{} {currency}", format!("on {}", charge_label(*charge_type)), amount(-*value));
    }
    let mut text = format!(
        "statement {} for {} {}{}{}\n  invoiced           {} {currency}\n{charges}  accepted credits   {} {currency}\n{credits}  withheld (open)    {} {currency}\n  netted receivable  {} {currency}\n{rebates}  net to pay         {} {currency} (exact {})\n",
        stored.statement_id,
        stored.carrier,
        stored.period,
        stored.supersedes.as_ref().map(|old| format!(", correcting {old}")).unwrap_or_default(),
        if stored.created { "" } else { " (unchanged: stored before)" },
        amount(inputs.invoiced),
        amount(-inputs.accepted_credits),
        amount(-inputs.withheld),
        amount(-inputs.receivable),
        amount(stored.statement.net),
        amount(stored.statement.net_exact),
    );
    for conversion in &stored.statement.conversions {
        let from = &conversion.from;
        let _ = writeln!(
            text,
            "  converted from {}: invoiced {}, credits {}, withheld {}, receivable {} at {} {currency} per {} ({})",
            from.currency,
            from.invoiced,
            from.accepted_credits,
            from.withheld,
            from.receivable,
            conversion.rate,
            from.currency,
            conversion.date
        );
    }
    text
}

/// Runs `reckon journal`.
pub fn journal_command(arguments: &JournalArgs) -> anyhow::Result<ExitCode> {
    let period = month(&arguments.period)?;
    let format = reckon_export::journal::JournalFormat::parse(&arguments.format).map_err(anyhow::Error::msg)?;
    let entries = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        Ok(ledger.journal(&arguments.carrier, &period.to_string()).await?)
    })?;
    write_atomically(&arguments.out, |file| Ok(reckon_export::journal::write_journal(file, format, &entries)?))?;
    let lines_count: usize = entries.iter().map(|entry| entry.lines.len()).sum();
    crate::print_report(&format!(
        "{} journal entries ({lines_count} lines) written to {}\n",
        entries.len(),
        arguments.out.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `reckon serve`: prints `listening on ADDR` on stdout once bound, then serves until
/// SIGTERM, finishing the requests in flight.
pub fn serve_command(arguments: &ServeArgs) -> anyhow::Result<ExitCode> {
    let mut reconcile = reconcile_config(&arguments.tolerances, None)?;
    let Reference { fx, contracts, networks, holidays } =
        load_reference(&arguments.reference, arguments.tolerances.fx_staleness_days)?;
    reconcile.contracts = contracts;
    let rules = match &arguments.alerts {
        Some(path) => reckon_import::alert_rules::load_alert_rules(path)?,
        None => Vec::new(),
    };
    if let Some(url) = &arguments.webhook {
        if !url.starts_with("http://") && !url.starts_with("https://") {
            bail!("--webhook {url:?}: expected an http:// or https:// URL");
        }
    }
    let webhook_secret = match &arguments.webhook_secret_file {
        Some(path) => {
            let secret = std::fs::read_to_string(path)
                .with_context(|| format!("--webhook-secret-file {}", path.display()))?
                .trim()
                .to_owned();
            if secret.is_empty() {
                bail!("--webhook-secret-file {}: the file is empty; expected the secret", path.display());
            }
            Some(secret)
        }
        None => None,
    };
    let key_rate_limit = match arguments.key_rate_limit {
        Some(rate) if !(rate.is_finite() && rate > 0.0) => {
            bail!("--key-rate-limit {rate}: expected a number of requests a second above 0")
        }
        Some(rate) => {
            let burst = arguments.key_burst.unwrap_or(rate).max(1.0);
            if !burst.is_finite() {
                bail!("--key-burst {burst}: expected a number of requests");
            }
            Some(reckon_server::RateLimit { per_second: rate, burst })
        }
        None => None,
    };
    let settings = reckon_server::ServiceSettings {
        fx,
        networks,
        reconcile,
        holidays,
        alerts: reckon_server::AlertSettings {
            rules,
            webhook: arguments.webhook.clone(),
            webhook_secret,
            webhook_ca: arguments.webhook_ca.clone(),
            check_interval: std::time::Duration::from_millis(arguments.alert_interval_ms.max(10)),
            webhook_attempts: arguments.webhook_attempts.max(1),
            webhook_backoff: std::time::Duration::from_millis(arguments.webhook_backoff_ms),
        },
        connections: reckon_server::ConnectionLimits {
            connections_max: arguments.max_connections.max(1),
            header_read_timeout: std::time::Duration::from_millis(arguments.header_read_timeout_ms.max(1)),
            shutdown_timeout: std::time::Duration::from_millis(arguments.shutdown_timeout_ms),
        },
        replica: reckon_server::ReplicaSettings::new(
            arguments.replica_id.as_deref().unwrap_or("reckon"),
            std::time::Duration::from_millis(arguments.lease_ttl_ms.max(100)),
        ),
        tls: match (&arguments.tls_cert, &arguments.tls_key) {
            (Some(cert), Some(key)) => Some(reckon_server::TlsFiles { cert: cert.clone(), key: key.clone() }),
            _ => None,
        },
        key_rate_limit,
    };
    let nats = arguments.nats.as_ref().map(|url| reckon_server::NatsSource {
        url: url.clone(),
        subject: arguments.subject.clone(),
        stream: arguments.nats_stream.clone(),
        durable: arguments.nats_durable.clone(),
        dead_letter: arguments.nats_dead_letter.clone(),
        ack_wait: std::time::Duration::from_millis(arguments.nats_ack_wait_ms.max(100)),
    });
    if let (Some(name), true) = (&arguments.replica_id, ledger_url(&arguments.ledger).starts_with("sqlite:")) {
        bail!(
            "--replica-id {name:?}: replicas need a PostgreSQL ledger (--database-url postgres://...); \
             an SQLite ledger is served by one process"
        );
    }
    install_log(arguments.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async {
        let ledger = open(&arguments.ledger).await?;
        // Held while serving: a second `reckon serve` on the same SQLite file is refused, and
        // the leases a killed predecessor left need not lapse.
        let single_server = ledger.hold_sole_server().await?;
        if single_server.is_some() {
            ledger.release_all_leases().await?;
        }
        reckon_server::serve(ledger, settings, nats, &arguments.listen, |address| {
            let _ = crate::print_report(&format!("listening on {address}\n"));
        })
        .await
        .with_context(|| format!("serving on {}", arguments.listen))?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Sends the service's log (`tracing`) to stderr, as text lines or JSON objects; info and
/// above (an access-log line per request among them).
fn install_log(format: crate::args::LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing_subscriber::filter::LevelFilter::INFO)
        .with_ansi(false);
    let _ = match format {
        crate::args::LogFormat::Text => builder.try_init(),
        crate::args::LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Runs `reckon apikey create`.
pub fn apikey_create_command(arguments: &ApikeyCreateArgs) -> anyhow::Result<ExitCode> {
    for scope in &arguments.scopes {
        if !["ingest", "read", "admin"].contains(&scope.as_str()) {
            bail!("--scope {scope:?}: expected ingest, read or admin");
        }
    }
    let now = Timestamp::now();
    let expires_at = match (&arguments.expires, arguments.expires_in_days) {
        (Some(text), _) => {
            let instant = Timestamp::from_str(text).map_err(|_| {
                anyhow::anyhow!("--expires {text:?}: expected an RFC 3339 instant like 2027-01-01T00:00:00Z")
            })?;
            if instant <= now {
                bail!("--expires {text:?}: the instant has passed");
            }
            Some(instant)
        }
        (None, Some(days)) => Some(
            now.checked_add(jiff::SignedDuration::from_hours(i64::from(days) * 24))
                .map_err(|_| anyhow::anyhow!("--expires-in-days {days}: too far"))?,
        ),
        (None, None) => None,
    };
    let token = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        let scopes: Vec<&str> = arguments.scopes.iter().map(String::as_str).collect();
        Ok(ledger.create_api_key(&scopes, expires_at, now).await?)
    })?;
    crate::print_report(&format!("{token}\n"))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `reckon apikey list`: one line per key, never its secret.
pub fn apikey_list_command(arguments: &ApikeyListArgs) -> anyhow::Result<ExitCode> {
    let keys = block_on(async { Ok(open(&arguments.ledger).await?.api_keys().await?) })?;
    let mut text = String::from("key_id\tscopes\tcreated\tlast_used\texpires\trevoked\n");
    let instant = |at: Option<Timestamp>| at.map_or_else(|| "-".to_owned(), |at| at.to_string());
    for key in keys {
        let _ = writeln!(
            text,
            "{}\t{}\t{}\t{}\t{}\t{}",
            key.key_id,
            key.scopes.join(","),
            key.created_at,
            instant(key.last_used_at),
            instant(key.expires_at),
            instant(key.revoked_at)
        );
    }
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `reckon apikey revoke ID`.
pub fn apikey_revoke_command(arguments: &ApikeyRevokeArgs) -> anyhow::Result<ExitCode> {
    block_on(async { Ok(open(&arguments.ledger).await?.revoke_api_key(&arguments.key_id, Timestamp::now()).await?) })?;
    crate::print_report(&format!("revoked {}\n", arguments.key_id))?;
    Ok(ExitCode::SUCCESS)
}
