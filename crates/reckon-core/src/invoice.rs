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
