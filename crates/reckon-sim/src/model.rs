//! The naive pricing model: a linear scan for the longest prefix and plain arithmetic. It
//! shares nothing with `reckon_core::rating` on purpose, to audit it.

use reckon_core::usage::DeliveryStatus;
use reckon_core::{Decimal, RateRow, Service, Timestamp};
use rust_decimal::RoundingStrategy;

/// The row a naive scan picks: longest prefix in force, then the latest `effective_from`.
pub fn find_row<'a>(
    rows: &'a [RateRow],
    carrier: &str,
    service: Service,
    digits: &str,
    at: Timestamp,
) -> Option<&'a RateRow> {
    rows.iter()
        .filter(|row| row.carrier == carrier && row.service == service && digits.starts_with(&row.prefix))
        .filter(|row| row.effective_from <= at && row.effective_to.is_none_or(|to| at < to))
        .max_by_key(|row| (row.prefix.len(), row.effective_from))
}

/// `(billed quantity, cost)` of a measured quantity under a row, computed naively: increments
/// block by block, a first interval at `first_rate`, connect fee, minimum, per-record fee, cap,
/// then the row's rounding (default 6 places half away from zero). A blocked row bills nothing.
/// A tiered row is priced at its first tier ([`settle_tiers`] reprices it).
pub fn cost(row: &RateRow, quantity: Decimal) -> (Decimal, Decimal) {
    if quantity == Decimal::ZERO || row.rules.blocked {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let mut billed = row.increments.first;
    while billed < quantity {
        billed += row.increments.next;
    }
    let units_price = match row.rules.first_rate {
        Some(first_rate) => {
            let first = if billed < row.increments.first { billed } else { row.increments.first };
            first_rate * first + row.rate * (billed - first)
        }
        None => row.rate * billed,
    };
    (billed, finish(row, units_price))
}

/// `(billed quantity, cost)` of a record with a delivery status: nothing when the row bills
/// messages on delivery and the receipt says the message failed, expired or was rejected (a
/// missing or `unknown` receipt proves nothing); else [`cost`].
pub fn cost_of_record(row: &RateRow, quantity: Decimal, status: Option<DeliveryStatus>) -> (Decimal, Decimal) {
    let on_delivery = row.rules.billed_on.is_some_and(|billed_on| billed_on.as_str() == "delivered");
    let undelivered = matches!(status.map(DeliveryStatus::as_str), Some("failed" | "expired" | "rejected"));
    if on_delivery && undelivered {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    cost(row, quantity)
}

/// Fees, minimum, cap and rounding around a units price (`rate * units`).
fn finish(row: &RateRow, units_price: Decimal) -> Decimal {
    let mut amount = row.connect_fee + units_price / row.rate_unit;
    if amount < row.min_charge {
        amount = row.min_charge;
    }
    amount += row.per_record_fee;
    if let Some(max_cost) = row.rules.max_cost {
        if amount > max_cost {
            amount = max_cost;
        }
    }
    let (places, strategy) = match row.rules.rounding {
        None => (6, RoundingStrategy::MidpointAwayFromZero),
        Some(rounding) => (
            rounding.decimal_places,
            match rounding.mode.as_str() {
                "half_up" => RoundingStrategy::MidpointAwayFromZero,
                "half_even" => RoundingStrategy::MidpointNearestEven,
                "up" => RoundingStrategy::AwayFromZero,
                _ => RoundingStrategy::ToZero,
            },
        ),
    };
    amount.round_dp_with_strategy(places, strategy)
}

/// What the full model knows of a record.
#[derive(Clone, Copy, Debug)]
pub struct ModelRecord<'a> {
    pub record_id: &'a str,
    pub party: &'a str,
    pub service: Service,
    pub digits: &'a str,
    pub origin: Option<&'a str>,
    pub network: Option<&'a str>,
    pub at: Timestamp,
    pub quantity: Decimal,
    pub status: Option<DeliveryStatus>,
}

/// A holiday: party, local date, and the weekday it is rated as (Monday = 0).
pub type Holiday = (String, jiff::civil::Date, u8);

/// The row a naive scan picks, with every condition: a network row of the record's network
/// that applies beats every prefix row; else the longest prefix; at one prefix (or network),
/// the latest `effective_from`, then the longer `origin_prefix`, then a band over none.
pub fn find_row_full<'a>(rows: &'a [RateRow], record: &ModelRecord<'_>, holidays: &[Holiday]) -> Option<&'a RateRow> {
    let applies = |row: &&RateRow| {
        row.carrier == record.party
            && row.service == record.service
            && row.effective_from <= record.at
            && row.effective_to.is_none_or(|to| record.at < to)
            && row
                .conditions
                .origin_prefix
                .as_deref()
                .is_none_or(|prefix| record.origin.is_some_and(|origin| origin.starts_with(prefix)))
            && row.conditions.band.as_ref().is_none_or(|band| band_applies(band, record, holidays))
    };
    let specificity = |row: &RateRow| {
        let origin_length = row.conditions.origin_prefix.as_ref().map_or(0, |prefix| prefix.len() + 1);
        (row.effective_from, origin_length, row.conditions.band.is_some())
    };
    let network_row = rows
        .iter()
        .filter(applies)
        .filter(|row| row.conditions.network.is_some() && row.conditions.network.as_deref() == record.network)
        .max_by_key(|row| specificity(row));
    network_row.or_else(|| {
        rows.iter()
            .filter(applies)
            .filter(|row| row.conditions.network.is_none() && record.digits.starts_with(&row.prefix))
            .max_by_key(|row| (row.prefix.len(), specificity(row)))
    })
}

/// Whether a band applies at the record's start: its local weekday (a holiday's weekday on a
/// holiday) is one of the band's, and its local time is in `[from, to)`, wrapping midnight
/// when `to <= from`.
fn band_applies(band: &reckon_core::time_band::TimeBand, record: &ModelRecord<'_>, holidays: &[Holiday]) -> bool {
    let zone = jiff::tz::TimeZone::get(&band.zone_name).expect("a known zone");
    let local = record.at.to_zoned(zone);
    let weekday = holidays
        .iter()
        .find(|(party, date, _)| party == record.party && *date == local.date())
        .map_or(local.weekday().to_monday_zero_offset() as u8, |(_, _, weekday)| *weekday);
    if band.weekdays & (1 << weekday) == 0 {
        return false;
    }
    let seconds =
        |hour: i8, minute: i8, second: i8| i32::from(hour) * 3600 + i32::from(minute) * 60 + i32::from(second);
    let now = seconds(local.hour(), local.minute(), local.second());
    let from = seconds(band.from.hour(), band.from.minute(), 0);
    let to = band.to.map_or(86_400, |to| seconds(to.hour(), to.minute(), 0));
    if to > from {
        from <= now && now < to
    } else {
        now >= from || now < to
    }
}

/// Reprices tiered records per month: `priced[i]` is `(row, billed, cost)` of `records[i]` from
/// [`find_row_full`] and [`cost`]. The month's quantity counts every priced record of the party,
/// service and UTC month in order of start, then id; `volume` prices every unit at the tier the
/// month's total passes, `graduated` prices unit by unit.
pub fn settle_tiers(records: &[ModelRecord<'_>], priced: &mut [Option<(&RateRow, Decimal, Decimal)>]) {
    let month = |at: Timestamp| {
        let date = at.to_zoned(jiff::tz::TimeZone::UTC).date();
        (date.year(), date.month())
    };
    let mut done = vec![false; records.len()];
    for start in 0..records.len() {
        if done[start] || priced[start].is_none() {
            continue;
        }
        let key = (records[start].party, records[start].service, month(records[start].at));
        let mut members: Vec<usize> = (0..records.len())
            .filter(|index| {
                priced[*index].is_some()
                    && (records[*index].party, records[*index].service, month(records[*index].at)) == key
            })
            .collect();
        members.sort_by_key(|index| (records[*index].at, records[*index].record_id));
        let mut total = Decimal::ZERO;
        for index in &members {
            done[*index] = true;
            total += priced[*index].expect("filtered").1;
        }
        let mut position = Decimal::ZERO;
        for index in members {
            let (row, billed, _) = priced[index].expect("filtered");
            let before = position;
            position += billed;
            let Some(tiers) = &row.tiers else { continue };
            if billed == Decimal::ZERO {
                continue;
            }
            let units_price = match tiers.mode {
                reckon_core::rate_deck::TierMode::Volume => {
                    let mut rate = tiers.steps[0].1;
                    for (from, step_rate) in &tiers.steps {
                        if *from < total {
                            rate = *step_rate;
                        }
                    }
                    rate * billed
                }
                reckon_core::rate_deck::TierMode::Graduated => {
                    // Unit by unit: unit `u` costs the rate of the last tier starting below it.
                    let mut units_price = Decimal::ZERO;
                    let mut unit = before + Decimal::ONE;
                    while unit <= position {
                        let mut rate = tiers.steps[0].1;
                        for (from, step_rate) in &tiers.steps {
                            if *from < unit {
                                rate = *step_rate;
                            }
                        }
                        units_price += rate;
                        unit += Decimal::ONE;
                    }
                    units_price
                }
            };
            priced[index] = Some((row, billed, finish(row, units_price)));
        }
    }
}

/// Converts an amount between currencies at the rate of the latest date on or before the
/// instant's UTC date, through EUR, rounded like a cost (6 places, half away from zero). Same
/// currency: unchanged.
pub fn convert(
    rates: &[(jiff::civil::Date, reckon_core::Currency, Decimal)],
    amount: Decimal,
    from: &str,
    to: &str,
    at: Timestamp,
) -> Decimal {
    if from == to {
        return amount;
    }
    let day = at.to_zoned(jiff::tz::TimeZone::UTC).date();
    let per_eur = |code: &str| -> Decimal {
        if code == "EUR" {
            return Decimal::ONE;
        }
        rates
            .iter()
            .filter(|(date, currency, _)| currency.as_str() == code && *date <= day)
            .max_by_key(|(date, _, _)| *date)
            .map(|(_, _, rate)| *rate)
            .expect("the workload has a rate for every day")
    };
    (amount * per_eur(to) / per_eur(from)).round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
}
