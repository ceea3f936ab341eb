//! Benchmark of the batch pipeline, end to end over real files: generates a month of usage
//! (1,000,000 records by default; `RECKON_BENCH_RECORDS` to change) of 4 carriers with
//! ~21,500-prefix decks, and invoices with ~1% planted discrepancies (as `reckon generate` and
//! bench/reconcile.sh do), then times `reckon reconcile`'s pipeline (read, rate, match, classify, write)
//! and prints records reconciled per second and the process's peak resident memory.
//!
//! Run: `cargo bench -p reckon-cli --bench reconcile`. Generation streams to disk, so the peak
//! memory reported is the pipeline's own.
#![allow(clippy::print_stdout)] // A benchmark reports on stdout.

use reckon_cli::pipeline::{reconcile_files, ReconcileRequest, ReportFormat};
use reckon_cli::progress::ByteProgress;
use reckon_import::BadRowPolicy;
use reckon_sim::csv_files::CsvSink;
use reckon_sim::{generate_streaming, SimConfig};
use std::time::Instant;

fn peak_resident_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument would make no sense here.
    let records: usize =
        std::env::var("RECKON_BENCH_RECORDS").ok().and_then(|text| text.parse().ok()).unwrap_or(1_000_000);
    let dir = std::env::var("RECKON_BENCH_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| std::env::temp_dir().join(format!("reckon-bench-{records}")));
    let inputs = dir.join("inputs");

    let started = Instant::now();
    let mut sink = CsvSink::create(&inputs).expect("create bench inputs");
    let config = SimConfig {
        seed: 1,
        records,
        discrepancies_per_mille: 10,
        carriers: 4,
        prefixes_per_carrier: 21_500,
        ..SimConfig::default()
    };
    let generated = generate_streaming(&config, &mut sink);
    let invoices = sink.finish().expect("write bench inputs");
    assert!(generated.carriers_without_lines.is_empty(), "every carrier is billed");
    let planted_count: u64 = generated.planted_counts.iter().sum();
    let input_bytes: u64 =
        std::fs::read_dir(&inputs).unwrap().map(|entry| entry.unwrap().metadata().unwrap().len()).sum();
    println!(
        "generated {records} usage records, {planted_count} planted discrepancies, {:.1} MiB of CSV in {:.2?} ({})",
        input_bytes as f64 / 1_048_576.0,
        started.elapsed(),
        inputs.display()
    );
    let peak_before = peak_resident_mib();

    let request = ReconcileRequest {
        usage: inputs.join("usage.csv"),
        rates: vec![inputs.join("rates.csv")],
        invoices,
        fx: Some(inputs.join("fx.csv")),
        ecb: None,
        fx_staleness_days: None,
        contracts: Some(inputs.join("contracts.csv")),
        networks: None,
        holidays: None,
        out: dir.join("out"),
        output_format: ReportFormat::Csv,
        config: reckon_core::ReconcileConfig::default(),
        policy: BadRowPolicy::Fail,
        partitions: None,
        spill_dir: None,
        timings: false,
    };
    let started = Instant::now();
    let report = reconcile_files(&request, &ByteProgress::hidden()).expect("reconcile");
    let elapsed = started.elapsed();
    let found: u64 = report.summary.kind_counts().iter().sum();
    assert_eq!(found, planted_count, "the pipeline must find exactly what was planted");
    println!(
        "reconciled {} records against {} invoice lines in {:.2?}: {:.0} records/s, {:.1} MiB/s of input; {} discrepancies",
        report.counts.usage_records,
        report.counts.invoice_lines,
        elapsed,
        report.counts.usage_records as f64 / elapsed.as_secs_f64(),
        input_bytes as f64 / 1_048_576.0 / elapsed.as_secs_f64(),
        found
    );
    println!(
        "peak resident memory: {} MiB (after generation: {} MiB)",
        peak_resident_mib().map_or("unknown".into(), |mib| mib.to_string()),
        peak_before.map_or("unknown".into(), |mib| mib.to_string())
    );
}
