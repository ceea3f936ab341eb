//! Usage records: the platform's own record of a call, message or session.

use crate::network::NetworkId;
use crate::{Destination, Service};
use compact_str::CompactString;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::sync::Arc;

/// One row of `usage.csv`, standardised. Names that repeat across records (carrier, customer)
/// are shared `Arc<str>`s, and ids are inline strings (no allocation up to 24 bytes), to keep
/// millions of records compact.
#[derive(Clone, Debug, PartialEq)]
pub struct UsageRecord {
    /// Unique id of the record on the platform.
    pub record_id: CompactString,
    pub service: Service,
    /// Id of the carrier that carried it.
    pub carrier: Arc<str>,
    /// The id the carrier knows this record by, when we have it.
    pub carrier_ref: Option<CompactString>,
    /// The platform customer who sent it.
    pub customer: Option<Arc<str>>,
    pub started_at: Timestamp,
    pub origin: Option<Destination>,
    pub destination: Destination,
    /// Measured quantity in the service's base unit, `>= 0` (0: unanswered or undelivered).
    pub quantity: Decimal,
    /// The mobile network (MCC-MNC) the destination belongs to, when the platform knows it.
    pub network: Option<NetworkId>,
}

/// When usage and billed traffic may have started: 1970 to 2200. Outside that a timestamp is a
/// data error (a mistyped year), and the ledger keeps instants as 64-bit nanoseconds.
pub const USAGE_INSTANTS: std::ops::Range<Timestamp> = Timestamp::UNIX_EPOCH..Timestamp::constant(7_258_118_400, 0); // 2200-01-01T00:00:00Z

/// Checks that a usage or invoice line instant is plausible.
///
/// # Errors
/// What is wrong, for the message of the field.
pub fn check_usage_instant(instant: Timestamp) -> Result<Timestamp, &'static str> {
    if USAGE_INSTANTS.contains(&instant) {
        Ok(instant)
    } else {
        Err("a time between 1970 and 2200")
    }
}
