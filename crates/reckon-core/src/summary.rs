//! Totals of a run per carrier, invoice and currency: what finance reads first.

use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::fx::FxError;
use crate::money::round_cost;
use crate::reconcile::LineCheck;
use crate::{Currency, FxTable, InvoiceLine};
use jiff::civil::Date;
use jiff::tz::TimeZone;
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
    /// The same amounts in the report currency, each converted at its own date and rounded to 6
    /// places; the first
    /// conversion error instead when one amount could not be converted.
    pub report: Option<Result<ReportTotals, FxError>>,
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

impl GroupTotals {
    /// Adds to the report-currency totals: `update` receives them and the converter.
    fn add_report(
        &mut self,
        report: &ReportConversion<'_>,
        update: impl FnOnce(
            &mut ReportTotals,
            &dyn Fn(Decimal, Currency, Date) -> Result<Decimal, FxError>,
        ) -> Result<(), FxError>,
    ) {
        let Some(report_currency) = report.currency else { return };
        let totals = self.report.get_or_insert(Ok(ReportTotals {
            currency: report_currency,
            billed_total: Decimal::ZERO,
            expected_total: Decimal::ZERO,
            overbilled: Decimal::ZERO,
            underbilled: Decimal::ZERO,
        }));
        let Ok(report_totals) = totals else { return };
        // Each amount converts at its own date and rounds like a cost (6 places); sums stay exact.
        let convert = |amount: Decimal, currency: Currency, date: Date| {
            report.fx.convert(amount, currency, report_currency, date).map(round_cost)
        };
        if let Err(error) = update(report_totals, &convert) {
            *totals = Err(error);
        }
    }
}

/// Totals of a run, by group, in a stable order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Summary {
    pub groups: BTreeMap<GroupKey, GroupTotals>,
}

impl Summary {
    /// Counts a line of an invoice with what its check found.
    pub fn add_line(&mut self, line: &InvoiceLine, matched: bool, check: &LineCheck, report: &ReportConversion<'_>) {
        let totals = self.groups.entry(GroupKey::of_line(line)).or_default();
        totals.lines_billed += 1;
        totals.lines_matched += u64::from(matched);
        totals.billed_total += line.amount;
        match check.expected_amount {
            Some(expected) => totals.expected_total += expected,
            None => totals.unverified_total += line.amount,
        }
        let date = line.started_at.to_zoned(TimeZone::UTC).date();
        totals.add_report(report, |report_totals, convert| {
            report_totals.billed_total += convert(line.amount, line.currency, date)?;
            if let Some(expected) = check.expected_amount {
                report_totals.expected_total += convert(expected, line.currency, date)?;
            }
            Ok(())
        });
    }

    /// Counts a discrepancy in its group.
    pub fn add_discrepancy(&mut self, key: GroupKey, discrepancy: &Discrepancy, report: &ReportConversion<'_>) {
        let totals = self.groups.entry(key).or_default();
        let date = discrepancy.started_at.to_zoned(TimeZone::UTC).date();
        totals.add_report(report, |report_totals, convert| {
            if discrepancy.kind == DiscrepancyKind::UnbilledUsage {
                report_totals.expected_total +=
                    convert(discrepancy.expected_amount.unwrap_or_default(), discrepancy.currency, date)?;
            }
            match discrepancy.difference {
                Some(difference) if difference > Decimal::ZERO => {
                    report_totals.overbilled += convert(difference, discrepancy.currency, date)?;
                }
                Some(difference) => report_totals.underbilled -= convert(difference, discrepancy.currency, date)?,
                None => {}
            }
            Ok(())
        });
        totals.kind_counts[discrepancy.kind.precedence()] += 1;
        if discrepancy.kind == DiscrepancyKind::UnbilledUsage {
            totals.expected_total += discrepancy.expected_amount.unwrap_or_default();
        }
        match discrepancy.difference {
            Some(difference) if difference > Decimal::ZERO => totals.overbilled += difference,
            Some(difference) => totals.underbilled -= difference,
            None => {}
        }
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
