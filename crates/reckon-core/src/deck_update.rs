//! Rate deck versions: applying a carrier's new A-Z deck, with its change indicators, to the
//! effective-dated rows we hold.
//!
//! Each entry of the new deck names a prefix, its price from `effective_from` on, and what the
//! carrier says changed (`new`, `increase`, `decrease`, `unchanged`, `closed`). Applying it
//! ends the row in force at that instant (its `effective_to` becomes the entry's
//! `effective_from`) and starts the new one; a `closed` prefix only ends. Nothing is edited in
//! the past: rows that ended before the entry keep their history. What deserves a person's
//! attention is returned as [`DeckFlag`]s, above all a price increase with less notice than the
//! contract's notice period.

use crate::increments::Increments;
use crate::money::{RoundMode, COST_DECIMAL_PLACES};
use crate::rate_deck::Tiers;
use crate::rate_deck::{CostRounding, RateRow};
use crate::Service;
use jiff::{SignedDuration, Timestamp};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::fmt;

/// What the carrier says an entry changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChangeKind {
    New,
    Increase,
    Decrease,
    Unchanged,
    Closed,
}

impl ChangeKind {
    /// Parses an indicator, case-insensitively (`I`, `D`, `N`, `U`, `C` are accepted too).
    pub fn parse(text: &str) -> Option<ChangeKind> {
        match text.trim().to_ascii_lowercase().as_str() {
            "new" | "n" => Some(ChangeKind::New),
            "increase" | "i" => Some(ChangeKind::Increase),
            "decrease" | "d" => Some(ChangeKind::Decrease),
            "unchanged" | "u" | "same" => Some(ChangeKind::Unchanged),
            "closed" | "c" | "delete" => Some(ChangeKind::Closed),
            _ => None,
        }
    }
}

/// One entry of a new deck.
#[derive(Clone, Debug, PartialEq)]
pub struct DeckEntry {
    /// The price from `row.effective_from` on (its `effective_to` is ignored).
    pub row: RateRow,
    pub change: ChangeKind,
}

/// The contract terms an update is checked against.
#[derive(Clone, Debug)]
pub struct UpdatePolicy {
    /// When the carrier issued the new deck: notice is counted from here.
    pub issued_at: Timestamp,
    /// Least notice an increase or a currency change needs (contracts commonly say 7 days).
    pub notice_min: SignedDuration,
    /// Per carrier, a notice period that replaces `notice_min` (contracts.csv `notice_days`).
    pub notice_min_by_carrier: HashMap<String, SignedDuration>,
    /// A change that needs notice and comes with too little takes effect only when the notice is
    /// met (`issued_at + notice`), instead of on the carrier's date; it is flagged either way.
    pub defer_short_notice: bool,
    /// Per carrier, the contract's rounding (contracts.csv `rounding_decimals`), which its rows
    /// without their own round by: a row that starts or stops rounding its own way is judged
    /// against it.
    pub rounding_by_carrier: HashMap<String, CostRounding>,
}

impl UpdatePolicy {
    /// The notice a carrier's increases need.
    pub fn notice_min_of(&self, carrier: &str) -> SignedDuration {
        self.notice_min_by_carrier.get(carrier).copied().unwrap_or(self.notice_min)
    }
}

/// Something in an update a person should look at.
#[derive(Clone, Debug, PartialEq)]
pub enum DeckFlag {
    /// A price goes up (some call or message could cost more) with less notice than the contract
    /// requires; `deferred_to` is when it takes effect instead, under `defer_short_notice`.
    ShortNoticeIncrease {
        carrier: String,
        service: Service,
        prefix: String,
        notice_days: i64,
        notice_days_min: i64,
        deferred_to: Option<Timestamp>,
    },
    /// The row's currency changes (always needs notice) with less notice than the contract requires.
    ShortNoticeCurrencyChange {
        carrier: String,
        service: Service,
        prefix: String,
        from: crate::Currency,
        to: crate::Currency,
        notice_days: i64,
        notice_days_min: i64,
        deferred_to: Option<Timestamp>,
    },
    /// The indicator disagrees with the prices (say `decrease` for a higher rate).
    IndicatorMismatch { carrier: String, service: Service, prefix: String, said: ChangeKind, actual: ChangeKind },
    /// `closed` (or a change) for a prefix that has no row in force.
    NothingInForce { carrier: String, service: Service, prefix: String, change: ChangeKind },
    /// A prefix in force today that the new A-Z deck does not mention (it stays as it is).
    MissingFromDeck { carrier: String, service: Service, prefix: String },
}

impl fmt::Display for DeckFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeckFlag::ShortNoticeIncrease { carrier, service, prefix, notice_days, notice_days_min, deferred_to } => {
                write!(
                    f,
                    "{carrier} {service} {prefix}: increase with {notice_days} days' notice, the contract requires {notice_days_min}"
                )?;
                write_deferral(f, *deferred_to)
            }
            DeckFlag::ShortNoticeCurrencyChange {
                carrier,
                service,
                prefix,
                from,
                to,
                notice_days,
                notice_days_min,
                deferred_to,
            } => {
                write!(
                    f,
                    "{carrier} {service} {prefix}: currency changes from {from} to {to} with {notice_days} days' notice, the contract requires {notice_days_min}"
                )?;
                write_deferral(f, *deferred_to)
            }
            DeckFlag::IndicatorMismatch { carrier, service, prefix, said, actual } => {
                write!(f, "{carrier} {service} {prefix}: marked {said:?} but the price change is {actual:?}")
            }
            DeckFlag::NothingInForce { carrier, service, prefix, change } => {
                write!(f, "{carrier} {service} {prefix}: {change:?} but no row is in force then")
            }
            DeckFlag::MissingFromDeck { carrier, service, prefix } => {
                write!(f, "{carrier} {service} {prefix}: in force but absent from the new deck (left unchanged)")
            }
        }
    }
}

fn write_deferral(f: &mut fmt::Formatter<'_>, deferred_to: Option<Timestamp>) -> fmt::Result {
    match deferred_to {
        Some(at) => write!(f, " (deferred to {at})"),
        None => Ok(()),
    }
}

/// The rows after an update, and what to look at.
#[derive(Clone, Debug, PartialEq)]
pub struct DeckUpdate {
    pub rows: Vec<RateRow>,
    pub flags: Vec<DeckFlag>,
}

/// Applies a new deck's entries to the current rows.
///
/// # Properties
/// - a row that ended before an entry's `effective_from` is never changed;
/// - after the update, at most one row per carrier, service and prefix (without conditions) is
///   open-ended.
pub fn apply_deck(current: Vec<RateRow>, entries: &[DeckEntry], policy: &UpdatePolicy) -> DeckUpdate {
    let mut rows = current;
    let mut flags = Vec::new();
    let rows_before = rows.len();
    for entry in entries {
        let new = &entry.row;
        let mut at = new.effective_from;
        let in_force = rows[..rows_before].iter().position(|row| {
            same_price_point(row, new) && row.effective_from < at && row.effective_to.is_none_or(|to| at < to)
        });
        let (actual, currency_change) = match in_force {
            None => (ChangeKind::New, false),
            Some(_) if entry.change == ChangeKind::Closed => (ChangeKind::Closed, false),
            Some(index) => {
                let contract_rounding = policy.rounding_by_carrier.get(&new.carrier).copied();
                (compare(&rows[index], new, contract_rounding), rows[index].currency != new.currency)
            }
        };
        if in_force.is_none() && entry.change != ChangeKind::New {
            flags.push(DeckFlag::NothingInForce {
                carrier: new.carrier.clone(),
                service: new.service,
                prefix: new.prefix.clone(),
                change: entry.change,
            });
        } else if actual != entry.change && entry.change != ChangeKind::Closed && !currency_change {
            // Prices in two currencies cannot be ranked: a currency change needs notice whatever
            // the indicator says, and is flagged below when it lacks it.
            flags.push(DeckFlag::IndicatorMismatch {
                carrier: new.carrier.clone(),
                service: new.service,
                prefix: new.prefix.clone(),
                said: entry.change,
                actual,
            });
        }
        if actual == ChangeKind::Increase || currency_change {
            let notice = at.duration_since(policy.issued_at);
            let notice_min = policy.notice_min_of(&new.carrier);
            if notice < notice_min {
                let deferred_to =
                    policy.defer_short_notice.then(|| policy.issued_at.checked_add(notice_min).ok()).flatten();
                if let Some(deferred) = deferred_to {
                    at = deferred;
                }
                let (notice_days, notice_days_min) = (whole_days(notice), whole_days(notice_min));
                let (carrier, service, prefix) = (new.carrier.clone(), new.service, new.prefix.clone());
                flags.push(if currency_change {
                    let from = in_force.map_or(new.currency, |index| rows[index].currency);
                    DeckFlag::ShortNoticeCurrencyChange {
                        carrier,
                        service,
                        prefix,
                        from,
                        to: new.currency,
                        notice_days,
                        notice_days_min,
                        deferred_to,
                    }
                } else {
                    DeckFlag::ShortNoticeIncrease {
                        carrier,
                        service,
                        prefix,
                        notice_days,
                        notice_days_min,
                        deferred_to,
                    }
                });
            }
        }
        if actual == ChangeKind::Unchanged && !currency_change {
            continue; // The row in force already says this.
        }
        if let Some(index) = in_force {
            rows[index].effective_to = Some(at);
        }
        if entry.change != ChangeKind::Closed {
            rows.push(RateRow { effective_from: at, effective_to: None, ..new.clone() });
        }
    }
    flag_missing(&rows[..rows_before], entries, &mut flags);
    DeckUpdate { rows, flags }
}

fn same_price_point(row: &RateRow, new: &RateRow) -> bool {
    row.carrier == new.carrier
        && row.service == new.service
        && row.prefix == new.prefix
        && row.conditions == new.conditions
}

/// What actually changed between the row in force and an entry: an increase when some call or
/// message could cost more under the new row (even if other terms got cheaper), a decrease when
/// none could cost more and some could cost less, else unchanged. A currency change is not
/// ranked here (the caller treats it as needing notice). `contract_rounding` rounds the rows that
/// do not say how.
fn compare(old: &RateRow, new: &RateRow, contract_rounding: Option<CostRounding>) -> ChangeKind {
    // A blocked row bills nothing, whatever its other terms: against it a billable row is
    // dearer, and a row newly blocked is cheaper than anything it replaces.
    match (old.rules.blocked, new.rules.blocked) {
        (true, true) => return ChangeKind::Unchanged,
        (true, false) => return ChangeKind::Increase,
        (false, true) => return ChangeKind::Decrease,
        (false, false) => {}
    }
    let mut terms = TermChanges::default();
    terms.note(rate_per_base_unit_order(old, new));
    terms.note(price_order(first_interval_rate(old), old.rate_unit, first_interval_rate(new), new.rate_unit));
    terms.note(cap_order(old.rules.max_cost, new.rules.max_cost));
    let (dearer, cheaper) =
        compare_rounding(old.rules.rounding.or(contract_rounding), new.rules.rounding.or(contract_rounding));
    terms.dearer |= dearer;
    terms.cheaper |= cheaper;
    terms.note(new.connect_fee.cmp(&old.connect_fee));
    terms.note(new.min_charge.cmp(&old.min_charge));
    terms.note(new.per_record_fee.cmp(&old.per_record_fee));
    terms.dearer |= !bills_at_most(new.increments, old.increments);
    terms.cheaper |= !bills_at_most(old.increments, new.increments);
    if old.tiers != new.tiers {
        let (dearer, cheaper) = compare_tiers(old, new);
        terms.dearer |= dearer;
        terms.cheaper |= cheaper;
    }
    if terms.dearer {
        ChangeKind::Increase
    } else if terms.cheaper {
        ChangeKind::Decrease
    } else {
        ChangeKind::Unchanged
    }
}

/// Whether any term of a new row is dearer, and whether any is cheaper, than the old row's.
#[derive(Default)]
struct TermChanges {
    dearer: bool,
    cheaper: bool,
}

impl TermChanges {
    fn note(&mut self, new_against_old: std::cmp::Ordering) {
        self.dearer |= new_against_old.is_gt();
        self.cheaper |= new_against_old.is_lt();
    }
}

/// `new.rate / new.rate_unit` against `old.rate / old.rate_unit`, by cross-multiplying so that
/// no division rounds (0.012 per 60 s and 0.0002 per 1 s are the same price).
fn rate_per_base_unit_order(old: &RateRow, new: &RateRow) -> std::cmp::Ordering {
    price_order(old.rate, old.rate_unit, new.rate, new.rate_unit)
}

fn price_order(old_rate: Decimal, old_unit: Decimal, new_rate: Decimal, new_unit: Decimal) -> std::cmp::Ordering {
    match (new_rate.checked_mul(old_unit), old_rate.checked_mul(new_unit)) {
        (Some(new_scaled), Some(old_scaled)) => new_scaled.cmp(&old_scaled),
        // Past Decimal's range (bounded inputs never get here): compare the quotients.
        _ => (new_rate / new_unit).cmp(&(old_rate / old_unit)),
    }
}

/// The price per `rate_unit` of a row's first increment: its `first_rate`, else its `rate` (with
/// no first increment, `0/B`, a `first_rate` prices nothing).
fn first_interval_rate(row: &RateRow) -> Decimal {
    row.rules.first_rate.filter(|_| row.increments.first > Decimal::ZERO).unwrap_or(row.rate)
}

/// A new `max_cost` against the old, as a price: no cap is the dearest. A cap raised or taken
/// away lets a long call cost more; a cap lowered or added can only make calls cheaper.
fn cap_order(old: Option<Decimal>, new: Option<Decimal>) -> std::cmp::Ordering {
    match (old, new) {
        (None, None) => std::cmp::Ordering::Equal,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(old_cap), Some(new_cap)) => new_cap.cmp(&old_cap),
    }
}

/// Whether the new rounding makes some cost dearer, and whether it makes some cost cheaper, than
/// the old (`None`: 6 places half away from zero). Costs are
/// never negative, and decimal grids nest (every 4-place amount is a 6-place amount), so:
/// - on one grid the modes are ordered, `down` < `half_even` < `half_up` < `up`, each below the
///   next for some cost (0.6, 0.5 and 0.1 of a place);
/// - a coarser grid rounding `down` never rounds above the finer one (0.000049 to 4 places
///   down is 0, to 6 places 0.000049: only cheaper), rounding `up` never below (only dearer),
///   and a half mode goes both ways (to 4 places half up, 0.00005 becomes 0.0001, dearer, and
///   0.000049 becomes 0, cheaper);
/// - a finer grid is the same comparison the other way round.
fn compare_rounding(old: Option<CostRounding>, new: Option<CostRounding>) -> (bool, bool) {
    let effective = |rounding: Option<CostRounding>| {
        rounding.unwrap_or(CostRounding { decimal_places: COST_DECIMAL_PLACES, mode: RoundMode::HalfAwayFromZero })
    };
    let (old, new) = (effective(old), effective(new));
    // (dearer, cheaper) of a coarser grid against a finer one, by the coarser grid's mode.
    let coarser = |mode: RoundMode| match mode {
        RoundMode::Down => (false, true),
        RoundMode::Up => (true, false),
        RoundMode::HalfAwayFromZero | RoundMode::HalfEven => (true, true),
    };
    match new.decimal_places.cmp(&old.decimal_places) {
        std::cmp::Ordering::Equal => {
            let order = mode_rank(new.mode).cmp(&mode_rank(old.mode));
            (order.is_gt(), order.is_lt())
        }
        std::cmp::Ordering::Less => coarser(new.mode),
        std::cmp::Ordering::Greater => {
            let (old_dearer, old_cheaper) = coarser(old.mode);
            (old_cheaper, old_dearer)
        }
    }
}

/// Rounding modes on one grid, from the one that rounds a cost lowest to the highest.
fn mode_rank(mode: RoundMode) -> u8 {
    match mode {
        RoundMode::Down => 0,
        RoundMode::HalfEven => 1,
        RoundMode::HalfAwayFromZero => 2,
        RoundMode::Up => 3,
    }
}

/// Whether `candidate` increments never bill more than `reference` for any quantity: every
/// billing boundary of `reference` (`first + k * next`, above 0) is also one of `candidate`'s.
/// 60/60 → 1/1 is finer (cheaper); 60/6 → 60/4 is not (a 66 s call bills 68 s instead of 66 s).
fn bills_at_most(candidate: Increments, reference: Increments) -> bool {
    let first_boundary = if reference.first > Decimal::ZERO { reference.first } else { reference.next };
    let is_candidate_boundary = |boundary: Decimal| {
        if candidate.first > Decimal::ZERO && boundary == candidate.first {
            return true;
        }
        boundary > candidate.first
            && (boundary - candidate.first).checked_rem(candidate.next).is_some_and(|rest| rest.is_zero())
    };
    is_candidate_boundary(first_boundary)
        && reference.next.checked_rem(candidate.next).is_some_and(|rest| rest.is_zero())
}

/// Tier prices compared at every tier start of either row (per base unit); a change of tier mode
/// (graduated against volume) can go either way, so it counts as both dearer and cheaper.
fn compare_tiers(old: &RateRow, new: &RateRow) -> (bool, bool) {
    let steps = |row: &RateRow| -> Vec<(Decimal, Decimal)> {
        row.tiers.as_ref().map_or_else(|| vec![(Decimal::ZERO, row.rate)], |tiers: &Tiers| tiers.steps.clone())
    };
    let mode = |row: &RateRow| row.tiers.as_ref().map(|tiers| tiers.mode);
    let (old_steps, new_steps) = (steps(old), steps(new));
    let price_at = |steps: &[(Decimal, Decimal)], quantity: Decimal| {
        steps.iter().take_while(|(from, _)| *from <= quantity).last().map_or(Decimal::ZERO, |(_, rate)| *rate)
    };
    let mut terms = TermChanges::default();
    if mode(old).is_some() && mode(new).is_some() && mode(old) != mode(new) {
        return (true, true);
    }
    for quantity in old_steps.iter().chain(&new_steps).map(|(from, _)| *from) {
        terms.note(price_order(
            price_at(&old_steps, quantity),
            old.rate_unit,
            price_at(&new_steps, quantity),
            new.rate_unit,
        ));
    }
    (terms.dearer, terms.cheaper)
}

fn whole_days(duration: SignedDuration) -> i64 {
    duration.as_secs().div_euclid(86_400)
}

fn flag_missing(current: &[RateRow], entries: &[DeckEntry], flags: &mut Vec<DeckFlag>) {
    let Some(first_at) = entries.iter().map(|entry| entry.row.effective_from).min() else {
        return;
    };
    let carriers: Vec<(&str, Service)> =
        entries.iter().map(|entry| (entry.row.carrier.as_str(), entry.row.service)).collect();
    for row in current {
        let open_then = row.effective_to.is_none_or(|to| first_at < to);
        let covered = carriers.contains(&(row.carrier.as_str(), row.service));
        if open_then && covered && !entries.iter().any(|entry| same_price_point(row, &entry.row)) {
            flags.push(DeckFlag::MissingFromDeck {
                carrier: row.carrier.clone(),
                service: row.service,
                prefix: row.prefix.clone(),
            });
        }
    }
}

#[cfg(test)]
mod tests;
