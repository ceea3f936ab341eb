//! Accruals kept as running sums: what one rated record adds to its group (carrier, customer,
//! destination, service, UTC day and currencies), how contributions merge and cancel, and when
//! a month's sums can no longer be added to and must be made again from its records.
//!
//! The sums are exact only when every record's figures are independent of the others: a tiered
//! row settles per UTC month over the whole month, so one more record can change the figures of
//! all the others of its month. Such a month, and a month whose sums were made with other decks
//! or reference data, is stale: it is rated again whole (as `reckon rate` rates it) and its sums
//! replaced.

use crate::margin::{Leakage, RecordMargin};
use crate::money::{add_to, TotalOverflow};
use crate::period::{utc_date, Month};
use crate::rate_deck::RateDeck;
use crate::rating::Rating;
use crate::{Currency, Service, UsageRecord};
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

/// The finest group accruals are kept by: every grouping of a query is a union of these.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccrualKey {
    /// The record's UTC day.
    pub day: Date,
    pub carrier: String,
    pub customer: Option<String>,
    /// The carrier row's destination name, else `+` and its prefix; `(no rate)` without a rate.
    pub destination: String,
    pub service: Service,
    /// The carrier cost's currency (`None`: no rate).
    pub currency: Option<Currency>,
    /// The customer price's currency (`None`: no price).
    pub price_currency: Option<Currency>,
}

impl AccrualKey {
    /// The UTC month the key's day is in.
    pub fn month(&self) -> Month {
        Month { year: self.day.year(), month: self.day.month() }
    }
}

/// The figures of a group. Counts are signed so that a correction's subtraction is a
/// contribution like any other.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AccrualSums {
    pub records: i64,
    /// Carrier cost, in the key's `currency`.
    pub cost: Decimal,
    /// Customer price, in the key's `price_currency`.
    pub revenue: Decimal,
    /// Sum of the margins of records with both a price and a convertible cost.
    pub margin: Decimal,
    pub unrated: i64,
    pub unpriced: i64,
    pub below_cost: i64,
    pub unconvertible: i64,
}

impl AccrualSums {
    /// Adds another group's figures.
    ///
    /// # Errors
    /// An amount or count past what it holds; `self` may then be partly added to.
    pub fn add(&mut self, other: &AccrualSums) -> Result<(), TotalOverflow> {
        let count = |total: &mut i64, count: i64| -> Result<(), TotalOverflow> {
            *total = total.checked_add(count).ok_or(TotalOverflow)?;
            Ok(())
        };
        count(&mut self.records, other.records)?;
        add_to(&mut self.cost, other.cost)?;
        add_to(&mut self.revenue, other.revenue)?;
        add_to(&mut self.margin, other.margin)?;
        count(&mut self.unrated, other.unrated)?;
        count(&mut self.unpriced, other.unpriced)?;
        count(&mut self.below_cost, other.below_cost)?;
        count(&mut self.unconvertible, other.unconvertible)
    }

    /// The figures that cancel these: what a corrected record's old content takes away.
    pub fn negated(&self) -> AccrualSums {
        AccrualSums {
            records: -self.records,
            cost: -self.cost,
            revenue: -self.revenue,
            margin: -self.margin,
            unrated: -self.unrated,
            unpriced: -self.unpriced,
            below_cost: -self.below_cost,
            unconvertible: -self.unconvertible,
        }
    }
}

/// What one rated record adds: its key and figures. `cost`, `price` and `margin` are the
/// record's ratings against `carrier_deck` and the price plans (`reckon rate`'s).
pub fn contribution(
    record: &UsageRecord,
    cost: Option<&Rating>,
    price: Option<&Rating>,
    margin: &RecordMargin,
    carrier_deck: &RateDeck,
) -> (AccrualKey, AccrualSums) {
    let destination = cost.map_or_else(
        || "(no rate)".to_owned(),
        |rating| {
            let row = carrier_deck.row(rating.row);
            row.destination_name.clone().unwrap_or_else(|| format!("+{}", row.prefix))
        },
    );
    let key = AccrualKey {
        day: utc_date(record.started_at),
        carrier: record.carrier.to_string(),
        customer: record.customer.as_deref().map(str::to_owned),
        destination,
        service: record.service,
        currency: cost.map(|rating| rating.currency),
        price_currency: price.map(|rating| rating.currency),
    };
    let sums = AccrualSums {
        records: 1,
        cost: cost.map_or(Decimal::ZERO, |rating| rating.cost),
        revenue: price.map_or(Decimal::ZERO, |rating| rating.cost),
        margin: margin.margin.unwrap_or(Decimal::ZERO),
        unrated: i64::from(cost.is_none()),
        unpriced: i64::from(price.is_none()),
        below_cost: i64::from(margin.leakage == Some(Leakage::BelowCost)),
        unconvertible: i64::from(margin.leakage == Some(Leakage::Unconvertible)),
    };
    (key, sums)
}

/// The sums of rated records: `costs`, `prices` and `margins` are theirs, in their order.
///
/// # Errors
/// A total past what it holds.
pub fn table_of(
    records: &[UsageRecord],
    costs: &[Option<Rating>],
    prices: &[Option<Rating>],
    margins: &[RecordMargin],
    carrier_deck: &RateDeck,
) -> Result<AccrualTable, TotalOverflow> {
    assert_eq!(records.len(), costs.len(), "one cost per record");
    assert_eq!(records.len(), prices.len(), "one price per record");
    assert_eq!(records.len(), margins.len(), "one margin per record");
    let mut table = AccrualTable::default();
    for (index, record) in records.iter().enumerate() {
        let (key, sums) =
            contribution(record, costs[index].as_ref(), prices[index].as_ref(), &margins[index], carrier_deck);
        table.add(&key, &sums)?;
    }
    Ok(table)
}

/// Sums per key, in key order (the order rows are written in, so that concurrent writers take
/// their locks in one order).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccrualTable {
    pub groups: BTreeMap<AccrualKey, AccrualSums>,
}

impl AccrualTable {
    /// Adds a contribution to its group.
    ///
    /// # Errors
    /// A total past what it holds.
    pub fn add(&mut self, key: &AccrualKey, sums: &AccrualSums) -> Result<(), TotalOverflow> {
        match self.groups.get_mut(key) {
            Some(group) => group.add(sums),
            None => {
                self.groups.insert(key.clone(), *sums);
                Ok(())
            }
        }
    }

    /// Adds every group of another table.
    ///
    /// # Errors
    /// A total past what it holds.
    pub fn merge(&mut self, other: &AccrualTable) -> Result<(), TotalOverflow> {
        other.groups.iter().try_for_each(|(key, sums)| self.add(key, sums))
    }

    /// The table that cancels this one: what superseded records take away.
    pub fn negated(&self) -> AccrualTable {
        AccrualTable { groups: self.groups.iter().map(|(key, sums)| (key.clone(), sums.negated())).collect() }
    }

    /// The groups of one month, as a table of their own.
    pub fn of_month(&self, month: Month) -> AccrualTable {
        let groups = self.groups.iter().filter(|(key, _)| key.month() == month);
        AccrualTable { groups: groups.map(|(key, sums)| (key.clone(), *sums)).collect() }
    }

    /// The months the groups fall in, in order.
    pub fn months(&self) -> Vec<Month> {
        let mut months: Vec<Month> = self.groups.keys().map(AccrualKey::month).collect();
        months.dedup();
        months
    }
}

/// What the decks and reference data (FX rates, networks, contracts, holidays) were when a
/// month's sums were made: the ledger's deck epoch and a fingerprint of the reference data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RatedWith {
    pub deck_epoch: i64,
    pub reference: String,
}

impl RatedWith {
    /// As stored beside a month's sums.
    pub fn tag(&self) -> String {
        format!("{}/{}", self.deck_epoch, self.reference)
    }

    /// The deck epoch a stored tag ([`RatedWith::tag`]) names; `None` for another text.
    pub fn deck_epoch_of(tag: &str) -> Option<i64> {
        tag.split_once('/').and_then(|(epoch, _)| epoch.parse().ok())
    }
}

/// What new records (ingested, or the new content of a correction) do to their month's sums.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonthUpdate {
    /// Add their contributions: the sums stay exact.
    Add,
    /// The sums can no longer be added to: the month is rated again on its next query.
    MarkStale,
    /// The month is stale already: nothing to add to.
    Nothing,
}

/// Whether records rated with `rating` may be added to a month whose sums were made with
/// `stored` (`None`: stale or never made). With `tiered` decks a record's figures depend on its
/// whole month, so a new record makes the month stale.
pub fn month_update(stored: Option<&str>, rating: &RatedWith, tiered: bool) -> MonthUpdate {
    match stored {
        None => MonthUpdate::Nothing,
        Some(_) if tiered => MonthUpdate::MarkStale,
        Some(tag) if tag == rating.tag() => MonthUpdate::Add,
        Some(_) => MonthUpdate::MarkStale,
    }
}

/// Whether a month's sums, made with `stored`, answer a query made with `current`: otherwise
/// the month is rated again whole.
pub fn month_is_fresh(stored: Option<&str>, current: &RatedWith) -> bool {
    stored == Some(current.tag().as_str())
}

/// What a query groups by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AccrualGrouping {
    Day,
    Destination,
    Service,
    Customer,
    Carrier,
}

impl AccrualGrouping {
    pub const ALL: [AccrualGrouping; 5] = [
        AccrualGrouping::Day,
        AccrualGrouping::Destination,
        AccrualGrouping::Service,
        AccrualGrouping::Customer,
        AccrualGrouping::Carrier,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccrualGrouping::Day => "day",
            AccrualGrouping::Destination => "destination",
            AccrualGrouping::Service => "service",
            AccrualGrouping::Customer => "customer",
            AccrualGrouping::Carrier => "carrier",
        }
    }

    pub fn parse(text: &str) -> Option<AccrualGrouping> {
        AccrualGrouping::ALL.into_iter().find(|grouping| grouping.as_str() == text)
    }

    /// The group a key falls in.
    pub fn group_of(self, key: &AccrualKey) -> String {
        match self {
            AccrualGrouping::Day => key.day.to_string(),
            AccrualGrouping::Destination => key.destination.clone(),
            AccrualGrouping::Service => key.service.to_string(),
            AccrualGrouping::Customer => key.customer.as_deref().unwrap_or("(none)").to_owned(),
            AccrualGrouping::Carrier => key.carrier.clone(),
        }
    }
}

/// A group of one grouping over one UTC day or month, of all carriers and customers, of one
/// carrier, or of one customer: what a query without filters or with one of them reads, so that
/// it costs the groups it returns (a month by day reads a row per day, not one per destination
/// and customer of each day).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RollupKey {
    pub grouping: AccrualGrouping,
    /// Only this carrier's records (`None`: every carrier).
    pub carrier: Option<String>,
    /// Only this customer's records (`None`: every customer, and records without one).
    pub customer: Option<String>,
    /// `YYYY-MM-DD` for a day, `YYYY-MM` for a month.
    pub period: String,
    pub group: String,
    pub currency: Option<Currency>,
    pub price_currency: Option<Currency>,
}

impl RollupKey {
    /// The UTC month of the period (its first seven characters).
    pub fn month(&self) -> &str {
        &self.period[..7]
    }
}

/// The rollups of a table: each group added under every grouping, per day and per month, for
/// all carriers and customers, for its carrier, and for its customer when it has one.
///
/// # Errors
/// A total past what it holds.
pub fn rollups(table: &AccrualTable) -> Result<BTreeMap<RollupKey, AccrualSums>, TotalOverflow> {
    let mut rolled: BTreeMap<RollupKey, AccrualSums> = BTreeMap::new();
    for (key, sums) in &table.groups {
        let (day, month) = (key.day.to_string(), key.month().to_string());
        let mut scopes = vec![(None, None), (Some(key.carrier.clone()), None)];
        if let Some(customer) = &key.customer {
            scopes.push((None, Some(customer.clone())));
        }
        for (carrier, customer) in scopes {
            for grouping in AccrualGrouping::ALL {
                let group = grouping.group_of(key);
                for period in [&day, &month] {
                    let rollup = RollupKey {
                        grouping,
                        carrier: carrier.clone(),
                        customer: customer.clone(),
                        period: period.clone(),
                        group: group.clone(),
                        currency: key.currency,
                        price_currency: key.price_currency,
                    };
                    rolled.entry(rollup).or_default().add(sums)?;
                }
            }
        }
    }
    Ok(rolled)
}

/// The periods a range of whole UTC days `[from_day, to_day)` reads rollups of: its whole
/// months as `YYYY-MM`, and the days outside them as `YYYY-MM-DD`.
pub fn rollup_periods(from_day: Date, to_day: Date) -> Vec<String> {
    let mut periods = Vec::new();
    let mut day = from_day;
    while day < to_day {
        let month_end = day.first_of_month().checked_add(jiff::Span::new().months(1)).unwrap_or(Date::MAX);
        if day.day() == 1 && month_end <= to_day {
            periods.push(Month { year: day.year(), month: day.month() }.to_string());
            day = month_end;
        } else {
            periods.push(day.to_string());
            match day.tomorrow() {
                Ok(next) => day = next,
                Err(_) => break,
            }
        }
    }
    periods
}

/// A query's groups: the kept sums folded by `grouping` and both currencies, groups without
/// records left out (a correction can take a group's last record away).
///
/// # Errors
/// A total past what it holds.
pub fn fold(
    rows: impl IntoIterator<Item = (AccrualKey, AccrualSums)>,
    grouping: AccrualGrouping,
) -> Result<AccrualGroups, TotalOverflow> {
    let mut groups = AccrualGroups::new();
    for (key, sums) in rows {
        let group = (grouping.group_of(&key), key.currency, key.price_currency);
        groups.entry(group).or_default().add(&sums)?;
    }
    groups.retain(|_, sums| sums.records != 0);
    Ok(groups)
}

/// A query's groups: figures per group and currency pair (cost's, price's).
pub type AccrualGroups = BTreeMap<(String, Option<Currency>, Option<Currency>), AccrualSums>;

/// A query's groups from rollups of its grouping: added over the periods, groups without
/// records left out.
///
/// # Errors
/// A total past what it holds.
pub fn fold_rollups(rows: impl IntoIterator<Item = (RollupKey, AccrualSums)>) -> Result<AccrualGroups, TotalOverflow> {
    let mut groups = AccrualGroups::new();
    for (key, sums) in rows {
        groups.entry((key.group, key.currency, key.price_currency)).or_default().add(&sums)?;
    }
    groups.retain(|_, sums| sums.records != 0);
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn key(day: &str, destination: &str) -> AccrualKey {
        AccrualKey {
            day: Date::from_str(day).unwrap(),
            carrier: "acme".into(),
            customer: Some("shop".into()),
            destination: destination.into(),
            service: Service::Voice,
            currency: Currency::parse("EUR"),
            price_currency: Currency::parse("USD"),
        }
    }

    fn sums(cost: &str, revenue: &str, margin: &str) -> AccrualSums {
        AccrualSums { records: 1, cost: d(cost), revenue: d(revenue), margin: d(margin), ..AccrualSums::default() }
    }

    #[test]
    fn a_correction_cancels_the_old_content_and_adds_the_new() {
        let mut table = AccrualTable::default();
        let uk = key("2026-03-02", "UK");
        table.add(&uk, &sums("0.012", "0.02", "0.006")).unwrap();
        table.add(&uk, &sums("0.5", "0.7", "0.15")).unwrap();
        // The second record corrected: 0.5 -> 0.25 cost, 0.7 -> 0.35 revenue, 0.15 -> 0.075.
        table.add(&uk, &sums("0.5", "0.7", "0.15").negated()).unwrap();
        table.add(&uk, &sums("0.25", "0.35", "0.075")).unwrap();
        // 0.012 + 0.25 = 0.262; 0.02 + 0.35 = 0.37; 0.006 + 0.075 = 0.081; 1 + 1 - 1 + 1 = 2.
        assert_eq!(table.groups[&uk], AccrualSums { records: 2, ..sums("0.262", "0.37", "0.081") });
    }

    #[test]
    fn folding_groups_by_the_grouping_and_drops_emptied_groups() {
        let rows = vec![
            (key("2026-03-02", "UK"), sums("1", "2", "0.5")),
            (key("2026-03-02", "FR"), sums("3", "4", "1")),
            (key("2026-03-03", "UK"), sums("5", "6", "1")),
            (key("2026-03-03", "DE"), AccrualSums::default()),
        ];
        let by_day = fold(rows.clone(), AccrualGrouping::Day).unwrap();
        let eur_usd = |day: &str| (day.to_owned(), Currency::parse("EUR"), Currency::parse("USD"));
        // 2026-03-02: 1 + 3 = 4 cost, 2 + 4 = 6 revenue; 2026-03-03: DE has no records left.
        assert_eq!(by_day[&eur_usd("2026-03-02")].cost, d("4"));
        assert_eq!(by_day[&eur_usd("2026-03-02")].revenue, d("6"));
        assert_eq!(by_day[&eur_usd("2026-03-03")].records, 1);
        let by_destination = fold(rows, AccrualGrouping::Destination).unwrap();
        assert_eq!(by_destination.len(), 2, "DE's emptied group is left out");
        // UK: 1 + 5 = 6.
        assert_eq!(by_destination[&eur_usd("UK")].cost, d("6"));
    }

    #[test]
    fn a_month_takes_additions_only_when_made_with_the_same_decks_and_untiered() {
        let now = RatedWith { deck_epoch: 3, reference: "abc".into() };
        let tag = now.tag();
        let before = RatedWith { deck_epoch: 2, reference: "abc".into() }.tag();
        let other_fx = RatedWith { deck_epoch: 3, reference: "def".into() }.tag();
        let cases = [
            (Some(tag.as_str()), false, MonthUpdate::Add),
            (Some(tag.as_str()), true, MonthUpdate::MarkStale),
            (Some(before.as_str()), false, MonthUpdate::MarkStale),
            (Some(other_fx.as_str()), false, MonthUpdate::MarkStale),
            (None, false, MonthUpdate::Nothing),
            (None, true, MonthUpdate::Nothing),
        ];
        for (stored, tiered, expected) in cases {
            assert_eq!(month_update(stored, &now, tiered), expected, "{stored:?} tiered {tiered}");
        }
        assert!(month_is_fresh(Some(&tag), &now));
        assert!(!month_is_fresh(Some(&before), &now));
        assert!(!month_is_fresh(None, &now));
    }

    #[test]
    fn a_range_reads_whole_months_as_months_and_the_rest_as_days() {
        let day = |text: &str| Date::from_str(text).unwrap();
        assert_eq!(rollup_periods(day("2026-03-01"), day("2026-04-01")), vec!["2026-03"]);
        assert_eq!(
            rollup_periods(day("2026-02-27"), day("2026-04-02")),
            vec!["2026-02-27", "2026-02-28", "2026-03", "2026-04-01"]
        );
        assert_eq!(rollup_periods(day("2026-03-15"), day("2026-03-16")), vec!["2026-03-15"]);
        assert!(rollup_periods(day("2026-03-15"), day("2026-03-15")).is_empty());
    }

    #[test]
    fn rollups_add_each_group_under_every_grouping_per_day_and_month() {
        let mut table = AccrualTable::default();
        table.add(&key("2026-03-02", "UK"), &sums("1", "2", "0.5")).unwrap();
        table.add(&key("2026-03-03", "FR"), &sums("3", "4", "1")).unwrap();
        table
            .add(
                &AccrualKey { carrier: "bolt".into(), customer: None, ..key("2026-03-02", "UK") },
                &sums("5", "0", "0"),
            )
            .unwrap();
        let rolled = rollups(&table).unwrap();
        // Every carrier and customer: 3 keys x 5 groupings x (day, month), less the rollups
        // they share: day 2 + 2 (each day is its own group in the month too), destination
        // (UK, FR) 2 + 2, service 2 + 1, customer (shop, (none)) 3 + 2, carrier (acme, bolt)
        // 3 + 2 = 21. Carrier acme, as the first two keys alone: 17; carrier bolt: 5 x 2 = 10.
        // Customer shop (bolt's key has none): 17. 21 + 17 + 10 + 17 = 65.
        assert_eq!(rolled.len(), 65);
        let march = |grouping: AccrualGrouping, group: &str| RollupKey {
            grouping,
            carrier: None,
            customer: None,
            period: "2026-03".into(),
            group: group.into(),
            currency: Currency::parse("EUR"),
            price_currency: Currency::parse("USD"),
        };
        // 1 + 3 = 4 cost over the month for acme.
        assert_eq!(rolled[&march(AccrualGrouping::Carrier, "acme")].cost, d("4"));
        assert_eq!(rolled[&march(AccrualGrouping::Destination, "FR")].cost, d("3"));
        // UK over the month: 1 (acme) + 5 (bolt) = 6; acme's alone 1; shop's alone 1.
        assert_eq!(rolled[&march(AccrualGrouping::Destination, "UK")].cost, d("6"));
        let acme_uk = RollupKey { carrier: Some("acme".into()), ..march(AccrualGrouping::Destination, "UK") };
        assert_eq!(rolled[&acme_uk].cost, d("1"));
        let shop_uk = RollupKey { customer: Some("shop".into()), ..march(AccrualGrouping::Destination, "UK") };
        assert_eq!(rolled[&shop_uk].cost, d("1"));
        let bolt_by_customer = RollupKey { carrier: Some("bolt".into()), ..march(AccrualGrouping::Customer, "(none)") };
        assert_eq!(rolled[&bolt_by_customer].cost, d("5"));
    }

    #[test]
    fn a_table_splits_by_month() {
        let mut table = AccrualTable::default();
        table.add(&key("2026-03-31", "UK"), &sums("1", "1", "0")).unwrap();
        table.add(&key("2026-04-01", "UK"), &sums("2", "2", "0")).unwrap();
        let march = Month { year: 2026, month: 3 };
        assert_eq!(table.months(), vec![march, Month { year: 2026, month: 4 }]);
        assert_eq!(table.of_month(march).groups.len(), 1);
    }
}
