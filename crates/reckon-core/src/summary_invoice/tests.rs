//! Summary reconciliation scenario: one summary invoice of March 2026 with a group of every
//! summary kind beside a group that agrees, each figure computed by hand below; the same traffic
//! invoiced line by line gives the same money impact per destination; and the invoice checks
//! (two periods, a group billed twice, overlapping invoices, grouping by destination name).

use super::*;
use crate::network::NetworkMap;
use crate::rating::{rate_all, Party};
use crate::reconcile::reconcile;
use crate::{Destination, Increments, InvoiceLine, RateRow};
use jiff::civil::date;
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

/// acme's voice deck in USD, per 60 s: (prefix, name, rate, increments).
fn deck() -> RateDeck {
    let rows = [
        ("447", "United Kingdom - Mobile", "0.0120", "60/6"),
        ("336", "France - Mobile", "0.0350", "60/60"),
        ("491", "Germany - Mobile", "0.0200", "1/1"),
        ("34", "Spain", "0.0100", "60/60"),
        ("39", "Italy", "0.0300", "1/1"),
        ("1", "United States", "0.0060", "1/1"),
        ("351", "Portugal", "0.0500", "60/60"),
    ];
    let mut deck = RateDeck::new();
    for (prefix, name, rate, increments) in rows {
        deck.insert(RateRow {
            carrier: "acme".into(),
            service: Service::Voice,
            prefix: prefix.into(),
            destination_name: Some(name.into()),
            rate: d(rate),
            currency: usd(),
            rate_unit: d("60"),
            increments: Increments::parse(increments).unwrap(),
            connect_fee: Decimal::ZERO,
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

fn record(id: &str, carrier: &str, at: &str, destination: &str, seconds: &str) -> UsageRecord {
    UsageRecord {
        record_id: id.into(),
        service: Service::Voice,
        carrier: carrier.into(),
        carrier_ref: None,
        customer: None,
        started_at: ts(at),
        origin: None,
        destination: Destination::parse(destination).unwrap(),
        quantity: d(seconds),
        network: None,
        status: None,
    }
}

/// March's usage. Billed quantities and costs (rate * billed / 60, rounded to 6 places):
/// - UK 447 (60/6): u1 75.2 s -> 60 + ceil(15.2/6)*6 = 78 s, 0.0120*78/60 = 0.0156;
///   u2 30 s -> 60 s, 0.012; u3 61 s -> 66 s, 0.0132. Group: 3 calls, 204 s, 0.0408.
/// - France 336 (60/60): u4 90 s -> 120 s, 0.07; u5 10 s -> 60 s, 0.035. 2 calls, 180 s, 0.105.
///   u11 (0 s, unanswered) is not billable.
/// - Germany 491 (1/1): u6 100 s, 0.0200*100/60 = 0.0333333.. -> 0.033333; u7 50 s,
///   0.0166666.. -> 0.016667. 2 calls, 150 s, 0.05.
/// - Spain 34 (60/60): u8 120 s, 0.02.
/// - Italy 39 (1/1): u9 60 s, 0.03.
/// - United States 1 (1/1): u10 600 s, 0.06 (no summary line bills it).
/// - Out of the invoice: u12 (April), u13 (another carrier).
fn usage() -> Vec<UsageRecord> {
    vec![
        record("u1", "acme", "2026-03-02T10:00:00Z", "+447911000001", "75.2"),
        record("u2", "acme", "2026-03-02T11:00:00Z", "+447911000002", "30"),
        record("u3", "acme", "2026-03-03T09:00:00Z", "+447911000003", "61"),
        record("u4", "acme", "2026-03-02T12:00:00Z", "+33612345678", "90"),
        record("u5", "acme", "2026-03-05T12:00:00Z", "+33612345679", "10"),
        record("u6", "acme", "2026-03-06T08:00:00Z", "+4915112345678", "100"),
        record("u7", "acme", "2026-03-06T09:00:00Z", "+4915112345679", "50"),
        record("u8", "acme", "2026-03-07T08:00:00Z", "+34612345678", "120"),
        record("u9", "acme", "2026-03-08T08:00:00Z", "+393123456789", "60"),
        record("u10", "acme", "2026-03-09T08:00:00Z", "+12025550100", "600"),
        record("u11", "acme", "2026-03-09T09:00:00Z", "+33612345670", "0"),
        record("u12", "acme", "2026-04-01T00:00:00Z", "+447911000004", "60"),
        record("u13", "globex", "2026-03-02T10:00:00Z", "+447911000005", "60"),
    ]
}

fn summary_line(prefix: &str, calls: u64, quantity: &str, rate: Option<&str>, amount: &str) -> SummaryLine {
    SummaryLine {
        carrier: "acme".into(),
        invoice_id: "INV-03".into(),
        invoice_date: Some(date(2026, 4, 2)),
        line_id: prefix.into(),
        period_start: date(2026, 3, 1),
        period_end: date(2026, 3, 31),
        service: Service::Voice,
        prefix: Some(prefix.into()),
        destination_name: None,
        calls: Some(calls),
        quantity: d(quantity),
        rate: rate.map(d),
        amount: d(amount),
        currency: usd(),
    }
}

/// The carrier's summary, one group per kind:
/// - 447: 3 calls, 204 s, 0.0120, 0.0408: agrees, no row.
/// - 336: 3 calls (we have 2), 240 s, 0.14: summary_volume_mismatch, 0.14 - 0.105 = 0.035.
/// - 491: 2 calls, 180 s (we have 150), 0.06: summary_quantity_mismatch, 0.06 - 0.05 = 0.01.
/// - 34: 1 call, 120 s, rate 0.0150 (ours 0.0100), 0.03: summary_rate_mismatch, 0.03 - 0.02 = 0.01.
/// - 39: 1 call, 60 s, 0.0300, 0.04: summary_amount_mismatch, 0.04 - 0.03 = 0.01.
/// - 351: 4 calls, 240 s, 0.50, no traffic of ours: summary_unexpected_group, 0.50 - 0 = 0.50.
/// - our 1 (United States), no line: summary_unbilled_group, 0 - 0.06 = -0.06.
fn summary_lines() -> Vec<SummaryLine> {
    vec![
        summary_line("447", 3, "204", Some("0.0120"), "0.0408"),
        summary_line("336", 3, "240", None, "0.14"),
        summary_line("491", 2, "180", None, "0.06"),
        summary_line("34", 1, "120", Some("0.0150"), "0.03"),
        summary_line("39", 1, "60", Some("0.0300"), "0.04"),
        summary_line("351", 4, "240", Some("0.0500"), "0.50"),
    ]
}

fn run(usage: &[UsageRecord], lines: &[SummaryLine]) -> Result<SummaryReconciliation, SummaryError> {
    let deck = deck();
    let ratings = rate_all(&deck, usage, Party::Carrier, &NetworkMap::new());
    reconcile_summaries(usage, &ratings, &deck, lines, &FxTable::new(), &ReconcileConfig::default())
}

type Row = (Option<String>, &'static str, String, String, String, String, String, String);

fn rows(result: &SummaryReconciliation) -> Vec<Row> {
    result
        .discrepancies
        .iter()
        .map(|row| {
            (
                row.line_id.as_ref().map(ToString::to_string),
                row.kind.as_str(),
                row.destination.clone(),
                row.billed_quantity.normalize().to_string(),
                row.expected_quantity.unwrap().normalize().to_string(),
                row.billed_amount.normalize().to_string(),
                row.expected_amount.unwrap().normalize().to_string(),
                row.difference.unwrap().normalize().to_string(),
            )
        })
        .collect()
}

fn row(line: Option<&str>, kind: &'static str, group: &str, figures: [&str; 5]) -> Row {
    let [billed_quantity, expected_quantity, billed, expected, difference] = figures.map(str::to_owned);
    (line.map(str::to_owned), kind, group.to_owned(), billed_quantity, expected_quantity, billed, expected, difference)
}

#[test]
fn every_summary_kind_with_its_money_impact() {
    let result = run(&usage(), &summary_lines()).unwrap();
    // Sorted as discrepancies.csv: the invoice's unbilled group first, then the lines in order.
    assert_eq!(
        rows(&result),
        vec![
            row(None, "summary_unbilled_group", "1", ["0", "600", "0", "0.06", "-0.06"]),
            row(Some("336"), "summary_volume_mismatch", "336", ["240", "180", "0.14", "0.105", "0.035"]),
            row(Some("491"), "summary_quantity_mismatch", "491", ["180", "150", "0.06", "0.05", "0.01"]),
            row(Some("34"), "summary_rate_mismatch", "34", ["120", "120", "0.03", "0.02", "0.01"]),
            row(Some("39"), "summary_amount_mismatch", "39", ["60", "60", "0.04", "0.03", "0.01"]),
            row(Some("351"), "summary_unexpected_group", "351", ["240", "0", "0.5", "0", "0.5"]),
        ]
    );
    let every_row = &result.discrepancies;
    assert!(every_row.iter().all(|row| row.invoice_id.as_deref() == Some("INV-03") && row.record_id.is_none()));
    assert!(every_row.iter().all(|row| row.started_at == ts("2026-03-01T00:00:00Z")));
    // The agreeing group is compared too: 3 calls of ours, at one rate.
    let uk = &result.groups[0];
    assert_eq!((uk.kind, uk.expected.calls, uk.expected.rate), (None, 3, Some(d("0.0120"))));
    assert_eq!(uk.expected.amount, Some(d("0.0408")));
    // France counts its two billable calls: u11 (0 s) is not one.
    let france: Vec<String> =
        result.groups[1].records.iter().map(|(index, _)| usage()[*index].record_id.to_string()).collect();
    assert_eq!(france, ["u4", "u5"]);
}

#[test]
fn evidence_per_day_and_records_of_a_group() {
    let usage = usage();
    let deck = deck();
    let ratings = rate_all(&deck, &usage, Party::Carrier, &NetworkMap::new());
    let result =
        reconcile_summaries(&usage, &ratings, &deck, &summary_lines(), &FxTable::new(), &ReconcileConfig::default())
            .unwrap();
    // The UK group spans two days: 2 March (u1 78 s 0.0156 + u2 60 s 0.012) and 3 March (u3).
    let uk = &result.groups[0];
    let days = uk.evidence_by_day(&usage, &ratings).unwrap();
    let days: Vec<(String, u64, String, String)> = days
        .iter()
        .map(|day| {
            (day.date.to_string(), day.calls, day.quantity.to_string(), day.expected_amount.unwrap().to_string())
        })
        .collect();
    assert_eq!(
        days,
        vec![
            ("2026-03-02".to_owned(), 2, "138".to_owned(), "0.0276".to_owned()),
            ("2026-03-03".to_owned(), 1, "66".to_owned(), "0.0132".to_owned()),
        ]
    );
}

/// The itemised invoice of the same traffic, with the same planted differences:
/// - 447: three lines that agree;
/// - 336: u4 and u5 as rated, and a third line no call of ours matches (+0.035);
/// - 491: u6 billed 120 s for 0.04 (+0.006667) and u7 60 s for 0.02 (+0.003333);
/// - 34: u8 at 0.0150 for 0.03 (+0.01); 39: u9 for 0.04 (+0.01);
/// - 351: four lines of 60 s at 0.125 with no call behind them (+0.50);
/// - u10 (United States) is not billed (-0.06).
fn itemised_lines() -> Vec<InvoiceLine> {
    let line = |id: &str, at: &str, destination: &str, quantity: &str, rate: Option<&str>, amount: &str| InvoiceLine {
        carrier: "acme".into(),
        invoice_id: "INV-03".into(),
        invoice_date: None,
        line_id: id.into(),
        carrier_ref: None,
        service: Service::Voice,
        started_at: ts(at),
        destination: Destination::parse(destination).unwrap(),
        quantity: d(quantity),
        rate: rate.map(d),
        amount: d(amount),
        currency: usd(),
    };
    vec![
        line("1", "2026-03-02T10:00:00Z", "+447911000001", "78", None, "0.0156"),
        line("2", "2026-03-02T11:00:00Z", "+447911000002", "60", None, "0.012"),
        line("3", "2026-03-03T09:00:00Z", "+447911000003", "66", None, "0.0132"),
        line("4", "2026-03-02T12:00:00Z", "+33612345678", "120", None, "0.07"),
        line("5", "2026-03-05T12:00:00Z", "+33612345679", "60", None, "0.035"),
        line("6", "2026-03-20T12:00:00Z", "+33612345600", "60", None, "0.035"),
        line("7", "2026-03-06T08:00:00Z", "+4915112345678", "120", None, "0.04"),
        line("8", "2026-03-06T09:00:00Z", "+4915112345679", "60", None, "0.02"),
        line("9", "2026-03-07T08:00:00Z", "+34612345678", "120", Some("0.0150"), "0.03"),
        line("10", "2026-03-08T08:00:00Z", "+393123456789", "60", None, "0.04"),
        line("11", "2026-03-10T08:00:00Z", "+351912345671", "60", None, "0.125"),
        line("12", "2026-03-11T08:00:00Z", "+351912345672", "60", None, "0.125"),
        line("13", "2026-03-12T08:00:00Z", "+351912345673", "60", None, "0.125"),
        line("14", "2026-03-13T08:00:00Z", "+351912345674", "60", None, "0.125"),
    ]
}

/// The summary a carrier makes of its itemised lines: calls, quantity and amount summed per
/// prefix.
fn summarised(lines: &[InvoiceLine], prefixes: &[&str]) -> Vec<SummaryLine> {
    prefixes
        .iter()
        .map(|prefix| {
            let group: Vec<&InvoiceLine> =
                lines.iter().filter(|line| group_of(line.destination.digits(), prefixes) == *prefix).collect();
            let quantity: Decimal = group.iter().map(|line| line.quantity).sum();
            let amount: Decimal = group.iter().map(|line| line.amount).sum();
            summary_line(prefix, group.len() as u64, &quantity.to_string(), None, &amount.to_string())
        })
        .collect()
}

fn group_of<'p>(digits: &str, prefixes: &[&'p str]) -> &'p str {
    prefixes.iter().copied().filter(|prefix| digits.starts_with(prefix)).max_by_key(|prefix| prefix.len()).unwrap()
}

#[test]
fn a_summary_and_the_itemised_invoice_of_the_same_traffic_have_the_same_impact_per_destination() {
    let usage: Vec<UsageRecord> = usage().into_iter().filter(|record| record.carrier.as_ref() == "acme").collect();
    let deck = deck();
    let ratings = rate_all(&deck, &usage, Party::Carrier, &NetworkMap::new());
    let config = ReconcileConfig { period: Some(crate::period::Month { year: 2026, month: 3 }), ..Default::default() };
    let lines = itemised_lines();
    let itemised = reconcile(&usage, &ratings, &lines, &FxTable::new(), &config);
    let prefixes = ["447", "336", "491", "34", "39", "351", "1"];
    let mut itemised_impact: BTreeMap<&str, Decimal> = BTreeMap::new();
    for row in &itemised.discrepancies {
        *itemised_impact.entry(group_of(&row.destination, &prefixes)).or_default() += row.difference.unwrap();
    }
    // The summary bills every prefix the itemised invoice bills (not the United States).
    let summary_lines = summarised(&lines, &prefixes[..6]);
    let summary = reconcile_summaries(&usage, &ratings, &deck, &summary_lines, &FxTable::new(), &config).unwrap();
    let summary_impact: BTreeMap<&str, Decimal> = summary
        .discrepancies
        .iter()
        .map(|row| (group_of(&row.destination, &prefixes), row.difference.unwrap()))
        .collect();
    let expected: BTreeMap<&str, Decimal> = [
        ("336", d("0.035")),
        ("491", d("0.01")),
        ("34", d("0.01")),
        ("39", d("0.01")),
        ("351", d("0.5")),
        ("1", d("-0.06")),
    ]
    .into_iter()
    .collect();
    let normalized = |impact: BTreeMap<&str, Decimal>| -> BTreeMap<String, String> {
        impact
            .into_iter()
            .filter(|(_, difference)| !difference.is_zero())
            .map(|(group, difference)| (group.to_owned(), difference.normalize().to_string()))
            .collect()
    };
    assert_eq!(normalized(itemised_impact), normalized(expected.clone()));
    assert_eq!(normalized(summary_impact), normalized(expected));
}

#[test]
fn grouping_by_destination_name_follows_the_deck_rows() {
    // No prefixes: the lines name destinations as the deck does (case and spaces aside).
    let mut uk = summary_line("447", 3, "204", None, "0.0408");
    uk.prefix = None;
    uk.destination_name = Some("united  kingdom - MOBILE".into());
    uk.line_id = "UK".into();
    let result = run(&usage(), &[uk]).unwrap();
    assert_eq!(result.groups[0].kind, None);
    assert_eq!(result.groups[0].expected.calls, 3);
    // Every other billable group of ours is unbilled, named as its deck row.
    let unbilled: Vec<&str> = result.groups[1..].iter().map(|group| group.group.as_str()).collect();
    assert_eq!(unbilled, ["France - Mobile", "Germany - Mobile", "Spain", "Italy", "United States"]);
}

#[test]
fn a_line_in_a_currency_no_rate_converts_is_a_currency_mismatch() {
    let mut line = summary_line("447", 3, "204", None, "0.0380");
    line.currency = Currency::parse("EUR").unwrap();
    let result = run(&usage(), &[line]).unwrap();
    // The other groups of ours are unbilled (first); the EUR line cannot be compared.
    let row = result.discrepancies.iter().find(|row| row.line_id.as_deref() == Some("447")).unwrap();
    assert_eq!(row.kind, DiscrepancyKind::CurrencyMismatch);
    assert_eq!((row.expected_amount, row.difference), (None, None));
}

#[test]
fn invoices_that_cannot_be_compared_are_errors() {
    let mut other_period = summary_line("336", 2, "180", None, "0.105");
    other_period.period_end = date(2026, 3, 30);
    let error = run(&usage(), &[summary_line("447", 3, "204", None, "0.0408"), other_period]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "summary invoice \"INV-03\" of acme: its lines give two periods (2026-03-01 to 2026-03-31 and \
         2026-03-01 to 2026-03-30); an invoice covers one period"
    );
    let mut twice = summary_line("447", 1, "60", None, "0.01");
    twice.line_id = "9".into();
    let error = run(&usage(), &[summary_line("447", 3, "204", None, "0.0408"), twice]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "summary invoice \"INV-03\" of acme: voice group \"447\" is billed on two lines (\"447\" and \"9\"); \
         a group is billed once"
    );
    let mut second_invoice = summary_line("336", 2, "180", None, "0.105");
    second_invoice.invoice_id = "INV-03B".into();
    second_invoice.period_start = date(2026, 3, 15);
    let error = run(&usage(), &[summary_line("447", 3, "204", None, "0.0408"), second_invoice]).unwrap_err();
    assert_eq!(
        error.to_string(),
        "summary invoices \"INV-03\" and \"INV-03B\" of acme both bill voice traffic of 2026-03-15: each day of \
         a carrier's traffic is compared with one summary invoice"
    );
}
