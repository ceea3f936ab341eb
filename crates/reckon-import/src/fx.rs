//! `fx.csv`: dated exchange rates, `date,currency,per_eur`.

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::{NoProgress, Progress};
use reckon_core::FxTable;
use std::path::Path;

/// Loads `fx.csv` rows into `table`. Bad rows always fail the load: a conversion table with
/// holes would turn into wrong amounts, not into rejected rows.
///
/// # Errors
/// A file-level error, a value that does not parse, a rate that is not positive, or two
/// different rates for one currency and day.
pub fn load_fx(path: &Path, table: &mut FxTable) -> Result<(), ImportError> {
    let mut csv_table = CsvTable::open(path)?;
    let [date, currency, per_eur] = csv_table.resolve([
        ColumnSpec { name: "date", required: true },
        ColumnSpec { name: "currency", required: true },
        ColumnSpec { name: "per_eur", required: true },
    ])?;
    let mut progress = NoProgress;
    let progress: &mut dyn Progress = &mut progress;
    while let Some(row) = csv_table.next_row(progress)? {
        let row = row?;
        let day = row.optional_date(date)?.ok_or_else(|| row.error(date, ImportErrorKind::MissingValue))?;
        let code = row.currency(currency)?;
        let rate = row.decimal(per_eur)?;
        table
            .insert(day, code, rate)
            .map_err(|error| row.error(per_eur, ImportErrorKind::Malformed(error.to_string())))?;
    }
    Ok(())
}
