//! `contracts.csv`: terms of each carrier's contract beyond its deck:
//! `carrier,fx_policy,fixed_currency,fixed_rate,deck_currency_only,notice_days,settlement_currency,
//! rounding_decimals,rounding_mode`.
//!
//! `fx_policy` is `record_date` (the default), `invoice_date` or `fixed`; a fixed policy needs
//! `fixed_currency` and `fixed_rate` (units of that currency per unit of the deck's currency).
//! `deck_currency_only` (`true`/`false`) forbids billing in another currency than the deck's.
//! `notice_days` (a whole number) is the notice a deck increase needs under this contract.
//! `settlement_currency` (an ISO 4217 code, optional) settles a period billed in several
//! currencies as one statement in it. `rounding_decimals` and `rounding_mode` round every record
//! cost of the carrier's deck the carrier's way, where a row does not say so itself.

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::NoProgress;
use reckon_core::contract::{ContractTerms, FxPolicy};
use rust_decimal::Decimal;
use std::collections::HashMap;
use std::path::Path;

/// Loads contract terms per carrier. Bad rows always fail: terms decide every amount.
///
/// # Errors
/// A file-level error, a bad value, or a carrier listed twice.
pub fn load_contracts(path: &Path) -> Result<HashMap<String, ContractTerms>, ImportError> {
    let mut table = CsvTable::open(path)?;
    let [carrier, fx_policy, fixed_currency, fixed_rate, deck_currency_only, notice_days, settlement_currency, rounding_decimals, rounding_mode] =
        table.resolve([
            ColumnSpec { name: "carrier", required: true },
            ColumnSpec { name: "fx_policy", required: false },
            ColumnSpec { name: "fixed_currency", required: false },
            ColumnSpec { name: "fixed_rate", required: false },
            ColumnSpec { name: "deck_currency_only", required: false },
            ColumnSpec { name: "notice_days", required: false },
            ColumnSpec { name: "settlement_currency", required: false },
            ColumnSpec { name: "rounding_decimals", required: false },
            ColumnSpec { name: "rounding_mode", required: false },
        ])?;
    let mut contracts = HashMap::new();
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let policy = match row.get(fx_policy).map(str::to_ascii_lowercase).as_deref() {
            None | Some("record_date") => FxPolicy::RecordDate,
            Some("invoice_date") => FxPolicy::InvoiceDate,
            Some("fixed") => {
                let rate = row.decimal(fixed_rate)?;
                if rate <= Decimal::ZERO {
                    return Err(row.invalid(fixed_rate, row.required(fixed_rate)?, "a rate > 0"));
                }
                FxPolicy::Fixed { currency: row.currency(fixed_currency)?, rate }
            }
            Some(_) => {
                let text = row.required(fx_policy)?;
                return Err(row.invalid(fx_policy, text, "an FX policy: record_date, invoice_date or fixed"));
            }
        };
        let strict = match row.get(deck_currency_only).map(str::to_ascii_lowercase).as_deref() {
            None | Some("false") | Some("no") => false,
            Some("true") | Some("yes") => true,
            Some(_) => {
                let text = row.required(deck_currency_only)?;
                return Err(row.invalid(deck_currency_only, text, "true or false"));
            }
        };
        let notice_days = match row.get(notice_days) {
            None => None,
            Some(text) => Some(
                text.parse::<u32>()
                    .ok()
                    .filter(|days| *days <= 3650)
                    .ok_or_else(|| row.invalid(notice_days, text, "a whole number of days from 0 to 3650"))?,
            ),
        };
        let settlement_currency = match row.get(settlement_currency) {
            Some(_) => Some(row.currency(settlement_currency)?),
            None => None,
        };
        let name = row.text(carrier)?;
        let rounding = crate::rates::parse_rounding(&row, rounding_decimals, rounding_mode)?;
        let terms =
            ContractTerms { fx_policy: policy, deck_currency_only: strict, notice_days, settlement_currency, rounding };
        if contracts.insert(name.clone(), terms).is_some() {
            return Err(row.error(carrier, ImportErrorKind::Rule(format!("carrier {name:?} is listed twice"))));
        }
    }
    Ok(contracts)
}
