//! `rates.csv` (and `prices.csv`) written back, every extension column included, one line per
//! tier: what `reckon deck update` produces and `reckon reconcile` reads.

use crate::plain_decimal;
use reckon_core::rate_deck::TierMode;
use reckon_core::RateRow;
use std::io::Write;

/// The header; the first column is `carrier` or `customer`.
pub fn columns(party_column: &'static str) -> [&'static str; 22] {
    [
        party_column,
        "service",
        "prefix",
        "destination_name",
        "rate",
        "currency",
        "rate_unit",
        "increments",
        "connect_fee",
        "min_charge",
        "per_record_fee",
        "time_zone",
        "days",
        "time_from",
        "time_to",
        "origin_prefix",
        "mcc",
        "mnc",
        "tier_from",
        "tier_mode",
        "effective_from",
        "effective_to",
    ]
}

/// Writes rows with a header.
///
/// # Errors
/// When the writer fails.
pub fn write_rates<W: Write>(writer: W, party_column: &'static str, rows: &[RateRow]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(columns(party_column))?;
    for row in rows {
        let steps = row.tiers.as_ref().map_or_else(
            || vec![(None, row.rate)],
            |tiers| tiers.steps.iter().map(|(from, rate)| (Some(*from), *rate)).collect(),
        );
        let band = row.conditions.band.as_ref();
        let (mcc, mnc) = row.conditions.network.as_deref().map_or(("", ""), |network| network.split_at(3));
        let tier_mode = row.tiers.as_ref().map_or("", |tiers| match tiers.mode {
            TierMode::Graduated => "graduated",
            TierMode::Volume => "volume",
        });
        for (tier_from, rate) in steps {
            csv_writer.write_record([
                row.carrier.as_str(),
                row.service.as_str(),
                &row.prefix,
                row.destination_name.as_deref().unwrap_or(""),
                &plain_decimal(rate),
                row.currency.as_str(),
                &plain_decimal(row.rate_unit),
                &row.increments.to_string(),
                &plain_decimal(row.connect_fee),
                &plain_decimal(row.min_charge),
                &plain_decimal(row.per_record_fee),
                band.map_or("", |band| band.zone_name.as_str()),
                &band.map(|band| band.weekdays_text()).unwrap_or_default(),
                &band.map(|band| band.from_text()).unwrap_or_default(),
                &band.map(|band| band.to_text()).unwrap_or_default(),
                row.conditions.origin_prefix.as_deref().unwrap_or(""),
                mcc,
                mnc,
                &tier_from.map(plain_decimal).unwrap_or_default(),
                tier_mode,
                &row.effective_from.to_string(),
                &row.effective_to.map(|to| to.to_string()).unwrap_or_default(),
            ])?;
        }
    }
    csv_writer.flush()?;
    Ok(())
}
