//! Totals of a run per carrier, invoice and currency: what finance reads first.

use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::fx::FxError;
use crate::money::{add_to, TotalOverflow};
use crate::reconcile::LineCheck;
use crate::{Currency, FxTable, InvoiceLine};
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What a group of totals is keyed by. Unbilled usage has no invoice: its group has
/// `invoice_id: None` and sorts before the carrier's invoices.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupKey {
    pub carrier: Arc<str>,
    pub invoice_id: Option<Arc<str>>,
    /// The currency the amounts are in (the lines' currency; the contract's for unbilled usage).
    pub currency: Currency,
}

impl GroupKey {
    /// The group of an invoice line.
    pub fn of_line(line: &InvoiceLine) -> GroupKey {
        GroupKey { carrier: line.carrier.clone(), invoice_id: Some(line.invoice_id.clone()), currency: line.currency }
    }

    /// The group of a carrier's unbilled usage.
    pub fn unbilled(carrier: &Arc<str>, currency: Currency) -> GroupKey {
        GroupKey { carrier: carrier.clone(), invoice_id: None, currency }
    }
}

/// Totals of one group.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupTotals {
    pub lines_billed: u64,
    pub lines_matched: u64,
    /// Sum of the amounts billed.
    pub billed_total: Decimal,
    /// Sum of our expected amounts, over lines where one is known (unbilled: the records' costs).
    pub expected_total: Decimal,
    /// Billed amounts of lines whose expected amount is unknown (no rate, no conversion).
    pub unverified_total: Decimal,
    /// Sum of the positive differences of the group's discrepancies.
    pub overbilled: Decimal,
    /// Sum of the negative differences of the group's discrepancies, as a positive amount.
    pub underbilled: Decimal,
    /// Discrepancies per kind, indexed by [`DiscrepancyKind::precedence`].
    pub kind_counts: [u64; DiscrepancyKind::ALL.len()],
    /// Contract-charge discrepancies per kind, indexed by [`DiscrepancyKind::charge_index`].
    pub charge_kind_counts: [u64; DiscrepancyKind::CHARGES.len()],
    /// The same amounts in the report currency, each converted at its own date and rounded to 6
    /// places; the first
    /// conversion error instead when one amount could not be converted.
    pub report: Option<Result<ReportTotals, FxError>>,
    /// Where the reported conversion error stands in the run: of several, the group reports the
    /// first in run order, whatever order the parts of a split run were added in.
    pub report_error_at: Option<RunOrder>,
}

/// Where an amount stands in a run: lines in file order, then unbilled records in usage order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunOrder {
    /// The invoice line of this index in the run (and its discrepancy).
    Line(usize),
    /// The unbilled record of this index in the usage.
    Record(usize),
}

impl RunOrder {
    /// The place of a discrepancy: its line's, else its record's.
    pub fn of(discrepancy: &Discrepancy) -> RunOrder {
        match (discrepancy.line_index, discrepancy.record_index) {
            (Some(line_index), _) => RunOrder::Line(line_index),
            (None, record_index) => RunOrder::Record(record_index.unwrap_or(usize::MAX)),
        }
    }
}

/// A group's amounts in the report currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportTotals {
    pub currency: Currency,
    pub billed_total: Decimal,
    pub expected_total: Decimal,
    pub overbilled: Decimal,
    pub underbilled: Decimal,
}

/// Converts amounts into the report currency (none: no report currency).
#[derive(Clone, Copy)]
pub struct ReportConversion<'a> {
    pub currency: Option<Currency>,
    pub fx: &'a FxTable,
}

/// Why a report-currency total could not be added to.
enum ReportError {
    /// An amount could not be converted: the group's report totals become this error.
    Fx(FxError),
    /// A sum overflowed: the whole summary is in error.
    Overflow(TotalOverflow),
}

impl From<FxError> for ReportError {
    fn from(error: FxError) -> ReportError {
        ReportError::Fx(error)
    }
}

impl From<TotalOverflow> for ReportError {
    fn from(overflow: TotalOverflow) -> ReportError {
        ReportError::Overflow(overflow)
    }
}

/// Converts an amount into the report currency at a date, rounded like a cost.
type ConvertFn<'f> = &'f dyn Fn(Decimal, Currency, Date) -> Result<Decimal, FxError>;

impl GroupTotals {
    /// Adds to the report-currency totals: `update` receives them and the converter.
    fn add_report(
        &mut self,
        report: &ReportConversion<'_>,
        at: RunOrder,
        update: impl FnOnce(&mut ReportTotals, ConvertFn<'_>) -> Result<(), ReportError>,
    ) -> Result<(), TotalOverflow> {
        let Some(report_currency) = report.currency else { return Ok(()) };
        if self.report_error_at.is_some_and(|error_at| error_at < at) {
            return Ok(()); // An earlier amount could not be converted: the group reports that.
        }
        let totals = self.report.get_or_insert(Ok(ReportTotals {
            currency: report_currency,
            billed_total: Decimal::ZERO,
            expected_total: Decimal::ZERO,
            overbilled: Decimal::ZERO,
            underbilled: Decimal::ZERO,
        }));
        // An error of a later amount (added earlier, by another part of the run) gives way.
        let mut scratch = None;
        let report_totals = match totals {
            Ok(report_totals) => report_totals,
            Err(_) => scratch.insert(ReportTotals {
                currency: report_currency,
                billed_total: Decimal::ZERO,
                expected_total: Decimal::ZERO,
                overbilled: Decimal::ZERO,
                underbilled: Decimal::ZERO,
            }),
        };
        // Each amount converts at its own date and rounds like a cost (6 places); sums stay exact.
        let convert = |amount: Decimal, currency: Currency, date: Date| {
            report.fx.convert_cost(amount, currency, report_currency, date)
        };
        match update(report_totals, &convert) {
            Ok(()) => Ok(()),
            Err(ReportError::Fx(error)) => {
                *totals = Err(error);
                self.report_error_at = Some(at);
                Ok(())
            }
            Err(ReportError::Overflow(overflow)) => Err(overflow),
        }
    }
}

/// Totals of a run, by group, in a stable order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub groups: BTreeMap<GroupKey, GroupTotals>,
    /// Set when a total overflowed (see [`TotalOverflow`]): the totals are then incomplete and
    /// must not be reported ([`Summary::checked`]). The first overflow is kept, so that a caller
    /// feeding lines one by one checks once, at the end.
    pub overflow: Option<TotalOverflow>,
}

impl Summary {
    /// Counts a line of an invoice with what its check found.
    /// `line_index` is the line's place in the run ([`RunOrder::Line`]).
    pub fn add_line(
        &mut self,
        line: &InvoiceLine,
        line_index: usize,
        matched: bool,
        check: &LineCheck,
        report: &ReportConversion<'_>,
    ) {
        let totals = self.groups.entry(GroupKey::of_line(line)).or_default();
        let billed = Billed { amount: line.amount, currency: line.currency, started_at: line.started_at };
        let outcome = add_line_to(totals, &billed, RunOrder::Line(line_index), matched, check.expected_amount, report);
        self.note(outcome);
    }

    /// Counts a contract charge line (not usage) of an invoice with the amount expected of it
    /// (`None`: not known). It is not matched to usage, and stands after the run's usage lines.
    pub fn add_charge_line(
        &mut self,
        key: GroupKey,
        billed: &Billed,
        expected_amount: Option<Decimal>,
        report: &ReportConversion<'_>,
    ) {
        let totals = self.groups.entry(key).or_default();
        let outcome = add_line_to(totals, billed, RunOrder::Record(usize::MAX), false, expected_amount, report);
        self.note(outcome);
    }

    /// Counts a discrepancy in its group.
    pub fn add_discrepancy(&mut self, key: GroupKey, discrepancy: &Discrepancy, report: &ReportConversion<'_>) {
        let totals = self.groups.entry(key).or_default();
        let outcome = add_discrepancy_to(totals, discrepancy, report);
        self.note(outcome);
    }

    /// The summary, or the overflow that makes its totals wrong.
    ///
    /// # Errors
    /// When a total overflowed.
    pub fn checked(&self) -> Result<&Summary, TotalOverflow> {
        self.overflow.map_or(Ok(self), Err)
    }

    /// Adds the totals of another part of the same run (disjoint lines and records): the result
    /// is the summary of both parts added in one, in any order.
    pub fn merge(&mut self, other: Summary) {
        if let Some(overflow) = other.overflow {
            self.overflow.get_or_insert(overflow);
        }
        for (key, theirs) in other.groups {
            let ours = self.groups.entry(key).or_default();
            let outcome = merge_totals(ours, theirs);
            self.note(outcome);
        }
    }

    fn note(&mut self, outcome: Result<(), TotalOverflow>) {
        if let Err(overflow) = outcome {
            self.overflow.get_or_insert(overflow);
        }
    }

    /// Contract-charge discrepancies of every group, per kind ([`DiscrepancyKind::CHARGES`] order).
    pub fn charge_kind_counts(&self) -> [u64; DiscrepancyKind::CHARGES.len()] {
        let mut counts = [0; DiscrepancyKind::CHARGES.len()];
        for totals in self.groups.values() {
            for (count, group_count) in counts.iter_mut().zip(totals.charge_kind_counts) {
                *count += group_count;
            }
        }
        counts
    }

    /// Discrepancies of every group, per kind (precedence order).
    pub fn kind_counts(&self) -> [u64; DiscrepancyKind::ALL.len()] {
        let mut counts = [0; DiscrepancyKind::ALL.len()];
        for totals in self.groups.values() {
            for (count, group_count) in counts.iter_mut().zip(totals.kind_counts) {
                *count += group_count;
            }
        }
        counts
    }
}

fn merge_totals(ours: &mut GroupTotals, theirs: GroupTotals) -> Result<(), TotalOverflow> {
    ours.lines_billed += theirs.lines_billed;
    ours.lines_matched += theirs.lines_matched;
    add_to(&mut ours.billed_total, theirs.billed_total)?;
    add_to(&mut ours.expected_total, theirs.expected_total)?;
    add_to(&mut ours.unverified_total, theirs.unverified_total)?;
    add_to(&mut ours.overbilled, theirs.overbilled)?;
    add_to(&mut ours.underbilled, theirs.underbilled)?;
    for (count, their_count) in ours.kind_counts.iter_mut().zip(theirs.kind_counts) {
        *count += their_count;
    }
    for (count, their_count) in ours.charge_kind_counts.iter_mut().zip(theirs.charge_kind_counts) {
        *count += their_count;
    }
    let (ours_error_at, theirs_error_at) = (ours.report_error_at, theirs.report_error_at);
    match (&mut ours.report, theirs.report) {
        (_, None) => {}
        (None, theirs @ Some(_)) => {
            ours.report = theirs;
            ours.report_error_at = theirs_error_at;
        }
        (Some(Ok(ours_report)), Some(Ok(theirs_report))) => {
            add_to(&mut ours_report.billed_total, theirs_report.billed_total)?;
            add_to(&mut ours_report.expected_total, theirs_report.expected_total)?;
            add_to(&mut ours_report.overbilled, theirs_report.overbilled)?;
            add_to(&mut ours_report.underbilled, theirs_report.underbilled)?;
        }
        (Some(Ok(_)), theirs @ Some(Err(_))) => {
            ours.report = theirs;
            ours.report_error_at = theirs_error_at;
        }
        (Some(Err(_)), Some(Ok(_))) => {}
        (Some(Err(_)), theirs @ Some(Err(_))) => {
            if theirs_error_at < ours_error_at {
                ours.report = theirs;
                ours.report_error_at = theirs_error_at;
            }
        }
    }
    Ok(())
}

/// What a line billed, for its group's totals.
#[derive(Clone, Copy, Debug)]
pub struct Billed {
    pub amount: Decimal,
    pub currency: Currency,
    pub started_at: jiff::Timestamp,
}

fn add_line_to(
    totals: &mut GroupTotals,
    billed: &Billed,
    at: RunOrder,
    matched: bool,
    expected_amount: Option<Decimal>,
    report: &ReportConversion<'_>,
) -> Result<(), TotalOverflow> {
    totals.lines_billed += 1;
    totals.lines_matched += u64::from(matched);
    add_to(&mut totals.billed_total, billed.amount)?;
    match expected_amount {
        Some(expected) => add_to(&mut totals.expected_total, expected)?,
        None => add_to(&mut totals.unverified_total, billed.amount)?,
    }
    let date = crate::period::utc_date(billed.started_at);
    totals.add_report(report, at, |report_totals, convert| {
        add_to(&mut report_totals.billed_total, convert(billed.amount, billed.currency, date)?)?;
        if let Some(expected) = expected_amount {
            add_to(&mut report_totals.expected_total, convert(expected, billed.currency, date)?)?;
        }
        Ok(())
    })
}

fn add_discrepancy_to(
    totals: &mut GroupTotals,
    discrepancy: &Discrepancy,
    report: &ReportConversion<'_>,
) -> Result<(), TotalOverflow> {
    let date = crate::period::utc_date(discrepancy.started_at);
    totals.add_report(report, RunOrder::of(discrepancy), |report_totals, convert| {
        if discrepancy.kind.bills_nothing() {
            let expected = convert(discrepancy.expected_amount.unwrap_or_default(), discrepancy.currency, date)?;
            add_to(&mut report_totals.expected_total, expected)?;
        }
        match discrepancy.difference {
            Some(difference) if difference > Decimal::ZERO => {
                add_to(&mut report_totals.overbilled, convert(difference, discrepancy.currency, date)?)?;
            }
            Some(difference) => {
                add_to(&mut report_totals.underbilled, -convert(difference, discrepancy.currency, date)?)?;
            }
            None => {}
        }
        Ok(())
    })?;
    match discrepancy.kind.charge_index() {
        Some(index) => totals.charge_kind_counts[index] += 1,
        None => totals.kind_counts[discrepancy.kind.precedence()] += 1,
    }
    if discrepancy.kind.bills_nothing() {
        add_to(&mut totals.expected_total, discrepancy.expected_amount.unwrap_or_default())?;
    }
    match discrepancy.difference {
        Some(difference) if difference > Decimal::ZERO => add_to(&mut totals.overbilled, difference)?,
        Some(difference) => add_to(&mut totals.underbilled, -difference)?,
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Destination, Service};
    use std::str::FromStr;

    fn line(line_id: &str, amount: &str) -> InvoiceLine {
        InvoiceLine {
            carrier: "acme".into(),
            invoice_id: "INV-1".into(),
            invoice_date: None,
            line_id: line_id.into(),
            carrier_ref: None,
            service: Service::Voice,
            started_at: "2026-03-02T10:00:00Z".parse().unwrap(),
            destination: Destination::parse("447911000001").unwrap(),
            quantity: Decimal::from(60),
            rate: None,
            amount: Decimal::from_str(amount).unwrap(),
            currency: Currency::EUR,
        }
    }

    /// Issue 11, item 16: two lines of 5e28 crashed the run on an unchecked addition.
    #[test]
    fn a_total_past_a_decimal_is_an_error_not_a_panic() {
        let fx = FxTable::new();
        let report = ReportConversion { currency: None, fx: &fx };
        let check = LineCheck { kind: None, expected_quantity: None, expected_amount: None };
        let mut summary = Summary::default();
        summary.add_line(&line("1", "50000000000000000000000000000"), 0, false, &check, &report);
        assert_eq!(summary.checked().map(|_| ()), Ok(()));
        // 5e28 + 5e28 = 1e29, past 7.9e28.
        summary.add_line(&line("2", "50000000000000000000000000000"), 1, false, &check, &report);
        assert_eq!(summary.checked().map(|_| ()), Err(TotalOverflow));
        // Ordinary sums stay exact: 1.5 + 2.25 = 3.75 billed, all unverified.
        let mut summary = Summary::default();
        summary.add_line(&line("1", "1.5"), 0, false, &check, &report);
        summary.add_line(&line("2", "2.25"), 1, false, &check, &report);
        let totals = &summary.groups[&GroupKey::of_line(&line("1", "0"))];
        assert_eq!((totals.billed_total, totals.unverified_total), (Decimal::new(375, 2), Decimal::new(375, 2)));
        assert_eq!(summary.overflow, None);
    }
}
