//! The reconciliation domain of Reckon: services and units, money and rounding, dated FX,
//! rate decks and rating, matching of invoice lines to usage records, and the classification
//! of every difference as a discrepancy.
//!
//! This crate is pure and synchronous: it does no I/O and reads no clock, environment or
//! randomness. Everything it needs comes in as arguments, so nothing in it fails with an I/O
//! error, and every result can be recomputed from its inputs.
#![deny(clippy::float_arithmetic)]

pub mod accrual;
pub mod alert;
pub mod bounds;
pub mod charges;
pub mod contract;
pub mod contract_terms;
pub mod currency;
pub mod deck_update;
pub mod destination;
pub mod discrepancy;
pub mod dispute;
pub mod explain;
pub mod fx;
pub mod increments;
pub mod invoice;
pub mod margin;
pub mod matching;
pub mod money;
pub mod network;
pub mod period;
pub mod rate_deck;
pub mod rating;
pub mod reconcile;
pub mod service;
pub mod settlement;
pub mod spelling;
pub mod summary;
pub mod summary_invoice;
pub mod time_band;
pub mod usage;

pub use currency::Currency;
pub use destination::Destination;
pub use discrepancy::{Discrepancy, DiscrepancyKind};
pub use fx::FxTable;
pub use increments::Increments;
pub use invoice::InvoiceLine;
pub use rate_deck::{RateDeck, RateRow};
pub use rating::Rating;
pub use reconcile::{reconcile, ReconcileConfig, Reconciliation};
pub use service::Service;
pub use usage::UsageRecord;

/// Inline strings for ids (no allocation up to 24 bytes).
pub use compact_str::CompactString;
/// An instant in time (UTC-based, nanosecond precision).
pub use jiff::Timestamp;
/// Exact decimal numbers: every amount, rate and quantity in Reckon is one of these.
pub use rust_decimal::Decimal;
