//! Rated records (`rated.csv`), the margin report and the leakage list.

use crate::plain_decimal;
use reckon_core::margin::{Leakage, MarginDimension, MarginReport, RecordMargin};
use reckon_core::rating::Rating;
use reckon_core::{Decimal, RateDeck, UsageRecord};
use std::fmt::Write as _;
use std::io::Write;

/// The header of `rated.csv`.
pub const RATED_COLUMNS: [&str; 20] = [
    "record_id",
    "service",
    "carrier",
    "customer",
    "started_at",
    "destination",
    "quantity",
    "carrier_prefix",
    "carrier_rate",
    "billed_quantity",
    "cost",
    "cost_currency",
    "price_prefix",
    "price_rate",
    "price_billed_quantity",
    "price",
    "price_currency",
    "margin",
    "margin_currency",
    "leakage",
];

/// One record with both its ratings and margin, as `rated.csv` shows it.
pub struct RatedRecord<'a> {
    pub record: &'a UsageRecord,
    pub cost: Option<&'a Rating>,
    pub price: Option<&'a Rating>,
    pub margin: &'a RecordMargin,
}

/// Writes `rated.csv` rows, one per record, in usage order. Leakage rows are the ones with a
/// non-empty `leakage` column; `leakage_only` writes just those.
pub struct RatedWriter<W: Write> {
    writer: csv::Writer<W>,
    leakage_only: bool,
}

impl<W: Write> RatedWriter<W> {
    /// Writes the header.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn new(writer: W, leakage_only: bool) -> csv::Result<RatedWriter<W>> {
        let mut writer = csv::Writer::from_writer(writer);
        writer.write_record(RATED_COLUMNS)?;
        Ok(RatedWriter { writer, leakage_only })
    }

    /// Writes one record.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn write(
        &mut self,
        rated: &RatedRecord<'_>,
        carrier_deck: &RateDeck,
        price_deck: &RateDeck,
    ) -> csv::Result<()> {
        if self.leakage_only && rated.margin.leakage.is_none() {
            return Ok(());
        }
        let optional = |value: Option<Decimal>| value.map(plain_decimal).unwrap_or_default();
        let record = rated.record;
        let prefix = |deck: &RateDeck, rating: Option<&Rating>| {
            rating.map(|rating| deck.row(rating.row).prefix.clone()).unwrap_or_default()
        };
        self.writer.write_record([
            record.record_id.as_str(),
            record.service.as_str(),
            &record.carrier,
            record.customer.as_deref().unwrap_or(""),
            &record.started_at.to_string(),
            record.destination.digits(),
            &plain_decimal(record.quantity),
            &prefix(carrier_deck, rated.cost),
            &optional(rated.cost.map(|rating| rating.rate)),
            &optional(rated.cost.map(|rating| rating.billed_quantity)),
            &optional(rated.cost.map(|rating| rating.cost)),
            rated.cost.map_or("", |rating| rating.currency.as_str()),
            &prefix(price_deck, rated.price),
            &optional(rated.price.map(|rating| rating.rate)),
            &optional(rated.price.map(|rating| rating.billed_quantity)),
            &optional(rated.price.map(|rating| rating.cost)),
            rated.price.map_or("", |rating| rating.currency.as_str()),
            &optional(rated.margin.margin),
            rated.margin.currency.as_ref().map_or("", |currency| currency.as_str()),
            rated.margin.leakage.map_or("", Leakage::as_str),
        ])
    }

    /// Flushes.
    ///
    /// # Errors
    /// When the writer fails.
    pub fn finish(mut self) -> csv::Result<()> {
        self.writer.flush()?;
        Ok(())
    }
}

/// The margin report as text: one table per dimension, then leakage counts.
pub fn margin_table(report: &MarginReport) -> String {
    let mut text = String::new();
    for (dimension, title) in [
        (MarginDimension::Customer, "customer"),
        (MarginDimension::Carrier, "carrier"),
        (MarginDimension::Destination, "destination"),
    ] {
        let mut rows = vec![vec![
            title.to_owned(),
            "cur".to_owned(),
            "records".to_owned(),
            "revenue".to_owned(),
            "cost".to_owned(),
            "unpriced cost".to_owned(),
            "margin".to_owned(),
            "margin %".to_owned(),
            "below cost".to_owned(),
            "no price".to_owned(),
            "no rate".to_owned(),
            "revenue (rep)".to_owned(),
            "cost (rep)".to_owned(),
            "margin (rep)".to_owned(),
        ]];
        for ((group_dimension, name, currency), totals) in &report.groups {
            if *group_dimension != dimension {
                continue;
            }
            let percent = totals.margin_percent().map(plain_decimal).unwrap_or_default();
            rows.push(vec![
                name.clone(),
                currency.map(|currency| currency.to_string()).unwrap_or_default(),
                totals.records.to_string(),
                plain_decimal(totals.revenue),
                plain_decimal(totals.cost),
                plain_decimal(totals.unpriced_cost),
                plain_decimal(totals.margin),
                percent,
                totals.leakage_counts[Leakage::BelowCost as usize].to_string(),
                totals.leakage_counts[Leakage::NoPrice as usize].to_string(),
                totals.leakage_counts[Leakage::NoRate as usize].to_string(),
            ]);
            let row = rows.last_mut().expect("pushed above");
            match &totals.report {
                Some(Ok((currency, revenue, cost, margin))) => {
                    row.extend([revenue, cost, margin].map(|value| format!("{} {currency}", plain_decimal(*value))));
                }
                Some(Err(error)) => row.extend(["n/a".to_owned(), String::new(), format!("({error})")]),
                None => row.extend([String::new(), String::new(), String::new()]),
            }
        }
        text.push_str(&crate::table::render_aligned(&rows, 2));
        let _ = writeln!(text);
    }
    text
}
