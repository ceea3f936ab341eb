//! Invoice lines: what a carrier billed, one line per billed record.

use crate::{Currency, Destination, Service};
use jiff::{civil::Date, Timestamp};
use rust_decimal::Decimal;

/// One row of a carrier's itemised `invoice.csv`, standardised.
#[derive(Clone, Debug, PartialEq)]
pub struct InvoiceLine {
    pub carrier: String,
    /// The carrier's invoice number.
    pub invoice_id: String,
    /// Date of the invoice, when the file gives one.
    pub invoice_date: Option<Date>,
    /// Line number or id, unique within the invoice.
    pub line_id: String,
    /// The carrier's id of the billed call or message.
    pub carrier_ref: Option<String>,
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
