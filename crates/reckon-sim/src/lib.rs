//! Seeded generator of realistic usage, rate decks and invoices with planted discrepancies,
//! for the demo, scenario and property tests, and benchmarks.
//!
//! The expected outcome is known by construction: every discrepancy is planted on purpose and
//! recorded in [`Planted`]. Prices are computed by [`model`], a deliberately naive model
//! (linear prefix scan, its own arithmetic) that shares no code with the engine, so that the
//! engine's results can be audited against it.

pub mod model;
mod random;
pub mod workload;

pub use random::SplitMix64;
pub use workload::{
    contracts, contracts_of, generate, generate_streaming, Generated, InvoiceColumn, InvoiceLayout, Planted, SimConfig,
    Sink, VecSink, CARRIERS_MAX,
};
pub mod csv_files;
