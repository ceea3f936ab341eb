//! `fx.csv`: dated exchange rates, `date,currency,per_eur`.

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::NoProgress;
use reckon_core::FxTable;
use std::path::Path;

/// The FX table of a command: `fx.csv` rows, then the ECB history, with the staleness limit.
/// Every command that converts builds its table here, so they cannot disagree.
///
/// # Errors
/// A file that cannot be read, a bad row, or a day with two different rates.
pub fn load_fx_sources(
    fx: Option<&Path>,
    ecb: Option<&Path>,
    staleness_days_max: Option<i32>,
) -> Result<FxTable, ImportError> {
    let mut table = FxTable::new();
    if let Some(path) = fx {
        load_fx(path, &mut table)?;
    }
    if let Some(path) = ecb {
        load_ecb_history(path, &mut table)?;
    }
    table.set_staleness_days_max(staleness_days_max);
    Ok(table)
}

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
    while let Some(row) = csv_table.next_row(&mut NoProgress)? {
        let row = row?;
        let day = row.optional_date(date)?.ok_or_else(|| row.error(date, ImportErrorKind::MissingValue))?;
        let code = row.currency(currency)?;
        let rate = row.decimal(per_eur)?;
        table.insert(day, code, rate).map_err(|error| row.error(per_eur, ImportErrorKind::Rule(error.to_string())))?;
    }
    Ok(())
}

/// Loads the ECB's reference-rate history as the ECB publishes it (`eurofxref-hist.csv`): a
/// `Date` column, then one column per currency in units per EUR, `N/A` where a currency had no
/// rate that day, and a trailing comma on every line. Returns the number of rates read.
///
/// # Errors
/// A file-level error (no `Date` column), a date or rate that does not parse, or a rate that is
/// not positive.
pub fn load_ecb_history(path: &Path, table: &mut FxTable) -> Result<u64, ImportError> {
    let mut csv_table = CsvTable::open(path)?;
    let [date] = csv_table.resolve([ColumnSpec { name: "Date", required: true }])?;
    // Every other named column is a currency; the trailing comma makes one nameless column.
    let currencies: Vec<(usize, reckon_core::Currency)> = csv_table
        .header()
        .iter()
        .enumerate()
        .filter(|(index, name)| Some(*index) != date && !name.is_empty())
        .map(|(index, name)| {
            reckon_core::Currency::parse(name).map(|code| (index, code)).ok_or_else(|| {
                ImportError::at_line(
                    path,
                    1,
                    ImportErrorKind::Invalid { value: name.clone(), expected: "a currency code column".into() },
                )
            })
        })
        .collect::<Result<_, _>>()?;
    let mut rates_read = 0;
    while let Some(row) = csv_table.next_row(&mut NoProgress)? {
        let row = row?;
        let day = row.optional_date(date)?.ok_or_else(|| row.error(date, ImportErrorKind::MissingValue))?;
        for (column, code) in &currencies {
            let Some(text) = row.get(Some(*column)) else { continue };
            if text == "N/A" {
                continue;
            }
            let rate = crate::field::parse_decimal(text)
                .ok_or_else(|| row.invalid(Some(*column), text, crate::field::EXPECTED_DECIMAL))?;
            table
                .insert(day, *code, rate)
                .map_err(|error| row.error(Some(*column), ImportErrorKind::Rule(error.to_string())))?;
            rates_read += 1;
        }
    }
    Ok(rates_read)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use reckon_core::Currency;
    use std::str::FromStr;

    fn excerpt() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("test_data/fx/eurofxref-hist-excerpt.csv")
    }

    #[test]
    fn reads_the_ecb_file_as_published() {
        let mut table = FxTable::new();
        let read = load_ecb_history(&excerpt(), &mut table).unwrap();
        assert!(read > 500, "{read}");
        let rate = |code: &str, day| table.per_eur(Currency::parse(code).unwrap(), day).unwrap();
        // The newest line of the file: 2026-10-30, USD 1.1172, JPY 175.68, GBP 0.8338.
        assert_eq!(rate("USD", date(2026, 10, 30)), reckon_core::Decimal::from_str("1.1172").unwrap());
        assert_eq!(rate("JPY", date(2026, 10, 30)), reckon_core::Decimal::from_str("175.68").unwrap());
        assert_eq!(rate("IDR", date(2026, 10, 30)), reckon_core::Decimal::from_str("20275.17").unwrap());
        // Saturday 2026-10-31 uses Friday's rate.
        assert_eq!(rate("GBP", date(2026, 10, 31)), reckon_core::Decimal::from_str("0.8338").unwrap());
        // HRK's last fixing is 2022-12-30; after it there are only N/A, which are skipped. From
        // its euro adoption (2023-01-01) the irrevocable 7.53450 applies, never the stale fixing,
        // even under a staleness limit.
        assert_eq!(rate("HRK", date(2022, 12, 30)), reckon_core::Decimal::from_str("7.5365").unwrap());
        let mut limited = table.clone();
        limited.set_staleness_days_max(Some(7));
        assert_eq!(
            limited.per_eur(Currency::parse("HRK").unwrap(), date(2023, 1, 10)).unwrap(),
            reckon_core::Decimal::from_str("7.53450").unwrap()
        );
        // CYP joined the euro in 2008: N/A on every line of the excerpt, and its irrevocable rate.
        assert_eq!(rate("CYP", date(2026, 10, 30)), reckon_core::Decimal::from_str("0.585274").unwrap());
        // A currency with no rate on the date and none irrevocable is still an error.
        assert!(limited.per_eur(Currency::parse("USD").unwrap(), date(1998, 1, 1)).is_err());
    }

    #[test]
    fn a_bad_rate_names_its_line_and_currency() {
        let dir = std::env::temp_dir().join(format!("reckon-ecb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("eurofxref-hist.csv");
        std::fs::write(&path, "Date,USD,JPY,\n2026-10-30,1.1172,175.68,\n2026-10-29,1,1130,oops,\n").unwrap();
        let error = load_ecb_history(&path, &mut FxTable::new()).unwrap_err().to_string();
        assert!(error.contains("eurofxref-hist.csv:3"), "{error}");
        let path = dir.join("bad-value.csv");
        std::fs::write(&path, "Date,USD,JPY,\n2026-10-30,1.1172,175.68,\n2026-10-29,1.1130,abc,\n").unwrap();
        let error = load_ecb_history(&path, &mut FxTable::new()).unwrap_err().to_string();
        assert!(error.contains("bad-value.csv:3:3: column \"JPY\": \"abc\" is not a decimal"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
