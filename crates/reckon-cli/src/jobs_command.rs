//! `reckon reconcile --all-carriers --period P`: one reconciliation job per carrier of the
//! period, queued in the ledger, where running `reckon serve` replicas take them too
//! (`reckon_store`'s `run_jobs`); this command works the queue itself until its jobs are done,
//! so it needs no server, and prints each run.

use crate::args::ReconcileArgs;
use crate::ledger_commands::{block_on, load_reference, note, open, Reference};
use crate::pipeline::reconcile_config;
use anyhow::{bail, Context};
use reckon_core::period::Month;
use reckon_core::Timestamp;
use reckon_store::RunSettings;
use std::fmt::Write as _;
use std::process::ExitCode;
use std::time::Duration;

/// How long this command's hold on a job lasts without renewal: a killed command's job passes
/// to another worker after at most this long.
const JOB_LEASE: Duration = Duration::from_secs(15);
/// How long to wait, with no job left to take, for the jobs other workers run.
const WAIT_POLL: Duration = Duration::from_millis(250);

/// Runs `reckon reconcile --all-carriers`.
pub fn reconcile_all_carriers(arguments: &ReconcileArgs) -> anyhow::Result<ExitCode> {
    let options = &arguments.options;
    let period_text = options.period.as_deref().context("--period is required with --all-carriers")?;
    let period = Month::parse(period_text).with_context(|| format!("--period {period_text:?}"))?;
    let mut config = reconcile_config(&options.tolerances, Some(period_text))?;
    let Reference { fx, contracts, networks, holidays } =
        load_reference(&arguments.reference, options.tolerances.fx_staleness_days)?;
    config.contracts = contracts;
    let settings = RunSettings { config: &config, fx: &fx, networks: &networks, holidays: &holidays };
    let (report, found) = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        let carriers = ledger.carriers_of_period(period).await?;
        if carriers.is_empty() {
            bail!("no usage and no invoices of any carrier in {period}");
        }
        let now = Timestamp::now();
        let holder = format!("reckon-cli/{}/{}", std::process::id(), now.as_nanosecond());
        let batch_id = holder.replace('/', "-");
        let scopes: Vec<(String, Month)> = carriers.into_iter().map(|carrier| (carrier, period)).collect();
        ledger.queue_run_jobs(&batch_id, &scopes, now).await?;
        note(&format!("queued {} jobs for {period} (batch {batch_id})", scopes.len()));
        loop {
            match ledger.work_next_run_job(&holder, JOB_LEASE, settings).await? {
                Some((job, outcome)) => {
                    let jobs = ledger.run_jobs_of(&batch_id).await?;
                    let finished = jobs.iter().filter(|job| job.is_finished()).count();
                    let done = match outcome {
                        Ok(run) => format!("run {} ({} discrepancies)", run.run_id, run.discrepancies.len()),
                        Err(error) => format!("failed: {error}"),
                    };
                    note(&format!("[{finished}/{}] {} {}: {done}", jobs.len(), job.carrier, job.period));
                }
                None => {
                    let jobs = ledger.run_jobs_of(&batch_id).await?;
                    if jobs.iter().all(|job| job.is_finished()) {
                        break;
                    }
                    tokio::time::sleep(WAIT_POLL).await;
                }
            }
        }
        let mut report = String::new();
        let mut found = 0;
        let mut failed = Vec::new();
        for job in ledger.run_jobs_of(&batch_id).await? {
            match (&job.run_id, &job.error) {
                (Some(run_id), _) => {
                    let discrepancies = ledger.run_discrepancies(run_id).await?.map_or(0, |rows| rows.len());
                    found += discrepancies;
                    writeln!(report, "run {run_id} for {} {}: {discrepancies} discrepancies", job.carrier, job.period)?;
                }
                (None, error) => failed.push(format!("{}: {}", job.carrier, error.as_deref().unwrap_or("no run"))),
            }
        }
        if !failed.is_empty() {
            bail!("{} of the period's runs failed: {}", failed.len(), failed.join("; "));
        }
        Ok((report, found))
    })?;
    if !options.quiet {
        crate::print_report(&report)?;
    }
    Ok(if found > 0 && options.fail_on_discrepancy { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
