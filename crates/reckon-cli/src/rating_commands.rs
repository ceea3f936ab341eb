//! `reckon rate` and `reckon margin`: every record with its carrier cost and customer price,
//! and the margin and revenue leakage that follow.

use crate::args::{MarginArgs, RateArgs, RatingInputArgs};
use crate::ledger_commands::{load_reference, Reference};
use crate::pipeline::write_atomically;
use crate::progress::ByteProgress;
use anyhow::Context;
use reckon_core::margin::{record_margin, Leakage, MarginReport};
use reckon_core::money::TotalOverflow;
use reckon_core::rating::{rate_all, Party, Rating};
use reckon_core::{FxTable, RateDeck, UsageRecord};
use reckon_export::margin::{margin_table, RatedRecord, RatedWriter};
use reckon_import::rates::{load_deck, DeckKind};
use reckon_import::BadRowPolicy;
use std::process::ExitCode;

/// Everything rating needs, loaded, with both sides rated.
pub struct RatedUsage {
    pub usage: Vec<UsageRecord>,
    pub carrier_deck: RateDeck,
    pub price_deck: RateDeck,
    pub costs: Vec<Option<Rating>>,
    pub prices: Vec<Option<Rating>>,
    pub fx: FxTable,
}

/// Loads the inputs and rates every record against both decks.
///
/// # Errors
/// The first input error.
pub fn rate_inputs(inputs: &RatingInputArgs, progress: &ByteProgress) -> anyhow::Result<RatedUsage> {
    let mut carrier_deck =
        load_deck(&inputs.rates, DeckKind::CarrierRates, BadRowPolicy::Fail, &mut progress.reader())?.deck;
    let mut price_deck = match &inputs.prices {
        Some(path) => {
            load_deck(std::slice::from_ref(path), DeckKind::CustomerPrices, BadRowPolicy::Fail, &mut progress.reader())?
                .deck
        }
        None => RateDeck::new(),
    };
    let Reference { fx, contracts, networks, holidays } = load_reference(&inputs.reference, inputs.fx_staleness_days)?;
    // As every command builds its decks: the contracts' rounding, and the holidays of carriers
    // and of price plans.
    carrier_deck.apply_reference(Party::Carrier, &contracts, &holidays);
    price_deck.apply_reference(Party::Customer, &contracts, &holidays);
    let usage = reckon_import::usage::load_usage(&inputs.usage, BadRowPolicy::Fail, &mut progress.reader())?.items;
    let costs = rate_all(&carrier_deck, &usage, Party::Carrier, &networks);
    let prices = rate_all(&price_deck, &usage, Party::Customer, &networks);
    Ok(RatedUsage { usage, carrier_deck, price_deck, costs, prices, fx })
}

/// Runs `reckon rate`: writes `rated.csv`.
pub fn rate_command(arguments: &RateArgs) -> anyhow::Result<ExitCode> {
    let progress = ByteProgress::new(&[&arguments.inputs.usage], false);
    let rated = rate_inputs(&arguments.inputs, &progress)?;
    progress.finish();
    write_atomically(&arguments.out, |file| {
        let mut writer = RatedWriter::new(file, false)?;
        for index in 0..rated.usage.len() {
            write_rated(&mut writer, &rated, index)?;
        }
        writer.finish()?;
        Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

fn write_rated<W: std::io::Write>(writer: &mut RatedWriter<W>, rated: &RatedUsage, index: usize) -> csv::Result<()> {
    let record = &rated.usage[index];
    let (cost, price) = (rated.costs[index].as_ref(), rated.prices[index].as_ref());
    let margin = record_margin(record, cost, price, &rated.fx);
    writer.write(&RatedRecord { record, cost, price, margin: &margin }, &rated.carrier_deck, &rated.price_deck)
}

/// Runs `reckon margin`: prints margin per customer, carrier and destination, and writes the
/// leaking records to `leakage.csv`.
pub fn margin_command(arguments: &MarginArgs) -> anyhow::Result<ExitCode> {
    let progress = ByteProgress::new(&[&arguments.inputs.usage], false);
    let rated = rate_inputs(&arguments.inputs, &progress)?;
    progress.finish();
    let report_currency = reckon_core::Currency::parse(&arguments.report_currency)
        .with_context(|| format!("--report-currency {:?}: expected an ISO 4217 code", arguments.report_currency))?;
    let (report, leaking) = margin_report(&rated, Some(report_currency))?;
    fs_err::create_dir_all(&arguments.out)?;
    write_atomically(&arguments.out.join("leakage.csv"), |file| {
        let mut writer = RatedWriter::new(file, true)?;
        for index in 0..rated.usage.len() {
            write_rated(&mut writer, &rated, index)?;
        }
        writer.finish()?;
        Ok(())
    })?;
    let mut text = margin_table(&report);
    text.push_str(&leakage_line(&leaking));
    crate::print_report(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// The report and the count of leaking records per kind.
///
/// # Errors
/// When a total overflows.
pub fn margin_report(
    rated: &RatedUsage,
    report_currency: Option<reckon_core::Currency>,
) -> Result<(MarginReport, [u64; 4]), TotalOverflow> {
    let report = reckon_core::summary::ReportConversion { currency: report_currency, fx: &rated.fx };
    let mut margins = MarginReport::default();
    let mut leaking = [0_u64; 4];
    for (index, record) in rated.usage.iter().enumerate() {
        let (cost, price) = (rated.costs[index].as_ref(), rated.prices[index].as_ref());
        let margin = record_margin(record, cost, price, &rated.fx);
        if let Some(leakage) = margin.leakage {
            leaking[leakage as usize] += 1;
        }
        margins.add(record, cost, &rated.carrier_deck, &margin, &report)?;
    }
    Ok((margins, leaking))
}

/// One line that counts the leaking records.
pub fn leakage_line(leaking: &[u64; 4]) -> String {
    format!(
        "revenue leakage: {} below cost, {} without a customer price, {} without a carrier rate, {} unconvertible\n",
        leaking[Leakage::BelowCost as usize],
        leaking[Leakage::NoPrice as usize],
        leaking[Leakage::NoRate as usize],
        leaking[Leakage::Unconvertible as usize],
    )
}
