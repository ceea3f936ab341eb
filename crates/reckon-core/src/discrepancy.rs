//! Discrepancies: every way an invoice line (or an unbilled record) can disagree with the
//! contract, in the precedence order of FORMATS.md.

use crate::{Currency, Service};
use compact_str::CompactString;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::fmt;
use std::sync::Arc;

/// A kind of discrepancy. The declaration order is the precedence order: a line gets the first
/// kind whose comparison fails. The codes are stable identifiers, never reused; a new kind takes
/// a new code and its place in the order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DiscrepancyKind {
    /// A billed line with no usage record behind it.
    UnmatchedCharge = 1,
    /// A second (third, ...) line billing an already matched record.
    DuplicateCharge = 2,
    /// A matched record for which the contract has no rate.
    NoRate = 3,
    /// A charge for a message whose receipt proves it undelivered, under a contract that bills
    /// delivered messages only.
    UndeliveredCharge = 9,
    /// Billed quantity differs from what the contract gives for our measured quantity.
    QuantityMismatch = 4,
    /// Billed in another currency than the contract's, and no FX rate converts it.
    CurrencyMismatch = 5,
    /// The line's rate differs from the contracted rate in force.
    RateMismatch = 6,
    /// Quantity and rate agree but the amount differs by more than the tolerance.
    AmountMismatch = 7,
    /// A billable record of the invoice's period that no line bills.
    UnbilledUsage = 8,
    /// A summary invoice line (a group: prefix or destination name) for which we have no
    /// billable traffic of the period.
    SummaryUnexpectedGroup = 10,
    /// A summary group whose count of calls or messages differs from ours.
    SummaryVolumeMismatch = 11,
    /// A summary group whose billed quantity differs from the sum of our billed quantities.
    SummaryQuantityMismatch = 12,
    /// A summary group whose rate differs from the contracted rate of its records.
    SummaryRateMismatch = 13,
    /// A summary group whose volume, quantity and rate agree but whose amount differs.
    SummaryAmountMismatch = 14,
    /// Billable traffic of a summary invoice's period in a group no line of it bills.
    SummaryUnbilledGroup = 15,
    /// A contract charge line (not usage) that no contract term explains.
    UnexpectedCharge = 16,
    /// A recurring charge, a commitment shortfall or a tax the contract terms make due that no
    /// line of the period bills (a charge we owe: underbilled).
    MissingCharge = 17,
    /// A recurring charge billed at another amount than the terms give (pro-rated as they say).
    RecurringMismatch = 18,
    /// A commitment shortfall billed at another amount than our rated usage gives (billed while
    /// the commitment was met, or short by another amount).
    ShortfallMismatch = 19,
    /// A rebate due to us (the threshold was reached) that no line credits.
    RebateMissing = 20,
    /// A rebate credited at another amount than the terms give (or credited when not due).
    RebateMismatch = 21,
    /// A tax or surcharge whose amount is not its percentage of its base.
    TaxMismatch = 22,
}

impl DiscrepancyKind {
    /// Every kind of an itemised reconciliation (one line against one record), in precedence
    /// order. The kinds of a summary reconciliation are [`DiscrepancyKind::SUMMARY`].
    pub const ALL: [DiscrepancyKind; 9] = [
        DiscrepancyKind::UnmatchedCharge,
        DiscrepancyKind::DuplicateCharge,
        DiscrepancyKind::NoRate,
        DiscrepancyKind::UndeliveredCharge,
        DiscrepancyKind::QuantityMismatch,
        DiscrepancyKind::CurrencyMismatch,
        DiscrepancyKind::RateMismatch,
        DiscrepancyKind::AmountMismatch,
        DiscrepancyKind::UnbilledUsage,
    ];

    /// The kinds of a summary reconciliation (a group of a summary invoice against our rated
    /// usage of the group), in precedence order. A summary line billed in a currency no rate
    /// converts is a [`DiscrepancyKind::CurrencyMismatch`], checked after the quantity as for a
    /// line.
    pub const SUMMARY: [DiscrepancyKind; 6] = [
        DiscrepancyKind::SummaryUnexpectedGroup,
        DiscrepancyKind::SummaryVolumeMismatch,
        DiscrepancyKind::SummaryQuantityMismatch,
        DiscrepancyKind::SummaryRateMismatch,
        DiscrepancyKind::SummaryAmountMismatch,
        DiscrepancyKind::SummaryUnbilledGroup,
    ];

    /// The kinds of contract charges (lines that are not usage, and charges the contract terms
    /// make due), in the order they are checked.
    pub const CHARGES: [DiscrepancyKind; 7] = [
        DiscrepancyKind::UnexpectedCharge,
        DiscrepancyKind::MissingCharge,
        DiscrepancyKind::RecurringMismatch,
        DiscrepancyKind::ShortfallMismatch,
        DiscrepancyKind::RebateMissing,
        DiscrepancyKind::RebateMismatch,
        DiscrepancyKind::TaxMismatch,
    ];

    /// The name used in `discrepancies.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            DiscrepancyKind::UnmatchedCharge => "unmatched_charge",
            DiscrepancyKind::DuplicateCharge => "duplicate_charge",
            DiscrepancyKind::NoRate => "no_rate",
            DiscrepancyKind::UndeliveredCharge => "undelivered_charge",
            DiscrepancyKind::QuantityMismatch => "quantity_mismatch",
            DiscrepancyKind::CurrencyMismatch => "currency_mismatch",
            DiscrepancyKind::RateMismatch => "rate_mismatch",
            DiscrepancyKind::AmountMismatch => "amount_mismatch",
            DiscrepancyKind::UnbilledUsage => "unbilled_usage",
            DiscrepancyKind::SummaryUnexpectedGroup => "summary_unexpected_group",
            DiscrepancyKind::SummaryVolumeMismatch => "summary_volume_mismatch",
            DiscrepancyKind::SummaryQuantityMismatch => "summary_quantity_mismatch",
            DiscrepancyKind::SummaryRateMismatch => "summary_rate_mismatch",
            DiscrepancyKind::SummaryAmountMismatch => "summary_amount_mismatch",
            DiscrepancyKind::SummaryUnbilledGroup => "summary_unbilled_group",
            DiscrepancyKind::UnexpectedCharge => "unexpected_charge",
            DiscrepancyKind::MissingCharge => "missing_charge",
            DiscrepancyKind::RecurringMismatch => "recurring_mismatch",
            DiscrepancyKind::ShortfallMismatch => "shortfall_mismatch",
            DiscrepancyKind::RebateMissing => "rebate_missing",
            DiscrepancyKind::RebateMismatch => "rebate_mismatch",
            DiscrepancyKind::TaxMismatch => "tax_mismatch",
        }
    }

    /// Parses a name as written in `discrepancies.csv`.
    pub fn parse(name: &str) -> Option<DiscrepancyKind> {
        DiscrepancyKind::ALL
            .into_iter()
            .chain(DiscrepancyKind::SUMMARY)
            .chain(DiscrepancyKind::CHARGES)
            .find(|kind| kind.as_str() == name)
    }

    /// The stable numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Position in [`DiscrepancyKind::ALL`] (precedence order); a summary kind comes after
    /// them, in [`DiscrepancyKind::SUMMARY`] order, then a charge kind, in
    /// [`DiscrepancyKind::CHARGES`] order.
    pub fn precedence(self) -> usize {
        if let Some(position) = DiscrepancyKind::ALL.iter().position(|kind| *kind == self) {
            return position;
        }
        if let Some(position) = DiscrepancyKind::SUMMARY.iter().position(|kind| *kind == self) {
            return DiscrepancyKind::ALL.len() + position;
        }
        let position = self.charge_index().expect("every kind is in ALL, SUMMARY or CHARGES");
        DiscrepancyKind::ALL.len() + DiscrepancyKind::SUMMARY.len() + position
    }

    /// Position in [`DiscrepancyKind::CHARGES`], for a charge kind.
    pub fn charge_index(self) -> Option<usize> {
        DiscrepancyKind::CHARGES.iter().position(|kind| *kind == self)
    }

    /// Whether the row bills nothing and expects an amount (unbilled usage, a charge or rebate
    /// missing): its expected amount counts in its group's expected total.
    pub fn bills_nothing(self) -> bool {
        matches!(self, DiscrepancyKind::UnbilledUsage | DiscrepancyKind::MissingCharge | DiscrepancyKind::RebateMissing)
    }

    /// Whether the kind compares a summary invoice's group rather than a line.
    pub fn is_summary(self) -> bool {
        DiscrepancyKind::SUMMARY.contains(&self)
    }
}

impl fmt::Display for DiscrepancyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One row of `discrepancies.csv`.
#[derive(Clone, Debug, PartialEq)]
pub struct Discrepancy {
    pub carrier: Arc<str>,
    /// Empty for `unbilled_usage`.
    pub invoice_id: Option<Arc<str>>,
    /// Empty for `unbilled_usage`.
    pub line_id: Option<CompactString>,
    /// The matched record, the best candidate of a duplicate, or the unbilled record.
    pub record_id: Option<CompactString>,
    pub kind: DiscrepancyKind,
    /// The line's where there is a line, else the record's.
    pub service: Service,
    /// Digits, the line's where there is a line, else the record's.
    pub destination: String,
    /// The line's where there is a line, else the record's.
    pub started_at: Timestamp,
    pub billed_quantity: Decimal,
    pub expected_quantity: Option<Decimal>,
    pub billed_amount: Decimal,
    pub expected_amount: Option<Decimal>,
    /// `billed_amount - expected_amount`; positive means overbilled.
    pub difference: Option<Decimal>,
    pub currency: Currency,
    /// Position of the line among all lines of the run (file order), for sorting.
    pub line_index: Option<usize>,
    /// Position of the record in the usage, for sorting unbilled rows.
    pub record_index: Option<usize>,
}

impl Discrepancy {
    /// The order of `discrepancies.csv`: carrier, then invoice_id (unbilled rows, with no
    /// invoice, first), then the line in file order, then the record in usage order.
    pub fn sort_key(&self) -> (&str, Option<&str>, Option<usize>, Option<usize>) {
        (&self.carrier, self.invoice_id.as_deref(), self.line_index, self.record_index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_names_round_trip() {
        let codes: Vec<u8> = DiscrepancyKind::ALL.iter().map(|kind| kind.code()).collect();
        // A newer kind takes a new code and its place in the precedence order.
        assert_eq!(codes, [1, 2, 3, 9, 4, 5, 6, 7, 8]);
        for kind in DiscrepancyKind::ALL {
            assert_eq!(DiscrepancyKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(DiscrepancyKind::UndeliveredCharge.precedence(), 3);
        assert_eq!(DiscrepancyKind::QuantityMismatch.precedence(), 4);
        let summary_codes: Vec<u8> = DiscrepancyKind::SUMMARY.iter().map(|kind| kind.code()).collect();
        assert_eq!(summary_codes, [10, 11, 12, 13, 14, 15]);
        for kind in DiscrepancyKind::SUMMARY {
            assert_eq!(DiscrepancyKind::parse(kind.as_str()), Some(kind));
            assert!(kind.is_summary());
        }
        assert_eq!(DiscrepancyKind::SummaryUnexpectedGroup.precedence(), 9);
        assert!(!DiscrepancyKind::UnbilledUsage.is_summary());
        let charge_codes: Vec<u8> = DiscrepancyKind::CHARGES.iter().map(|kind| kind.code()).collect();
        assert_eq!(charge_codes, [16, 17, 18, 19, 20, 21, 22]);
        for kind in DiscrepancyKind::CHARGES {
            assert_eq!(DiscrepancyKind::parse(kind.as_str()), Some(kind));
            assert!(!kind.is_summary());
        }
        assert_eq!(DiscrepancyKind::UnexpectedCharge.precedence(), 15);
    }
}
