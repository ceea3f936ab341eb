//! `networks.csv`: which mobile network a number belongs to, `prefix,mcc,mnc`, longest prefix
//! wins. MNCs are read as text: their leading zeros matter (`010` is not `10`).

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::ImportError;
use crate::NoProgress;
use reckon_core::network::{network_id, NetworkMap};
use std::path::Path;

/// Loads a number-to-network table. Bad rows always fail the load: a wrong network would
/// silently misprice messages.
///
/// # Errors
/// A file-level error or a row whose prefix, MCC or MNC is not digits of the right length.
pub fn load_networks(path: &Path, map: &mut NetworkMap) -> Result<(), ImportError> {
    let mut table = CsvTable::open(path)?;
    let [prefix, mcc, mnc] = table.resolve([
        ColumnSpec { name: "prefix", required: true },
        ColumnSpec { name: "mcc", required: true },
        ColumnSpec { name: "mnc", required: true },
    ])?;
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let digits = |column: Option<usize>, lengths: std::ops::RangeInclusive<usize>, expected: &str| {
            let text = row.required(column)?;
            let text = text.strip_prefix('+').unwrap_or(text);
            if lengths.contains(&text.len()) && text.bytes().all(|byte| byte.is_ascii_digit()) {
                Ok(text)
            } else {
                Err(row.invalid(column, text, expected))
            }
        };
        let prefix_value = digits(prefix, 1..=20, "a number prefix of digits, like 447700")?;
        let mcc_value = digits(mcc, 3..=3, "a mobile country code of 3 digits")?;
        let mnc_value = digits(mnc, 2..=3, "a mobile network code of 2 or 3 digits")?;
        map.insert(prefix_value, network_id(mcc_value, mnc_value));
    }
    Ok(())
}
