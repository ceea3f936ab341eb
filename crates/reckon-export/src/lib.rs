//! Writers of reconciliation results: `discrepancies.csv` (FORMATS.md columns and order; also
//! as `discrepancies.parquet`),
//! `summary.json`, `rejected.csv` (quarantined input rows) and the summary table printed for
//! people.

pub mod discrepancies;
pub mod disputes;
pub mod journal;
pub mod margin;
pub mod parquet;
pub mod rates;
pub mod rejected;
pub mod summary;
pub mod summary_invoice;
pub mod table;

/// A decimal as FORMATS.md wants numbers written: plain, no exponent, no trailing zeros.
pub fn plain_decimal(value: rust_decimal::Decimal) -> String {
    value.normalize().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn plain_decimals() {
        assert_eq!(plain_decimal(Decimal::new(1660, 5)), "0.0166");
        assert_eq!(plain_decimal(Decimal::new(-0, 3)), "0");
        assert_eq!(plain_decimal(Decimal::new(120, 0)), "120");
        assert_eq!(plain_decimal(Decimal::new(-225, 4)), "-0.0225");
        assert_eq!(plain_decimal(Decimal::new(1, 28)), "0.0000000000000000000000000001");
    }
}
