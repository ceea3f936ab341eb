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
