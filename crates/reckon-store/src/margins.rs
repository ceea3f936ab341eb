//! Margin and revenue leakage of a period over the ledger's usage: every record of the UTC month
//! rated against the stored carrier decks and price plans (made ready by
//! `RateDeck::apply_reference`, as every command makes them), then `reckon_core::margin`'s
//! `record_margin` and `MarginReport`, as `reckon margin` does over files. The ledger only reads
//! and carries: the rules are the core's.

use crate::{ExplainSettings, Ledger, StoreError};
use reckon_core::margin::{record_margin, MarginReport, RecordMargin};
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party, Rating};
use reckon_core::summary::ReportConversion;
use reckon_core::{RateDeck, UsageRecord};

/// A period's margins: the records with both ratings and their margin, the report per
/// customer, carrier and destination, and the leaking records.
#[derive(Debug)]
pub struct PeriodMargins {
    pub period: Month,
    /// The period's records, by start then id.
    pub usage: Vec<UsageRecord>,
    pub carrier_deck: RateDeck,
    pub price_deck: RateDeck,
    /// Each record's carrier rating (`None`: no rate).
    pub costs: Vec<Option<Rating>>,
    /// Each record's customer price (`None`: no price).
    pub prices: Vec<Option<Rating>>,
    pub margins: Vec<RecordMargin>,
    /// Totals per customer, carrier and destination, also in the report currency when the
    /// settings have one.
    pub report: MarginReport,
    /// Leaking records per kind, by `Leakage` order.
    pub leaking_counts: [u64; 4],
    /// The positions in `usage` of the leaking records, in usage order.
    pub leaking: Vec<usize>,
}

impl Ledger {
    /// The margins of a UTC month over the stored usage of every carrier, with the settings'
    /// contracts, holidays, networks, FX rates and report currency.
    ///
    /// # Errors
    /// A stored deck that does not read back, a total past what a decimal holds, or a database
    /// error.
    pub async fn period_margins(
        &self,
        period: Month,
        settings: &ExplainSettings<'_>,
    ) -> Result<PeriodMargins, StoreError> {
        let (from, to) =
            period.bounds().ok_or_else(|| StoreError::Invalid(format!("{period}: past the last month")))?;
        let usage = self.usage_of(None, from, to).await?;
        let mut carrier_deck = self.all_rate_decks().await?;
        carrier_deck.apply_reference(Party::Carrier, &settings.config.contracts, settings.holidays);
        let mut price_deck = self.price_deck().await?;
        price_deck.apply_reference(Party::Customer, &settings.config.contracts, settings.holidays);
        let costs = rate_all(&carrier_deck, &usage, Party::Carrier, settings.networks);
        let prices = rate_all(&price_deck, &usage, Party::Customer, settings.networks);
        let conversion = ReportConversion { currency: settings.config.report_currency, fx: settings.fx };
        let mut report = MarginReport::default();
        let (mut leaking_counts, mut leaking) = ([0_u64; 4], Vec::new());
        let mut margins = Vec::with_capacity(usage.len());
        for (index, record) in usage.iter().enumerate() {
            let (cost, price) = (costs[index].as_ref(), prices[index].as_ref());
            let margin = record_margin(record, cost, price, settings.fx);
            if let Some(leakage) = margin.leakage {
                leaking_counts[leakage as usize] += 1;
                leaking.push(index);
            }
            report
                .add(record, cost, &carrier_deck, &margin, &conversion)
                .map_err(|error| StoreError::Invalid(format!("the margins of {period}: {error}")))?;
            margins.push(margin);
        }
        Ok(PeriodMargins {
            period,
            usage,
            carrier_deck,
            price_deck,
            costs,
            prices,
            margins,
            report,
            leaking_counts,
            leaking,
        })
    }

    /// The latest UTC month with stored usage; `None` without usage.
    ///
    /// # Errors
    /// A database error or a stored instant out of range.
    pub async fn latest_usage_month(&self) -> Result<Option<Month>, StoreError> {
        let latest: Option<i64> =
            sqlx::query_scalar("SELECT MAX(started_at_ns) FROM usage_records").fetch_one(&self.pool).await?;
        latest
            .map(|nanoseconds| {
                reckon_core::Timestamp::from_nanosecond(i128::from(nanoseconds)).map(Month::of).map_err(|error| {
                    StoreError::Corrupt {
                        column: "started_at_ns",
                        value: nanoseconds.to_string(),
                        reason: error.to_string(),
                    }
                })
            })
            .transpose()
    }
}
