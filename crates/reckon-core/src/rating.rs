//! Rating: what one usage record should cost under the carrier's contract
//! (FORMATS.md, "Rating one record").

use crate::money::round_cost;
use crate::rate_deck::{RateDeck, RateRow, RateRowIndex};
use crate::{Currency, UsageRecord};
use rust_decimal::Decimal;

/// The contracted price of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rating {
    /// The deck row that priced it.
    pub row: RateRowIndex,
    /// Quantity after increments (0 for a record of quantity 0).
    pub billed_quantity: Decimal,
    /// Cost rounded to 6 decimal places, half away from zero, in `currency`.
    pub cost: Decimal,
    /// The row's rate, per its `rate_unit`.
    pub rate: Decimal,
    pub currency: Currency,
}

/// Rates a usage record against a deck; `None` when no row applies (the record has no rate).
pub fn rate_record(rate_deck: &RateDeck, record: &UsageRecord) -> Option<Rating> {
    let row_index = rate_deck.lookup(
        &record.carrier,
        record.service,
        record.destination.digits(),
        record.started_at,
    )?;
    let row = rate_deck.row(row_index);
    let (billed_quantity, cost) = price(row, record.quantity);
    Some(Rating {
        row: row_index,
        billed_quantity,
        cost,
        rate: row.rate,
        currency: row.currency,
    })
}

/// Billed quantity and rounded cost of a measured quantity under one row.
///
/// # Properties
/// - a quantity of 0 costs 0: no connect fee, no minimum;
/// - otherwise the cost is at least `min_charge` and at least `connect_fee`;
/// - the cost never decreases as the quantity grows.
pub fn price(row: &RateRow, measured_quantity: Decimal) -> (Decimal, Decimal) {
    if measured_quantity.is_zero() {
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let billed_quantity = row.increments.billed_quantity(measured_quantity);
    // Multiply before dividing so that an exact result (0.0120 * 78 / 60) stays exact.
    let cost = row.connect_fee + row.rate * billed_quantity / row.rate_unit;
    let cost = cost.max(row.min_charge);
    (billed_quantity, round_cost(cost))
}

#[cfg(test)]
mod tests;
