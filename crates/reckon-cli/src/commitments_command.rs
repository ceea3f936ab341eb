//! `reckon commitments --carrier C [--period P]`: a carrier's commitments during their period,
//! from the real-time accruals (issue 17).

use crate::args::CommitmentsArgs;
use crate::ledger_commands::{block_on, month, open};
use anyhow::Context;
use reckon_core::currency::format_amount;
use std::fmt::Write as _;
use std::process::ExitCode;

pub fn commitments_command(arguments: &CommitmentsArgs) -> anyhow::Result<ExitCode> {
    let period = arguments.period.as_deref().map(month).transpose()?;
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let day = reckon_core::contract_terms::forecast_day(period, today).context("--period: past the last month")?;
    let statuses = block_on(async {
        let ledger = open(&arguments.ledger).await?;
        Ok(ledger.commitment_forecasts(&arguments.carrier, day).await?)
    })?;
    let mut text = format!("commitments of {} as of {day}\n", arguments.carrier);
    if statuses.is_empty() {
        text.push_str("  none in force (reckon import contract-terms stores them)\n");
    }
    for status in &statuses {
        let term = &status.term;
        let currency = term.currency;
        match &status.forecast {
            Err(reason) => {
                let _ = writeln!(text, "  {}: not forecast: {reason}", term.code);
            }
            Ok(forecast) => {
                let _ = writeln!(
                    text,
                    "  {}: {} to {} (day {} of {}): spent {} {currency}, minimum {} {currency}, projected {} {currency}, projected shortfall {} {currency}{}",
                    term.code,
                    forecast.first_day,
                    forecast.end_day.yesterday().unwrap_or(forecast.end_day),
                    forecast.days_elapsed,
                    forecast.days_in_period,
                    format_amount(forecast.so_far, currency),
                    format_amount(forecast.minimum, currency),
                    format_amount(forecast.projected, currency),
                    format_amount(forecast.projected_shortfall, currency),
                    if forecast.at_risk() { " AT RISK" } else { "" }
                );
            }
        }
    }
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}
