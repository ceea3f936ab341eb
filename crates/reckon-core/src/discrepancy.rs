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
}

impl DiscrepancyKind {
    /// Every kind, in precedence order.
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
        }
    }

    /// Parses a name as written in `discrepancies.csv`.
    pub fn parse(name: &str) -> Option<DiscrepancyKind> {
        DiscrepancyKind::ALL.into_iter().find(|kind| kind.as_str() == name)
    }

    /// The stable numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// Position in [`DiscrepancyKind::ALL`] (precedence order).
    pub fn precedence(self) -> usize {
        DiscrepancyKind::ALL.iter().position(|kind| *kind == self).expect("every kind is in ALL")
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
    }
}
