//! Import profiles: a declarative TOML description of how a source file (a switch's CDRs, an
//! SMS gateway's log, a carrier's export, a rate deck) becomes one of Reckon's canonical files
//! (`usage.csv`, `invoice.csv`, `rates.csv`), and the converter that applies it row by row.
//!
//! The schema is in `PROFILES.md`. A profile only reshapes: every value it writes is one the
//! canonical readers of `reckon-import` accept (numbers through its decimal parser, services,
//! currencies, numbers and statuses through `reckon-core`'s), and every row that does not
//! convert is an [`reckon_import::ImportError`] naming the source file, line, column, value,
//! the profile's field and what was expected, handled by the same [`reckon_import::BadRowPolicy`]
//! as a canonical file's rows.

pub mod builtin;
mod cgrates;
mod convert;
mod detect;
mod profile;
mod rows;
mod schema;
mod sheet;
mod source;
mod target;
mod time;

pub use convert::{convert, Conversion, ConvertError, ConvertOptions};
pub use detect::{detect, Detection};
pub use profile::{Overrides, Profile, ProfileError};
pub use target::Target;
