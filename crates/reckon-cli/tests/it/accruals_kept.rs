//! Issue 15: accruals kept as running sums stay equal to `reckon rate` over the same events.
//!
//! Goal: `GET /v1/accruals` answers from the sums the ledger keeps per day and group, and its
//! figures equal a batch `reckon rate` of the stored events, in every grouping, through each way
//! the sums move: events added on ingest (late ones into a month already summed), corrections
//! (the old content taken away, the new added), a deck import (the months made again with the
//! new rows), tiered prices (a late event re-prices its month) and usage imported by the CLI.
//!
//! Method: a real server over SQLite and PostgreSQL; after each step the test rates every event
//! stored so far with `reckon rate` (the same decks as files), adds up `rated.csv` per group by
//! hand, and compares each group's records, cost, revenue, margin and counts with the service's,
//! for all events and for each carrier, each customer and a carrier's customer (filtered queries
//! read rollups of their own, so tiers and late events must reach them too).
//! Whether a month was added to or made stale is read from the ledger's `accrual_months`.

use crate::ledger::{block_on, ledger_urls, run_ok};
use crate::serve::{http, json, start_server_with};
use crate::{fixtures, read_csv};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::path::Path;

const HEADER: &str = "record_id,service,carrier,customer,started_at,destination,quantity";

/// Events over March and April 2026: two carriers (acme in USD, borealis in EUR, whose costs
/// no FX converts into the USD prices), two customers, voice and sms, several days.
fn events(prefix: &str, count: usize, month: u32) -> Vec<String> {
    let destinations = ["+442071234567", "+447700900123", "+14155550100", "+33142685300", "+447912345678"];
    (0..count)
        .map(|n| {
            let destination = destinations[n % destinations.len()];
            let carrier = if destination.starts_with("+33") { "borealis" } else { "acme" };
            let service = if n % 4 == 3 && carrier == "acme" { "sms" } else { "voice" };
            let customer = ["shop", "bank", ""][n % 3];
            let quantity = if service == "sms" { 1 + n % 5 } else { 7 + (n * 13) % 400 };
            let day = 1 + (n * 7) % 28;
            format!("{prefix}{n},{service},{carrier},{customer},2026-{month:02}-{day:02}T{:02}:15:00Z,{destination},{quantity}", n % 24)
        })
        .collect()
}

/// A CSV row of [`HEADER`] as a service event.
fn event_json(row: &str) -> String {
    let fields: Vec<&str> = row.split(',').collect();
    let customer = if fields[3].is_empty() { String::new() } else { format!(r#","customer":"{}""#, fields[3]) };
    format!(
        r#"{{"record_id":"{}","service":"{}","carrier":"{}"{customer},"started_at":"{}","destination":"{}","quantity":"{}"}}"#,
        fields[0], fields[1], fields[2], fields[4], fields[5], fields[6]
    )
}

fn batch_json(rows: &[String]) -> String {
    format!("[{}]", rows.iter().map(|row| event_json(row)).collect::<Vec<_>>().join(","))
}

/// A group's figures: records, cost, revenue, margin, unrated, unpriced, below cost,
/// unconvertible.
type Figures = (u64, Decimal, Decimal, Decimal, u64, u64, u64, u64);
/// Group key, cost currency, price currency.
type Groups = BTreeMap<(String, String, String), Figures>;

/// A query's filters: carrier, customer (`None`: all).
type Filter = (Option<&'static str>, Option<&'static str>);

/// The filters every step checks: none, each carrier, each customer (a rollup each), and a
/// carrier's customer (the pair's sums per day).
const FILTERS: [Filter; 6] = [
    (None, None),
    (Some("acme"), None),
    (Some("borealis"), None),
    (None, Some("bank")),
    (None, Some("shop")),
    (Some("acme"), Some("shop")),
];

/// `rated.csv` added up by hand per group of `group_by`, the rows of `filter` only.
fn batch_groups(rated: &Path, group_by: &str, filter: Filter) -> Groups {
    let rows = read_csv(rated);
    let column = |name: &str| rows[0].iter().position(|header| header == name).unwrap();
    let decimal = |text: &str| if text.is_empty() { Decimal::ZERO } else { text.parse().unwrap() };
    let mut groups = Groups::new();
    for row in &rows[1..] {
        let field = |name: &str| row[column(name)].as_str();
        let chosen = |wanted: Option<&str>, name: &str| wanted.is_none_or(|wanted| wanted == field(name));
        if !(chosen(filter.0, "carrier") && chosen(filter.1, "customer")) {
            continue;
        }
        let key = match group_by {
            "day" => field("started_at")[..10].to_owned(),
            "customer" if field("customer").is_empty() => "(none)".to_owned(),
            "destination" if field("carrier_prefix").is_empty() => "(no rate)".to_owned(),
            // The fixture deck names each row `dest <prefix>`.
            "destination" => format!("dest {}", field("carrier_prefix")),
            other => field(other).to_owned(),
        };
        let group = (key, field("cost_currency").to_owned(), field("price_currency").to_owned());
        let figures = groups.entry(group).or_default();
        figures.0 += 1;
        figures.1 += decimal(field("cost"));
        figures.2 += decimal(field("price"));
        figures.3 += decimal(field("margin"));
        figures.4 += u64::from(field("cost").is_empty());
        figures.5 += u64::from(field("price").is_empty());
        figures.6 += u64::from(field("leakage") == "below_cost");
        figures.7 += u64::from(field("leakage") == "unconvertible");
    }
    groups
}

/// The service's groups for March and April by `group_by`, of `filter`.
fn served_groups(address: &str, token: &str, group_by: &str, filter: Filter) -> Groups {
    let mut path = format!("/v1/accruals?from=2026-03-01T00:00:00Z&to=2026-05-01T00:00:00Z&group_by={group_by}");
    if let Some(carrier) = filter.0 {
        path.push_str(&format!("&carrier={carrier}"));
    }
    if let Some(customer) = filter.1 {
        path.push_str(&format!("&customer={customer}"));
    }
    let (status, body) = http(address, "GET", &path, Some(token), "");
    assert_eq!(status, 200, "{body}");
    let decimal = |value: &serde_json::Value| value.as_str().unwrap().parse::<Decimal>().unwrap();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    json(&body)["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|group| {
            let key = (text(&group["key"]), text(&group["currency"]), text(&group["price_currency"]));
            let count = |name: &str| group[name].as_u64().unwrap();
            let figures = (
                count("records"),
                decimal(&group["cost"]),
                decimal(&group["revenue"]),
                decimal(&group["margin"]),
                count("unrated_records"),
                count("unpriced_records"),
                count("below_cost_records"),
                count("unconvertible_records"),
            );
            (key, figures)
        })
        .collect()
}

/// Rates the stored events with `reckon rate` and compares every grouping, without and with
/// each of [`FILTERS`], with the service's.
fn assert_equal_to_batch(dir: &Path, address: &str, token: &str, stored: &[String], decks: (&Path, &Path), what: &str) {
    let usage = dir.join("stored.csv");
    std::fs::write(&usage, format!("{HEADER}\n{}\n", stored.join("\n"))).unwrap();
    let rated = dir.join("rated.csv");
    let path = |path: &Path| path.display().to_string();
    run_ok(&[
        "rate",
        "--usage",
        &path(&usage),
        "--rates",
        &path(decks.0),
        "--prices",
        &path(decks.1),
        "--out",
        &path(&rated),
    ]);
    for filter in FILTERS {
        for group_by in ["day", "destination", "service", "customer", "carrier"] {
            let expected = batch_groups(&rated, group_by, filter);
            assert!(!expected.is_empty(), "{what}, by {group_by}, {filter:?}");
            assert_eq!(served_groups(address, token, group_by, filter), expected, "{what}, by {group_by}, {filter:?}");
        }
    }
}

/// What each month's sums were made with (`None`: stale), as the ledger holds it.
fn month_states(url: &str) -> BTreeMap<String, Option<String>> {
    block_on(async {
        use sqlx::Connection;
        let query = "SELECT month, rated_with FROM accrual_months";
        let rows: Vec<(String, Option<String>)> = if url.starts_with("sqlite:") {
            let mut connection = sqlx::SqliteConnection::connect(url).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut connection).await.unwrap()
        } else {
            let mut connection = sqlx::PgConnection::connect(url).await.unwrap();
            sqlx::query_as(query).fetch_all(&mut connection).await.unwrap()
        };
        rows.into_iter().collect()
    })
}

fn is_summed(url: &str, month: &str) -> bool {
    month_states(url).get(month).is_some_and(Option::is_some)
}

/// Replaces the row of `id` in the stored events.
fn replace_row(stored: &mut [String], row: &str) {
    let id = row.split(',').next().unwrap();
    let at = stored.iter().position(|stored| stored.split(',').next() == Some(id)).unwrap();
    stored[at] = row.to_owned();
}

#[test]
fn issue15_kept_accruals_equal_batch_rating_through_late_events_corrections_reimports_and_tiers() {
    let dir = tempfile::tempdir().unwrap();
    let rates = dir.path().join("rates.csv");
    std::fs::copy(fixtures().join("basic/rates.csv"), &rates).unwrap();
    let prices = dir.path().join("prices.csv");
    // shop has its own UK voice price; everyone else the default plan; nothing prices France.
    std::fs::write(
        &prices,
        "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from\n\
         shop,voice,44,UK,0.0200,USD,60,60/60,2026-01-01T00:00:00Z\n\
         *,voice,44,UK,0.0150,USD,60,60/60,2026-01-01T00:00:00Z\n\
         *,voice,1,US,0.0030,USD,60,60/60,2026-01-01T00:00:00Z\n\
         *,sms,44,UK,0.0400,USD,1,1/1,2026-01-01T00:00:00Z\n",
    )
    .unwrap();
    let path = |path: &Path| path.display().to_string();
    for (backend, url) in ledger_urls(dir.path()) {
        let what = |step: &str| format!("{backend}: {step}");
        run_ok(&["import", "rates", &path(&rates), "--database-url", &url]);
        run_ok(&["import", "prices", &path(&prices), "--database-url", &url]);
        let token =
            run_ok(&["apikey", "create", "--scope", "ingest,read,admin", "--database-url", &url]).trim().to_owned();
        let (mut server, address) = start_server_with(&url, &[]);
        let ingest = |rows: &[String]| {
            let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch_json(rows));
            assert_eq!(status, 200, "{body}");
            assert!(body.contains(&format!("\"accepted\":{}", rows.len())), "{body}");
        };
        let mut stored = Vec::new();

        // 1. March and April ingested, then the first query makes both months' sums.
        let first: Vec<String> = events("a", 60, 3).into_iter().chain(events("b", 40, 4)).collect();
        ingest(&first);
        stored.extend(first);
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&rates, &prices), &what("as ingested"));
        assert!(is_summed(&url, "2026-03") && is_summed(&url, "2026-04"), "{}", what("both months summed"));

        // 2. Late events into March: added to the kept sums in their own transaction.
        let late = events("late", 30, 3);
        ingest(&late);
        stored.extend(late);
        assert!(is_summed(&url, "2026-03"), "{}", what("late events are added, the month stays summed"));
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&rates, &prices), &what("late events"));

        // 3. Corrections: a quantity changed, and an event moved from March to April. The old
        // contents leave the sums and the new ones enter them.
        let changed = "a0,voice,acme,shop,2026-03-01T00:15:00Z,+442071234567,999".to_owned();
        let moved = "a1,voice,acme,bank,2026-04-20T08:15:00Z,+447700900123,61".to_owned();
        let body = batch_json(&[changed.clone(), moved.clone()]);
        let (status, answer) = http(&address, "POST", "/v1/usage/corrections", Some(&token), &body);
        assert_eq!(status, 200, "{answer}");
        assert!(answer.contains("\"replaced\":2"), "{answer}");
        replace_row(&mut stored, &changed);
        replace_row(&mut stored, &moved);
        assert!(is_summed(&url, "2026-03") && is_summed(&url, "2026-04"), "{}", what("corrections are added"));
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&rates, &prices), &what("corrections"));

        // 4. A deck import: a new row for +1415 numbers. The sums were made with the old deck,
        // so both months are made again.
        let more_rates = dir.path().join("more_rates.csv");
        std::fs::write(
            &more_rates,
            "carrier,service,prefix,destination_name,rate,currency,rate_unit,increments,connect_fee,min_charge,effective_from,effective_to\n\
             acme,voice,1415,dest 1415,0.0090,USD,60,1/1,0,0,2026-01-30T00:00:00Z,\n",
        )
        .unwrap();
        run_ok(&["import", "rates", &path(&more_rates), "--database-url", &url]);
        let all_rates = dir.path().join("all_rates.csv");
        let extra_row = std::fs::read_to_string(&more_rates).unwrap().lines().nth(1).unwrap().to_owned();
        std::fs::write(&all_rates, format!("{}{extra_row}\n", std::fs::read_to_string(&rates).unwrap())).unwrap();
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&all_rates, &prices), &what("a deck import"));

        // 5. Tiered prices for bank's UK messages: a late event re-prices its whole month, so
        // the month is made stale and rated again whole on the next query.
        let tiered = dir.path().join("tiered_prices.csv");
        std::fs::write(
            &tiered,
            "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from,tier_from,tier_mode\n\
             bank,sms,44,UK,0.0500,USD,1,1/1,2026-01-01T00:00:00Z,0,graduated\n\
             bank,sms,44,UK,0.0300,USD,1,1/1,2026-01-01T00:00:00Z,10,graduated\n",
        )
        .unwrap();
        run_ok(&["import", "prices", &path(&tiered), "--database-url", &url]);
        // The same plans as one file for `reckon rate`.
        let all_prices = dir.path().join("all_prices.csv");
        std::fs::write(
            &all_prices,
            "customer,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from,tier_from,tier_mode\n\
             shop,voice,44,UK,0.0200,USD,60,60/60,2026-01-01T00:00:00Z,,\n\
             *,voice,44,UK,0.0150,USD,60,60/60,2026-01-01T00:00:00Z,,\n\
             *,voice,1,US,0.0030,USD,60,60/60,2026-01-01T00:00:00Z,,\n\
             *,sms,44,UK,0.0400,USD,1,1/1,2026-01-01T00:00:00Z,,\n\
             bank,sms,44,UK,0.0500,USD,1,1/1,2026-01-01T00:00:00Z,0,graduated\n\
             bank,sms,44,UK,0.0300,USD,1,1/1,2026-01-01T00:00:00Z,10,graduated\n",
        )
        .unwrap();
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&all_rates, &all_prices), &what("tiered prices"));
        let late_messages: Vec<String> = (0..6)
            .map(|n| format!("tier{n},sms,acme,bank,2026-03-0{}T12:00:00Z,+447911123456,{}", 1 + n, 2 + n))
            .collect();
        ingest(&late_messages);
        stored.extend(late_messages);
        assert!(!is_summed(&url, "2026-03"), "{}", what("a late event into a tiered month makes it stale"));
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&all_rates, &all_prices), &what("late tiered"));

        // 6. Usage imported by the CLI (not rated on the way in): its month is made again.
        let imported = events("cli", 25, 4);
        let usage = dir.path().join("cli_usage.csv");
        std::fs::write(&usage, format!("{HEADER}\n{}\n", imported.join("\n"))).unwrap();
        run_ok(&["import", "usage", &path(&usage), "--database-url", &url]);
        stored.extend(imported);
        assert!(!is_summed(&url, "2026-04"), "{}", what("a CLI import makes its month stale"));
        assert_equal_to_batch(dir.path(), &address, &token, &stored, (&all_rates, &all_prices), &what("CLI import"));

        let _ = std::process::Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        let _ = server.wait();
    }
}
