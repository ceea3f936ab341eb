//! Totals of a run per carrier, invoice and currency: what finance reads first.

use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::reconcile::LineCheck;
use crate::{Currency, InvoiceLine};
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
#[derive(Clone, Debug, Default, PartialEq, Eq)]
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
}

/// Totals of a run, by group, in a stable order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub groups: BTreeMap<GroupKey, GroupTotals>,
}

impl Summary {
    /// Counts a line of an invoice with what its check found.
    pub fn add_line(&mut self, line: &InvoiceLine, matched: bool, check: &LineCheck) {
        let totals = self.groups.entry(GroupKey::of_line(line)).or_default();
        totals.lines_billed += 1;
        totals.lines_matched += u64::from(matched);
        totals.billed_total += line.amount;
        match check.expected_amount {
            Some(expected) => totals.expected_total += expected,
            None => totals.unverified_total += line.amount,
        }
    }

    /// Counts a discrepancy in its group.
    pub fn add_discrepancy(&mut self, key: GroupKey, discrepancy: &Discrepancy) {
        let totals = self.groups.entry(key).or_default();
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
