//! Margin and revenue leakage of a period over the ledger's usage: every record of the UTC month
//! rated against the stored carrier decks and price plans (made ready by
//! `RateDeck::apply_reference`, as every command makes them), then `reckon_core::margin`'s
//! `record_margin` and `MarginReport`, as `reckon margin` does over files. The ledger only reads
//! and carries: the rules are the core's.

use crate::dialect::nanoseconds;
use crate::imports::{usage_from_row, USAGE_COLUMNS};
use crate::{ExplainSettings, Ledger, StoreError};
use reckon_core::margin::{record_margin, MarginReport, RecordMargin};
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party, Rating};
use reckon_core::summary::ReportConversion;
use reckon_core::{RateDeck, UsageRecord};
use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

/// A period's margins: the report per customer, carrier and destination, the leaking records
/// counted, and those of them asked for with their ratings.
#[derive(Debug)]
pub struct PeriodMargins {
    pub period: Month,
    /// The period's records.
    pub records: u64,
    pub carrier_deck: RateDeck,
    pub price_deck: RateDeck,
    /// Totals per customer, carrier and destination, also in the report currency when the
    /// settings have one.
    pub report: MarginReport,
    /// Leaking records per kind, by `Leakage` order.
    pub leaking_counts: [u64; 4],
    /// Leaking records in all.
    pub leaking_total: usize,
    /// The leaking records asked for (their positions among the leaking ones, in usage order:
    /// by start, then id), with their ratings and margin.
    pub leaking: Vec<LeakingRecord>,
}

/// A record that leaks, with both its ratings and its margin.
#[derive(Debug)]
pub struct LeakingRecord {
    pub record: UsageRecord,
    /// Its carrier rating (`None`: no rate).
    pub cost: Option<Rating>,
    /// Its customer price (`None`: no price).
    pub price: Option<Rating>,
    pub margin: RecordMargin,
}

/// Records read and rated at once: the month streams through in batches of it, so that the
/// memory a request takes does not grow with the month.
const MARGIN_BATCH_RECORDS: usize = 65_536;

impl Ledger {
    /// The margins of a UTC month over the stored usage of every carrier, with the settings'
    /// contracts, holidays, networks, FX rates and report currency; of the leaking records
    /// (in usage order), those at the positions `kept` are returned whole.
    ///
    /// The usage streams through in batches: what the answer holds is the report and the kept
    /// records, whatever the month's size. Decks with volume tiers price a record from the
    /// whole month's volume, so with them the month is read at once.
    ///
    /// # Errors
    /// A stored deck that does not read back, a total past what a decimal holds, or a database
    /// error.
    pub async fn period_margins(
        &self,
        period: Month,
        settings: &ExplainSettings<'_>,
        kept: Range<usize>,
    ) -> Result<PeriodMargins, StoreError> {
        self.period_margins_in_batches(period, settings, kept, MARGIN_BATCH_RECORDS).await
    }

    /// [`Ledger::period_margins`] with batches of `batch_records` (tests show that the batches
    /// change nothing).
    ///
    /// # Errors
    /// As [`Ledger::period_margins`].
    #[doc(hidden)]
    pub async fn period_margins_in_batches(
        &self,
        period: Month,
        settings: &ExplainSettings<'_>,
        kept: Range<usize>,
        batch_records: usize,
    ) -> Result<PeriodMargins, StoreError> {
        use futures_util::TryStreamExt;
        let (from, to) =
            period.bounds().ok_or_else(|| StoreError::Invalid(format!("{period}: past the last month")))?;
        let mut carrier_deck = self.all_rate_decks().await?;
        carrier_deck.apply_reference(Party::Carrier, &settings.config.contracts, settings.holidays);
        let mut price_deck = self.price_deck().await?;
        price_deck.apply_reference(Party::Customer, &settings.config.contracts, settings.holidays);
        let batch_records =
            if carrier_deck.has_tiers() || price_deck.has_tiers() { usize::MAX } else { batch_records.max(1) };
        let mut margins = PeriodMargins {
            period,
            records: 0,
            carrier_deck,
            price_deck,
            report: MarginReport::default(),
            leaking_counts: [0; 4],
            leaking_total: 0,
            leaking: Vec::new(),
        };
        let select = self.dialect.sql(&format!(
            "SELECT {USAGE_COLUMNS} FROM usage_records WHERE started_at_ns >= {{1}} AND started_at_ns < {{2}} \
             ORDER BY started_at_ns, record_id"
        ));
        let mut rows = sqlx::query(&select).bind(nanoseconds(from)).bind(nanoseconds(to)).fetch(&self.pool);
        let mut carriers: HashMap<String, Arc<str>> = HashMap::new();
        let mut batch = Vec::new();
        loop {
            let row = rows.try_next().await?;
            let end = row.is_none();
            if let Some(row) = row {
                batch.push(usage_from_row(&row, &mut carriers)?);
            }
            if batch.len() >= batch_records || (end && !batch.is_empty()) {
                margins.add_batch(std::mem::take(&mut batch), settings, &kept)?;
            }
            if end {
                return Ok(margins);
            }
        }
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

impl PeriodMargins {
    /// Rates a batch of records (in usage order, after those added before) with both decks and
    /// adds them: to the report, to the leaking counts, and the kept leaking ones whole.
    fn add_batch(
        &mut self,
        usage: Vec<UsageRecord>,
        settings: &ExplainSettings<'_>,
        kept: &Range<usize>,
    ) -> Result<(), StoreError> {
        let costs = rate_all(&self.carrier_deck, &usage, Party::Carrier, settings.networks);
        let prices = rate_all(&self.price_deck, &usage, Party::Customer, settings.networks);
        let conversion = ReportConversion { currency: settings.config.report_currency, fx: settings.fx };
        for ((record, cost), price) in usage.into_iter().zip(costs).zip(prices) {
            let margin = record_margin(&record, cost.as_ref(), price.as_ref(), settings.fx);
            self.records += 1;
            self.report
                .add(&record, cost.as_ref(), &self.carrier_deck, &margin, &conversion)
                .map_err(|error| StoreError::Invalid(format!("the margins of {}: {error}", self.period)))?;
            if let Some(leakage) = margin.leakage {
                self.leaking_counts[leakage as usize] += 1;
                if kept.contains(&self.leaking_total) {
                    self.leaking.push(LeakingRecord { record, cost, price, margin });
                }
                self.leaking_total += 1;
            }
        }
        Ok(())
    }
}
