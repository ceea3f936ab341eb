//! `contracts.csv`: terms of each carrier's contract beyond its deck:
//! `carrier,fx_policy,fixed_currency,fixed_rate,deck_currency_only,notice_days,settlement_currency,
//! rounding_decimals,rounding_mode,billed_on`.
//!
//! `fx_policy` is `record_date` (the default), `invoice_date` or `fixed`; a fixed policy needs
//! `fixed_currency` and `fixed_rate` (units of that currency per unit of the deck's currency).
//! `deck_currency_only` (`true`/`false`) forbids billing in another currency than the deck's.
//! `notice_days` (a whole number) is the notice a deck increase needs under this contract.
//! `settlement_currency` (an ISO 4217 code, optional) settles a period billed in several
//! currencies as one statement in it. `rounding_decimals` and `rounding_mode` round every record
//! cost of the carrier's deck the carrier's way, where a row does not say so itself.
//! `billed_on` (`submitted` or `delivered`) says when the carrier bills messages, for every
//! message row of its deck that does not say so itself.

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
    let [carrier, fx_policy, fixed_currency, fixed_rate, deck_currency_only, notice_days, settlement_currency, rounding_decimals, rounding_mode, billed_on] =
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
            ColumnSpec { name: "billed_on", required: false },
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
        let billed_on = crate::rates::parse_billed_on(&row, billed_on)?;
        let terms = ContractTerms {
            fx_policy: policy,
            deck_currency_only: strict,
            notice_days,
            settlement_currency,
            rounding,
            billed_on,
        };
        if contracts.insert(name.clone(), terms).is_some() {
            return Err(row.error(carrier, ImportErrorKind::Rule(format!("carrier {name:?} is listed twice"))));
        }
    }
    Ok(contracts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reckon_core::rate_deck::BilledOn;

    fn load(text: &str) -> Result<HashMap<String, ContractTerms>, ImportError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contracts.csv");
        std::fs::write(&path, text).unwrap();
        load_contracts(&path)
    }

    /// Issue 13: a contract's `billed_on` (blank: not said); a bad value names file, line and
    /// column.
    #[test]
    fn issue13_contract_billed_on() {
        let contracts = load("carrier,billed_on\nacme,delivered\nglobex,\n").unwrap();
        assert_eq!(contracts["acme"].billed_on, Some(BilledOn::Delivered));
        assert_eq!(contracts["globex"].billed_on, None);
        let error = load("carrier,billed_on\nacme,sometimes\n").unwrap_err().to_string();
        assert!(
            error.contains("contracts.csv:2:2: column \"billed_on\": \"sometimes\" is not when messages are billed"),
            "{error}"
        );
    }
}
