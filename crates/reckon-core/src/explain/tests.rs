//! Explanations of hand-computed scenarios: each step's words and the expected amount, which
//! must be the run's own (the figures are worked out in the comments).

use super::*;
use crate::contract::ContractTerms;
use crate::{Destination, RateRow, Timestamp};
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn currency(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

/// acme's voice deck in USD: 44 at 0.0120 per 60 s, 60/6, connect fee 0.0010; 4479 at 0.0520
/// per 60 s, 1/1, minimum 0.0100.
fn deck() -> RateDeck {
    let mut deck = RateDeck::new();
    for (prefix, rate, increments, connect_fee, min_charge) in
        [("44", "0.0120", "60/6", "0.0010", "0"), ("4479", "0.0520", "1/1", "0", "0.0100")]
    {
        deck.insert(RateRow {
            carrier: "acme".into(),
            service: Service::Voice,
            prefix: prefix.into(),
            destination_name: Some(format!("dest {prefix}")),
            rate: d(rate),
            currency: currency("USD"),
            rate_unit: d("60"),
            increments: Increments::parse(increments).unwrap(),
            connect_fee: d(connect_fee),
            min_charge: d(min_charge),
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

fn record(id: &str, reference: &str, destination: &str, quantity: &str) -> UsageRecord {
    UsageRecord {
        record_id: id.into(),
        service: Service::Voice,
        carrier: "acme".into(),
        carrier_ref: Some(reference.into()),
        customer: None,
        started_at: ts("2026-03-05T10:00:00Z"),
        origin: None,
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        network: None,
        status: None,
    }
}

fn line(id: &str, reference: &str, destination: &str, quantity: &str, amount: &str, code: &str) -> InvoiceLine {
    InvoiceLine {
        carrier: "acme".into(),
        invoice_id: "A-1".into(),
        invoice_date: None,
        line_id: id.into(),
        carrier_ref: Some(reference.into()),
        service: Service::Voice,
        started_at: ts("2026-03-05T10:00:00Z"),
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        rate: None,
        amount: d(amount),
        currency: currency(code),
    }
}

struct Scenario {
    usage: Vec<UsageRecord>,
    lines: Vec<InvoiceLine>,
    deck: RateDeck,
    fx: FxTable,
    config: ReconcileConfig,
    networks: NetworkMap,
}

impl Scenario {
    fn new() -> Scenario {
        let mut fx = FxTable::new();
        fx.insert(jiff::civil::date(2026, 3, 5), currency("USD"), d("1.08")).unwrap();
        let mut config = ReconcileConfig::default();
        config.contracts.insert("acme".to_owned(), ContractTerms::default());
        Scenario {
            usage: vec![
                record("u1", "R1", "447700900001", "75.2"),
                record("u2", "R2", "447912345678", "1"),
                record("u3", "R3", "4412345", "0"),
            ],
            lines: vec![
                line("1", "R1", "447700900001", "78", "0.016", "EUR"),
                line("2", "R2", "447912345678", "1", "0.01", "USD"),
                line("3", "R9", "331234", "60", "0.5", "USD"),
            ],
            deck: deck(),
            fx,
            config,
            networks: NetworkMap::new(),
        }
    }

    fn inputs(&self) -> ExplainInputs<'_> {
        ExplainInputs {
            usage: &self.usage,
            deck: &self.deck,
            networks: &self.networks,
            lines: &self.lines,
            other_period_lines: &[],
            fx: &self.fx,
            config: &self.config,
        }
    }
}

fn detail<'a>(explanation: &'a Explanation, title: &str) -> &'a str {
    let found = explanation.steps.iter().find(|step| step.title == title);
    &found.unwrap_or_else(|| panic!("no step {title} in\n{explanation}")).detail
}

#[test]
fn a_record_is_explained_by_its_increments_connect_fee_and_rounding() {
    let scenario = Scenario::new();
    let explanation = explain_record(&scenario.inputs(), 0);
    // 75.2 s at 60/6: 60 + ceil(15.2 / 6) * 6 = 78 s; 78 * 0.0120 = 0.936; / 60 = 0.0156;
    // + 0.0010 connect fee = 0.0166.
    assert_eq!(detail(&explanation, "increments"), "75.2 s → 78 s at 60/6");
    assert_eq!(detail(&explanation, "units"), "78 s × 0.012 = 0.936");
    assert_eq!(
        detail(&explanation, "cost"),
        "0.936 / 60 + connect fee 0.001 = 0.0166; rounded to 6 places half away from zero: 0.0166"
    );
    assert!(detail(&explanation, "deck row").starts_with("acme voice prefix 44 (dest 44)"), "{explanation}");
    assert_eq!(explanation.expected_amount, Some(d("0.0166")));
    assert_eq!(explanation.currency, Some(currency("USD")));
    assert_eq!(detail(&explanation, "billed"), "by line acme/A-1/1 (amount_mismatch)");
}

#[test]
fn a_line_in_another_currency_is_explained_by_its_conversion() {
    let scenario = Scenario::new();
    let explanation = explain_line(&scenario.inputs(), 0);
    // 0.0166 USD at 1.08 USD per EUR = 0.015370370...; 6 places: 0.01537 EUR; billed 0.016:
    // 0.016 - 0.01537 = 0.00063 overbilled.
    assert_eq!(
        detail(&explanation, "conversion"),
        "0.0166 USD → EUR at the rates of 2026-03-05 (the record's date): 1.08 USD per EUR of 2026-03-05 \
         = 0.0153703703703703703703703704; rounded to 6 places half away from zero: 0.01537 EUR"
    );
    assert_eq!(detail(&explanation, "match"), "record u1 by the carrier's reference R1");
    assert_eq!(explanation.expected_amount, Some(d("0.01537")));
    assert_eq!(explanation.difference, Some(d("0.00063")));
    assert_eq!(explanation.discrepancy, Some(DiscrepancyKind::AmountMismatch));
}

#[test]
fn a_short_call_is_raised_to_the_minimum() {
    let scenario = Scenario::new();
    let explanation = explain_line(&scenario.inputs(), 1);
    // 1 s at 0.0520 per 60 s = 0.000866..., below the minimum 0.0100: 0.01, as billed.
    assert_eq!(detail(&explanation, "increments"), "1 s → 1 s at 1/1");
    assert!(detail(&explanation, "cost").contains(", below the minimum: 0.01;"), "{explanation}");
    assert_eq!(explanation.expected_amount, Some(d("0.01")));
    assert_eq!(explanation.discrepancy, None);
    assert!(detail(&explanation, "check").starts_with("agrees"), "{explanation}");
}

#[test]
fn an_unmatched_line_is_expected_at_nothing() {
    let scenario = Scenario::new();
    let explanation = explain_line(&scenario.inputs(), 2);
    assert_eq!(explanation.discrepancy, Some(DiscrepancyKind::UnmatchedCharge));
    assert_eq!(explanation.expected_amount, Some(Decimal::ZERO));
    assert_eq!(detail(&explanation, "check"), "unmatched_charge: expected 0, billed 0.5 USD: overbilled by 0.5 USD");
}

#[test]
fn a_record_of_quantity_zero_costs_nothing_and_says_so() {
    let scenario = Scenario::new();
    let explanation = explain_record(&scenario.inputs(), 2);
    assert!(detail(&explanation, "quantity").starts_with("the measured quantity is 0"), "{explanation}");
    assert_eq!(explanation.expected_amount, Some(Decimal::ZERO));
    assert_eq!(detail(&explanation, "billed"), "no line bills it, and it costs nothing");
}

#[test]
fn explained_amounts_are_the_runs_own() {
    let scenario = Scenario::new();
    let inputs = scenario.inputs();
    let ratings = crate::rating::rate_all(&scenario.deck, &scenario.usage, Party::Carrier, &scenario.networks);
    for (index, rating) in ratings.iter().enumerate() {
        assert_eq!(explain_record(&inputs, index).expected_amount, rating.map(|rating| rating.cost));
    }
    let run = crate::reconcile(&scenario.usage, &ratings, &scenario.lines, &scenario.fx, &scenario.config);
    for (index, line) in scenario.lines.iter().enumerate() {
        let explanation = explain_line(&inputs, index);
        let found = run.discrepancies.iter().find(|found| found.line_index == Some(index));
        match found {
            Some(discrepancy) => {
                assert_eq!(explanation.discrepancy, Some(discrepancy.kind));
                assert_eq!(explanation.expected_amount, discrepancy.expected_amount);
            }
            None => {
                assert_eq!(explanation.discrepancy, None);
                assert_eq!(explanation.expected_amount, Some(line.amount));
            }
        }
    }
}
