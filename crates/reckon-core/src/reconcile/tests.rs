//! Reconciliation scenario: one invoice with a planted discrepancy of every kind beside clean
//! lines, each expected figure computed by hand below. Also a table test of `check_line`, one
//! row per outcome, and the edge rules of unbilled usage.

use super::*;
use crate::contract::{ContractTerms, FxPolicy};
use crate::rating::rate_record;
use crate::{Destination, Increments, RateDeck, RateRow, Service};
use jiff::civil::date;
use jiff::Timestamp;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn usd() -> Currency {
    Currency::parse("USD").unwrap()
}

fn deck() -> RateDeck {
    acme_usd_deck(&[
        (Service::Voice, "44", "0.0120", "60", "60/6", "0.0010"),
        (Service::Voice, "447", "0.0450", "60", "30/6", "0"),
        (Service::Sms, "44", "0.0310", "1", "1/1", "0"),
    ])
}

/// A deck of acme's rows in USD: (service, prefix, rate, unit, increments, connect fee).
fn acme_usd_deck(rows: &[(Service, &str, &str, &str, &str, &str)]) -> RateDeck {
    let mut deck = RateDeck::new();
    for &(service, prefix, rate, unit, increments, connect_fee) in rows {
        deck.insert(RateRow {
            carrier: "acme".into(),
            service,
            prefix: prefix.into(),
            destination_name: None,
            rate: d(rate),
            currency: usd(),
            rate_unit: d(unit),
            increments: Increments::parse(increments).unwrap(),
            connect_fee: d(connect_fee),
            min_charge: Decimal::ZERO,
            per_record_fee: Decimal::ZERO,
            conditions: Default::default(),
            rules: Default::default(),
            tiers: None,
            effective_from: ts("2026-01-01T00:00:00Z"),
            effective_to: None,
        })
        .unwrap();
    }
    deck
}

fn record(
    id: &str,
    carrier: &str,
    service: Service,
    reference: Option<&str>,
    at: &str,
    destination: &str,
    quantity: &str,
) -> UsageRecord {
    UsageRecord {
        record_id: id.into(),
        service,
        carrier: carrier.into(),
        carrier_ref: reference.map(Into::into),
        customer: Some("c1".into()),
        started_at: ts(at),
        origin: None,
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        network: None,
        status: None,
    }
}

#[allow(clippy::too_many_arguments)]
fn line(
    id: &str,
    service: Service,
    reference: Option<&str>,
    at: &str,
    destination: &str,
    quantity: &str,
    rate: Option<&str>,
    amount: &str,
    currency: &str,
) -> InvoiceLine {
    InvoiceLine {
        carrier: "acme".into(),
        invoice_id: "ACME-03".into(),
        invoice_date: None,
        line_id: id.into(),
        carrier_ref: reference.map(Into::into),
        service,
        started_at: ts(at),
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        rate: rate.map(d),
        amount: d(amount),
        currency: Currency::parse(currency).unwrap(),
    }
}

fn usage() -> Vec<UsageRecord> {
    use Service::{Sms, Voice};
    vec![
        // u1: 75.2 s to 44: b = 60 + ceil(15.2/6)*6 = 78; 0.0010 + 0.0120*78/60 = 0.0166
        record("u1", "acme", Voice, Some("A1"), "2026-03-02T10:00:00Z", "+442071234567", "75.2"),
        // u2: 31 s to 447: b = 30 + ceil(1/6)*6 = 36; 0.045*36/60 = 0.027
        record("u2", "acme", Voice, None, "2026-03-02T11:00:00Z", "+447911000001", "31"),
        // u3: 3 SMS to 44: 3 * 0.031 = 0.093
        record("u3", "acme", Sms, Some("A3"), "2026-03-02T12:00:00Z", "+447700000003", "3"),
        // u4: 30 s to 44: b = 60; 0.0010 + 0.012 = 0.013
        record("u4", "acme", Voice, Some("A4"), "2026-03-02T13:00:00Z", "+442071234568", "30"),
        // u5: 60 s to 447: b = 60; 0.045
        record("u5", "acme", Voice, Some("A5"), "2026-03-02T14:00:00Z", "+447911000005", "60"),
        // u6: to China, no rate
        record("u6", "acme", Voice, Some("A6"), "2026-03-02T15:00:00Z", "+8613800000", "90"),
        // u7: 1 SMS, 0.031 USD, billed in JPY with no JPY rate
        record("u7", "acme", Sms, Some("A7"), "2026-03-02T16:00:00Z", "+447700000007", "1"),
        // u8: 2 SMS, 0.062 USD, billed in GBP: 0.062 * 0.85 / 1.25 = 0.04216 GBP
        record("u8", "acme", Sms, Some("A8"), "2026-03-02T17:00:00Z", "+447700000008", "2"),
        // u9: 120 s to 44, never billed: b = 120; 0.0010 + 0.024 = 0.025
        record("u9", "acme", Voice, None, "2026-03-05T09:00:00Z", "+442071234569", "120"),
        // u10: unanswered, costs 0: never reported
        record("u10", "acme", Voice, None, "2026-03-05T10:00:00Z", "+442071234569", "0"),
        // u11: April, outside the invoice's period
        record("u11", "acme", Voice, None, "2026-04-01T00:00:00Z", "+442071234569", "60"),
        // u12: a carrier with no invoice in the run
        record("u12", "borealis", Voice, None, "2026-03-05T10:00:00Z", "+442071234569", "60"),
    ]
}

fn lines() -> Vec<InvoiceLine> {
    use Service::{Sms, Voice};
    vec![
        line("1", Voice, Some("A1"), "2026-03-02T10:00:00Z", "442071234567", "78", Some("0.0120"), "0.0166", "USD"),
        // By time: 20 s off, no references.
        line("2", Voice, None, "2026-03-02T11:00:20Z", "447911000001", "36", Some("0.0450"), "0.027", "USD"),
        // Rate 0.0320 instead of 0.0310: 3 * 0.032 = 0.096, difference 0.096 - 0.093 = 0.003
        line("3", Sms, Some("A3"), "2026-03-02T12:00:00Z", "447700000003", "3", Some("0.0320"), "0.096", "USD"),
        // 120 s billed for our 60: difference 0.025 - 0.013 = 0.012
        line("4", Voice, Some("A4"), "2026-03-02T13:00:00Z", "442071234568", "120", Some("0.0120"), "0.025", "USD"),
        // Amount 0.050 for 0.045: difference 0.005
        line("5", Voice, Some("A5"), "2026-03-02T14:00:00Z", "447911000005", "60", Some("0.0450"), "0.050", "USD"),
        line("6", Voice, Some("A6"), "2026-03-02T15:00:00Z", "8613800000", "90", Some("0.02"), "0.03", "USD"),
        line("7", Sms, Some("A7"), "2026-03-02T16:00:00Z", "447700000007", "1", None, "5", "JPY"),
        // GBP: the rate column is in another currency's units and is ignored; 0.04216 agrees.
        line("8", Sms, Some("A8"), "2026-03-02T17:00:00Z", "447700000008", "2", Some("0.9999"), "0.04216", "GBP"),
        // u1 again: duplicate, expected 0, difference 0.0166
        line("9", Voice, Some("A1"), "2026-03-02T10:00:00Z", "442071234567", "78", Some("0.0120"), "0.0166", "USD"),
        // A call we never made: unmatched, difference 0.02
        line("10", Voice, Some("Z9"), "2026-03-03T00:00:00Z", "44999", "60", None, "0.02", "USD"),
    ]
}

fn fx() -> FxTable {
    let mut fx = FxTable::new();
    fx.insert(date(2026, 3, 2), usd(), d("1.25")).unwrap();
    fx.insert(date(2026, 3, 2), Currency::parse("GBP").unwrap(), d("0.85")).unwrap();
    fx
}

type Row = (
    &'static str,
    Option<&'static str>,
    DiscrepancyKind,
    &'static str,
    Option<&'static str>,
    &'static str,
    Option<&'static str>,
    Option<&'static str>,
    &'static str,
);

#[test]
fn every_kind_found_with_exact_amounts_and_no_false_positives() {
    let deck = deck();
    let usage = usage();
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    let result = reconcile(&usage, &ratings, &lines(), &fx(), &ReconcileConfig::default());
    use DiscrepancyKind::*;
    // (line, record, kind, billed qty, expected qty, billed amount, expected amount, difference, currency)
    let expected: Vec<Row> = vec![
        ("", Some("u9"), UnbilledUsage, "0", Some("120"), "0", Some("0.025"), Some("-0.025"), "USD"),
        ("3", Some("u3"), RateMismatch, "3", Some("3"), "0.096", Some("0.093"), Some("0.003"), "USD"),
        ("4", Some("u4"), QuantityMismatch, "120", Some("60"), "0.025", Some("0.013"), Some("0.012"), "USD"),
        ("5", Some("u5"), AmountMismatch, "60", Some("60"), "0.050", Some("0.045"), Some("0.005"), "USD"),
        ("6", Some("u6"), NoRate, "90", None, "0.03", None, None, "USD"),
        ("7", Some("u7"), CurrencyMismatch, "1", None, "5", None, None, "JPY"),
        ("9", Some("u1"), DuplicateCharge, "78", Some("0"), "0.0166", Some("0"), Some("0.0166"), "USD"),
        ("10", None, UnmatchedCharge, "60", Some("0"), "0.02", Some("0"), Some("0.02"), "USD"),
    ];
    let actual: Vec<_> = result
        .discrepancies
        .iter()
        .map(|found| {
            (
                found.line_id.as_deref().unwrap_or_default().to_owned(),
                found.record_id.as_deref().map(str::to_owned),
                found.kind,
                found.billed_quantity,
                found.expected_quantity,
                found.billed_amount,
                found.expected_amount,
                found.difference,
                found.currency.to_string(),
            )
        })
        .collect();
    let expected: Vec<_> = expected
        .into_iter()
        .map(|(line, record, kind, billed_quantity, expected_quantity, billed, expected, difference, currency)| {
            (
                line.to_owned(),
                record.map(str::to_owned),
                kind,
                d(billed_quantity),
                expected_quantity.map(d),
                d(billed),
                expected.map(d),
                difference.map(d),
                currency.to_owned(),
            )
        })
        .collect();
    assert_eq!(actual, expected);

    // Totals of the USD lines: billed 0.0166+0.027+0.096+0.025+0.050+0.03+0.0166+0.02 = 0.2812;
    // expected (known) 0.0166+0.027+0.093+0.013+0.045+0+0 = 0.1946; unverified (no rate) 0.03;
    // overbilled 0.003+0.012+0.005+0.0166+0.02 = 0.0566.
    let usd_group = &result.summary.groups
        [&GroupKey { carrier: "acme".into(), invoice_id: Some("ACME-03".into()), currency: usd() }];
    assert_eq!(usd_group.lines_billed, 8);
    assert_eq!(usd_group.lines_matched, 6); // lines 1-6; 9 is a duplicate, 10 unmatched
    assert_eq!(usd_group.billed_total, d("0.2812"));
    assert_eq!(usd_group.expected_total, d("0.1946"));
    assert_eq!(usd_group.unverified_total, d("0.03"));
    assert_eq!(usd_group.overbilled, d("0.0566"));
    assert_eq!(usd_group.underbilled, Decimal::ZERO);
    let unbilled = &result.summary.groups[&GroupKey::unbilled(&"acme".into(), usd())];
    assert_eq!(unbilled.underbilled, d("0.025"));
}

#[test]
fn a_given_period_limits_unbilled_usage() {
    let deck = deck();
    let usage = usage();
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    let april = ReconcileConfig { period: Some(Month::parse("2026-04").unwrap()), ..ReconcileConfig::default() };
    let result = reconcile(&usage, &ratings, &lines(), &fx(), &april);
    let unbilled: Vec<_> = result
        .discrepancies
        .iter()
        .filter(|found| found.kind == DiscrepancyKind::UnbilledUsage)
        .map(|found| found.record_id.as_deref().unwrap().to_owned())
        .collect();
    // u11 (April 1st, 60 s: 0.0010 + 0.012 = 0.013) is April's only billable record.
    assert_eq!(unbilled, ["u11"]);
}

/// One row per outcome of `check_line`: (line quantity, rate, amount, currency) against u4
/// (30 s to 44: expected 60 s, 0.013 USD; 0.013 USD = 0.00884 GBP at 0.85/1.25).
#[test]
fn check_line_table() {
    let deck = deck();
    let record = &usage()[3];
    let rating = rate_record(&deck, record);
    use DiscrepancyKind::*;
    let table = [
        ("60", Some("0.0120"), "0.013", "USD", None),
        ("60", None, "0.013", "USD", None),
        ("60", Some("0.0120"), "0.013001", "USD", None), // within the 0.000001 tolerance
        ("60", Some("0.0120"), "0.013002", "USD", Some(AmountMismatch)),
        ("66", Some("0.0120"), "0.013", "USD", Some(QuantityMismatch)), // amounts agree, quantity does not
        ("60", Some("0.0130"), "0.013", "USD", Some(RateMismatch)),
        ("60", Some("0.0130"), "0.00884", "GBP", None), // rate skipped across currencies
        ("60", None, "0.00885", "GBP", Some(AmountMismatch)),
        ("60", None, "1", "JPY", Some(CurrencyMismatch)),
    ];
    for (quantity, rate, amount, currency, expected) in table {
        let invoice_line = line(
            "1",
            Service::Voice,
            Some("A4"),
            "2026-03-02T13:00:00Z",
            "442071234568",
            quantity,
            rate,
            amount,
            currency,
        );
        let check = check_line(&invoice_line, record, rating.as_ref(), &fx(), &ReconcileConfig::default());
        assert_eq!(check.kind, expected, "{quantity} {rate:?} {amount} {currency}");
    }
    let no_rate = check_line(&lines()[5], &usage()[5], None, &fx(), &ReconcileConfig::default());
    assert_eq!(no_rate.kind, Some(NoRate));
}

/// Contract FX policies on u8 (2 SMS, 0.062 USD) billed in GBP. Rates per EUR: 2026-03-02 USD
/// 1.25, GBP 0.85; 2026-03-05 USD 1.20, GBP 0.90.
#[test]
fn fx_policies_of_the_contract() {
    let deck = deck();
    let usage = usage();
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    let mut fx = fx();
    fx.insert(date(2026, 3, 5), usd(), d("1.20")).unwrap();
    fx.insert(date(2026, 3, 5), Currency::parse("GBP").unwrap(), d("0.90")).unwrap();
    let gbp_line = |amount: &str| {
        line("8", Service::Sms, Some("A8"), "2026-03-02T17:00:00Z", "447700000008", "2", None, amount, "GBP")
    };
    // A later USD line of the same invoice dates it 2026-03-06 (no invoice_date column).
    let later_line =
        line("9", Service::Voice, Some("A1"), "2026-03-06T10:00:00Z", "442071234567", "78", None, "0.0166", "USD");
    let run = |terms: ContractTerms, lines: Vec<InvoiceLine>| {
        let config =
            ReconcileConfig { contracts: HashMap::from([("acme".to_owned(), terms)]), ..ReconcileConfig::default() };
        reconcile(&usage, &ratings, &lines, &fx, &config)
            .discrepancies
            .iter()
            .filter(|found| found.line_id.as_deref() == Some("8"))
            .map(|found| (found.kind, found.expected_amount))
            .collect::<Vec<_>>()
    };
    use DiscrepancyKind::*;
    // Record date (default): 0.062 * 0.85 / 1.25 = 0.04216, as billed.
    assert_eq!(run(ContractTerms::default(), vec![gbp_line("0.04216"), later_line.clone()]), []);
    // Invoice date = latest line, 2026-03-06 -> Thursday 03-05 rates: 0.062 * 0.90 / 1.20 = 0.0465
    let invoice_date = ContractTerms { fx_policy: FxPolicy::InvoiceDate, ..ContractTerms::default() };
    assert_eq!(run(invoice_date, vec![gbp_line("0.04216"), later_line.clone()]), [(AmountMismatch, Some(d("0.0465")))]);
    // ... or the invoice_date column when the file has one: 2026-03-02 again gives 0.04216.
    let mut dated = gbp_line("0.04216");
    dated.invoice_date = Some(date(2026, 3, 2));
    assert_eq!(run(invoice_date, vec![dated, later_line.clone()]), []);
    // A fixed contract rate of 0.70 GBP per USD: 0.062 * 0.70 = 0.0434.
    let fixed = ContractTerms {
        fx_policy: FxPolicy::Fixed { currency: Currency::parse("GBP").unwrap(), rate: d("0.70") },
        ..ContractTerms::default()
    };
    assert_eq!(run(fixed, vec![gbp_line("0.0434")]), []);
    // A contract that forbids billing in another currency: a mismatch though a rate exists.
    let strict = ContractTerms { deck_currency_only: true, ..ContractTerms::default() };
    assert_eq!(run(strict, vec![gbp_line("0.04216")]), [(CurrencyMismatch, None)]);
}

#[test]
fn report_currency_totals_convert_each_amount_at_its_date() {
    let deck = deck();
    let usage = usage();
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    let config = ReconcileConfig { report_currency: Some(Currency::EUR), ..ReconcileConfig::default() };
    // Line 1 alone: 0.0166 USD on 2026-03-02 at 1.25 USD per EUR = 0.01328 EUR.
    let result = reconcile(&usage, &ratings, &lines()[..1], &fx(), &config);
    let group = &result.summary.groups
        [&GroupKey { carrier: "acme".into(), invoice_id: Some("ACME-03".into()), currency: usd() }];
    let report = group.report.clone().unwrap().unwrap();
    assert_eq!((report.billed_total, report.expected_total), (d("0.01328"), d("0.01328")));
    // With line 1 alone every other billable acme record is unbilled: u2..u5, u7, u8, u9 cost
    // 0.027 + 0.093 + 0.013 + 0.045 + 0.031 + 0.062 + 0.025 = 0.296 USD, all at 1.25 (the
    // rate of 03-02 holds for the whole week): 0.2368 EUR.
    let unbilled = &result.summary.groups[&GroupKey::unbilled(&"acme".into(), usd())];
    assert_eq!(unbilled.report.clone().unwrap().unwrap().underbilled, d("0.2368"));
    // A JPY line with no JPY rate: the group's report is the error, never a rate of 1.
    let result = reconcile(&usage, &ratings, &lines()[6..7], &fx(), &config);
    let jpy = &result.summary.groups[&GroupKey {
        carrier: "acme".into(),
        invoice_id: Some("ACME-03".into()),
        currency: Currency::parse("JPY").unwrap(),
    }];
    assert!(matches!(jpy.report, Some(Err(crate::fx::FxError::UnknownCurrency { .. }))));
}

/// Issue 13: SMS billed on delivery. acme's SMS row (0.031 a message) bills delivered messages
/// only; each record's receipt status decides what a line may charge for it.
#[test]
fn issue13_a_charge_for_an_undelivered_message_is_an_undelivered_charge() {
    use crate::rate_deck::BilledOn;
    use crate::usage::DeliveryStatus::{Expired, Failed, Rejected, Unknown};
    let mut deck = deck();
    deck.set_default_billed_on("acme", BilledOn::Delivered);
    let sms = |id: &str, reference: &str, minute: u32, quantity: &str, status| UsageRecord {
        status,
        ..record(
            id,
            "acme",
            Service::Sms,
            Some(reference),
            &format!("2026-03-02T12:{minute:02}:00Z"),
            "+447700000001",
            quantity,
        )
    };
    let usage = vec![
        sms("s1", "S1", 1, "2", Some(Failed)),
        sms("s2", "S2", 2, "1", Some(Expired)),
        sms("s3", "S3", 3, "1", Some(Unknown)),
        sms("s4", "S4", 4, "1", Some(Rejected)),
        sms("s5", "S5", 5, "1", Some(Rejected)),
        sms("s6", "S6", 6, "3", Some(Failed)),
        sms("s7", "S7", 7, "1", None),
    ];
    let sms_line = |id: &str, reference: &str, minute: u32, quantity: &str, amount: &str, currency: &str| {
        let at = format!("2026-03-02T12:{minute:02}:00Z");
        line(id, Service::Sms, Some(reference), &at, "447700000001", quantity, None, amount, currency)
    };
    let lines = vec![
        // 2 failed messages billed 2 × 0.031 = 0.062: all of it overbilled.
        sms_line("1", "S1", 1, "2", "0.062", "USD"),
        // Expired, billed 5 JPY (no JPY rate exists): nothing to convert, 5 JPY overbilled.
        sms_line("2", "S2", 2, "1", "5", "JPY"),
        // Unknown is no proof of non-delivery: billed 0.031 as usual, no discrepancy.
        sms_line("3", "S3", 3, "1", "0.031", "USD"),
        // Rejected and billed nothing: no discrepancy.
        sms_line("4", "S4", 4, "0", "0", "USD"),
        // Rejected, counted but not charged: a quantity_mismatch (1 against 0) of difference 0.
        sms_line("5", "S5", 5, "1", "0", "USD"),
    ];
    // s6 (failed, never billed) costs 0: not unbilled usage. s7 (no receipt) is: 0.031.
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    let result = reconcile(&usage, &ratings, &lines, &fx(), &ReconcileConfig::default());
    use DiscrepancyKind::*;
    let found: Vec<_> = result
        .discrepancies
        .iter()
        .map(|found| {
            (
                found.line_id.as_deref().unwrap_or_default().to_owned(),
                found.record_id.as_deref().unwrap().to_owned(),
                found.kind,
                found.expected_quantity,
                found.expected_amount,
                found.difference,
            )
        })
        .collect();
    let row = |line: &str, record: &str, kind, expected_quantity: &str, expected: &str, difference: &str| {
        (line.to_owned(), record.to_owned(), kind, Some(d(expected_quantity)), Some(d(expected)), Some(d(difference)))
    };
    assert_eq!(
        found,
        [
            row("", "s7", UnbilledUsage, "1", "0.031", "-0.031"),
            row("1", "s1", UndeliveredCharge, "0", "0", "0.062"),
            row("2", "s2", UndeliveredCharge, "0", "0", "5"),
            row("5", "s5", QuantityMismatch, "0", "0", "0"),
        ]
    );
    // USD lines: billed 0.062 + 0.031 + 0 + 0 = 0.093, expected 0 + 0.031 + 0 + 0 = 0.031,
    // overbilled 0.062 (the difference-0 row adds nothing).
    let usd_group = &result.summary.groups
        [&GroupKey { carrier: "acme".into(), invoice_id: Some("ACME-03".into()), currency: usd() }];
    assert_eq!(
        (usd_group.billed_total, usd_group.expected_total, usd_group.overbilled, usd_group.underbilled),
        (d("0.093"), d("0.031"), d("0.062"), Decimal::ZERO)
    );
    assert_eq!(usd_group.kind_counts[UndeliveredCharge.precedence()], 1);
    let jpy_group = &result.summary.groups[&GroupKey {
        carrier: "acme".into(),
        invoice_id: Some("ACME-03".into()),
        currency: Currency::parse("JPY").unwrap(),
    }];
    assert_eq!((jpy_group.billed_total, jpy_group.expected_total, jpy_group.overbilled), (d("5"), d("0"), d("5")));

    // Billed on submission (the default), the failed messages are owed: line 1 agrees
    // (2 × 0.031 = 0.062) and line 2 is a currency_mismatch (no JPY rate).
    let submitted = self::deck();
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&submitted, record)).collect();
    let result = reconcile(&usage, &ratings, &lines[..2], &fx(), &ReconcileConfig::default());
    let kinds: Vec<_> =
        result.discrepancies.iter().filter(|found| found.line_id.is_some()).map(|found| found.kind).collect();
    assert_eq!(kinds, [CurrencyMismatch]);
}

/// Issue 13, item 3: a carrier that rounds its costs to 4 places up bills a line in another
/// currency rounded the same way. The converted expected amount used to be rounded to 6 places
/// half away from zero whatever the deck or contract said, so the carrier's honest rounding was
/// an `amount_mismatch`.
#[test]
fn issue13_a_converted_expected_amount_is_rounded_the_carriers_way() {
    use crate::money::RoundMode;
    use crate::rate_deck::CostRounding;
    let mut deck = acme_usd_deck(&[(Service::Voice, "44", "0.0070", "60", "1/1", "0")]);
    // The contract, not the row, says how acme rounds: 4 places, up.
    let terms = ContractTerms {
        rounding: Some(CostRounding { decimal_places: 4, mode: RoundMode::Up }),
        ..ContractTerms::default()
    };
    let contracts = HashMap::from([("acme".to_owned(), terms)]);
    deck.apply_contract_defaults(&contracts);
    let usage = vec![record("u1", "acme", Service::Voice, Some("A1"), "2026-03-02T10:00:00Z", "+442071234567", "61")];
    let ratings: Vec<_> = usage.iter().map(|record| rate_record(&deck, record)).collect();
    // 61 s at 0.0070 a minute: 0.0070 * 61 / 60 = 0.00711666..., 4 places up: 0.0072 USD.
    assert_eq!(ratings[0].map(|rating| rating.cost), Some(d("0.0072")));
    let config = ReconcileConfig { contracts, ..ReconcileConfig::default() };
    let eur_line = |amount: &str| {
        line("1", Service::Voice, Some("A1"), "2026-03-02T10:00:00Z", "442071234567", "61", None, amount, "EUR")
    };
    let found = |amount: &str| {
        reconcile(&usage, &ratings, &[eur_line(amount)], &fx(), &config)
            .discrepancies
            .iter()
            .map(|found| (found.kind, found.expected_amount))
            .collect::<Vec<_>>()
    };
    // In EUR at 1.25 USD per EUR on 2026-03-02: 0.0072 / 1.25 = 0.00576, 4 places up: 0.0058.
    // Billed 0.0058 EUR agrees (rounded to 6 places it was expected at 0.005760: a mismatch).
    assert_eq!(found("0.0058"), []);
    // A line billed at the unrounded 0.00576 is 0.00004 under what the carrier's rounding gives.
    assert_eq!(found("0.00576"), [(DiscrepancyKind::AmountMismatch, Some(d("0.0058")))]);
}
