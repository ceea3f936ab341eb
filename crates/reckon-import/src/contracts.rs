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
//!
//! Dispute thresholds as practised (read by [`load_dispute_thresholds`], used by `dispute
//! open`): `dispute_min_share` (percent of the invoice a volume claim must reach),
//! `dispute_min_amount` with `dispute_min_currency` (an amount it may reach instead) and
//! `rate_dispute_window_days` (days after the invoice date a rate dispute may be raised).

use crate::csv_table::{ColumnSpec, CsvTable};
use crate::error::{ImportError, ImportErrorKind};
use crate::NoProgress;
use reckon_core::contract::{ContractTerms, FxPolicy};
use reckon_core::dispute::DisputeThresholds;
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

/// Loads each carrier's dispute thresholds from `contracts.csv` (carriers without any get the
/// default: everything is raised). They decide which disputes are opened, not what a run
/// finds, so they are kept apart from the [`ContractTerms`] that a run's id hashes.
///
/// # Errors
/// A file-level error, a bad value, or a carrier listed twice.
pub fn load_dispute_thresholds(path: &Path) -> Result<HashMap<String, DisputeThresholds>, ImportError> {
    let mut table = CsvTable::open(path)?;
    let [carrier, min_share, min_amount, min_currency, window_days] = table.resolve([
        ColumnSpec { name: "carrier", required: true },
        ColumnSpec { name: "dispute_min_share", required: false },
        ColumnSpec { name: "dispute_min_amount", required: false },
        ColumnSpec { name: "dispute_min_currency", required: false },
        ColumnSpec { name: "rate_dispute_window_days", required: false },
    ])?;
    let mut thresholds = HashMap::new();
    while let Some(row) = table.next_row(&mut NoProgress)? {
        let row = row?;
        let min_share_percent = match row.optional_decimal(min_share)? {
            Some(percent) if percent < Decimal::ZERO || percent > Decimal::ONE_HUNDRED => {
                return Err(row.invalid(min_share, row.required(min_share)?, "a percentage from 0 to 100, like 1"));
            }
            percent => percent,
        };
        let min_amount = match row.optional_bounded_decimal(min_amount, reckon_core::bounds::check_amount)? {
            Some(amount) if amount < Decimal::ZERO => {
                return Err(row.invalid(min_amount, row.required(min_amount)?, "an amount >= 0"));
            }
            Some(amount) => match row.get(min_currency) {
                Some(_) => Some((amount, row.currency(min_currency)?)),
                None => {
                    return Err(row.error(
                        min_currency,
                        ImportErrorKind::Rule("dispute_min_amount needs its currency in dispute_min_currency".into()),
                    ))
                }
            },
            None => None,
        };
        let rate_window_days = match row.get(window_days) {
            None => None,
            Some(text) => Some(
                text.parse::<u32>()
                    .ok()
                    .filter(|days| *days <= 3650)
                    .ok_or_else(|| row.invalid(window_days, text, "a whole number of days from 0 to 3650"))?,
            ),
        };
        let name = row.text(carrier)?;
        let terms = DisputeThresholds { min_share_percent, min_amount, rate_window_days };
        if thresholds.insert(name.clone(), terms).is_some() {
            return Err(row.error(carrier, ImportErrorKind::Rule(format!("carrier {name:?} is listed twice"))));
        }
    }
    Ok(thresholds)
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

    /// Issue 14: dispute thresholds as practised, optional per carrier; the contract terms do
    /// not change with them (a run's id hashes the terms).
    #[test]
    fn issue14_dispute_thresholds() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("contracts.csv");
        let text =
            "carrier,fx_policy,dispute_min_share,dispute_min_amount,dispute_min_currency,rate_dispute_window_days\n\
                    acme,record_date,1,1000,usd,30\nglobex,,,,,\n";
        std::fs::write(&path, text).unwrap();
        let thresholds = load_dispute_thresholds(&path).unwrap();
        let usd = reckon_core::Currency::parse("USD").unwrap();
        assert_eq!(
            thresholds["acme"],
            DisputeThresholds {
                min_share_percent: Some(Decimal::ONE),
                min_amount: Some((Decimal::new(1000, 0), usd)),
                rate_window_days: Some(30)
            }
        );
        assert_eq!(thresholds["globex"], DisputeThresholds::default());
        assert_eq!(load_contracts(&path).unwrap()["acme"], ContractTerms::default());
        let bad = |row: &str| {
            std::fs::write(&path, format!("carrier,dispute_min_share,dispute_min_amount,dispute_min_currency,rate_dispute_window_days\n{row}\n")).unwrap();
            load_dispute_thresholds(&path).unwrap_err().to_string()
        };
        assert!(bad("acme,101,,,").contains(
            "contracts.csv:2:2: column \"dispute_min_share\": \"101\" is not a percentage from 0 to 100, like 1"
        ));
        assert!(bad("acme,,500,,").contains("contracts.csv:2:4: column \"dispute_min_currency\": dispute_min_amount needs its currency in dispute_min_currency"));
        assert!(bad("acme,,,,-1")
            .contains("contracts.csv:2:5: column \"rate_dispute_window_days\": \"-1\" is not a whole number of days"));
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
