//! Deck updates: hand-checked effective-dated rows, a closed prefix that stops applying, and the
//! notice check on increases.

use super::*;
use crate::rate_deck::{RateDeck, RateQuery};
use crate::{Currency, Decimal, Increments};
use std::str::FromStr;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn row(prefix: &str, rate: &str, from: &str) -> RateRow {
    RateRow {
        carrier: "acme".into(),
        service: Service::Voice,
        prefix: prefix.into(),
        destination_name: None,
        rate: Decimal::from_str(rate).unwrap(),
        currency: Currency::parse("USD").unwrap(),
        rate_unit: Decimal::from(60),
        increments: Increments::PER_UNIT,
        connect_fee: Decimal::ZERO,
        min_charge: Decimal::ZERO,
        per_record_fee: Decimal::ZERO,
        conditions: Default::default(),
        tiers: None,
        effective_from: ts(from),
        effective_to: None,
    }
}

fn entry(prefix: &str, rate: &str, from: &str, change: ChangeKind) -> DeckEntry {
    DeckEntry { row: row(prefix, rate, from), change }
}

fn policy() -> UpdatePolicy {
    UpdatePolicy { issued_at: ts("2026-03-01T00:00:00Z"), notice_min: SignedDuration::from_hours(7 * 24) }
}

fn rate_at(rows: &[RateRow], digits: &str, at: &str) -> Option<Decimal> {
    let mut deck = RateDeck::new();
    for row in rows {
        deck.insert(row.clone()).unwrap();
    }
    let query = RateQuery { party: "acme", service: Service::Voice, digits, origin: None, network: None, at: ts(at) };
    deck.lookup(&query).map(|index| deck.row(index).rate)
}

#[test]
fn changes_become_effective_dated_rows() {
    let current = vec![
        row("44", "0.0100", "2026-01-01T00:00:00Z"),
        row("447", "0.0400", "2026-01-01T00:00:00Z"),
        row("33", "0.0200", "2026-01-01T00:00:00Z"),
    ];
    let entries = [
        entry("44", "0.0100", "2026-03-15T00:00:00Z", ChangeKind::Unchanged),
        entry("447", "0.0450", "2026-03-15T00:00:00Z", ChangeKind::Increase),
        entry("33", "0.0200", "2026-03-15T00:00:00Z", ChangeKind::Closed),
        entry("49", "0.0300", "2026-03-15T00:00:00Z", ChangeKind::New),
    ];
    let update = apply_deck(current, &entries, &policy());
    assert_eq!(update.flags, []);
    // 447: 0.04 until the 15th (exclusive), 0.045 from then on.
    assert_eq!(rate_at(&update.rows, "447911", "2026-03-14T23:59:59Z"), Some(Decimal::from_str("0.04").unwrap()));
    assert_eq!(rate_at(&update.rows, "447911", "2026-03-15T00:00:00Z"), Some(Decimal::from_str("0.045").unwrap()));
    // 33 closed: priced before, no rate from the 15th.
    assert_eq!(rate_at(&update.rows, "331", "2026-03-14T00:00:00Z"), Some(Decimal::from_str("0.02").unwrap()));
    assert_eq!(rate_at(&update.rows, "331", "2026-03-15T00:00:00Z"), None);
    // 49 new from the 15th; 44 unchanged keeps its one row.
    assert_eq!(rate_at(&update.rows, "491", "2026-03-15T00:00:00Z"), Some(Decimal::from_str("0.03").unwrap()));
    assert_eq!(update.rows.iter().filter(|row| row.prefix == "44").count(), 1);
    assert_eq!(update.rows.len(), 5); // 44, 447 (ended), 33 (ended), 447 new, 49
}

#[test]
fn an_increase_with_short_notice_is_flagged() {
    let current = vec![row("447", "0.0400", "2026-01-01T00:00:00Z")];
    // Issued March 1st, effective March 5th: 4 days' notice against 7.
    let entries = [entry("447", "0.0450", "2026-03-05T00:00:00Z", ChangeKind::Increase)];
    let update = apply_deck(current.clone(), &entries, &policy());
    assert_eq!(
        update.flags,
        [DeckFlag::ShortNoticeIncrease {
            carrier: "acme".into(),
            service: Service::Voice,
            prefix: "447".into(),
            notice_days: 4,
            notice_days_min: 7
        }]
    );
    // Exactly 7 days is enough; a decrease needs no notice.
    let entries = [entry("447", "0.0450", "2026-03-08T00:00:00Z", ChangeKind::Increase)];
    assert_eq!(apply_deck(current.clone(), &entries, &policy()).flags, []);
    let entries = [entry("447", "0.0300", "2026-03-02T00:00:00Z", ChangeKind::Decrease)];
    assert_eq!(apply_deck(current, &entries, &policy()).flags, []);
}

#[test]
fn mislabelled_and_missing_entries_are_flagged() {
    let current = vec![row("447", "0.0400", "2026-01-01T00:00:00Z"), row("44", "0.0100", "2026-01-01T00:00:00Z")];
    // Marked decrease but the rate rises (and with 2 days' notice); 44 is not in the deck.
    let entries = [
        entry("447", "0.0500", "2026-03-03T00:00:00Z", ChangeKind::Decrease),
        entry("33", "0.01", "2026-03-03T00:00:00Z", ChangeKind::Closed),
    ];
    let update = apply_deck(current, &entries, &policy());
    let texts: Vec<String> = update.flags.iter().map(ToString::to_string).collect();
    assert_eq!(
        texts,
        [
            "acme voice 447: marked Decrease but the price change is Increase",
            "acme voice 447: increase with 2 days' notice, the contract requires 7",
            "acme voice 33: Closed but no row is in force then",
            "acme voice 44: in force but absent from the new deck (left unchanged)",
        ]
    );
}
