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
        rules: Default::default(),
        tiers: None,
        effective_from: ts(from),
        effective_to: None,
    }
}

fn entry(prefix: &str, rate: &str, from: &str, change: ChangeKind) -> DeckEntry {
    DeckEntry { row: row(prefix, rate, from), change }
}

fn policy() -> UpdatePolicy {
    UpdatePolicy {
        issued_at: ts("2026-03-01T00:00:00Z"),
        notice_min: SignedDuration::from_hours(7 * 24),
        notice_min_by_carrier: HashMap::new(),
        defer_short_notice: false,
        rounding_by_carrier: HashMap::new(),
    }
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
            notice_days_min: 7,
            deferred_to: None,
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

/// The entry's row: the current row of 447 with `change` applied, effective with one day's notice.
fn changed(change: impl Fn(&mut RateRow), said: ChangeKind) -> (Vec<RateRow>, [DeckEntry; 1]) {
    let current = vec![row("447", "0.0120", "2026-01-01T00:00:00Z")];
    let mut new = row("447", "0.0120", "2026-03-02T00:00:00Z");
    change(&mut new);
    (current, [DeckEntry { row: new, change: said }])
}

fn texts(update: &DeckUpdate) -> Vec<String> {
    update.flags.iter().map(ToString::to_string).collect()
}

#[test]
fn an_increase_is_any_term_that_could_make_a_call_cost_more() {
    let short = "acme voice 447: increase with 1 days' notice, the contract requires 7";
    let decimal = |text: &str| Decimal::from_str(text).unwrap();
    // Rate 0.012 -> 0.011 per minute but a new connect fee of 0.05: a 1-minute call costs
    // 0.012 before and 0.011 + 0.05 = 0.061 after. Marked a decrease: both flags.
    let (current, entries) = changed(
        |row| {
            row.rate = decimal("0.011");
            row.connect_fee = decimal("0.05");
        },
        ChangeKind::Decrease,
    );
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        ["acme voice 447: marked Decrease but the price change is Increase", short]
    );
    // A new minimum charge of 0.02: a 1-minute call costs 0.02 instead of 0.012.
    let (current, entries) = changed(|row| row.min_charge = decimal("0.02"), ChangeKind::Increase);
    assert_eq!(texts(&apply_deck(current, &entries, &policy())), [short]);
    // A per-record fee.
    let (current, entries) = changed(|row| row.per_record_fee = decimal("0.001"), ChangeKind::Increase);
    assert_eq!(texts(&apply_deck(current, &entries, &policy())), [short]);
    // Coarser increments 1/1 -> 60/60: a 1 s call bills 60 s.
    let (current, entries) =
        changed(|row| row.increments = Increments { first: 60.into(), next: 60.into() }, ChangeKind::Increase);
    assert_eq!(texts(&apply_deck(current, &entries, &policy())), [short]);
    // rate_unit 60 -> 1 at the same rate: 0.012 per second, 60 times dearer.
    let (current, entries) = changed(|row| row.rate_unit = Decimal::ONE, ChangeKind::Decrease);
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        ["acme voice 447: marked Decrease but the price change is Increase", short]
    );
}

#[test]
fn finer_increments_and_equal_prices_per_base_unit_are_not_increases() {
    let decimal = |text: &str| Decimal::from_str(text).unwrap();
    // 60/60 -> 1/1 at the same rate never bills more: a decrease, no notice needed.
    let current = vec![RateRow {
        increments: Increments { first: 60.into(), next: 60.into() },
        ..row("447", "0.0120", "2026-01-01T00:00:00Z")
    }];
    let entries = [entry("447", "0.0120", "2026-03-02T00:00:00Z", ChangeKind::Decrease)];
    assert_eq!(texts(&apply_deck(current.clone(), &entries, &policy())), Vec::<String>::new());
    // Marked an increase: the mismatch names the real change, and no notice is asked.
    let entries = [entry("447", "0.0120", "2026-03-02T00:00:00Z", ChangeKind::Increase)];
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        ["acme voice 447: marked Increase but the price change is Decrease"]
    );
    // 0.012 per 60 s and 0.0002 per 1 s are the same price: unchanged, one row kept.
    let (current, entries) = changed(
        |row| {
            row.rate = decimal("0.0002");
            row.rate_unit = Decimal::ONE;
        },
        ChangeKind::Unchanged,
    );
    let update = apply_deck(current, &entries, &policy());
    assert_eq!(texts(&update), Vec::<String>::new());
    // 60/6 -> 60/4 is not finer: a 66 s call bills 60 + 6 = 66 s before, 60 + 8 = 68 s after.
    let current = vec![RateRow {
        increments: Increments { first: 60.into(), next: 6.into() },
        ..row("447", "0.0120", "2026-01-01T00:00:00Z")
    }];
    let entries = [DeckEntry {
        row: RateRow {
            increments: Increments { first: 60.into(), next: 4.into() },
            ..row("447", "0.0120", "2026-03-02T00:00:00Z")
        },
        change: ChangeKind::Decrease,
    }];
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        [
            "acme voice 447: marked Decrease but the price change is Increase",
            "acme voice 447: increase with 1 days' notice, the contract requires 7"
        ]
    );
}

#[test]
fn a_currency_change_always_needs_notice() {
    let (current, entries) = changed(|row| row.currency = Currency::EUR, ChangeKind::Decrease);
    assert_eq!(
        texts(&apply_deck(current.clone(), &entries, &policy())),
        ["acme voice 447: currency changes from USD to EUR with 1 days' notice, the contract requires 7"]
    );
    // With enough notice the change applies with no flag (and is never called a mismatch).
    let mut enough = entries.clone();
    enough[0].row.effective_from = ts("2026-03-09T00:00:00Z");
    let update = apply_deck(current, &enough, &policy());
    assert_eq!(texts(&update), Vec::<String>::new());
    assert_eq!(update.rows.len(), 2);
}

#[test]
fn notice_per_carrier_and_deferral() {
    let current = vec![row("447", "0.0400", "2026-01-01T00:00:00Z")];
    // 10 days' notice: enough under the default 7, not under acme's contract of 30.
    let entries = [entry("447", "0.0450", "2026-03-11T00:00:00Z", ChangeKind::Increase)];
    let mut policy = policy();
    policy.notice_min_by_carrier.insert("acme".into(), SignedDuration::from_hours(30 * 24));
    assert_eq!(
        texts(&apply_deck(current.clone(), &entries, &policy)),
        ["acme voice 447: increase with 10 days' notice, the contract requires 30"]
    );
    // Deferred: the increase takes effect 30 days after issue (2026-03-31), not on the 11th.
    policy.defer_short_notice = true;
    let update = apply_deck(current, &entries, &policy);
    assert_eq!(
        texts(&update),
        ["acme voice 447: increase with 10 days' notice, the contract requires 30 (deferred to 2026-03-31T00:00:00Z)"]
    );
    assert_eq!(rate_at(&update.rows, "447911", "2026-03-20T00:00:00Z"), Some(Decimal::from_str("0.04").unwrap()));
    assert_eq!(rate_at(&update.rows, "447911", "2026-03-30T23:59:59Z"), Some(Decimal::from_str("0.04").unwrap()));
    assert_eq!(rate_at(&update.rows, "447911", "2026-03-31T00:00:00Z"), Some(Decimal::from_str("0.045").unwrap()));
}

/// How `deck update` judges an entry against the row in force: both start as acme 447 at 0.0120
/// a minute, per second (1/1), then each gets its own change.
fn judged(old_change: impl Fn(&mut RateRow), new_change: impl Fn(&mut RateRow)) -> ChangeKind {
    let mut old = row("447", "0.0120", "2026-01-01T00:00:00Z");
    old_change(&mut old);
    let mut new = row("447", "0.0120", "2026-03-02T00:00:00Z");
    new_change(&mut new);
    compare(&old, &new, None)
}

fn unchanged(_: &mut RateRow) {}

fn rounding(decimal_places: u32, mode: crate::money::RoundMode) -> Option<crate::rate_deck::CostRounding> {
    Some(crate::rate_deck::CostRounding { decimal_places, mode })
}

/// Issue 13, item 4: a `first_rate` prices the first increment. A new one above the rate makes
/// a short call dearer (a 1 s call: 0.05 / 60 instead of 0.012 / 60), so it is an increase and
/// needs notice; one below the rate, or a first rate lowered, only makes calls cheaper.
#[test]
fn issue13_a_new_or_dearer_first_rate_is_an_increase() {
    let decimal = |text: &str| Decimal::from_str(text).unwrap();
    assert_eq!(judged(unchanged, |row| row.rules.first_rate = Some(decimal("0.05"))), ChangeKind::Increase);
    assert_eq!(judged(unchanged, |row| row.rules.first_rate = Some(decimal("0.006"))), ChangeKind::Decrease);
    let first_rate = |text: &'static str| move |row: &mut RateRow| row.rules.first_rate = Some(decimal(text));
    assert_eq!(judged(first_rate("0.05"), first_rate("0.04")), ChangeKind::Decrease);
    assert_eq!(judged(first_rate("0.05"), first_rate("0.06")), ChangeKind::Increase);
    // Removing a first rate of 0.05 prices the first second at the rate, 0.012: cheaper.
    assert_eq!(judged(first_rate("0.05"), unchanged), ChangeKind::Decrease);
    // Through the update: marked unchanged, it is flagged as the increase it is, and short.
    let (current, entries) = changed(|row| row.rules.first_rate = Some(decimal("0.05")), ChangeKind::Unchanged);
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        [
            "acme voice 447: marked Unchanged but the price change is Increase",
            "acme voice 447: increase with 1 days' notice, the contract requires 7"
        ]
    );
}

/// Issue 13, item 4: `max_cost` caps a call. A cap raised (0.5 -> 1.0) or taken away lets a
/// long call cost more (a 3,600 s call costs 0.72 uncapped: 0.5 before, 0.72 after), so both
/// are increases; a cap lowered or newly set can only make calls cheaper.
#[test]
fn issue13_a_cap_raised_or_removed_is_an_increase() {
    let cap = |text: &'static str| move |row: &mut RateRow| row.rules.max_cost = Some(Decimal::from_str(text).unwrap());
    assert_eq!(judged(cap("0.5"), cap("1.0")), ChangeKind::Increase);
    assert_eq!(judged(cap("0.5"), unchanged), ChangeKind::Increase);
    assert_eq!(judged(cap("0.5"), cap("0.3")), ChangeKind::Decrease);
    assert_eq!(judged(unchanged, cap("0.5")), ChangeKind::Decrease);
    assert_eq!(judged(cap("0.5"), cap("0.50")), ChangeKind::Unchanged);
    let (current, entries) =
        changed(|row| row.rules.max_cost = Some(Decimal::from_str("0.3").unwrap()), ChangeKind::Decrease);
    assert_eq!(texts(&apply_deck(current, &entries, &policy())), Vec::<String>::new());
}

/// Issue 13, item 4: the carrier's rounding of each cost. A row without rounding rounds to 6
/// places half up. To 4 places `up`, 0.000001 becomes 0.0001: dearer, never cheaper (an
/// increase); to 4 places `down`, 0.000099 becomes 0: only cheaper (a decrease); to 4 places
/// half up, 0.00005 becomes 0.0001 (dearer) and 0.000049 becomes 0 (cheaper): an increase, since
/// some call costs more. On one grid `up` rounds above `half_even`, which rounds at or below
/// `half_up` (0.00025 to 4 places: 0.0002 half even, 0.0003 half up). A finer grid than a
/// coarse `down` keeps what `down` dropped: dearer.
#[test]
fn issue13_rounding_that_rounds_up_more_is_an_increase() {
    use crate::money::RoundMode::{Down, HalfAwayFromZero, HalfEven, Up};
    let rounded = |places: u32, mode| move |row: &mut RateRow| row.rules.rounding = rounding(places, mode);
    assert_eq!(judged(unchanged, rounded(4, Up)), ChangeKind::Increase);
    assert_eq!(judged(unchanged, rounded(4, Down)), ChangeKind::Decrease);
    assert_eq!(judged(unchanged, rounded(4, HalfAwayFromZero)), ChangeKind::Increase);
    assert_eq!(judged(unchanged, rounded(4, HalfEven)), ChangeKind::Increase);
    assert_eq!(judged(rounded(4, HalfEven), rounded(4, Up)), ChangeKind::Increase);
    assert_eq!(judged(rounded(4, HalfEven), rounded(4, HalfAwayFromZero)), ChangeKind::Increase);
    assert_eq!(judged(rounded(4, Up), rounded(4, HalfEven)), ChangeKind::Decrease);
    // 2 places down -> 4 places down: 0.0099 cost 0 before and 0.0099 after.
    assert_eq!(judged(rounded(2, Down), rounded(4, Down)), ChangeKind::Increase);
    // 2 places up -> 4 places up: 0.0001 cost 0.01 before and 0.0001 after.
    assert_eq!(judged(rounded(2, Up), rounded(4, Up)), ChangeKind::Decrease);
    // The default written out is no change.
    assert_eq!(judged(unchanged, rounded(6, HalfAwayFromZero)), ChangeKind::Unchanged);
    // Under a contract that rounds to 4 places up, a row that now says 4 places up changes
    // nothing, and one that says 6 places half up rounds lower (0.000001 costs 0.000001, not
    // 0.0001): a decrease.
    let old = row("447", "0.0120", "2026-01-01T00:00:00Z");
    let mut new = row("447", "0.0120", "2026-03-02T00:00:00Z");
    new.rules.rounding = rounding(4, Up);
    assert_eq!(compare(&old, &new, rounding(4, Up)), ChangeKind::Unchanged);
    new.rules.rounding = rounding(6, HalfAwayFromZero);
    assert_eq!(compare(&old, &new, rounding(4, Up)), ChangeKind::Decrease);
}

/// Issue 13, item 4: a blocked row bills nothing. Unblocked, every call to it costs again: an
/// increase, needing notice. Newly blocked, nothing may be billed: a decrease, whatever the
/// row's other terms say (a rate of 0.5 on a blocked row prices nothing). Blocked before and
/// after, no call costs anything either way: unchanged.
#[test]
fn issue13_a_row_unblocked_is_an_increase_and_newly_blocked_a_decrease() {
    let blocked = |row: &mut RateRow| row.rules.blocked = true;
    assert_eq!(judged(blocked, unchanged), ChangeKind::Increase);
    assert_eq!(judged(unchanged, blocked), ChangeKind::Decrease);
    let blocked_dear = |row: &mut RateRow| {
        row.rules.blocked = true;
        row.rate = Decimal::from_str("0.5").unwrap();
    };
    assert_eq!(judged(unchanged, blocked_dear), ChangeKind::Decrease);
    assert_eq!(judged(blocked, blocked_dear), ChangeKind::Unchanged);
    // Unblocked with a day's notice, marked new: flagged as a short-notice increase.
    let current = vec![RateRow {
        rules: crate::rate_deck::PriceRules { blocked: true, ..Default::default() },
        ..row("447", "0.0120", "2026-01-01T00:00:00Z")
    }];
    let entries = [entry("447", "0.0120", "2026-03-02T00:00:00Z", ChangeKind::Increase)];
    assert_eq!(
        texts(&apply_deck(current, &entries, &policy())),
        ["acme voice 447: increase with 1 days' notice, the contract requires 7"]
    );
}
