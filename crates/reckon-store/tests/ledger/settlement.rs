//! Settlement of a carrier billed in two currencies, and the journal of a corrected settlement,
//! on both backends (issue 11, items 3 and 7).

use crate::{at, ledgers};
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, FxTable};
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{Ledger, SettleOptions, StoreError};
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// Two invoices of carrier `twofx` for March 2026: TWO-EUR (10.00 + 2.505 EUR) and TWO-USD
/// (20.00 + 1.25 USD).
async fn import_two_currencies(ledger: &Ledger) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("invoices.csv");
    std::fs::write(
        &path,
        "carrier,invoice_id,line_id,service,started_at,destination,quantity,amount,currency\n\
         twofx,TWO-EUR,1,voice,2026-03-02T10:00:00Z,442071234567,60,10.00,EUR\n\
         twofx,TWO-EUR,2,voice,2026-03-03T10:00:00Z,442071234567,60,2.505,EUR\n\
         twofx,TWO-USD,1,voice,2026-03-04T10:00:00Z,12125551234,60,20.00,USD\n\
         twofx,TWO-USD,2,voice,2026-03-05T10:00:00Z,12125551234,60,1.25,USD\n",
    )
    .unwrap();
    let lines = reckon_import::invoice::load_invoices(&[path], BadRowPolicy::Fail, &mut NoProgress).unwrap().items;
    ledger.import_invoices(&lines, "invoices.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
}

fn march() -> Month {
    Month::parse("2026-03").unwrap()
}

/// Issue 11, item 3: "several currencies: settle each separately", with no way to.
#[tokio::test]
async fn a_carrier_billed_in_two_currencies_gets_one_statement_per_currency() {
    for (backend, ledger, _guard) in ledgers().await {
        import_two_currencies(&ledger).await;
        // One currency asked for: 10.00 + 2.505 = 12.505 -> 12.50 EUR (half to even).
        let only_eur = SettleOptions { currency: Some(Currency::EUR), ..SettleOptions::default() };
        let eur = ledger.settle_period_with("twofx", march(), &only_eur, at("2026-04-06T09:00:00Z")).await.unwrap();
        assert_eq!(eur.len(), 1, "{backend}");
        assert_eq!((eur[0].statement.inputs.currency, eur[0].statement.net), (Currency::EUR, d("12.50")), "{backend}");
        // All of them: the EUR statement again (unchanged) and 20.00 + 1.25 = 21.25 USD.
        let every_currency = SettleOptions::default();
        let all =
            ledger.settle_period_with("twofx", march(), &every_currency, at("2026-04-06T10:00:00Z")).await.unwrap();
        let nets: Vec<(&str, Decimal, bool)> = all
            .iter()
            .map(|stored| (stored.statement.inputs.currency.as_str(), stored.statement.net, stored.created))
            .collect();
        assert_eq!(nets, [("EUR", d("12.50"), false), ("USD", d("21.25"), true)], "{backend}");
        // The one-currency call names the way out.
        let refused = ledger.settle_period("twofx", march(), false, at("2026-04-06T11:00:00Z")).await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(message)) if message.contains("several currencies (EUR, USD)") && message.contains("--currency")),
            "{backend}: {refused:?}"
        );
        // The journal books each currency on its own, every entry balanced in its currency.
        let journal = ledger.journal("twofx", "2026-03").await.unwrap();
        let banks: Vec<(Currency, Decimal)> = journal
            .iter()
            .flat_map(|entry| entry.lines.iter().map(move |line| (entry.currency, line)))
            .filter(|(_, line)| line.account.code == "1000")
            .map(|(currency, line)| (currency, line.credit - line.debit))
            .collect();
        assert_eq!(banks, [(Currency::EUR, d("12.50")), (Currency::parse("USD").unwrap(), d("21.25"))], "{backend}");
        // Asking for a currency never billed: not found.
        let yen = SettleOptions { currency: Currency::parse("JPY"), ..SettleOptions::default() };
        let refused = ledger.settle_period_with("twofx", march(), &yen, at("2026-04-06T12:00:00Z")).await;
        assert!(matches!(refused, Err(StoreError::NotFound(_))), "{backend}: {refused:?}");
    }
}

/// Issue 11, item 3: with a contract's settlement currency, one statement in it, each
/// conversion shown with its rate and date.
#[tokio::test]
async fn a_settlement_currency_converts_the_other_currencies_on_the_statement() {
    for (backend, ledger, _guard) in ledgers().await {
        import_two_currencies(&ledger).await;
        let usd = Currency::parse("USD").unwrap();
        let mut fx = FxTable::new();
        fx.insert(jiff::civil::date(2026, 3, 31), usd, d("1.25")).unwrap();
        let options = SettleOptions { settlement_currency: Some((Currency::EUR, &fx)), ..SettleOptions::default() };
        let statements =
            ledger.settle_period_with("twofx", march(), &options, at("2026-04-06T09:00:00Z")).await.unwrap();
        assert_eq!(statements.len(), 1, "{backend}");
        let statement = &statements[0].statement;
        // 1 USD = 1 / 1.25 = 0.8 EUR on 2026-03-31: 21.25 USD * 0.8 = 17 EUR;
        // invoiced 12.505 + 17 = 29.505 -> 29.50 EUR (half to even).
        assert_eq!(statement.inputs.invoiced, d("29.505"), "{backend}");
        assert_eq!(statement.net, d("29.50"), "{backend}");
        assert_eq!(statement.conversions.len(), 1, "{backend}");
        let conversion = &statement.conversions[0];
        assert_eq!(
            (conversion.from.currency, conversion.from.invoiced, conversion.rate, conversion.date),
            (usd, d("21.25"), d("0.8"), jiff::civil::date(2026, 3, 31)),
            "{backend}"
        );
        // Stored with its conversion: settling again finds the same statement.
        let again = ledger.settle_period_with("twofx", march(), &options, at("2026-04-07T09:00:00Z")).await.unwrap();
        assert_eq!((&again[0].statement_id, again[0].created), (&statements[0].statement_id, false), "{backend}");
        assert_eq!(again[0].statement, *statement, "{backend}");
        // No rate for USD: an error naming it, never a rate of 1.
        let no_rates = FxTable::new();
        let options = SettleOptions { settlement_currency: Some((Currency::EUR, &no_rates)), ..options };
        let refused = ledger.settle_period_with("twofx", march(), &options, at("2026-04-07T09:00:00Z")).await;
        assert!(
            matches!(&refused, Err(StoreError::Invalid(message)) if message.contains("no exchange rate for USD")),
            "{backend}: {refused:?}"
        );
    }
}
