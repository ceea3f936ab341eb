//! `rates.csv` (and `prices.csv`) written back, every extension column included, one line per
//! tier: what `reckon deck update` produces and `reckon reconcile` reads.

use crate::plain_decimal;
use reckon_core::rate_deck::{PriceRules, TierMode};
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

/// The pricing-rule columns (issue 13), written after [`columns`] only when some row uses one,
/// so that a deck without them reads and stores as before (the ledger refuses a column it has
/// no place for rather than dropping a rule).
pub const RULE_COLUMNS: [&str; 6] =
    ["first_rate", "max_cost", "rounding_decimals", "rounding_mode", "blocked", "billed_on"];

/// A row's [`RULE_COLUMNS`] values.
fn rule_fields(row: &RateRow) -> [String; 6] {
    let rules = &row.rules;
    [
        rules.first_rate.map(plain_decimal).unwrap_or_default(),
        rules.max_cost.map(plain_decimal).unwrap_or_default(),
        rules.rounding.map(|rounding| rounding.decimal_places.to_string()).unwrap_or_default(),
        rules.rounding.map(|rounding| rounding.mode.as_str().to_owned()).unwrap_or_default(),
        if rules.blocked { "true".to_owned() } else { String::new() },
        rules.billed_on.map_or("", |billed_on| billed_on.as_str()).to_owned(),
    ]
}

/// Writes rows with a header.
///
/// # Errors
/// When the writer fails.
pub fn write_rates<W: Write>(writer: W, party_column: &'static str, rows: &[RateRow]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    let with_rules = rows.iter().any(|row| row.rules != PriceRules::default());
    let mut header = columns(party_column).to_vec();
    if with_rules {
        header.extend(RULE_COLUMNS);
    }
    csv_writer.write_record(&header)?;
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
        let rules = rule_fields(row);
        for (tier_from, rate) in steps {
            let mut record: Vec<String> = vec![
                row.carrier.clone(),
                row.service.as_str().to_owned(),
                row.prefix.clone(),
                row.destination_name.clone().unwrap_or_default(),
                plain_decimal(rate),
                row.currency.as_str().to_owned(),
                plain_decimal(row.rate_unit),
                row.increments.to_string(),
                plain_decimal(row.connect_fee),
                plain_decimal(row.min_charge),
                plain_decimal(row.per_record_fee),
                band.map(|band| band.zone_name.clone()).unwrap_or_default(),
                band.map(|band| band.weekdays_text()).unwrap_or_default(),
                band.map(|band| band.from_text()).unwrap_or_default(),
                band.map(|band| band.to_text()).unwrap_or_default(),
                row.conditions.origin_prefix.as_deref().unwrap_or("").to_owned(),
                mcc.to_owned(),
                mnc.to_owned(),
                tier_from.map(plain_decimal).unwrap_or_default(),
                tier_mode.to_owned(),
                row.effective_from.to_string(),
                row.effective_to.map(|to| to.to_string()).unwrap_or_default(),
            ];
            if with_rules {
                record.extend(rules.iter().cloned());
            }
            csv_writer.write_record(&record)?;
        }
    }
    csv_writer.flush()?;
    Ok(())
}
