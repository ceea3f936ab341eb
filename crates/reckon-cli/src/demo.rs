//! `reckon demo`: generates three carriers' month of voice and SMS traffic with planted
//! discrepancies, reconciles it through the same pipeline as `reckon reconcile`, and checks that
//! every planted discrepancy was found.

use crate::args::{DemoArgs, RatingInputArgs, ReconcileOptions, ReportFormat, ToleranceArgs};
use crate::pipeline::{reconcile_files, report_outcome, ReconcileRequest};
use crate::progress::ByteProgress;
use crate::rating_commands::{leakage_line, margin_report, rate_inputs};
use anyhow::Context;
use reckon_core::DiscrepancyKind;
use reckon_export::margin::margin_table;
use reckon_import::BadRowPolicy;
use reckon_sim::csv_files::CsvSink;
use reckon_sim::{generate, SimConfig};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs `reckon demo`.
pub fn demo_command(arguments: &DemoArgs) -> anyhow::Result<ExitCode> {
    let dir = arguments.dir.clone().unwrap_or_else(|| std::env::temp_dir().join("reckon-demo"));
    let inputs = dir.join("inputs");
    let mut sink = CsvSink::create(&inputs).with_context(|| format!("creating {}", inputs.display()))?;
    let config = SimConfig { seed: arguments.seed, records: arguments.records, ..SimConfig::default() };
    let planted = generate(&config, &mut sink);
    let invoices = sink.finish().context("writing the demo inputs")?;
    let request = ReconcileRequest {
        usage: inputs.join("usage.csv"),
        rates: vec![inputs.join("rates.csv")],
        invoices,
        fx: Some(inputs.join("fx.csv")),
        ecb: None,
        fx_staleness_days: Some(7),
        contracts: Some(inputs.join("contracts.csv")),
        networks: None,
        holidays: None,
        out: dir.join("out"),
        output_format: ReportFormat::Csv,
        config: reckon_core::ReconcileConfig {
            report_currency: Some(reckon_core::Currency::EUR),
            ..Default::default()
        },
        policy: BadRowPolicy::Fail,
        partitions: None,
        spill_dir: None,
        timings: false,
    };
    let report = reconcile_files(&request, &ByteProgress::hidden())?;

    let mut text = format!(
        "Reckon demo: {} usage records of 3 carriers (voice and SMS, March 2026), seed {}.\nInputs: {}\nResults: {}\n\n",
        arguments.records,
        arguments.seed,
        inputs.display(),
        request.out.display()
    );
    let found = report.summary.kind_counts();
    let _ = writeln!(text, "{:<18} {:>8} {:>8}", "planted kind", "planted", "found");
    for kind in DiscrepancyKind::ALL {
        let planted_count = planted.iter().filter(|planted| planted.kind == kind).count();
        let _ = writeln!(text, "{:<18} {:>8} {:>8}", kind.as_str(), planted_count, found[kind.precedence()]);
    }
    text.push('\n');
    crate::print_report(&text)?;
    let options = ReconcileOptions {
        period: None,
        tolerances: ToleranceArgs {
            time_tolerance: 60,
            quantity_tolerance: "0".into(),
            amount_tolerance: "0.000001".into(),
            fx_staleness_days: 7,
            report_currency: "EUR".into(),
        },
        skip_bad_rows: false,
        fail_on_discrepancy: false,
        quiet: false,
        partitions: None,
        spill_dir: None,
        timings: false,
    };
    let outcome = report_outcome(&report, &options)?;

    // Margin and leakage of the same month, against the customers' price plans (EUR).
    let rating_inputs = RatingInputArgs {
        usage: request.usage.clone(),
        rates: request.rates.clone(),
        prices: Some(inputs.join("prices.csv")),
        reference: crate::args::ReferenceArgs {
            fx: request.fx.clone(),
            ecb: request.ecb.clone(),
            contracts: None,
            networks: None,
            holidays: None,
        },
        fx_staleness_days: 7,
    };
    let rated = rate_inputs(&rating_inputs, &ByteProgress::hidden())?;
    let (margins, leaking) = margin_report(&rated, Some(reckon_core::Currency::EUR))?;
    let mut text = String::from("\nMargin (customer prices in EUR; carrier costs converted at each record's date)\n\n");
    text.push_str(&margin_table(&margins));
    text.push_str(&leakage_line(&leaking));
    crate::print_report(&text)?;
    Ok(outcome)
}
