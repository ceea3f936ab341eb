//! Invoice lines: what a carrier billed, one line per billed record.

use crate::{Currency, Destination, Service};
use compact_str::CompactString;
use jiff::{civil::Date, Timestamp};
use rust_decimal::Decimal;
use std::sync::Arc;

/// One row of a carrier's itemised `invoice.csv`, standardised. Names shared by many lines
/// (carrier, invoice) are `Arc<str>`s.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLine {
    pub carrier: Arc<str>,
    /// The carrier's invoice number.
    pub invoice_id: Arc<str>,
    /// Date of the invoice, when the file gives one.
    pub invoice_date: Option<Date>,
    /// Line number or id, unique within the invoice.
    pub line_id: CompactString,
    /// The carrier's id of the billed call or message.
    pub carrier_ref: Option<CompactString>,
    pub service: Service,
    /// Start as the carrier recorded it.
    pub started_at: Timestamp,
    pub destination: Destination,
    /// Billed quantity in the service's base unit, after the carrier's rounding.
    pub quantity: Decimal,
    /// Rate the carrier applied, per the deck's `rate_unit`, when the line gives it.
    pub rate: Option<Decimal>,
    /// Amount billed for the line.
    pub amount: Decimal,
    pub currency: Currency,
}

/// The period an invoice belongs to: the one given at import, or else the month holding most
/// of its lines ([`crate::period::majority_month`]). `None` only for an invoice without lines.
pub fn invoice_period(given: Option<crate::period::Month>, lines: &[&InvoiceLine]) -> Option<crate::period::Month> {
    given.or_else(|| crate::period::majority_month(lines.iter().map(|line| line.started_at)))
}

/// Checks the amount of one of our invoices to a carrier (a receivable, netted at settlement):
/// what the carrier owes us is never negative (a credit we owe is the carrier's to bill).
///
/// # Errors
/// What is expected, for the message, when the amount is negative.
pub fn check_receivable_amount(amount: Decimal) -> Result<Decimal, &'static str> {
    if amount.is_sign_negative() && !amount.is_zero() {
        Err("an amount >= 0")
    } else {
        Ok(amount)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 11, item 6: a negative receivable was accepted.
    #[test]
    fn a_receivable_is_never_negative() {
        assert_eq!(check_receivable_amount(Decimal::new(100, 2)), Ok(Decimal::new(100, 2)));
        assert_eq!(check_receivable_amount(Decimal::ZERO), Ok(Decimal::ZERO));
        assert_eq!(check_receivable_amount(Decimal::new(-1, 2)), Err("an amount >= 0"));
    }
}
