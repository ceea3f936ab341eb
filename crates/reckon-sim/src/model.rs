//! The naive pricing model: a linear scan for the longest prefix and plain arithmetic. It
//! shares nothing with `reckon_core::rating` on purpose, to audit it.

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

/// `(billed quantity, cost)` of a measured quantity under a row, computed naively.
pub fn cost(row: &RateRow, quantity: Decimal) -> (Decimal, Decimal) {
    if quantity == Decimal::ZERO {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let mut billed = row.increments.first;
    while billed < quantity {
        billed += row.increments.next;
    }
    let mut amount = row.connect_fee + row.rate * billed / row.rate_unit;
    if amount < row.min_charge {
        amount = row.min_charge;
    }
    (billed, amount.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero))
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
