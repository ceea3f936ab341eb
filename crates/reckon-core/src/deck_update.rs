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

use crate::rate_deck::RateRow;
use crate::Service;
use jiff::{SignedDuration, Timestamp};
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
#[derive(Clone, Copy, Debug)]
pub struct UpdatePolicy {
    /// When the carrier issued the new deck: notice is counted from here.
    pub issued_at: Timestamp,
    /// Least notice an increase needs (contracts commonly say 7 days).
    pub notice_min: SignedDuration,
}

/// Something in an update a person should look at.
#[derive(Clone, Debug, PartialEq)]
pub enum DeckFlag {
    /// A price goes up with less notice than the contract requires.
    ShortNoticeIncrease { carrier: String, service: Service, prefix: String, notice_days: i64, notice_days_min: i64 },
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
            DeckFlag::ShortNoticeIncrease { carrier, service, prefix, notice_days, notice_days_min } => write!(
                f,
                "{carrier} {service} {prefix}: increase with {notice_days} days' notice, the contract requires {notice_days_min}"
            ),
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
        let at = new.effective_from;
        let in_force = rows[..rows_before].iter().position(|row| {
            same_price_point(row, new) && row.effective_from < at && row.effective_to.is_none_or(|to| at < to)
        });
        let actual = match in_force {
            None => ChangeKind::New,
            Some(_) if entry.change == ChangeKind::Closed => ChangeKind::Closed,
            Some(index) => compare(&rows[index], new),
        };
        if in_force.is_none() && entry.change != ChangeKind::New {
            flags.push(DeckFlag::NothingInForce {
                carrier: new.carrier.clone(),
                service: new.service,
                prefix: new.prefix.clone(),
                change: entry.change,
            });
        } else if actual != entry.change && entry.change != ChangeKind::Closed {
            flags.push(DeckFlag::IndicatorMismatch {
                carrier: new.carrier.clone(),
                service: new.service,
                prefix: new.prefix.clone(),
                said: entry.change,
                actual,
            });
        }
        if actual == ChangeKind::Increase {
            let notice = at.duration_since(policy.issued_at);
            if notice < policy.notice_min {
                flags.push(DeckFlag::ShortNoticeIncrease {
                    carrier: new.carrier.clone(),
                    service: new.service,
                    prefix: new.prefix.clone(),
                    notice_days: notice.as_secs().div_euclid(86_400),
                    notice_days_min: policy.notice_min.as_secs().div_euclid(86_400),
                });
            }
        }
        if actual == ChangeKind::Unchanged {
            continue; // The row in force already says this.
        }
        if let Some(index) = in_force {
            rows[index].effective_to = Some(at);
        }
        if entry.change != ChangeKind::Closed {
            rows.push(RateRow { effective_to: None, ..new.clone() });
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

/// What actually changed between the row in force and an entry. A higher rate, or the same rate
/// with higher fees or coarser increments, is an increase (it needs notice).
fn compare(old: &RateRow, new: &RateRow) -> ChangeKind {
    let costlier_terms = new.connect_fee > old.connect_fee
        || new.min_charge > old.min_charge
        || new.per_record_fee > old.per_record_fee
        || new.increments != old.increments;
    let same_terms = old.currency == new.currency
        && old.rate_unit == new.rate_unit
        && old.increments == new.increments
        && old.connect_fee == new.connect_fee
        && old.min_charge == new.min_charge
        && old.per_record_fee == new.per_record_fee
        && old.tiers == new.tiers;
    if new.rate > old.rate || (new.rate == old.rate && costlier_terms) {
        ChangeKind::Increase
    } else if new.rate == old.rate && same_terms {
        ChangeKind::Unchanged
    } else {
        ChangeKind::Decrease
    }
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
