//! Rating: what each usage record should cost under a contract (FORMATS.md, "Rating one
//! record"), extended with time bands, network rows, surcharges and volume tiers.
//!
//! Tiers make a record's price depend on the month's other records. To keep that independent
//! of the order records arrive in, tiered prices are settled per month: a *volume* tier prices
//! every unit at the tier the month's total reaches; a *graduated* tier places the records of
//! the month in canonical order (start, then record id) and prices each unit at the tier its
//! position falls in. The month's cumulative quantity is the billed quantity of every rated
//! record of the party and service in that UTC month, whichever row rated it.

use crate::money::{round, round_cost, rounded_quotient, RoundMode, COST_DECIMAL_PLACES};
use crate::network::NetworkMap;
use crate::period::Month;
use crate::rate_deck::{CostRounding, PriceTerms, RateDeck, RateQuery, RateRow, RateRowIndex, TierMode, Tiers};
use crate::{Currency, Increments, Service, UsageRecord};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::sync::Arc;

/// The contracted price of one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rating {
    /// The deck row that priced it.
    pub row: RateRowIndex,
    /// Quantity after increments (0 for a record of quantity 0).
    pub billed_quantity: Decimal,
    /// Cost rounded to 6 decimal places, half away from zero, in `currency`.
    pub cost: Decimal,
    /// The rate applied, per the row's `rate_unit` (for a graduated tier: the tier of the
    /// record's first unit).
    pub rate: Decimal,
    pub currency: Currency,
    /// How the carrier rounds the cost (the row's or its contract's rounding; `None`: 6 places,
    /// half away from zero), so that an amount converted into another currency is rounded the
    /// same way.
    pub rounding: Option<CostRounding>,
    /// The record's receipt proves it undelivered and its row bills on delivery: billed
    /// quantity and cost are 0, and a line charging for it is an `undelivered_charge`.
    pub undelivered: bool,
}

/// Whose prices a deck holds, which decides the party a record is looked up under.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Party {
    /// A carrier's rate deck: looked up by the record's carrier.
    Carrier,
    /// Customer price plans: looked up by the record's customer, then the default plan `*`.
    Customer,
}

/// Records looked up together before they are priced.
const LOOKUP_BATCH: usize = 16;

/// The party name of the default customer price plan.
pub const DEFAULT_PLAN: &str = "*";

/// Rates every record of a usage slice; `ratings[i]` rates `usage[i]`, `None` when no row
/// applies (or, for input no reader lets through, when the quantity is past
/// [`crate::bounds::check_quantity`]).
///
/// A message whose receipt proves it undelivered (failed, expired, rejected) under a row that
/// bills on delivery is expected at billed quantity and cost 0 ([`Rating::undelivered`]); it
/// adds nothing to a month's tiered volume either, since it is not billed.
///
/// # Properties
/// - the result does not depend on the order of `usage` (each record's rating is the same
///   wherever it stands);
/// - without tiers, each record's rating depends on that record and the deck alone;
/// - a record that is not [`Rating::undelivered`] is rated as if it had no status.
pub fn rate_all(deck: &RateDeck, usage: &[UsageRecord], party: Party, networks: &NetworkMap) -> Vec<Option<Rating>> {
    rate_all_traced(deck, usage, party, networks, &mut NoTrace)
}

/// [`rate_all`], telling `trace` each step as it prices (see [`RatingTrace`]): the one rating
/// code, observed. [`rate_all`] passes [`NoTrace`], whose empty steps compile away.
pub fn rate_all_traced(
    deck: &RateDeck,
    usage: &[UsageRecord],
    party: Party,
    networks: &NetworkMap,
    trace: &mut impl RatingTrace,
) -> Vec<Option<Rating>> {
    let mut ratings = Vec::new();
    rate_into(deck, usage, party, networks, trace, &mut ratings);
    ratings
}

/// [`rate_all`] into `ratings` (emptied first): a caller that rates part after part keeps one
/// vector instead of allocating, and having the system zero, a fresh one for each.
pub fn rate_all_into(
    deck: &RateDeck,
    usage: &[UsageRecord],
    party: Party,
    networks: &NetworkMap,
    ratings: &mut Vec<Option<Rating>>,
) {
    rate_into(deck, usage, party, networks, &mut NoTrace, ratings);
}

fn rate_into(
    deck: &RateDeck,
    usage: &[UsageRecord],
    party: Party,
    networks: &NetworkMap,
    trace: &mut impl RatingTrace,
    ratings: &mut Vec<Option<Rating>>,
) {
    ratings.clear();
    ratings.resize(usage.len(), None);
    // Look a batch of records up before pricing any: the lookups are independent, so their
    // memory reads overlap instead of waiting for each other (a large deck lives in the
    // processor's outer cache, not its first level). Records are looked up in the order of
    // their numbers, not the usage's: consecutive walks down a deck's prefix tree then share
    // their nodes, which a 10M-record month otherwise read from memory for every record.
    let mut rows = [None; LOOKUP_BATCH];
    for batch in lookup_order(usage).chunks(LOOKUP_BATCH) {
        for (slot, &index) in rows.iter_mut().zip(batch) {
            *slot = lookup(deck, &usage[index as usize], party, networks);
        }
        for (&index, found) in batch.iter().zip(&rows) {
            let index = index as usize;
            let record = &usage[index];
            trace.record(index);
            let Some((row_index, terms)) = *found else {
                trace.no_row();
                continue;
            };
            // Past the bounds a price could overflow. Every reader refuses such a quantity; a
            // caller that skipped the readers gets no rating rather than a panic.
            if crate::bounds::check_quantity(record.quantity).is_err() {
                trace.quantity_past_bounds();
                continue;
            }
            trace.row(row_index);
            let undelivered = !terms.rules.billed_on.unwrap_or_default().bills(record.status);
            let (billed_quantity, cost) = if undelivered {
                trace.undelivered();
                (Decimal::ZERO, Decimal::ZERO)
            } else {
                price_traced(&terms, record.quantity, trace)
            };
            // A blocked destination has no rate to bill at: a line's rate other than 0 disagrees.
            let rate = if terms.rules.blocked { Decimal::ZERO } else { terms.rate };
            let (currency, rounding) = (terms.currency, terms.rules.rounding);
            ratings[index] =
                Some(Rating { row: row_index, billed_quantity, cost, rate, currency, rounding, undelivered });
        }
    }
    if deck.has_tiers() {
        settle_tiers(deck, usage, party, ratings, trace);
    }
}

/// Fewer records than this are looked up in usage order.
const ORDERED_LOOKUP_MIN: usize = 64;

/// The order in which [`rate_all_traced`] looks records up: by carrier, service and destination
/// digits (the first 15, as nibbles), so that neighbours in the order walk the same branch of
/// the deck's prefix tree. Only the speed depends on it: a record's rating does not depend on
/// the others (without tiers; tiers are settled after, over the whole month).
fn lookup_order(usage: &[UsageRecord]) -> Vec<u32> {
    assert!(u32::try_from(usage.len()).is_ok(), "fewer than 2^32 records");
    if usage.len() <= ORDERED_LOOKUP_MIN {
        // A few records (an event, a batch of the service's) fit in cache in any order.
        return (0..usage.len() as u32).collect();
    }
    let digits_key = |digits: &str| {
        digits.bytes().take(15).enumerate().fold(0_u64, |key, (position, digit)| {
            // 0 marks "no digit": a number sorts before the longer ones it prefixes.
            key | (u64::from(digit.wrapping_sub(b'0') & 0x0f) + 1).min(15) << (56 - 4 * position)
        })
    };
    // Carriers by number, in order of first appearance (a month has a handful).
    let mut carriers: rustc_hash::FxHashMap<&str, u32> = rustc_hash::FxHashMap::default();
    let mut keys: Vec<(u32, u8, u64, u32)> = usage
        .iter()
        .enumerate()
        .map(|(index, record)| {
            let next = carriers.len() as u32;
            let carrier = *carriers.entry(&*record.carrier).or_insert(next);
            (carrier, record.service.index() as u8, digits_key(record.destination.digits()), index as u32)
        })
        .collect();
    keys.sort_unstable();
    keys.into_iter().map(|(.., index)| index).collect()
}

/// The steps of pricing, told as they happen, so that an explanation is built by the code that
/// rates and cannot drift from it ([`crate::explain`]). Every step does nothing by default.
///
/// Steps come per record: [`RatingTrace::record`] names the record the next steps are about
/// (once while each record is priced, and again when a month's tiers reprice it).
pub trait RatingTrace {
    /// Whether [`RatingTrace::cost`] hears anything. A trace that ignores the cost's steps
    /// lets the cost be found on integers where that gives the same digits
    /// ([`money::rounded_quotient`](crate::money::rounded_quotient)), skipping the steps.
    const HEARS_COST_STEPS: bool = true;

    /// The next steps are about `usage[record_index]`.
    #[inline(always)]
    fn record(&mut self, _record_index: usize) {}
    /// No row of the deck applies to the record.
    #[inline(always)]
    fn no_row(&mut self) {}
    /// The record's quantity is past [`crate::bounds::check_quantity`]: not rated.
    #[inline(always)]
    fn quantity_past_bounds(&mut self) {}
    /// The deck row that prices the record.
    #[inline(always)]
    fn row(&mut self, _row: RateRowIndex) {}
    /// The receipt proves the message undelivered and the row bills on delivery: quantity and
    /// cost 0.
    #[inline(always)]
    fn undelivered(&mut self) {}
    /// Nothing is billed: the measured quantity is 0, or the row is blocked.
    #[inline(always)]
    fn nothing_billed(&mut self, _blocked: bool) {}
    /// The increments turned the measured quantity into the billed one.
    #[inline(always)]
    fn billed_quantity(&mut self, _measured_quantity: Decimal, _increments: Increments, _billed_quantity: Decimal) {}
    /// The price of the billed units, before dividing by the rate unit.
    #[inline(always)]
    fn units_price(&mut self, _units: &UnitsPrice) {}
    /// Fees, minimum, cap and rounding around the units' price.
    #[inline(always)]
    fn cost(&mut self, _cost: &CostSteps) {}
    /// A month's tiers repriced the record.
    #[inline(always)]
    fn tier(&mut self, _tier: &TierStep) {}
    /// The cost was converted into an invoice's currency.
    #[inline(always)]
    fn conversion(&mut self, _conversion: &ConversionStep) {}
}

/// The trace of the hot path: every step does nothing.
pub struct NoTrace;

impl RatingTrace for NoTrace {
    const HEARS_COST_STEPS: bool = false;
}

/// How the billed units were priced.
#[derive(Clone, Copy, Debug)]
pub struct UnitsPrice {
    /// `(first_rate, units)` of a row that prices its first block apart.
    pub first_block: Option<(Decimal, Decimal)>,
    /// The rate of the other units, and how many there are.
    pub rate: Decimal,
    pub units: Decimal,
    /// `rate * units` (plus the first block's price).
    pub units_price: Decimal,
}

/// Each step from a units' price to a record's cost, as [`RatingTrace::cost`] tells them.
#[derive(Clone, Copy, Debug)]
pub struct CostSteps {
    pub units_price: Decimal,
    pub rate_unit: Decimal,
    pub connect_fee: Decimal,
    /// `connect_fee + units_price / rate_unit`.
    pub before_minimum: Decimal,
    pub min_charge: Decimal,
    pub per_record_fee: Decimal,
    /// `max(before_minimum, min_charge) + per_record_fee`.
    pub with_fees: Decimal,
    pub max_cost: Option<Decimal>,
    /// The cost before rounding (capped by `max_cost`).
    pub unrounded: Decimal,
    /// `None`: 6 places, half away from zero.
    pub rounding: Option<CostRounding>,
    pub cost: Decimal,
}

/// How a month's tiers priced a record.
#[derive(Clone, Copy, Debug)]
pub struct TierStep {
    pub mode: TierMode,
    /// The billed quantity of the month's records of the party and service.
    pub month_quantity: Decimal,
    /// The month's quantity before and after this record (canonical order).
    pub position_before: Decimal,
    pub position_after: Decimal,
    /// The tier rate (for a graduated tier: the tier of the record's first unit).
    pub rate: Decimal,
    pub units_price: Decimal,
}

/// How a cost reached an invoice's currency, or why it could not.
#[derive(Clone, Copy, Debug)]
pub struct ConversionStep {
    pub cost: Decimal,
    pub from: Currency,
    pub to: Currency,
    pub policy: crate::contract::FxPolicy,
    /// The contract forbids billing in another currency than the deck's: not converted.
    pub deck_currency_only: bool,
    /// The date whose rates converted it (for [`crate::contract::FxPolicy::Fixed`]: `None`).
    pub date: Option<jiff::civil::Date>,
    /// The exact conversion, and the expected amount after rounding; `None`: not converted.
    pub converted: Option<Decimal>,
    pub rounding: Option<CostRounding>,
    pub expected: Option<Decimal>,
}

/// Rates one record as if it were alone in its month (tiers then price it from the first unit).
pub fn rate_record(deck: &RateDeck, record: &UsageRecord) -> Option<Rating> {
    rate_all(deck, std::slice::from_ref(record), Party::Carrier, &NetworkMap::new())[0]
}

fn lookup(
    deck: &RateDeck,
    record: &UsageRecord,
    party: Party,
    networks: &NetworkMap,
) -> Option<(RateRowIndex, PriceTerms)> {
    let network = record.network.as_ref().or_else(|| networks.network_of(&record.destination));
    let query = |party_name: &str| {
        deck.lookup_terms(&RateQuery {
            party: party_name,
            service: record.service,
            digits: record.destination.digits(),
            origin: record.origin.as_ref().map(|origin| origin.digits()),
            network: network.map(|network| network.as_str()),
            at: record.started_at,
        })
    };
    match party {
        Party::Carrier => query(&record.carrier),
        Party::Customer => record.customer.as_deref().and_then(&query).or_else(|| query(DEFAULT_PLAN)),
    }
}

/// Billed quantity and rounded cost of a measured quantity under an untiered row (a tiered row
/// is priced at its first tier).
///
/// # Properties
/// - a quantity of 0 costs 0: no connect fee, no minimum, no surcharge;
/// - a blocked row bills nothing: billed quantity and cost 0 whatever the quantity;
/// - otherwise the cost is at least `min_charge` and at least `connect_fee`, and at most
///   `max_cost` (before rounding);
/// - the cost never decreases as the quantity grows.
pub fn price(row: &RateRow, measured_quantity: Decimal) -> (Decimal, Decimal) {
    price_with(&PriceTerms::of(row), measured_quantity)
}

/// [`price`] from a row's terms.
pub fn price_with(terms: &PriceTerms, measured_quantity: Decimal) -> (Decimal, Decimal) {
    price_traced(terms, measured_quantity, &mut NoTrace)
}

/// [`price_with`], telling `trace` its steps.
fn price_traced(terms: &PriceTerms, measured_quantity: Decimal, trace: &mut impl RatingTrace) -> (Decimal, Decimal) {
    if measured_quantity.is_zero() || terms.rules.blocked {
        trace.nothing_billed(terms.rules.blocked);
        return (Decimal::ZERO, Decimal::ZERO);
    }
    let billed_quantity = terms.increments.billed_quantity(measured_quantity);
    trace.billed_quantity(measured_quantity, terms.increments, billed_quantity);
    // Multiply before dividing so that an exact result (0.0120 * 78 / 60) stays exact.
    let units_price = match terms.rules.first_rate {
        // Carriers that price the first interval apart (a first minute at one price, then per
        // second) bill the first block `A` at `first_rate` and the rest at `rate`.
        Some(first_rate) => {
            let first_units = terms.increments.first.min(billed_quantity);
            let units = billed_quantity - first_units;
            let units_price = first_rate * first_units + terms.rate * units;
            let first_block = Some((first_rate, first_units));
            trace.units_price(&UnitsPrice { first_block, rate: terms.rate, units, units_price });
            units_price
        }
        None => {
            let units_price = terms.rate * billed_quantity;
            trace.units_price(&UnitsPrice { first_block: None, rate: terms.rate, units: billed_quantity, units_price });
            units_price
        }
    };
    (billed_quantity, finish_cost(terms, units_price, trace))
}

/// Connect fee, minimum, surcharge and cap around the units' price (`rate * units`, before
/// dividing by the rate unit), rounded once: the carrier's way when the row says how, else to
/// 6 places half away from zero.
fn finish_cost<T: RatingTrace>(row: &PriceTerms, units_price: Decimal, trace: &mut T) -> Decimal {
    if !T::HEARS_COST_STEPS {
        if let Some(cost) = cost_on_integers(row, units_price) {
            return cost;
        }
    }
    let before_minimum = row.connect_fee + units_price / row.rate_unit;
    let with_fees = before_minimum.max(row.min_charge) + row.per_record_fee;
    // The cap bounds what the call costs in all, fees included, before rounding.
    let unrounded = row.rules.max_cost.map_or(with_fees, |max_cost| with_fees.min(max_cost));
    let cost = match row.rules.rounding {
        Some(rounding) => round(unrounded, rounding.decimal_places, rounding.mode),
        None => round_cost(unrounded),
    };
    trace.cost(&CostSteps {
        units_price,
        rate_unit: row.rate_unit,
        connect_fee: row.connect_fee,
        before_minimum,
        min_charge: row.min_charge,
        per_record_fee: row.per_record_fee,
        with_fees,
        max_cost: row.rules.max_cost,
        unrounded,
        rounding: row.rules.rounding,
        cost,
    });
    cost
}

/// [`finish_cost`]'s cost of the common row (no connect fee, no surcharge, no cap), computed
/// on integers: `None` where the row has any of those, the minimum is within a unit of the
/// last place of the cost, or [`rounded_quotient`] leaves the digits to `Decimal` arithmetic.
fn cost_on_integers(row: &PriceTerms, units_price: Decimal) -> Option<Decimal> {
    if !row.connect_fee.is_zero() || !row.per_record_fee.is_zero() || row.rules.max_cost.is_some() {
        return None;
    }
    let (places, mode) = row.rules.rounding.map_or((COST_DECIMAL_PLACES, RoundMode::HalfAwayFromZero), |rounding| {
        (rounding.decimal_places, rounding.mode)
    });
    let cost = rounded_quotient(units_price, Decimal::ONE, row.rate_unit, places, mode)?;
    // A cost a whole unit of its last place above the minimum comes from a quotient above it:
    // the minimum does not apply.
    (cost >= row.min_charge.checked_add(Decimal::new(1, places))?).then_some(cost)
}

/// A month's cumulative quantity is kept per party, service and month: per carrier for costs;
/// for prices per plan and customer, so that customers on the default plan (`*`) each count
/// their own traffic (one customer's volume never moves another's price).
type TierGroup = (Arc<str>, Option<Arc<str>>, Service, Month);

fn party_of(record: &UsageRecord, party: Party, deck: &RateDeck, rating: &Rating) -> (Arc<str>, Option<Arc<str>>) {
    match party {
        Party::Carrier => (record.carrier.clone(), None),
        Party::Customer => (Arc::from(deck.row(rating.row).carrier.as_str()), record.customer.clone()),
    }
}

/// Reprices the tiered records once the month's quantities are known.
fn settle_tiers(
    deck: &RateDeck,
    usage: &[UsageRecord],
    party: Party,
    ratings: &mut [Option<Rating>],
    trace: &mut impl RatingTrace,
) {
    let mut groups: HashMap<TierGroup, Vec<usize>> = HashMap::new();
    for (index, rating) in ratings.iter().enumerate() {
        if let Some(rating) = rating {
            let record = &usage[index];
            let (plan, customer) = party_of(record, party, deck, rating);
            let key = (plan, customer, record.service, Month::of(record.started_at));
            groups.entry(key).or_default().push(index);
        }
    }
    for mut members in groups.into_values() {
        let any_tiered =
            members.iter().any(|index| ratings[*index].is_some_and(|rating| deck.row(rating.row).tiers.is_some()));
        if !any_tiered {
            continue;
        }
        // Canonical order: arrival order never changes a price.
        members.sort_by(|a, b| {
            (usage[*a].started_at, &usage[*a].record_id).cmp(&(usage[*b].started_at, &usage[*b].record_id))
        });
        // Saturating: the month's quantity reaches Decimal's largest value only past about 4 × 10^16
        // records of the largest quantity, and a saturated total still picks the right tier.
        let total = members.iter().fold(Decimal::ZERO, |total, index| {
            total.saturating_add(ratings[*index].map_or(Decimal::ZERO, |rating| rating.billed_quantity))
        });
        let mut position = Decimal::ZERO;
        for index in members {
            let Some(rating) = ratings[index].as_mut() else { continue };
            let row = deck.row(rating.row);
            let before = position;
            position = position.saturating_add(rating.billed_quantity);
            let Some(tiers) = &row.tiers else { continue };
            if rating.billed_quantity.is_zero() {
                continue;
            }
            let (units_price, rate) = match tiers.mode {
                TierMode::Volume => {
                    let rate = tier_rate_above(tiers, total);
                    (rate * rating.billed_quantity, rate)
                }
                TierMode::Graduated => {
                    (graduated_units_price(tiers, before, position), tier_rate_of_unit_after(tiers, before))
                }
            };
            trace.record(index);
            let position_before = before;
            let position_after = position;
            let month_quantity = total;
            trace.tier(&TierStep {
                mode: tiers.mode,
                month_quantity,
                position_before,
                position_after,
                rate,
                units_price,
            });
            rating.cost = finish_cost(&PriceTerms::of(row), units_price, trace);
            rating.rate = rate;
        }
    }
}

/// The rate of the tier a cumulative quantity has passed into: the last tier whose `from` is
/// below it (the first tier for 0).
fn tier_rate_above(tiers: &Tiers, cumulative: Decimal) -> Decimal {
    tiers
        .steps
        .iter()
        .rev()
        .find(|(from, _)| *from < cumulative || from.is_zero())
        .map_or(tiers.steps[0].1, |(_, rate)| *rate)
}

/// The rate of the tier the first unit after a cumulative quantity falls in: the last tier whose
/// `from` is at or below it.
fn tier_rate_of_unit_after(tiers: &Tiers, cumulative: Decimal) -> Decimal {
    tiers.steps.iter().rev().find(|(from, _)| *from <= cumulative).map_or(tiers.steps[0].1, |(_, rate)| *rate)
}

/// `rate * units` summed over the tiers that the units `(start, end]` fall in.
fn graduated_units_price(tiers: &Tiers, start: Decimal, end: Decimal) -> Decimal {
    let mut units_price = Decimal::ZERO;
    for (step_index, (from, rate)) in tiers.steps.iter().enumerate() {
        let until = tiers.steps.get(step_index + 1).map(|(next_from, _)| *next_from);
        let low = start.max(*from);
        let high = until.map_or(end, |until| end.min(until));
        if high > low {
            units_price += *rate * (high - low);
        }
    }
    units_price
}

#[cfg(test)]
mod tests;
