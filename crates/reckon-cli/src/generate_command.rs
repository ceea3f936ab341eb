//! `reckon generate`: a synthetic month of any size written as the canonical files, streaming,
//! with the discrepancies planted on purpose listed in `planted.csv`.

use crate::args::GenerateArgs;
use anyhow::{bail, Context};
use reckon_core::period::Month;
use reckon_core::DiscrepancyKind;
use reckon_sim::csv_files::CsvSink;
use reckon_sim::{generate_streaming, SimConfig, CARRIERS_MAX};
use std::process::ExitCode;
use std::time::Instant;

/// Runs `reckon generate`.
pub fn generate_command(arguments: &GenerateArgs) -> anyhow::Result<ExitCode> {
    if !(1..=CARRIERS_MAX).contains(&arguments.carriers) {
        bail!("--carriers {}: expected 1 to {CARRIERS_MAX}", arguments.carriers);
    }
    if arguments.discrepancies_per_mille > 1_000 {
        bail!("--discrepancies-per-mille {}: expected 0 to 1000", arguments.discrepancies_per_mille);
    }
    let month = Month::parse(&arguments.month).with_context(|| format!("--month {:?}", arguments.month))?;
    let (first_day, _) = month.bounds().context("--month: out of range")?;
    let records = usize::try_from(arguments.records).context("--records: too many for this machine")?;
    let config = SimConfig {
        seed: arguments.seed,
        records,
        discrepancies_per_mille: arguments.discrepancies_per_mille,
        carriers: arguments.carriers,
        prefixes_per_carrier: arguments.prefixes_per_carrier,
        month: first_day.to_zoned(jiff::tz::TimeZone::UTC).date(),
        ..SimConfig::default()
    };
    let started = Instant::now();
    let mut sink = CsvSink::create(&arguments.out).with_context(|| format!("creating {}", arguments.out.display()))?;
    let generated = generate_streaming(&config, &mut sink);
    let bytes = sink.bytes_written();
    let invoices = sink.finish().with_context(|| format!("writing into {}", arguments.out.display()))?;
    let mut text = format!(
        "generated {} records, {} invoice lines in {} files, {} deck rows, {:.1} MB of usage and invoices in {:.2} s; planted:",
        generated.records,
        generated.lines,
        invoices.len(),
        generated.rate_rows,
        bytes as f64 / 1e6,
        started.elapsed().as_secs_f64()
    );
    for kind in DiscrepancyKind::ALL {
        text.push_str(&format!(" {} {}", kind.as_str(), generated.planted_counts[kind.precedence()]));
    }
    text.push('\n');
    if !generated.carriers_without_lines.is_empty() {
        // planted.csv lists their unbilled usage, which a reconciliation does not report.
        text.push_str(&format!(
            "note: no invoice line for {} (too few records): planted.csv lists unbilled usage a run will not report\n",
            generated.carriers_without_lines.join(", ")
        ));
    }
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A count written `10000000`, `10_000_000`, `10,000,000`, `10m`, `500k` or `1g`.
///
/// # Errors
/// When the text is not such a count, or it is past `u64`.
pub fn parse_count(text: &str) -> Result<u64, String> {
    let cleaned: String = text.trim().chars().filter(|character| !matches!(character, '_' | ',')).collect();
    let lower = cleaned.to_ascii_lowercase();
    let (digits, multiplier) = match lower.as_bytes().last() {
        Some(b'k') => (&lower[..lower.len() - 1], 1_000),
        Some(b'm') => (&lower[..lower.len() - 1], 1_000_000),
        Some(b'g' | b'b') => (&lower[..lower.len() - 1], 1_000_000_000),
        _ => (&lower[..], 1),
    };
    let value: u64 = digits.parse().map_err(|_| format!("{text:?} is not a count (10000000, 10_000_000, 10m)"))?;
    value.checked_mul(multiplier).ok_or_else(|| format!("{text:?} is too large"))
}

#[cfg(test)]
mod tests {
    use super::parse_count;

    #[test]
    fn counts_are_read_in_every_usual_form() {
        for (text, expected) in
            [("10000000", 10_000_000), ("10_000_000", 10_000_000), ("10,000,000", 10_000_000), ("10m", 10_000_000)]
        {
            assert_eq!(parse_count(text), Ok(expected), "{text}");
        }
        assert_eq!(parse_count("500K"), Ok(500_000));
        assert_eq!(parse_count("1g"), Ok(1_000_000_000));
        assert_eq!(parse_count("0"), Ok(0));
        assert!(parse_count("ten").is_err());
        assert!(parse_count("1.5m").is_err());
        assert!(parse_count("99999999999999999999").is_err());
    }
}
