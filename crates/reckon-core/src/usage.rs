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
    /// What the message's delivery receipt says; `None`: not given.
    pub status: Option<DeliveryStatus>,
}

/// What a delivery receipt says of a message (`usage.csv` `status`). The numbers are stable
/// codes (the split engine spills them), never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// The handset (or mailbox) received it.
    Delivered = 1,
    /// The network could not deliver it.
    Failed = 2,
    /// Its validity period ran out before it could be delivered.
    Expired = 3,
    /// The carrier or the destination network refused it.
    Rejected = 4,
    /// A receipt came back without a final state.
    Unknown = 5,
}

impl DeliveryStatus {
    /// Every status, in code order.
    pub const ALL: [DeliveryStatus; 5] = [
        DeliveryStatus::Delivered,
        DeliveryStatus::Failed,
        DeliveryStatus::Expired,
        DeliveryStatus::Rejected,
        DeliveryStatus::Unknown,
    ];

    /// Parses a status name, case-insensitively (`DELIVERED` is `delivered`).
    pub fn parse(name: &str) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|status| status.as_str().eq_ignore_ascii_case(name))
    }

    /// The canonical, lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
            DeliveryStatus::Expired => "expired",
            DeliveryStatus::Rejected => "rejected",
            DeliveryStatus::Unknown => "unknown",
        }
    }

    /// The stable numeric code.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// The status of a code from [`DeliveryStatus::code`].
    pub fn from_code(code: u8) -> Option<DeliveryStatus> {
        DeliveryStatus::ALL.into_iter().find(|status| status.code() == code)
    }

    /// Whether the receipt proves the message never arrived: failed, expired or rejected.
    /// `unknown` is no such proof (receipts get lost, and some networks never send a final one),
    /// and neither is a missing receipt.
    pub fn is_undelivered(self) -> bool {
        matches!(self, DeliveryStatus::Failed | DeliveryStatus::Expired | DeliveryStatus::Rejected)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_only_a_final_failure_is_undelivered() {
        for status in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(status.as_str()), Some(status));
            assert_eq!(DeliveryStatus::from_code(status.code()), Some(status));
        }
        assert_eq!(DeliveryStatus::parse("EXPIRED"), Some(DeliveryStatus::Expired));
        assert_eq!(DeliveryStatus::parse("sent"), None);
        assert_eq!(DeliveryStatus::from_code(0), None);
        let undelivered: Vec<&str> = DeliveryStatus::ALL
            .into_iter()
            .filter(|status| status.is_undelivered())
            .map(DeliveryStatus::as_str)
            .collect();
        assert_eq!(undelivered, ["failed", "expired", "rejected"]);
    }
}
