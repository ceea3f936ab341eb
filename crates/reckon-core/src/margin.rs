//! Margin and revenue leakage: what each record costs us (carrier rating) against what the
//! customer pays for it (price plan rating).

use crate::fx::FxError;
use crate::money::{add_to, round, RoundMode, TotalOverflow};
use crate::rate_deck::RateDeck;
use crate::rating::Rating;
use crate::summary::ReportConversion;
use crate::{Currency, FxTable, UsageRecord};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;

/// Why a record leaks revenue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Leakage {
    /// The customer pays less than the carrier charges us.
    BelowCost,
    /// No customer price applies: we carry it for nothing.
    NoPrice,
    /// No carrier rate applies: what it costs us is unknown.
    NoRate,
    /// Price and cost are in currencies no FX rate converts: the margin is unknown.
    Unconvertible,
}

impl Leakage {
    pub fn as_str(self) -> &'static str {
        match self {
            Leakage::BelowCost => "below_cost",
            Leakage::NoPrice => "no_price",
            Leakage::NoRate => "no_rate",
            Leakage::Unconvertible => "unconvertible",
        }
    }
}

impl fmt::Display for Leakage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The margin of one record.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecordMargin {
    /// Carrier cost converted into `currency` (rounded like a cost); `None` without a rate or
    /// a conversion.
    pub cost: Option<Decimal>,
    /// Customer price; `None` without a price plan row.
    pub price: Option<Decimal>,
    /// `price - cost`, when both are known.
    pub margin: Option<Decimal>,
    /// The currency of `cost`, `price` and `margin`: the price's, else the cost's.
    pub currency: Option<Currency>,
    pub leakage: Option<Leakage>,
}

/// Compares a record's carrier cost with its customer price, converting the cost into the
/// price's currency at the record's date (UTC).
pub fn record_margin(
    record: &UsageRecord,
    cost: Option<&Rating>,
    price: Option<&Rating>,
    fx: &FxTable,
) -> RecordMargin {
    let currency = price.or(cost).map(|rating| rating.currency);
    let converted_cost = match (cost, currency) {
        (Some(cost), Some(currency)) if cost.currency == currency => Some(cost.cost),
        (Some(cost), Some(currency)) => {
            let date = crate::period::utc_date(record.started_at);
            fx.convert_cost(cost.cost, cost.currency, currency, date).ok()
        }
        _ => None,
    };
    let price_amount = price.map(|price| price.cost);
    let margin = match (price_amount, converted_cost) {
        // Checked: a margin too large to hold is unknown, like an unconvertible one.
        (Some(price), Some(cost)) => price.checked_sub(cost),
        _ => None,
    };
    // An unanswered record costs nothing and earns nothing: it cannot leak.
    let leakage = if record.quantity.is_zero() {
        None
    } else if cost.is_none() {
        Some(Leakage::NoRate)
    } else if price.is_none() {
        Some(Leakage::NoPrice)
    } else {
        match margin {
            None => Some(Leakage::Unconvertible),
            Some(margin) if margin < Decimal::ZERO => Some(Leakage::BelowCost),
            Some(_) => None,
        }
    };
    RecordMargin { cost: converted_cost, price: price_amount, margin, currency, leakage }
}

/// What margins are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum MarginDimension {
    Customer,
    Carrier,
    Destination,
}

/// Totals of one group of records. They add up: `margin = revenue - cost`, whatever leaks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarginTotals {
    pub records: u64,
    /// Sum of known prices.
    pub revenue: Decimal,
    /// Sum of known (converted) costs, of priced and unpriced records alike.
    pub cost: Decimal,
    /// The part of `cost` that records without a customer price cost us (`no_price`).
    pub unpriced_cost: Decimal,
    /// `revenue - cost`: a record carried for nothing lowers the margin by its cost.
    pub margin: Decimal,
    /// Records per leakage kind, by [`Leakage`] order.
    pub leakage_counts: [u64; 4],
    /// Revenue, cost and margin (`revenue - cost`) in the report currency, each record's price
    /// and cost converted at its date and rounded like a cost; the first conversion error
    /// instead.
    pub report: Option<Result<(Currency, Decimal, Decimal, Decimal), FxError>>,
}

impl MarginTotals {
    /// The margin as a share of revenue, in percent rounded to one decimal place, half away
    /// from zero: `margin * 100 / revenue`. `None` without revenue, or for a quotient past what
    /// a `Decimal` holds. The one place this figure is computed; reports only print it.
    pub fn margin_percent(&self) -> Option<Decimal> {
        if self.revenue.is_zero() {
            return None;
        }
        // Multiply before dividing, so that an exact quotient stays exact before rounding.
        let percent = self.margin.checked_mul(Decimal::ONE_HUNDRED)?.checked_div(self.revenue)?;
        Some(round(percent, 1, RoundMode::HalfAwayFromZero))
    }
}

/// Margin totals per dimension, group name and currency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarginReport {
    pub groups: BTreeMap<(MarginDimension, String, Option<Currency>), MarginTotals>,
}

impl MarginReport {
    /// Adds a record under its customer, carrier and destination (the carrier row's name, else
    /// its prefix, else `(no rate)`).
    ///
    /// # Errors
    /// When a total overflows; the report's totals are then incomplete.
    pub fn add(
        &mut self,
        record: &UsageRecord,
        cost: Option<&Rating>,
        rate_deck: &RateDeck,
        margin: &RecordMargin,
        report: &ReportConversion<'_>,
    ) -> Result<(), TotalOverflow> {
        let destination = cost.map_or_else(
            || "(no rate)".to_owned(),
            |rating| {
                let row = rate_deck.row(rating.row);
                row.destination_name.clone().unwrap_or_else(|| format!("+{}", row.prefix))
            },
        );
        let customer = record.customer.as_deref().unwrap_or("(none)").to_owned();
        for (dimension, name) in [
            (MarginDimension::Customer, customer),
            (MarginDimension::Carrier, record.carrier.to_string()),
            (MarginDimension::Destination, destination),
        ] {
            let totals = self.groups.entry((dimension, name, margin.currency)).or_default();
            totals.records += 1;
            add_to(&mut totals.revenue, margin.price.unwrap_or_default())?;
            add_to(&mut totals.cost, margin.cost.unwrap_or_default())?;
            if margin.price.is_none() {
                add_to(&mut totals.unpriced_cost, margin.cost.unwrap_or_default())?;
            }
            // The margin is the difference of the totals, so that the report adds up even
            // where records leak (issue 13, item 7).
            totals.margin = totals.revenue.checked_sub(totals.cost).ok_or(TotalOverflow)?;
            if let Some(leakage) = margin.leakage {
                totals.leakage_counts[leakage as usize] += 1;
            }
            add_report(totals, record, margin, report)?;
        }
        Ok(())
    }
}

/// Adds a record's figures to a group's report-currency totals.
fn add_report(
    totals: &mut MarginTotals,
    record: &UsageRecord,
    margin: &RecordMargin,
    report: &ReportConversion<'_>,
) -> Result<(), TotalOverflow> {
    let Some(report_currency) = report.currency else { return Ok(()) };
    let entry = totals.report.get_or_insert(Ok((report_currency, Decimal::ZERO, Decimal::ZERO, Decimal::ZERO)));
    let (Ok(sums), Some(currency)) = (entry.as_mut(), margin.currency) else { return Ok(()) };
    let date = crate::period::utc_date(record.started_at);
    let convert = |amount: Option<Decimal>| -> Result<Decimal, FxError> {
        amount.map_or(Ok(Decimal::ZERO), |amount| report.fx.convert_cost(amount, currency, report_currency, date))
    };
    match (convert(margin.price), convert(margin.cost)) {
        (Ok(revenue), Ok(cost)) => {
            add_to(&mut sums.1, revenue)?;
            add_to(&mut sums.2, cost)?;
            sums.3 = sums.1.checked_sub(sums.2).ok_or(TotalOverflow)?;
        }
        (Err(error), _) | (_, Err(error)) => *entry = Err(error),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rate_deck::RateRowIndex;
    use crate::{Destination, Service};
    use jiff::civil::date;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn rating(cost: &str, currency: &str) -> Rating {
        Rating {
            row: RateRowIndex(0),
            billed_quantity: d("60"),
            cost: d(cost),
            rate: d(cost),
            currency: Currency::parse(currency).unwrap(),
            rounding: None,
            undelivered: false,
        }
    }

    fn record(quantity: &str) -> UsageRecord {
        UsageRecord {
            record_id: "r1".into(),
            service: Service::Voice,
            carrier: "acme".into(),
            carrier_ref: None,
            customer: Some("bigco".into()),
            started_at: "2026-03-02T10:00:00Z".parse().unwrap(),
            origin: None,
            destination: Destination::parse("447911000001").unwrap(),
            quantity: d(quantity),
            network: None,
            status: None,
        }
    }

    #[test]
    fn margins_and_leakage() {
        let fx = {
            let mut fx = FxTable::new();
            fx.insert(date(2026, 3, 2), Currency::parse("USD").unwrap(), d("1.25")).unwrap();
            fx
        };
        let usd = |cost: &str| rating(cost, "USD");
        let eur = |cost: &str| rating(cost, "EUR");
        let check = |cost: Option<Rating>, price: Option<Rating>| {
            record_margin(&record("60"), cost.as_ref(), price.as_ref(), &fx)
        };
        // 0.05 - 0.03 = 0.02
        let healthy = check(Some(usd("0.03")), Some(usd("0.05")));
        assert_eq!((healthy.margin, healthy.leakage), (Some(d("0.02")), None));
        // 0.02 - 0.03 = -0.01: below cost
        let below = check(Some(usd("0.03")), Some(usd("0.02")));
        assert_eq!((below.margin, below.leakage), (Some(d("-0.01")), Some(Leakage::BelowCost)));
        assert_eq!(check(Some(usd("0.03")), None).leakage, Some(Leakage::NoPrice));
        assert_eq!(check(None, Some(usd("0.05"))).leakage, Some(Leakage::NoRate));
        // Cost 0.05 USD in EUR: 0.05 / 1.25 = 0.04; price 0.05 EUR; margin 0.01 EUR
        let converted = check(Some(usd("0.05")), Some(eur("0.05")));
        assert_eq!(
            (converted.cost, converted.margin, converted.currency),
            (Some(d("0.04")), Some(d("0.01")), Currency::parse("EUR"))
        );
        // GBP price, no GBP rate: unconvertible
        assert_eq!(check(Some(usd("0.05")), Some(rating("0.05", "GBP"))).leakage, Some(Leakage::Unconvertible));
    }

    #[test]
    fn margin_percent_of_revenue() {
        let percent = |margin: &str, revenue: &str| {
            MarginTotals { margin: d(margin), revenue: d(revenue), ..MarginTotals::default() }.margin_percent()
        };
        // 0.0114 * 100 / 0.036 = 31.666... -> 31.7
        assert_eq!(percent("0.0114", "0.036"), Some(d("31.7")));
        // Below cost: -0.002 * 100 / 0.006 = -33.333... -> -33.3
        assert_eq!(percent("-0.002", "0.006"), Some(d("-33.3")));
        // Ties go away from zero, on both sides: 1.05 * 100 / 100 = 1.05 -> 1.1; -1.05 -> -1.1
        // (banker's rounding would give 1.0 and -1.0).
        assert_eq!(percent("1.05", "100"), Some(d("1.1")));
        assert_eq!(percent("-1.05", "100"), Some(d("-1.1")));
        // No revenue: no percentage (a cost with nothing earned is a leakage, not -infinity %).
        assert_eq!(percent("-0.03", "0"), None);
        // A quotient past a Decimal: none, not a panic. 7.9e28 * 100 overflows.
        assert_eq!(percent("79228162514264337593543950335", "1"), None);
    }

    /// acme's deck: voice to 44 at 0.03 USD per minute, 60/60.
    fn acme_usd_deck() -> RateDeck {
        let mut deck = RateDeck::new();
        deck.insert(crate::RateRow {
            rate: d("0.03"),
            rate_unit: d("60"),
            connect_fee: Decimal::ZERO,
            min_charge: Decimal::ZERO,
            per_record_fee: Decimal::ZERO,
            increments: crate::Increments::parse("60/60").unwrap(),
            tiers: None,
            currency: Currency::parse("USD").unwrap(),
            service: Service::Voice,
            effective_from: "2026-01-01T00:00:00Z".parse().unwrap(),
            effective_to: None,
            carrier: "acme".into(),
            prefix: "44".into(),
            destination_name: Some("UK".into()),
            conditions: Default::default(),
            rules: Default::default(),
        })
        .unwrap();
        deck
    }

    #[test]
    fn report_currency_totals() {
        let mut fx = FxTable::new();
        fx.insert(date(2026, 3, 2), Currency::parse("USD").unwrap(), d("1.25")).unwrap();
        let deck = acme_usd_deck();
        let (cost, price) = (rating("0.03", "USD"), rating("0.05", "USD"));
        let margin = record_margin(&record("60"), Some(&cost), Some(&price), &fx);
        let mut report = MarginReport::default();
        report
            .add(
                &record("60"),
                Some(&cost),
                &deck,
                &margin,
                &ReportConversion { currency: Some(Currency::EUR), fx: &fx },
            )
            .unwrap();
        let customer = &report.groups[&(MarginDimension::Customer, "bigco".to_owned(), Currency::parse("USD"))];
        // 0.05 / 1.25 = 0.04 EUR revenue; 0.03 / 1.25 = 0.024 cost; 0.04 - 0.024 = 0.016 margin
        assert_eq!(customer.report, Some(Ok((Currency::EUR, d("0.04"), d("0.024"), d("0.016")))));
    }

    /// Issue 13, item 7: a group's totals add up when some records have no price. Three USD
    /// records of one customer: priced 0.05 at cost 0.03, priced 0.01 at cost 0.02 (below
    /// cost), and unpriced at cost 0.04. Revenue 0.06, cost 0.09 (0.04 of it unpriced), margin
    /// 0.06 - 0.09 = -0.03 (the old report said 0.02 - 0.01 = 0.01), margin % -50.0.
    #[test]
    fn issue13_margin_totals_add_up_with_unpriced_records() {
        let fx = FxTable::new();
        let deck = acme_usd_deck();
        let usd = |amount: &str| rating(amount, "USD");
        let mut report = MarginReport::default();
        let no_report = ReportConversion { currency: None, fx: &fx };
        for (cost, price) in [("0.03", Some("0.05")), ("0.02", Some("0.01")), ("0.04", None)] {
            let (cost, price) = (usd(cost), price.map(usd));
            let margin = record_margin(&record("60"), Some(&cost), price.as_ref(), &fx);
            report.add(&record("60"), Some(&cost), &deck, &margin, &no_report).unwrap();
        }
        let totals = &report.groups[&(MarginDimension::Carrier, "acme".to_owned(), Currency::parse("USD"))];
        assert_eq!(
            (totals.revenue, totals.cost, totals.unpriced_cost, totals.margin),
            (d("0.06"), d("0.09"), d("0.04"), d("-0.03"))
        );
        assert_eq!(totals.margin_percent(), Some(d("-50.0")));
        assert_eq!(totals.leakage_counts, [1, 1, 0, 0]);
    }
}
