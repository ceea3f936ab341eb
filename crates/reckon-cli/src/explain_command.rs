//! `reckon explain`: why a record or an invoice line is expected at its amount, in plain words,
//! over the same files as `reckon reconcile` or over the ledger. The explanation is
//! `reckon_core::explain`'s (the rating code, traced); this module only loads and prints.

use crate::args::ExplainArgs;
use crate::ledger_commands::{block_on, load_reference, open, Reference};
use crate::pipeline::reconcile_config;
use anyhow::{bail, Context};
use reckon_core::explain::{self, ExplainInputs, Explanation};
use reckon_core::rating::Party;
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::ExplainSettings;
use std::process::ExitCode;

/// What is explained: a record by its id, or a line by carrier, invoice and line id.
enum Subject {
    Record(String),
    Line { carrier: String, invoice_id: String, line_id: String },
}

/// Runs `reckon explain`.
pub fn explain_command(arguments: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let subject = subject(arguments)?;
    let options = &arguments.tolerances;
    let mut config = reconcile_config(options, arguments.period.as_deref())?;
    let Reference { fx, contracts, networks, holidays } =
        load_reference(&arguments.reference, options.fx_staleness_days)?;
    config.contracts = contracts;
    let explanation = match &arguments.usage {
        Some(usage) => {
            let mut deck =
                reckon_import::rates::load_rates(&arguments.rates, BadRowPolicy::Fail, &mut NoProgress)?.deck;
            // As every command builds a deck: the contracts' rounding and the holidays.
            deck.apply_reference(Party::Carrier, &config.contracts, &holidays);
            let usage = reckon_import::usage::load_usage(usage, BadRowPolicy::Fail, &mut NoProgress)?.items;
            let lines =
                reckon_import::invoice::load_invoices(&arguments.invoice, BadRowPolicy::Fail, &mut NoProgress)?.items;
            let inputs = ExplainInputs {
                usage: &usage,
                deck: &deck,
                networks: &networks,
                lines: &lines,
                other_period_lines: &[],
                fx: &fx,
                config: &config,
            };
            explain_in_files(&inputs, &subject)?
        }
        None => {
            let settings = ExplainSettings { config: &config, fx: &fx, networks: &networks, holidays: &holidays };
            block_on(async {
                let ledger = open(&arguments.ledger).await?;
                Ok(match &subject {
                    Subject::Record(record_id) => ledger.explain_record_with(record_id, settings).await?,
                    Subject::Line { carrier, invoice_id, line_id } => {
                        ledger.explain_line_with(carrier, invoice_id, line_id, settings).await?
                    }
                })
            })?
        }
    };
    crate::print_report(&explanation.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn subject(arguments: &ExplainArgs) -> anyhow::Result<Subject> {
    match (&arguments.record, &arguments.line) {
        (Some(record_id), None) => Ok(Subject::Record(record_id.clone())),
        (None, Some(line)) => {
            // An invoice id may hold a `/`: the carrier is before the first, the line after the last.
            let shape = || format!("--line {line:?}: expected CARRIER/INVOICE/LINE");
            let (carrier, rest) = line.split_once('/').with_context(shape)?;
            let (invoice_id, line_id) = rest.rsplit_once('/').with_context(shape)?;
            if carrier.is_empty() || invoice_id.is_empty() || line_id.is_empty() {
                bail!(shape());
            }
            Ok(Subject::Line {
                carrier: carrier.to_owned(),
                invoice_id: invoice_id.to_owned(),
                line_id: line_id.to_owned(),
            })
        }
        _ => bail!("give --record ID or --line CARRIER/INVOICE/LINE"),
    }
}

fn explain_in_files(inputs: &ExplainInputs<'_>, subject: &Subject) -> anyhow::Result<Explanation> {
    match subject {
        Subject::Record(record_id) => {
            let index = explain::find_record(inputs.usage, record_id)
                .with_context(|| format!("no usage record {record_id} in the usage file"))?;
            Ok(explain::explain_record(inputs, index))
        }
        Subject::Line { carrier, invoice_id, line_id } => {
            let index = explain::find_line(inputs.lines, carrier, invoice_id, line_id).with_context(|| {
                format!("no line {line_id} of invoice {invoice_id} of {carrier} in the invoice files")
            })?;
            Ok(explain::explain_line(inputs, index))
        }
    }
}
