//! Dated exchange rates, in the shape of the ECB reference rates: units of a currency per EUR.
//! Conversions between two non-EUR currencies triangulate through EUR.

use crate::money::{round, rounded_quotient, RoundMode, COST_DECIMAL_PLACES};
use crate::Currency;
use jiff::civil::Date;
use rust_decimal::Decimal;
use rustc_hash::FxHashMap;

/// Exchange rates by currency and date.
#[derive(Clone, Debug, Default)]
pub struct FxTable {
    /// Per currency, `(date, units per EUR)` sorted by date.
    /// (FxHash: looked up for every amount converted, with a key of three letters.)
    rates: FxHashMap<Currency, Vec<(Date, Decimal)>>,
    /// How many days a rate may be older than the amount's date; `None`: any age.
    staleness_days_max: Option<i32>,
}

/// Why an amount could not be converted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FxError {
    #[error("no exchange rate for {currency}")]
    UnknownCurrency { currency: Currency },
    #[error("no exchange rate for {currency} on or before {date}")]
    BeforeFirstRate { currency: Currency, date: Date },
    #[error(
        "the latest {currency} rate on or before {date} is from {rate_date}, more than {staleness_days_max} days old"
    )]
    Stale { currency: Currency, date: Date, rate_date: Date, staleness_days_max: i32 },
    #[error("rate per EUR must be greater than 0")]
    NotPositive,
    #[error("{currency} has two different rates on {date}")]
    Conflicting { currency: Currency, date: Date },
    #[error("converting {amount} {from} to {to} exceeds the largest representable amount")]
    Overflow { amount: Decimal, from: Currency, to: Currency },
}

/// Currencies replaced by the euro: from the adoption date on, a currency converts at its
/// irrevocable rate (units per EUR), never at its last (stale) fixing. The data contract lists them.
/// (Codes as currencies, not text: the table is searched for every amount converted.)
const EURO_ADOPTIONS: [(Currency, Date, &str); 9] = [
    (Currency::of_code(*b"SIT"), jiff::civil::date(2007, 1, 1), "239.640"),
    (Currency::of_code(*b"CYP"), jiff::civil::date(2008, 1, 1), "0.585274"),
    (Currency::of_code(*b"MTL"), jiff::civil::date(2008, 1, 1), "0.429300"),
    (Currency::of_code(*b"SKK"), jiff::civil::date(2009, 1, 1), "30.1260"),
    (Currency::of_code(*b"EEK"), jiff::civil::date(2011, 1, 1), "15.6466"),
    (Currency::of_code(*b"LVL"), jiff::civil::date(2014, 1, 1), "0.702804"),
    (Currency::of_code(*b"LTL"), jiff::civil::date(2015, 1, 1), "3.45280"),
    (Currency::of_code(*b"HRK"), jiff::civil::date(2023, 1, 1), "7.53450"),
    (Currency::of_code(*b"BGN"), jiff::civil::date(2026, 1, 1), "1.95583"),
];

/// The irrevocable rate of a currency replaced by the euro, when `date` is on or after its adoption.
fn irrevocable_per_eur(currency: Currency, date: Date) -> Option<Decimal> {
    EURO_ADOPTIONS
        .iter()
        .find(|(replaced, adopted, _)| currency == *replaced && date >= *adopted)
        .map(|(_, _, rate)| rate.parse().expect("the irrevocable rates are decimal literals"))
}

impl FxTable {
    /// An empty table: only same-currency conversions succeed.
    pub fn new() -> FxTable {
        FxTable::default()
    }

    /// Limits how old the rate used for an amount may be, in days.
    pub fn set_staleness_days_max(&mut self, days: Option<i32>) {
        self.staleness_days_max = days;
    }

    /// Adds the rate of `currency` on `date`: how many units one EUR buys.
    ///
    /// # Errors
    /// When the rate is not positive, or the table holds a different rate for that day.
    pub fn insert(&mut self, date: Date, currency: Currency, per_eur: Decimal) -> Result<(), FxError> {
        if per_eur <= Decimal::ZERO {
            return Err(FxError::NotPositive);
        }
        let series = self.rates.entry(currency).or_default();
        match series.binary_search_by_key(&date, |(day, _)| *day) {
            Ok(found) if series[found].1 == per_eur => Ok(()),
            Ok(_) => Err(FxError::Conflicting { currency, date }),
            Err(position) => {
                series.insert(position, (date, per_eur));
                Ok(())
            }
        }
    }

    /// The whole table as text in a canonical order (currency, then date), with its staleness
    /// bound: two tables that convert alike give the same text. It names the table in the id
    /// of a run that used it, so another table makes another run.
    pub fn canonical_text(&self) -> String {
        use std::fmt::Write as _;
        let mut currencies: Vec<&Currency> = self.rates.keys().collect();
        currencies.sort();
        let mut text = format!("staleness_days_max={:?}\n", self.staleness_days_max);
        for currency in currencies {
            for (date, per_eur) in &self.rates[currency] {
                let _ = writeln!(text, "{date},{currency},{}", per_eur.normalize());
            }
        }
        text
    }

    /// Whether the table has no rates at all.
    pub fn is_empty(&self) -> bool {
        self.rates.is_empty()
    }

    /// Units of `currency` one EUR buys on `date`: the rate of the latest date on or before it.
    ///
    /// # Errors
    /// When the currency has no rates, none on or before `date`, or only a stale one. A currency
    /// replaced by the euro needs no rate from its adoption date on (its irrevocable rate applies).
    pub fn per_eur(&self, currency: Currency, date: Date) -> Result<Decimal, FxError> {
        if currency == Currency::EUR {
            return Ok(Decimal::ONE);
        }
        if let Some(rate) = irrevocable_per_eur(currency, date) {
            return Ok(rate);
        }
        let series = self.rates.get(&currency).ok_or(FxError::UnknownCurrency { currency })?;
        let after = series.partition_point(|(day, _)| *day <= date);
        let (rate_date, rate) =
            *after.checked_sub(1).map(|index| &series[index]).ok_or(FxError::BeforeFirstRate { currency, date })?;
        if let Some(staleness_days_max) = self.staleness_days_max {
            // Whole days between two dates, as a duration rather than a calendar span: this runs
            // for every amount converted.
            let age_days = date.duration_since(rate_date).as_hours() / 24;
            if age_days > i64::from(staleness_days_max) {
                return Err(FxError::Stale { currency, date, rate_date, staleness_days_max });
            }
        }
        Ok(rate)
    }

    /// The date of the rate [`FxTable::per_eur`] takes for `date` (the latest on or before it);
    /// `None` for EUR, a currency replaced by the euro, or one without such a rate.
    pub fn rate_date(&self, currency: Currency, date: Date) -> Option<Date> {
        if currency == Currency::EUR || irrevocable_per_eur(currency, date).is_some() {
            return None;
        }
        let series = self.rates.get(&currency)?;
        let after = series.partition_point(|(day, _)| *day <= date);
        after.checked_sub(1).map(|index| series[index].0)
    }

    /// Converts `amount` from one currency to another at the rates of `date`, exactly (no
    /// rounding: the caller rounds where the contract says).
    ///
    /// # Errors
    /// When either currency has no usable rate for the date, or the result exceeds `Decimal`.
    ///
    /// # Properties
    /// Converting a sum equals summing the conversions (up to the last of 28 significant digits).
    pub fn convert(&self, amount: Decimal, from: Currency, to: Currency, date: Date) -> Result<Decimal, FxError> {
        if from == to {
            return Ok(amount);
        }
        let from_per_eur = self.per_eur(from, date)?;
        let to_per_eur = self.per_eur(to, date)?;
        // amount / from_per_eur is the amount in EUR; multiplying first keeps more digits.
        amount.checked_mul(to_per_eur).and_then(|scaled| scaled.checked_div(from_per_eur)).ok_or(FxError::Overflow {
            amount,
            from,
            to,
        })
    }

    /// [`FxTable::convert`], rounded to `decimal_places` by `mode` (as `round` would round the
    /// converted amount), on integers where that gives the same digits: this runs for every
    /// amount a run reports in another currency.
    ///
    /// # Errors
    /// As [`FxTable::convert`].
    pub fn convert_rounded(
        &self,
        amount: Decimal,
        from: Currency,
        to: Currency,
        date: Date,
        decimal_places: u32,
        mode: RoundMode,
    ) -> Result<Decimal, FxError> {
        if from != to {
            let from_per_eur = self.per_eur(from, date)?;
            let to_per_eur = self.per_eur(to, date)?;
            if let Some(rounded) = rounded_quotient(amount, to_per_eur, from_per_eur, decimal_places, mode) {
                return Ok(rounded);
            }
        }
        self.convert(amount, from, to, date).map(|converted| round(converted, decimal_places, mode))
    }

    /// [`FxTable::convert`], rounded like a cost ([`round_cost`](crate::money::round_cost)).
    ///
    /// # Errors
    /// As [`FxTable::convert`].
    pub fn convert_cost(&self, amount: Decimal, from: Currency, to: Currency, date: Date) -> Result<Decimal, FxError> {
        self.convert_rounded(amount, from, to, date, COST_DECIMAL_PLACES, RoundMode::HalfAwayFromZero)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn currency(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn table() -> FxTable {
        let mut table = FxTable::new();
        // Thursday and Friday; no rates on the weekend.
        table.insert(date(2026, 3, 5), currency("USD"), d("1.0800")).unwrap();
        table.insert(date(2026, 3, 6), currency("USD"), d("1.0850")).unwrap();
        table.insert(date(2026, 3, 5), currency("GBP"), d("0.8400")).unwrap();
        table.insert(date(2026, 3, 6), currency("GBP"), d("0.8500")).unwrap();
        table
    }

    #[test]
    fn usd_to_gbp_through_eur() {
        // 10.85 USD on Friday 2026-03-06: 10.85 / 1.085 = 10 EUR; 10 * 0.85 = 8.5 GBP
        let converted = table().convert(d("10.85"), currency("USD"), currency("GBP"), date(2026, 3, 6)).unwrap();
        assert_eq!(converted, d("8.5"));
    }

    #[test]
    fn weekend_uses_friday() {
        // Sunday 2026-03-08 -> Friday's 1.0850: 1.085 USD = 1 EUR
        let converted = table().convert(d("1.085"), currency("USD"), Currency::EUR, date(2026, 3, 8)).unwrap();
        assert_eq!(converted, d("1"));
    }

    #[test]
    fn errors_are_explicit_never_a_rate_of_one() {
        let table = table();
        assert_eq!(
            table.convert(d("1"), currency("JPY"), Currency::EUR, date(2026, 3, 6)),
            Err(FxError::UnknownCurrency { currency: currency("JPY") })
        );
        assert_eq!(
            table.convert(d("1"), currency("USD"), Currency::EUR, date(2026, 3, 4)),
            Err(FxError::BeforeFirstRate { currency: currency("USD"), date: date(2026, 3, 4) })
        );
        assert_eq!(table.convert(d("1"), currency("XYZ"), currency("XYZ"), date(2026, 3, 4)), Ok(d("1")));
    }

    #[test]
    fn staleness_limit() {
        let mut table = table();
        table.set_staleness_days_max(Some(7));
        // 2026-03-13 is 7 days after Friday: allowed.
        assert!(table.per_eur(currency("USD"), date(2026, 3, 13)).is_ok());
        // 2026-03-14 is 8 days after: stale.
        assert!(matches!(table.per_eur(currency("USD"), date(2026, 3, 14)), Err(FxError::Stale { .. })));
    }

    #[test]
    fn euro_adoptions_convert_at_their_irrevocable_rate() {
        let mut table = FxTable::new();
        table.set_staleness_days_max(Some(7));
        // HRK's last ECB fixing was 7.5365 (2022-12-30); from 2023-01-01 the irrevocable 7.53450
        // applies: 250 HRK on 2023-01-05 = 250 / 7.5345 = 33.18070210365651336186873714 EUR.
        table.insert(date(2022, 12, 30), currency("HRK"), d("7.5365")).unwrap();
        let euros = table.convert(d("250"), currency("HRK"), Currency::EUR, date(2023, 1, 5)).unwrap();
        assert_eq!(
            euros.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            d("33.180702")
        );
        // Before the adoption date the dated rate applies: 250 / 7.5365 = 33.171896...
        let euros = table.convert(d("250"), currency("HRK"), Currency::EUR, date(2022, 12, 30)).unwrap();
        assert_eq!(
            euros.round_dp_with_strategy(6, rust_decimal::RoundingStrategy::MidpointAwayFromZero),
            d("33.171897")
        );
        // BGN after 2026-01-07 is never stale: 195.583 BGN = 100 EUR, with no BGN row at all.
        let euros = table.convert(d("195.583"), currency("BGN"), Currency::EUR, date(2026, 3, 9)).unwrap();
        assert_eq!(euros, d("100"));
        // BGN before 2026 with no rate is still an error, never a guess.
        assert!(table.convert(d("1"), currency("BGN"), Currency::EUR, date(2025, 12, 31)).is_err());
        // Every listed rate parses.
        for (replaced, adopted, _) in EURO_ADOPTIONS {
            assert!(irrevocable_per_eur(replaced, adopted).is_some(), "{replaced}");
            // Each code is one the parser reads as itself.
            assert_eq!(Currency::parse(replaced.as_str()), Some(replaced));
        }
    }

    #[test]
    fn conversion_past_the_decimal_range_is_an_error_not_a_panic() {
        let mut table = FxTable::new();
        table.insert(date(2026, 3, 5), currency("JPY"), d("175.68")).unwrap();
        let huge = Decimal::MAX;
        assert!(matches!(
            table.convert(huge, Currency::EUR, currency("JPY"), date(2026, 3, 5)),
            Err(FxError::Overflow { .. })
        ));
    }

    #[test]
    fn insert_refuses_conflicts_and_accepts_repeats() {
        let mut table = table();
        assert!(table.insert(date(2026, 3, 5), currency("USD"), d("1.08")).is_ok());
        assert_eq!(
            table.insert(date(2026, 3, 5), currency("USD"), d("1.09")),
            Err(FxError::Conflicting { currency: currency("USD"), date: date(2026, 3, 5) })
        );
        assert_eq!(table.insert(date(2026, 3, 5), currency("CHF"), d("0")), Err(FxError::NotPositive));
    }

    mod properties {
        use super::*;
        use crate::money::round_to_minor_units;
        use proptest::prelude::*;

        const RATES: [(&str, &str); 6] =
            [("EUR", "1"), ("USD", "1.1172"), ("GBP", "0.8338"), ("JPY", "175.68"), ("BHD", "0.42"), ("CHF", "0.9194")];

        fn table() -> FxTable {
            let mut table = FxTable::new();
            for (code, rate) in &RATES[1..] {
                table.insert(date(2026, 10, 30), currency(code), d(rate)).unwrap();
            }
            table
        }

        fn currency_index() -> impl Strategy<Value = usize> {
            0..RATES.len()
        }

        proptest! {
            /// A -> B -> A, rounded to A's minor unit at the end, comes back within one minor
            /// unit (in fact equal: the conversions themselves are exact to 28 digits).
            #[test]
            fn round_trip_stays_within_one_minor_unit(a in currency_index(), b in currency_index(), cents in -10_000_000_i64..10_000_000) {
                let (from, to) = (currency(RATES[a].0), currency(RATES[b].0));
                let places = from.minor_units().unwrap();
                let amount = Decimal::new(cents, places);
                let day = date(2026, 11, 2);
                let there = table().convert(amount, from, to, day).unwrap();
                let back = table().convert(there, to, from, day).unwrap();
                let back = round_to_minor_units(back, from).unwrap();
                prop_assert!((back - amount).abs() <= Decimal::new(1, places), "{amount} {from} -> {there} {to} -> {back}");
            }

            /// Summing then converting equals converting then summing, before any rounding (to
            /// 20 decimal places: the conversions divide, exactly to 28 significant digits).
            #[test]
            fn conversion_distributes_over_sums(a in currency_index(), b in currency_index(), amounts in proptest::collection::vec(-1_000_000_000_i64..1_000_000_000, 1..50)) {
                let (from, to) = (currency(RATES[a].0), currency(RATES[b].0));
                let day = date(2026, 11, 2);
                let amounts: Vec<Decimal> = amounts.into_iter().map(|micros| Decimal::new(micros, 6)).collect();
                let total: Decimal = amounts.iter().sum();
                let converted_total = table().convert(total, from, to, day).unwrap();
                let total_of_converted: Decimal = amounts.iter().map(|amount| table().convert(*amount, from, to, day).unwrap()).sum();
                prop_assert!((converted_total - total_of_converted).abs() <= Decimal::new(1, 20), "{converted_total} vs {total_of_converted}");
            }
        }
    }
}
