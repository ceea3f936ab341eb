//! Contract charges by hand: one scenario per term type (monthly minimum spend, quarterly
//! volume commitment, rebate above a threshold, pro-rated recurring charge, tax on the usage
//! subtotal), each billed right (no row) and wrong (the right kind and amount).
//!
//! The deck: acme, voice to 44 at 0.02 EUR a minute, billed in whole minutes (60/60). Usage
//! lines bill each record right, so every row below comes from a charge line.

use super::*;
use crate::contract_terms::{Metric, Reward, TermPeriod, UsageScope};
use crate::network::NetworkMap;
use crate::rating::{rate_all, Party};
use crate::reconcile::Reconciler;
use crate::{Destination, FxTable, Increments, RateDeck, RateRow, Reconciliation};
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn date(text: &str) -> Date {
    text.parse().unwrap()
}

fn deck() -> RateDeck {
    let mut deck = RateDeck::new();
    deck.insert(RateRow {
        carrier: "acme".into(),
        service: Service::Voice,
        prefix: "44".into(),
        destination_name: None,
        rate: d("0.02"),
        currency: Currency::EUR,
        rate_unit: d("60"),
        increments: Increments::parse("60/60").unwrap(),
        connect_fee: Decimal::ZERO,
        min_charge: Decimal::ZERO,
        per_record_fee: Decimal::ZERO,
        conditions: Default::default(),
        rules: Default::default(),
        tiers: None,
        effective_from: ts("2025-01-01T00:00:00Z"),
        effective_to: None,
    })
    .unwrap();
    deck
}

/// Voice records of acme to 44: (id, start, seconds).
fn usage(records: &[(&str, &str, &str)]) -> Vec<UsageRecord> {
    records
        .iter()
        .map(|(id, at, seconds)| UsageRecord {
            record_id: (*id).into(),
            service: Service::Voice,
            carrier: "acme".into(),
            carrier_ref: Some((*id).into()),
            customer: None,
            started_at: ts(at),
            origin: None,
            destination: Destination::parse("442071234567").unwrap(),
            quantity: d(seconds),
            network: None,
            status: None,
        })
        .collect()
}

/// March: 500 + 1000 + 2000 minutes at 0.02 = 10.00 + 20.00 + 40.00 = 70.00 EUR, 210,000 s.
fn march_usage() -> Vec<UsageRecord> {
    usage(&[
        ("m1", "2026-03-03T10:00:00Z", "30000"),
        ("m2", "2026-03-12T10:00:00Z", "60000"),
        ("m3", "2026-03-25T10:00:00Z", "120000"),
    ])
}

fn charge(line_id: &str, charge_type: ChargeType, code: Option<&str>, amount: &str) -> ChargeLine {
    ChargeLine {
        carrier: "acme".into(),
        invoice_id: "ACME-03".into(),
        invoice_date: None,
        line_id: line_id.into(),
        charge_type,
        charge_code: code.map(Into::into),
        service: Service::Voice,
        started_at: ts("2026-03-01T00:00:00Z"),
        amount: d(amount),
        currency: Currency::EUR,
    }
}

fn term(code: &str, from: &str, rule: TermRule) -> ChargeTerm {
    ChargeTerm {
        carrier: "acme".into(),
        code: code.into(),
        currency: Currency::EUR,
        effective_from: date(from),
        effective_to: None,
        rule,
    }
}

/// Reconciles the usage with one usage line per March record (billed right, on ACME-03) and
/// the charge lines, under the terms.
fn run(usage: &[UsageRecord], charges: &[ChargeLine], terms: Vec<ChargeTerm>) -> Reconciliation {
    let ratings = rate_all(&deck(), usage, Party::Carrier, &NetworkMap::new());
    let config = ReconcileConfig { charge_terms: terms, ..ReconcileConfig::default() };
    let fx = FxTable::new();
    let mut reconciler = Reconciler::new(usage, &ratings, &fx, &config);
    for (record, rating) in usage.iter().zip(&ratings) {
        if Month::of(record.started_at) != (Month { year: 2026, month: 3 }) {
            continue;
        }
        let rating = rating.as_ref().unwrap();
        reconciler.add_line(&InvoiceLine {
            carrier: "acme".into(),
            invoice_id: "ACME-03".into(),
            invoice_date: None,
            line_id: record.record_id.clone(),
            carrier_ref: record.carrier_ref.clone(),
            service: Service::Voice,
            started_at: record.started_at,
            destination: record.destination.clone(),
            quantity: rating.billed_quantity,
            rate: Some(rating.rate),
            amount: rating.cost,
            currency: Currency::EUR,
        });
    }
    let mut reconciliation = reconciler.finish();
    reconciliation.add_charges(charges, &config, &fx);
    reconciliation
}

/// A row as the tests compare it: (kind, line_id, billed, expected, difference).
type Row = (&'static str, Option<String>, Decimal, Option<Decimal>, Option<Decimal>);

/// Every row of the run, as compared.
fn rows(reconciliation: &Reconciliation) -> Vec<Row> {
    reconciliation
        .discrepancies
        .iter()
        .map(|row| {
            (
                row.kind.as_str(),
                row.line_id.as_ref().map(ToString::to_string),
                row.billed_amount,
                row.expected_amount,
                row.difference,
            )
        })
        .collect()
}

/// A rebate of acme's spend from 2026-01-01, once the period's spend reaches 50.00.
fn spend_rebate(code: &str, period: TermPeriod, reward: Reward) -> ChargeTerm {
    term(
        code,
        "2026-01-01",
        TermRule::Rebate { period, metric: Metric::Spend, scope: UsageScope::default(), threshold: d("50.00"), reward },
    )
}

fn min_spend() -> ChargeTerm {
    term(
        "MIN",
        "2026-01-01",
        TermRule::Commitment {
            period: TermPeriod::Month,
            metric: Metric::Spend,
            scope: UsageScope::default(),
            minimum: d("100.00"),
            shortfall_rate: None,
        },
    )
}

#[test]
fn a_monthly_minimum_spend_short_by_30_is_billed_30() {
    // Spend 70.00 against a minimum of 100.00: the shortfall is 100.00 - 70.00 = 30.00.
    let right =
        run(&march_usage(), &[charge("S1", ChargeType::CommitmentShortfall, Some("MIN"), "30.00")], vec![min_spend()]);
    assert_eq!(rows(&right), []);
    let totals = &right.summary.groups.values().next().unwrap();
    // 70.00 of usage and 30.00 of shortfall, billed and expected.
    assert_eq!((totals.billed_total, totals.expected_total), (d("100.00"), d("100.00")));

    let wrong =
        run(&march_usage(), &[charge("S1", ChargeType::CommitmentShortfall, Some("MIN"), "45.00")], vec![min_spend()]);
    // 45.00 - 30.00 = 15.00 overbilled.
    assert_eq!(
        rows(&wrong),
        [("shortfall_mismatch", Some("S1".into()), d("45.00"), Some(d("30.00")), Some(d("15.00")))]
    );

    let missing = run(&march_usage(), &[], vec![min_spend()]);
    assert_eq!(rows(&missing), [("missing_charge", None, d("0"), Some(d("30.00")), Some(d("-30.00")))]);
    assert_eq!(missing.discrepancies[0].destination, "MIN");

    // A shortfall billed although the spend (70.00) meets a minimum of 60.00: all of it is wrong.
    let mut met = min_spend();
    if let TermRule::Commitment { minimum, .. } = &mut met.rule {
        *minimum = d("60.00");
    }
    let billed_when_met =
        run(&march_usage(), &[charge("S1", ChargeType::CommitmentShortfall, None, "30.00")], vec![met]);
    assert_eq!(
        rows(&billed_when_met),
        [("shortfall_mismatch", Some("S1".into()), d("30.00"), Some(d("0")), Some(d("30.00")))]
    );
}

#[test]
fn a_quarterly_volume_commitment_is_checked_in_march_with_three_months_of_usage() {
    // 1,000,000 s a quarter; 0.0003 EUR per second short.
    let commitment = term(
        "Q-VOL",
        "2026-01-01",
        TermRule::Commitment {
            period: TermPeriod::Quarter,
            metric: Metric::Volume,
            scope: UsageScope { service: Some(Service::Voice), prefixes: vec!["44".into()] },
            minimum: d("1000000"),
            shortfall_rate: Some(d("0.0003")),
        },
    );
    // Volume is the billed quantity (whole minutes): January 300,000 s + February 240,000 s +
    // March 210,000 s = 750,000 s: 250,000 s short, 250,000 × 0.0003 = 75.00 EUR.
    let mut quarter = usage(&[("j1", "2026-01-10T10:00:00Z", "300000"), ("f1", "2026-02-10T10:00:00Z", "240000")]);
    quarter.extend(march_usage());
    let right = run(
        &quarter,
        &[charge("S1", ChargeType::CommitmentShortfall, Some("Q-VOL"), "75.00")],
        vec![commitment.clone()],
    );
    assert_eq!(rows(&right), []);

    // Billed on March's usage alone: 1,000,000 - 210,000 = 790,000 s × 0.0003 = 237.00.
    let wrong = run(
        &quarter,
        &[charge("S1", ChargeType::CommitmentShortfall, Some("Q-VOL"), "237.00")],
        vec![commitment.clone()],
    );
    // 237.00 - 75.00 = 162.00.
    assert_eq!(
        rows(&wrong),
        [("shortfall_mismatch", Some("S1".into()), d("237.00"), Some(d("75.00")), Some(d("162.00")))]
    );

    // Mid-quarter (February) nothing is due: a shortfall billed then is wrong in full.
    let february = Month { year: 2026, month: 2 };
    assert_eq!(commitment.expected(february, &|_| ScopeTotals::default(), &|_| Decimal::ZERO), Some(Decimal::ZERO));
}

#[test]
fn a_rebate_above_its_threshold_is_credited() {
    // 5% of the month's spend once it reaches 50.00: 70.00 × 5% = 3.50 credited (-3.50).
    let rebate = || spend_rebate("REB", TermPeriod::Month, Reward::Percent(d("5")));
    let right = run(&march_usage(), &[charge("R1", ChargeType::Rebate, Some("REB"), "-3.50")], vec![rebate()]);
    assert_eq!(rows(&right), []);

    // -2.00 credited: -2.00 - (-3.50) = 1.50 overbilled.
    let short = run(&march_usage(), &[charge("R1", ChargeType::Rebate, Some("REB"), "-2.00")], vec![rebate()]);
    assert_eq!(rows(&short), [("rebate_mismatch", Some("R1".into()), d("-2.00"), Some(d("-3.50")), Some(d("1.50")))]);

    // Paid on a credit note line that names the rebate's code, it is that rebate: not also
    // missing (which would count the 3.50 twice at settlement, once credited, once receivable).
    let as_credit = run(&march_usage(), &[charge("R1", ChargeType::Credit, Some("REB"), "-3.50")], vec![rebate()]);
    assert_eq!(rows(&as_credit), []);
    // A credit line without a code stays a correction, carried unjudged; the rebate is missing.
    let codeless = run(&march_usage(), &[charge("R1", ChargeType::Credit, None, "-3.50")], vec![rebate()]);
    assert_eq!(rows(&codeless), [("rebate_missing", None, d("0"), Some(d("-3.50")), Some(d("3.50")))]);

    let missing = run(&march_usage(), &[], vec![rebate()]);
    assert_eq!(rows(&missing), [("rebate_missing", None, d("0"), Some(d("-3.50")), Some(d("3.50")))]);

    // Below the threshold (only m1 and m2: 30.00 < 50.00) nothing is due and nothing is missing.
    let below = run(&march_usage()[..2], &[], vec![rebate()]);
    assert_eq!(rows(&below), []);

    // A retroactive rate: 0.00001 EUR back on every second once 200,000 s are reached:
    // 210,000 s × 0.00001 = 2.10 credited.
    let retro = term(
        "RETRO",
        "2026-01-01",
        TermRule::Rebate {
            period: TermPeriod::Month,
            metric: Metric::Volume,
            scope: UsageScope::default(),
            threshold: d("200000"),
            reward: Reward::PerUnit(d("0.00001")),
        },
    );
    let retro_right = run(&march_usage(), &[charge("R1", ChargeType::Rebate, None, "-2.10")], vec![retro]);
    assert_eq!(rows(&retro_right), []);
}

#[test]
fn a_recurring_charge_starting_mid_month_is_pro_rated_by_days_in_service() {
    // 310.00 a month from 11 March: days 11..=31 are 21 of March's 31, 310.00 × 21 / 31 = 210.00.
    let trunk = || term("TRUNK", "2026-03-11", TermRule::Recurring { amount: d("310.00"), prorate: true });
    let right = run(&march_usage(), &[charge("T1", ChargeType::Recurring, Some("TRUNK"), "210.00")], vec![trunk()]);
    assert_eq!(rows(&right), []);

    // The whole month billed: 310.00 - 210.00 = 100.00 overbilled.
    let wrong = run(&march_usage(), &[charge("T1", ChargeType::Recurring, Some("TRUNK"), "310.00")], vec![trunk()]);
    assert_eq!(
        rows(&wrong),
        [("recurring_mismatch", Some("T1".into()), d("310.00"), Some(d("210.00")), Some(d("100.00")))]
    );

    // April, in force all month: 310.00.
    let april = Month { year: 2026, month: 4 };
    assert_eq!(trunk().expected(april, &|_| ScopeTotals::default(), &|_| Decimal::ZERO), Some(d("310.00")));
    // Not pro-rated: the whole amount in any month it is in force.
    let whole = term("TRUNK", "2026-03-11", TermRule::Recurring { amount: d("310.00"), prorate: false });
    assert_eq!(
        whole.expected(Month { year: 2026, month: 3 }, &|_| ScopeTotals::default(), &|_| Decimal::ZERO),
        Some(d("310.00"))
    );
    // Not yet in force in February: nothing due, and a missing line is no row.
    assert!(!trunk().applies_to(Month { year: 2026, month: 2 }));
}

#[test]
fn a_tax_is_its_percentage_of_the_usage_subtotal() {
    // 7.5% of the billed usage, 70.00: 5.25.
    let tax = || term("VAT", "2026-01-01", TermRule::Tax { percent: d("7.5"), base: vec![ChargeType::Usage] });
    let right = run(&march_usage(), &[charge("X1", ChargeType::Tax, Some("VAT"), "5.25")], vec![tax()]);
    assert_eq!(rows(&right), []);

    // 8% taken instead: 5.60 - 5.25 = 0.35 overbilled.
    let wrong = run(&march_usage(), &[charge("X1", ChargeType::Tax, Some("VAT"), "5.60")], vec![tax()]);
    assert_eq!(rows(&wrong), [("tax_mismatch", Some("X1".into()), d("5.60"), Some(d("5.25")), Some(d("0.35")))]);

    // Usage and recurring charges as the base: (70.00 + 210.00) × 7.5% = 21.00.
    let broad = term(
        "VAT",
        "2026-01-01",
        TermRule::Tax { percent: d("7.5"), base: vec![ChargeType::Usage, ChargeType::Recurring] },
    );
    let trunk = term("TRUNK", "2026-03-11", TermRule::Recurring { amount: d("310.00"), prorate: true });
    let lines =
        [charge("T1", ChargeType::Recurring, Some("TRUNK"), "210.00"), charge("X1", ChargeType::Tax, None, "21.00")];
    assert_eq!(rows(&run(&march_usage(), &lines, vec![trunk, broad])), []);
}

#[test]
fn lines_no_term_explains_are_unexpected_and_corrections_are_carried() {
    let lines = [
        charge("F1", ChargeType::OneTime, Some("SETUP"), "50.00"),
        charge("C1", ChargeType::Credit, None, "-10.00"),
        charge("A1", ChargeType::Adjustment, None, "2.00"),
    ];
    let reconciliation = run(&march_usage(), &lines, Vec::new());
    // The setup fee has no term: expected 0, 50.00 overbilled. Credit and adjustment: no row.
    assert_eq!(
        rows(&reconciliation),
        [("unexpected_charge", Some("F1".into()), d("50.00"), Some(d("0")), Some(d("50.00")))]
    );
    let totals = reconciliation.summary.groups.values().next().unwrap();
    // Billed 70.00 + 50.00 - 10.00 + 2.00 = 112.00; expected 70.00 + 0 - 10.00 + 2.00 = 62.00.
    assert_eq!((totals.billed_total, totals.expected_total, totals.lines_billed), (d("112.00"), d("62.00"), 6));
    assert_eq!(reconciliation.summary.charge_kind_counts()[0], 1);
}

#[test]
fn a_usage_line_just_across_the_months_end_brings_no_terms_of_the_next_month() {
    // A trunk of 310.00 a month from 1 April (not in force in March) and a tax of 7.5% on usage.
    // The March invoice bills m1..m3 and one more record that started on 31 March 23:59:30 and
    // is billed as of 1 April 00:00:10 (within the time tolerance): without --period its month
    // was April's, which brought April's trunk in as a missing charge and a tax on it.
    let terms = vec![
        term("TRUNK", "2026-04-01", TermRule::Recurring { amount: d("310.00"), prorate: false }),
        term("VAT", "2026-01-01", TermRule::Tax { percent: d("7.5"), base: vec![ChargeType::Usage] }),
    ];
    let mut records = march_usage();
    records.extend(usage(&[("m4", "2026-03-31T23:59:30Z", "60")]));
    let ratings = rate_all(&deck(), &records, Party::Carrier, &NetworkMap::new());
    let config = ReconcileConfig { charge_terms: terms, ..ReconcileConfig::default() };
    let fx = FxTable::new();
    let mut reconciler = Reconciler::new(&records, &ratings, &fx, &config);
    for (record, rating) in records.iter().zip(&ratings) {
        let rating = rating.as_ref().unwrap();
        let started_at = if record.record_id == "m4" { ts("2026-04-01T00:00:10Z") } else { record.started_at };
        reconciler.add_line(&InvoiceLine {
            carrier: "acme".into(),
            invoice_id: "ACME-03".into(),
            invoice_date: None,
            line_id: record.record_id.clone(),
            carrier_ref: record.carrier_ref.clone(),
            service: Service::Voice,
            started_at,
            destination: record.destination.clone(),
            quantity: rating.billed_quantity,
            rate: Some(rating.rate),
            amount: rating.cost,
            currency: Currency::EUR,
        });
    }
    let mut reconciliation = reconciler.finish();
    // The tax on all four usage lines, one invoice of March: (70.00 + 0.02) × 7.5% = 5.2515 = 5.25.
    reconciliation.add_charges(&[charge("X1", ChargeType::Tax, Some("VAT"), "5.25")], &config, &fx);
    assert_eq!(rows(&reconciliation), []);
}

/// Review of issue 17: a quarter's rebate credited on April's invoice was judged as April's
/// rebate (`rebate_mismatch`, -2.00 where nothing is due mid-quarter) while March's run had
/// reported it missing: taken twice at settlement.
#[test]
fn a_rebate_of_an_earlier_period_credited_late_is_carried_not_judged_again() {
    let rebate = |code: &str, period: TermPeriod| spend_rebate(code, period, Reward::Amount(d("2.00")));
    let april = Month { year: 2026, month: 4 };
    let march = Month { year: 2026, month: 3 };
    let terms = vec![rebate("QREB", TermPeriod::Quarter), rebate("MREB", TermPeriod::Month)];
    let config = ReconcileConfig { charge_terms: terms.clone(), period: Some(april), ..ReconcileConfig::default() };
    let on_april_invoice = |code: Option<&str>, charge_type: ChargeType, dated: &str| ChargeLine {
        invoice_id: "ACME-04".into(),
        started_at: ts(dated),
        ..charge("R1", charge_type, code, "-2.00")
    };
    // Dated in the first quarter: that quarter's rebate (checked on March), paid late.
    let late = on_april_invoice(Some("QREB"), ChargeType::Rebate, "2026-02-01T00:00:00Z");
    assert_eq!(late_rebate(&late, &terms, april), Some(LateRebate { term_indexes: vec![0], due_month: march }));
    let check = check_charges(std::slice::from_ref(&late), &ChargeContext::default(), &config);
    assert!(check.discrepancies.is_empty(), "{:?}", check.discrepancies);
    assert_eq!(check.line_expected, [Some(d("-2.00"))]);
    // On a credit note naming the code, the same.
    let as_credit = on_april_invoice(Some("QREB"), ChargeType::Credit, "2026-03-01T00:00:00Z");
    assert_eq!(late_rebate(&as_credit, &terms, april), Some(LateRebate { term_indexes: vec![0], due_month: march }));
    // A monthly rebate dated in March: March's, late.
    let monthly = on_april_invoice(Some("MREB"), ChargeType::Rebate, "2026-03-01T00:00:00Z");
    assert_eq!(late_rebate(&monthly, &terms, april), Some(LateRebate { term_indexes: vec![1], due_month: march }));
    // Dated in April it is April's: mid-quarter nothing is due, -2.00 - 0 = -2.00.
    let current = on_april_invoice(Some("QREB"), ChargeType::Rebate, "2026-04-01T00:00:00Z");
    assert_eq!(late_rebate(&current, &terms, april), None);
    let check = check_charges(&[current], &ChargeContext::default(), &config);
    let kinds: Vec<(DiscrepancyKind, Option<Decimal>)> =
        check.discrepancies.iter().map(|row| (row.kind, row.difference)).collect();
    assert_eq!(kinds, [(DiscrepancyKind::RebateMismatch, Some(d("-2.00")))]);
    // Without a code, the rebates checked on March pay together: both terms here.
    let codeless = on_april_invoice(None, ChargeType::Rebate, "2026-03-01T00:00:00Z");
    assert_eq!(late_rebate(&codeless, &terms, april), Some(LateRebate { term_indexes: vec![0, 1], due_month: march }));
    // Dated in February, the monthly one is February's and the quarterly one March's: not
    // guessed.
    let ambiguous = on_april_invoice(None, ChargeType::Rebate, "2026-02-01T00:00:00Z");
    assert_eq!(late_rebate(&ambiguous, &terms, april), None);
    // A carrier in UTC+2 dates April's own rebate at its first midnight of April: 31 March
    // 22:00 UTC is April's, not March's paid late.
    let local_midnight = on_april_invoice(Some("MREB"), ChargeType::Rebate, "2026-03-31T22:00:00Z");
    assert_eq!(late_rebate(&local_midnight, &terms, april), None);
    // On May's invoice, dated late on March's last day (12:00 UTC): March's, not April's (the
    // grace only makes a line the invoice month's own).
    let end_of_march = on_april_invoice(Some("MREB"), ChargeType::Rebate, "2026-03-31T12:00:00Z");
    let may = Month { year: 2026, month: 5 };
    assert_eq!(late_rebate(&end_of_march, &terms, may), Some(LateRebate { term_indexes: vec![1], due_month: march }));
    // In another currency than the rebate's it is no payment of it (judged as a line of April).
    let in_usd = ChargeLine { currency: Currency::parse("USD").unwrap(), ..late.clone() };
    assert_eq!(late_rebate(&in_usd, &terms, april), None);
    // A credit without a code is a correction, never a rebate.
    let correction = on_april_invoice(None, ChargeType::Credit, "2026-03-01T00:00:00Z");
    assert_eq!(late_rebate(&correction, &terms[..1], april), None);
}

/// Review of issue 17: a rebate line without a code while two rebates were in force was an
/// `unexpected_charge` and both rebates `rebate_missing`: credited and receivable at once.
#[test]
fn a_rebate_line_without_a_code_credits_the_rebates_in_force_together() {
    let rebate = |code: &str, amount: &str| spend_rebate(code, TermPeriod::Month, Reward::Amount(d(amount)));
    let terms = || vec![rebate("REB-A", "2.00"), rebate("REB-B", "3.00")];
    // March's spend 70.00 reaches both: 2.00 + 3.00 = 5.00 due, credited in one line.
    let right = run(&march_usage(), &[charge("R1", ChargeType::Rebate, None, "-5.00")], terms());
    assert_eq!(rows(&right), []);
    // -4.00 credited: -4.00 - (-5.00) = 1.00 overbilled, one row, nothing missing.
    let short = run(&march_usage(), &[charge("R1", ChargeType::Rebate, None, "-4.00")], terms());
    assert_eq!(rows(&short), [("rebate_mismatch", Some("R1".into()), d("-4.00"), Some(d("-5.00")), Some(d("1.00")))]);
    // One named, one not: the codeless line credits the other alone (REB-B, 3.00).
    let named = run(
        &march_usage(),
        &[charge("R1", ChargeType::Rebate, Some("REB-A"), "-2.00"), charge("R2", ChargeType::Rebate, None, "-3.00")],
        terms(),
    );
    assert_eq!(rows(&named), []);
    // A rebate in another currency is no part of the joint credit: still reported missing. A
    // USD volume rebate of 4.00 once any volume is reached (210,000 s in March) is due.
    let with_usd_rebate = || {
        let usd = term(
            "REB-USD",
            "2026-01-01",
            TermRule::Rebate {
                period: TermPeriod::Month,
                metric: Metric::Volume,
                scope: UsageScope::default(),
                threshold: d("1"),
                reward: Reward::Amount(d("4.00")),
            },
        );
        let mut terms = terms();
        terms.push(ChargeTerm { currency: Currency::parse("USD").unwrap(), ..usd });
        terms
    };
    let mixed = run(&march_usage(), &[charge("R1", ChargeType::Rebate, None, "-5.00")], with_usd_rebate());
    let kinds: Vec<(&str, Option<Decimal>, &str)> =
        mixed.discrepancies.iter().map(|row| (row.kind.as_str(), row.expected_amount, row.currency.as_str())).collect();
    // The EUR ones credited right together (-5.00); the USD one missing, -4.00.
    assert_eq!(kinds, [("rebate_missing", Some(d("-4.00")), "USD")]);
    // Codeless lines in both currencies: each pays the rebates of its own currency, nothing
    // missing, nothing mismatched (the USD line was once lumped with the EUR ones, its rebate
    // reported missing while credited).
    let usd_line =
        ChargeLine { currency: Currency::parse("USD").unwrap(), ..charge("R2", ChargeType::Rebate, None, "-4.00") };
    let both = run(&march_usage(), &[charge("R1", ChargeType::Rebate, None, "-5.00"), usd_line], with_usd_rebate());
    assert_eq!(rows(&both), []);
}

#[test]
fn a_forecast_is_made_for_a_commitment_checked_on_its_periods_last_month() {
    // A quarterly commitment from 1 March is checked on March with the quarter's usage: its
    // forecast on 15 February counts; one that ends on 15 February is never checked.
    let quarterly = |from: &str, to: Option<&str>| ChargeTerm {
        effective_to: to.map(date),
        ..term(
            "Q",
            from,
            TermRule::Commitment {
                period: TermPeriod::Quarter,
                metric: Metric::Spend,
                scope: UsageScope::default(),
                minimum: d("1000"),
                shortfall_rate: None,
            },
        )
    };
    assert!(quarterly("2026-03-01", None).forecast_applies(date("2026-02-15")));
    assert!(!quarterly("2026-01-01", Some("2026-02-15")).forecast_applies(date("2026-02-10")));
    // A monthly one from the 10th is first checked the month after.
    let mut monthly = min_spend();
    monthly.effective_from = date("2026-03-10");
    assert!(!monthly.forecast_applies(date("2026-03-20")));
    assert!(monthly.forecast_applies(date("2026-04-02")));
    assert_eq!(
        crate::contract_terms::forecast_months(date("2026-05-20")),
        (Month { year: 2026, month: 4 }, Month { year: 2026, month: 5 })
    );
}

#[test]
fn a_commitment_forecast_projects_the_run_rate_and_equals_the_final_shortfall_at_the_end() {
    let commitment = min_spend();
    // 10 March, 70.00 spent so far: 70.00 / 10 days × 31 days = 217.00, above 100.00: no
    // shortfall expected, not at risk.
    let early = commitment.forecast(date("2026-03-10"), d("70.00")).unwrap();
    assert_eq!((early.days_elapsed, early.days_in_period), (10, 31));
    assert_eq!((early.projected, early.projected_shortfall, early.at_risk()), (d("217"), d("0"), false));
    // 20 March, 40.00 so far: 40.00 / 20 × 31 = 62.00, short 100.00 - 62.00 = 38.00: at risk.
    let late = commitment.forecast(date("2026-03-20"), d("40.00")).unwrap();
    assert_eq!((late.projected, late.projected_shortfall, late.at_risk()), (d("62"), d("38.00"), true));
    // Short by less than half a cent: 100.00 - 99.996 = 0.004, a shortfall due of 0.00: not at
    // risk (no alert beside a shortfall shown as 0.00).
    let just = commitment.forecast(date("2026-03-31"), d("99.996")).unwrap();
    assert_eq!((just.projected, just.projected_shortfall, just.at_risk()), (d("99.996"), d("0"), false));
    // On the last day (and after it, no further traffic) the forecast is the final figure:
    // 70.00 so far is the month's spend, 100.00 - 70.00 = 30.00, as the invoice check expects.
    let march = Month { year: 2026, month: 3 };
    let month_spend = |_: Month| ScopeTotals { spend: d("70.00"), volume: Decimal::ZERO };
    let billed = commitment.expected(march, &month_spend, &|_| Decimal::ZERO).unwrap();
    let last = commitment.forecast(date("2026-03-31"), d("70.00")).unwrap();
    assert_eq!((last.days_elapsed, last.projected, last.projected_shortfall), (31, d("70.00"), billed));
    assert_eq!(billed, d("30.00"));
    // A quarterly term: on 15 February (46 of the quarter's 90 days) 300 so far: 300 / 46 × 90.
    let quarterly = term(
        "Q",
        "2026-01-01",
        TermRule::Commitment {
            period: TermPeriod::Quarter,
            metric: Metric::Spend,
            scope: UsageScope::default(),
            minimum: d("1000"),
            shortfall_rate: None,
        },
    );
    let mid = quarterly.forecast(date("2026-02-15"), d("300")).unwrap();
    assert_eq!((mid.first_day, mid.end_day), (date("2026-01-01"), date("2026-04-01")));
    assert_eq!((mid.days_elapsed, mid.days_in_period), (46, 90));
    assert_eq!(mid.projected, d("300") * d("90") / d("46"));
}
