//! `reckon reconcile --invoice-summary`: summary invoices (totals per destination) against our
//! usage rated as every run rates it, with the evidence per day of the groups that differ and,
//! on request, the records of a group.

use crate::args::ReconcileArgs;
use crate::ledger_commands::{load_reference, Reference};
use crate::pipeline::{reconcile_config, write_atomically};
use reckon_core::rating::{rate_all, Party};
use reckon_core::summary_invoice::{reconcile_summaries, GroupComparison, SummaryReconciliation};
use reckon_core::{Currency, Decimal};
use reckon_import::{BadRowPolicy, NoProgress};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

/// Reads the deck, usage and summary invoices, compares them, and writes `discrepancies.csv`,
/// `summary-groups.csv`, `summary-evidence.csv` (and `summary-detail.csv` with `--detail`,
/// `rejected.csv` with `--skip-bad-rows`). Nothing is written unless every input was read.
pub(crate) fn reconcile_summary_files(
    arguments: &ReconcileArgs,
    usage_path: &Path,
    out: &Path,
) -> anyhow::Result<ExitCode> {
    let options = &arguments.options;
    let policy = if options.skip_bad_rows { BadRowPolicy::Quarantine } else { BadRowPolicy::Fail };
    let mut config = reconcile_config(&options.tolerances, options.period.as_deref())?;
    let Reference { fx, contracts, networks, holidays } =
        load_reference(&arguments.reference, options.tolerances.fx_staleness_days)?;
    config.contracts = contracts;
    let mut loaded_deck = reckon_import::rates::load_rates(&arguments.rates, policy, &mut NoProgress)?;
    // The contracts' rounding and the holidays, as every command makes a deck ready.
    loaded_deck.deck.apply_reference(Party::Carrier, &config.contracts, &holidays);
    let usage = reckon_import::usage::load_usage(usage_path, policy, &mut NoProgress)?;
    let summaries = reckon_import::invoice_summary::load_invoice_summaries(
        &arguments.summary.invoice_summary,
        policy,
        &mut NoProgress,
    )?;
    let ratings = rate_all(&loaded_deck.deck, &usage.items, Party::Carrier, &networks);
    let result = reconcile_summaries(&usage.items, &ratings, &loaded_deck.deck, &summaries.items, &fx, &config)?;
    let detail = detail_groups(&result, &arguments.summary.detail)?;

    fs_err::create_dir_all(out)?;
    let evidence_dir = arguments.summary.evidence_dir.as_deref().unwrap_or(out);
    fs_err::create_dir_all(evidence_dir)?;
    write_atomically(&out.join("discrepancies.csv"), |file| {
        Ok(reckon_export::discrepancies::write_discrepancies(file, &result.discrepancies)?)
    })?;
    write_atomically(&out.join("summary-groups.csv"), |file| {
        Ok(reckon_export::summary_invoice::write_group_comparisons(file, &result.groups)?)
    })?;
    write_atomically(&evidence_dir.join("summary-evidence.csv"), |file| {
        reckon_export::summary_invoice::write_day_evidence(file, &result.groups, &usage.items, &ratings)
            .map_err(|error| anyhow::anyhow!(error))
    })?;
    if !detail.is_empty() {
        write_atomically(&evidence_dir.join("summary-detail.csv"), |file| {
            Ok(reckon_export::summary_invoice::write_group_records(file, &detail, &usage.items, &ratings)?)
        })?;
    }
    if policy == BadRowPolicy::Quarantine {
        let mut rejected = loaded_deck.rejected;
        rejected.extend(usage.rejected);
        rejected.extend(summaries.rejected);
        write_atomically(&out.join("rejected.csv"), |file| {
            Ok(reckon_export::rejected::write_rejected(file, &rejected)?)
        })?;
    }
    if !options.quiet {
        crate::print_report(&summary_text(&result))?;
    }
    let found = !result.discrepancies.is_empty();
    Ok(if found && options.fail_on_discrepancy { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// The groups `--detail` names: by group (prefix or destination name, case ignored) or line id.
fn detail_groups<'r>(result: &'r SummaryReconciliation, names: &[String]) -> anyhow::Result<Vec<&'r GroupComparison>> {
    let mut chosen = Vec::new();
    for name in names {
        let matches = |group: &GroupComparison| {
            group.group.eq_ignore_ascii_case(name.trim())
                || group.line_id.as_deref().is_some_and(|line_id| line_id == name.trim())
        };
        let before = chosen.len();
        chosen.extend(result.groups.iter().filter(|group| matches(group)));
        if chosen.len() == before {
            let known: Vec<&str> = result.groups.iter().map(|group| group.group.as_str()).collect();
            anyhow::bail!(
                "--detail {name:?}: no group of the summary invoices has this name (groups: {})",
                known.join(", ")
            );
        }
    }
    Ok(chosen)
}

/// What a person reads: groups compared, rows per kind, and the money per invoice and currency.
fn summary_text(result: &SummaryReconciliation) -> String {
    let mut per_kind: BTreeMap<&str, usize> = BTreeMap::new();
    for row in &result.discrepancies {
        *per_kind.entry(row.kind.as_str()).or_default() += 1;
    }
    let mut money: BTreeMap<(String, String, Currency), (Decimal, Decimal)> = BTreeMap::new();
    for row in &result.discrepancies {
        let Some(difference) = row.difference else { continue };
        let key = (row.carrier.to_string(), row.invoice_id.as_deref().unwrap_or("").to_owned(), row.currency);
        let (overbilled, underbilled) = money.entry(key).or_default();
        if difference > Decimal::ZERO {
            *overbilled = overbilled.saturating_add(difference);
        } else {
            *underbilled = underbilled.saturating_sub(difference);
        }
    }
    let mut text =
        format!("summary invoices: {} groups compared, {} differ\n", result.groups.len(), result.discrepancies.len());
    for (kind, count) in per_kind {
        let _ = writeln!(text, "  {kind}: {count}");
    }
    for ((carrier, invoice_id, currency), (overbilled, underbilled)) in money {
        let _ = writeln!(
            text,
            "{carrier} {invoice_id}: overbilled {} {currency}, underbilled {} {currency}",
            overbilled.normalize(),
            underbilled.normalize()
        );
    }
    text
}
