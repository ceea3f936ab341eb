//! Matching: the worked example of FORMATS.md and the tie rules, each through `check`.

use super::*;
use crate::{Currency, Destination};
use rust_decimal::Decimal;

fn ts(text: &str) -> Timestamp {
    text.parse().unwrap()
}

fn record(id: &str, reference: Option<&str>, at: &str) -> UsageRecord {
    UsageRecord {
        record_id: id.into(),
        service: Service::Voice,
        carrier: "acme".into(),
        carrier_ref: reference.map(Into::into),
        customer: None,
        started_at: ts(at),
        origin: None,
        destination: Destination::parse("447911000001").unwrap(),
        quantity: Decimal::ONE,
        network: None,
        status: None,
    }
}

fn line(id: &str, reference: Option<&str>, at: &str) -> InvoiceLine {
    InvoiceLine {
        carrier: "acme".into(),
        invoice_id: "INV".into(),
        invoice_date: None,
        line_id: id.into(),
        carrier_ref: reference.map(Into::into),
        service: Service::Voice,
        started_at: ts(at),
        destination: Destination::parse("447911000001").unwrap(),
        quantity: Decimal::ONE,
        rate: None,
        amount: Decimal::ONE,
        currency: Currency::parse("USD").unwrap(),
    }
}

#[track_caller]
fn check(usage: &[UsageRecord], lines: &[InvoiceLine], expected: &[LineMatch]) {
    let mut matcher = Matcher::new(usage, SignedDuration::from_secs(60));
    let actual: Vec<LineMatch> = lines.iter().map(|line| matcher.match_line(line)).collect();
    assert_eq!(actual, expected);
}

#[test]
fn formats_md_worked_example() {
    // U1 ref R1 at 12:00:00, U2 no ref at 12:00:40.
    let usage = [record("U1", Some("R1"), "2026-03-01T12:00:00Z"), record("U2", None, "2026-03-01T12:00:40Z")];
    // L1 no ref at 12:00:10 takes U1 by time (10 s beats 30 s); L2 ref R1 finds U1 taken and
    // takes U2 by time (40 s); L3's candidates are both taken: duplicate naming U1 (by ref).
    let lines = [
        line("L1", None, "2026-03-01T12:00:10Z"),
        line("L2", Some("R1"), "2026-03-01T12:00:00Z"),
        line("L3", Some("R1"), "2026-03-01T12:00:00Z"),
    ];
    check(&usage, &lines, &[LineMatch::Matched(0), LineMatch::Matched(1), LineMatch::Duplicate(0)]);
}

#[test]
fn different_references_never_match() {
    let usage = [record("U1", Some("R1"), "2026-03-01T12:00:00Z")];
    let lines = [line("L1", Some("R2"), "2026-03-01T12:00:00Z")];
    check(&usage, &lines, &[LineMatch::Unmatched]);
}

#[test]
fn time_tolerance_is_inclusive() {
    let usage = [record("U1", None, "2026-03-01T12:00:00Z")];
    // 60 s apart: a candidate. 61 s apart: none.
    check(&usage, &[line("L1", None, "2026-03-01T12:01:00Z")], &[LineMatch::Matched(0)]);
    check(&usage, &[line("L1", None, "2026-03-01T11:58:59Z")], &[LineMatch::Unmatched]);
}

#[test]
fn equal_distance_goes_to_the_earlier_usage_row() {
    // U1 (usage row 0) 20 s after, U2 (row 1) 20 s before: both 20 s away, U1 comes first.
    let usage = [record("U1", None, "2026-03-01T12:00:20Z"), record("U2", None, "2026-03-01T11:59:40Z")];
    check(
        &usage,
        &[line("L1", None, "2026-03-01T12:00:00Z"), line("L2", None, "2026-03-01T12:00:00Z")],
        &[LineMatch::Matched(0), LineMatch::Matched(1)],
    );
}

#[test]
fn reference_matches_ignore_time_and_prefer_usage_order() {
    // The same reference twice in the usage: the first row wins, then the second; a third line
    // is a duplicate naming the first. Time does not matter for references.
    let usage = [record("U1", Some("R1"), "2026-03-01T12:00:00Z"), record("U2", Some("R1"), "2026-03-09T12:00:00Z")];
    let lines = [
        line("L1", Some("R1"), "2026-03-20T00:00:00Z"),
        line("L2", Some("R1"), "2026-03-20T00:00:00Z"),
        line("L3", Some("R1"), "2026-03-20T00:00:00Z"),
    ];
    check(&usage, &lines, &[LineMatch::Matched(0), LineMatch::Matched(1), LineMatch::Duplicate(0)]);
}

#[test]
fn other_carrier_or_service_is_no_candidate() {
    let mut other_carrier = record("U1", None, "2026-03-01T12:00:00Z");
    other_carrier.carrier = "borealis".into();
    let mut other_service = record("U2", None, "2026-03-01T12:00:00Z");
    other_service.service = Service::Sms;
    check(&[other_carrier, other_service], &[line("L1", None, "2026-03-01T12:00:00Z")], &[LineMatch::Unmatched]);
}
