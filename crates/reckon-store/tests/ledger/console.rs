//! What the console reads besides the CLI's operations (issue 16), on both backends with the
//! worked example: the run summary kept with each run (billed vs expected, as `reckon
//! reconcile` prints it) and a month's margins and leaking records over the stored usage (as
//! `reckon margin` reports them over the files). Figures are computed by hand below.

use crate::scenario::import_basic;
use crate::{at, ledgers};
use reckon_core::margin::{Leakage, MarginDimension};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::{Currency, Decimal, FxTable, ReconcileConfig};
use reckon_store::{ExplainSettings, RunInputs, RunSummaryGroup};
use std::collections::HashMap;
use std::str::FromStr;

fn d(text: &str) -> Decimal {
    Decimal::from_str(text).unwrap()
}

/// A price plan for the worked example's French numbers: voice 0.08 EUR a minute billed per
/// started minute, SMS 0.05 EUR each (below borealis's 0.055: every French SMS leaks).
const PRICES: &str = "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from\n\
    *,voice,33,France,0.0800,EUR,60,60/60,2026-01-01T00:00:00Z\n\
    *,sms,33,France SMS,0.0500,EUR,1,1/1,2026-01-01T00:00:00Z\n";

#[tokio::test]
async fn a_run_keeps_its_summary_as_reconcile_reports_it() {
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        let config = ReconcileConfig::default();
        let (fx, networks, holidays) = (FxTable::new(), NetworkMap::new(), HashMap::new());
        let inputs = RunInputs {
            carrier: "borealis",
            period: Month::parse("2026-03").unwrap(),
            config: &config,
            fx: &fx,
            networks: &networks,
            holidays: &holidays,
        };
        let run = ledger.reconcile_period(&inputs, at("2026-04-03T09:00:00Z")).await.unwrap();
        let kept = ledger.run_summary(&run.run_id).await.unwrap().expect("a new run keeps its summary");
        // `reckon reconcile` on the files prints, for borealis:
        //   (unbilled) EUR lines 0 matched 0 billed 0 expected 0.1575 overbilled 0 underbilled 0.1575
        //   BOR-2603   EUR lines 42 matched 39 billed 3.724983 expected 3.5395 overbilled 0.185483
        let unbilled = RunSummaryGroup {
            invoice_id: None,
            currency: Currency::EUR,
            lines_billed: 0,
            lines_matched: 0,
            billed_total: d("0"),
            expected_total: d("0.1575"),
            unverified_total: d("0"),
            overbilled: d("0"),
            underbilled: d("0.1575"),
        };
        let invoice = RunSummaryGroup {
            invoice_id: Some("BOR-2603".to_owned()),
            currency: Currency::EUR,
            lines_billed: 42,
            lines_matched: 39,
            billed_total: d("3.724983"),
            expected_total: d("3.5395"),
            unverified_total: d("0"),
            overbilled: d("0.185483"),
            underbilled: d("0"),
        };
        assert_eq!(kept, vec![unbilled, invoice], "{backend}");
        // The same as the summary the run returned (what the CLI printed).
        let summary = run.summary.unwrap();
        let returned: Vec<(Decimal, Decimal)> =
            summary.groups.values().map(|totals| (totals.billed_total, totals.expected_total)).collect();
        let stored: Vec<(Decimal, Decimal)> =
            kept.iter().map(|group| (group.billed_total, group.expected_total)).collect();
        assert_eq!(returned, stored, "{backend}");
        // Expected over the period: 0.1575 + 3.5395 = 3.697 EUR; billed 3.724983 EUR, and
        // billed - expected = 0.027983 = overbilled 0.185483 - underbilled 0.1575.
        let expected = kept.iter().map(|group| group.expected_total).sum::<Decimal>();
        assert_eq!(expected, d("3.697"), "{backend}");
        // The same run again records nothing new and keeps the one summary.
        let again = ledger.reconcile_period(&inputs, at("2026-04-04T09:00:00Z")).await.unwrap();
        assert!(!again.created, "{backend}");
        assert_eq!(ledger.run_summary(&run.run_id).await.unwrap().map(|groups| groups.len()), Some(2), "{backend}");
        assert_eq!(ledger.run_summary("no-such-run").await.unwrap(), None, "{backend}");
    }
}

#[tokio::test]
async fn a_months_margins_are_reckon_margins_over_the_stored_usage() {
    for (backend, ledger, _guard) in ledgers().await {
        import_basic(&ledger).await;
        let prices = reckon_import::rates::load_deck_from_text(
            std::path::Path::new("prices.csv"),
            PRICES.to_owned(),
            reckon_import::rates::DeckKind::CustomerPrices,
        )
        .unwrap()
        .deck;
        ledger.import_prices(prices.rows(), "prices.csv", "test", false, at("2026-04-01T09:00:00Z")).await.unwrap();
        assert_eq!(ledger.latest_usage_month().await.unwrap(), Month::parse("2026-03").ok(), "{backend}");
        let config = ReconcileConfig { report_currency: Some(Currency::EUR), ..ReconcileConfig::default() };
        let (fx, networks, holidays) = (FxTable::new(), NetworkMap::new(), HashMap::new());
        let settings = ExplainSettings { config: &config, fx: &fx, networks: &networks, holidays: &holidays };
        let margins = ledger.period_margins(Month::parse("2026-03").unwrap(), &settings, 0..usize::MAX).await.unwrap();
        assert_eq!(margins.records, 83, "{backend}");
        let group = |dimension, name: &str, currency: &str| {
            margins.report.groups[&(dimension, name.to_owned(), Currency::parse(currency))].clone()
        };
        // borealis's 16 calls to 336 (0.06 EUR a minute, 30/30) priced 0.08 a minute (60/60),
        // billed seconds cost / price per record:
        //   59 -> 60/60, 5.3 -> 30/60, 121.6 -> 150/180, 5 -> 30/60, 75 -> 90/120, 5 -> 30/60,
        //   29 -> 30/60, 119 -> 120/120, 59 -> 60/60, 121 -> 150/180, 31.2 -> 60/60,
        //   600.2 -> 630/660, 600 -> 600/600, 119 -> 120/120, 75 -> 90/120, 121 -> 150/180
        // cost 2400 s * 0.001 = 2.4 EUR; revenue 2700 s * 0.08 / 60 = 3.6 EUR; margin 1.2 EUR,
        // margin % 1.2 * 100 / 3.6 = 33.33.. -> 33.3.
        let calls = group(MarginDimension::Destination, "dest 336", "EUR");
        assert_eq!(
            (calls.records, calls.cost, calls.revenue, calls.margin),
            (16, d("2.4"), d("3.6"), d("1.2")),
            "{backend}"
        );
        assert_eq!(calls.margin_percent(), Some(d("33.3")), "{backend}");
        assert_eq!(calls.report, Some(Ok((Currency::EUR, d("3.6"), d("2.4"), d("1.2")))), "{backend}");
        // The 3 SMS to Germany (1 + 3 + 2 messages at 0.071 EUR) have no price: cost 0.426 EUR,
        // all of it unpriced, margin -0.426, no margin %.
        let germany = group(MarginDimension::Destination, "dest 49", "EUR");
        assert_eq!(
            (germany.records, germany.cost, germany.unpriced_cost, germany.margin, germany.margin_percent()),
            (3, d("0.426"), d("0.426"), d("-0.426"), None),
            "{backend}"
        );
        assert_eq!(germany.leakage_counts[Leakage::NoPrice as usize], 3, "{backend}");
        // Leaking: the 8 French SMS (0.05 < 0.055 each), 41 records without a price (acme's 38
        // answered ones and the 3 to Germany), acme's 3 calls to China without a rate.
        assert_eq!(margins.leaking_counts, [8, 41, 3, 0], "{backend}");
        assert_eq!((margins.leaking_total, margins.leaking.len()), (52, 52), "{backend}");
        let sms = margins.leaking.iter().find(|leaking| leaking.record.record_id == "u00064").unwrap();
        // 1 SMS: price 0.05 - cost 0.055 = -0.005.
        let margin = &sms.margin;
        assert_eq!((margin.margin, margin.leakage), (Some(d("-0.005")), Some(Leakage::BelowCost)), "{backend}");
        // Leaking records are in usage order (start, then id), whatever the batches: the
        // window 10..20 holds the 11th to 20th of them, the same as in the whole list.
        let window = ledger.period_margins(Month::parse("2026-03").unwrap(), &settings, 10..20).await.unwrap();
        let ids = |leaking: &[reckon_store::LeakingRecord]| {
            leaking.iter().map(|leaking| leaking.record.record_id.clone()).collect::<Vec<_>>()
        };
        assert_eq!(ids(&window.leaking), ids(&margins.leaking[10..20]), "{backend}");
        assert_eq!((window.records, window.leaking_total), (83, 52), "{backend}");
        assert_eq!((&window.report, window.leaking_counts), (&margins.report, margins.leaking_counts), "{backend}");
        // An empty month: nothing, and nothing leaks.
        let empty = ledger.period_margins(Month::parse("2026-05").unwrap(), &settings, 0..usize::MAX).await.unwrap();
        assert!(empty.records == 0 && empty.report.groups.is_empty() && empty.leaking_total == 0, "{backend}");
    }
}
