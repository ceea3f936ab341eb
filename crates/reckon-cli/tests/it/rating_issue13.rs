//! Issue 13 through the binary: one FX loader for `rate`, `margin` and `serve` (a stale rate
//! converts nothing), overlapping bands named by both lines, margin totals that add up, the
//! new rate structures end to end, and messages that name the right column and kind of fault.
//!
//! Method: each test writes small hand-computed inputs into a temporary folder, runs the
//! binary (or the server over HTTP) and reads the files, stdout and stderr it leaves.

use crate::ledger::{ledger_urls, run_ok};
use crate::serve::{http, json, start_server_with};
use crate::{read_csv, reckon, text};
use std::path::Path;
use std::process::Command;

const USAGE_HEADER: &str = "record_id,service,carrier,customer,started_at,destination,quantity\n";

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// acme charges 0.012 USD a minute to 44; the default plan sells at 0.03 EUR a minute; the
/// only USD rate is of 2026-04-30 (1.25 per EUR); one 60 s call on 2026-10-25.
fn stale_fx_inputs(dir: &Path) -> Vec<String> {
    let usage =
        write(dir, "usage.csv", &format!("{USAGE_HEADER}r1,voice,acme,bigco,2026-10-25T10:00:00Z,+442071234567,60\n"));
    let rates = write(
        dir,
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
         acme,voice,44,0.012,USD,60,60/60,2026-01-01T00:00:00Z\n",
    );
    let prices = write(
        dir,
        "prices.csv",
        "customer,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
         *,voice,44,0.03,EUR,60,60/60,2026-01-01T00:00:00Z\n",
    );
    let fx = write(dir, "fx.csv", "date,currency,per_eur\n2026-04-30,USD,1.25\n");
    ["--usage", &usage, "--rates", &rates, "--prices", &prices, "--fx", &fx].map(str::to_owned).to_vec()
}

fn rated_row(arguments: &[String], out: &Path, extra: &[&str]) -> (String, String) {
    let mut all: Vec<&str> = vec!["rate"];
    all.extend(arguments.iter().map(String::as_str));
    all.extend(extra);
    let out_text = out.display().to_string();
    all.extend(["--out", &out_text]);
    let output = reckon(&all);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(out);
    let column = |name: &str| rows[0].iter().position(|column| column == name).unwrap();
    (rows[1][column("margin")].clone(), rows[1][column("leakage")].clone())
}

/// Issue 13, item 1: `rate` and `margin` converted a cost at a USD rate six months old (margin
/// 0.0204, no leakage); the staleness limit of reconcile (7 days) now applies: unconvertible.
#[test]
fn issue13_rate_and_margin_refuse_a_stale_fx_rate() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = stale_fx_inputs(dir.path());
    let out = dir.path().join("rated.csv");
    assert_eq!(rated_row(&inputs, &out, &[]), (String::new(), "unconvertible".to_owned()));
    // With a year's staleness allowed: 0.012 / 1.25 = 0.0096 EUR; 0.03 - 0.0096 = 0.0204.
    assert_eq!(rated_row(&inputs, &out, &["--fx-staleness-days", "365"]), ("0.0204".to_owned(), String::new()));

    let margin = |extra: &[&str]| {
        let mut all: Vec<&str> = vec!["margin"];
        all.extend(inputs.iter().map(String::as_str));
        all.extend(extra);
        let out_dir = dir.path().join("margin").display().to_string();
        all.extend(["--out", &out_dir]);
        let output = reckon(&all);
        assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
        text(&output.stdout)
    };
    let stale = margin(&[]);
    assert!(stale.contains("0 without a carrier rate, 1 unconvertible"), "{stale}");
    let fresh = margin(&["--fx-staleness-days", "365"]);
    assert!(fresh.contains("0 without a carrier rate, 0 unconvertible"), "{fresh}");
    assert!(fresh.contains("0.0204"), "{fresh}");
    // --ecb reads the ECB's history as reconcile does: a rate of 2026-10-23 (two days before).
    let ecb = write(dir.path(), "ecb.csv", "Date,USD,\n2026-10-23,1.25,\n");
    let mut with_ecb: Vec<String> = inputs.iter().take(6).cloned().collect();
    with_ecb.extend(["--ecb".to_owned(), ecb]);
    assert_eq!(rated_row(&with_ecb, &out, &[]), ("0.0204".to_owned(), String::new()));
}

/// Issue 13, item 1, for the service: accruals apply the staleness limit of `--fx-staleness-days`.
#[test]
fn issue13_serve_accruals_refuse_a_stale_fx_rate() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = stale_fx_inputs(dir.path());
    let (rates, prices, fx) = (&inputs[3], &inputs[5], &inputs[7]);
    let (_, url) = ledger_urls(dir.path()).remove(0);
    run_ok(&["import", "rates", rates, "--database-url", &url]);
    run_ok(&["import", "prices", prices, "--database-url", &url]);
    let token = run_ok(&["apikey", "create", "--scope", "ingest,read", "--database-url", &url]).trim().to_owned();
    let event = r#"{"record_id":"r1","service":"voice","carrier":"acme","customer":"bigco","started_at":"2026-10-25T10:00:00Z","destination":"+442071234567","quantity":"60"}"#;
    let accruals = "/v1/accruals?carrier=acme&from=2026-10-01T00:00:00Z&to=2026-11-01T00:00:00Z&group_by=service";
    for (staleness, margin, unconvertible) in [("7", "0", 1), ("365", "0.0204", 0)] {
        let (mut server, address) = start_server_with(&url, &["--fx", fx, "--fx-staleness-days", staleness]);
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), event);
        assert_eq!(status, 200, "{body}");
        let (status, body) = http(&address, "GET", accruals, Some(&token), "");
        assert_eq!(status, 200, "{body}");
        let group = &json(&body)["groups"][0];
        assert_eq!(
            (group["cost"].as_str(), group["revenue"].as_str(), group["margin"].as_str()),
            (Some("0.012"), Some("0.03"), Some(margin)),
            "staleness {staleness}: {body}"
        );
        assert_eq!(group["unconvertible_records"], unconvertible, "staleness {staleness}: {body}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success());
    }
}

/// Issue 13, item 5: two banded rows of one prefix and start whose bands overlap: the last in
/// the file won (0.07 or 0.05 by order). Now an input error naming both lines, in either order.
#[test]
fn issue13_overlapping_bands_are_an_error_naming_both_rows() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(
        dir.path(),
        "usage.csv",
        &format!("{USAGE_HEADER}r1,voice,acme,,2026-03-02T17:30:00Z,+442071234567,60\n"),
    );
    let header = "carrier,service,prefix,rate,currency,rate_unit,effective_from,time_zone,days,time_from,time_to\n";
    let peak = "acme,voice,44,0.07,USD,60,2026-01-01T00:00:00Z,Europe/London,mon-fri,08:00,18:00\n";
    let evening = "acme,voice,44,0.05,USD,60,2026-01-01T00:00:00Z,Europe/London,mon,17:00,20:00\n";
    for (first, second) in [(peak, evening), (evening, peak)] {
        let rates = write(dir.path(), "rates.csv", &format!("{header}{first}{second}"));
        let out = dir.path().join("rated.csv").display().to_string();
        let output = reckon(&["rate", "--usage", &usage, "--rates", &rates, "--out", &out]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("rates.csv:3: the time band of this row overlaps the band of line 2 of ")
                && stderr.contains("(same carrier, service, prefix, origin and effective_from)"),
            "{stderr}"
        );
        assert!(!stderr.contains("not valid CSV"), "{stderr}");
    }
}

/// Issue 13, item 7: the margin report's totals add up. acme's USD customer bigco: r1 priced
/// 0.05 at cost 0.03 (60 s at 0.03/0.05 a minute), r2 to 33 with no price at cost 0.04.
/// Revenue 0.05, cost 0.07, unpriced cost 0.04, margin 0.05 - 0.07 = -0.02 (the old report:
/// 0.02), margin % -40.0.
#[test]
fn issue13_margin_totals_add_up() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(
        dir.path(),
        "usage.csv",
        &format!(
            "{USAGE_HEADER}r1,voice,acme,bigco,2026-03-02T10:00:00Z,+442071234567,60\n\
             r2,voice,acme,bigco,2026-03-02T11:00:00Z,+33123456789,60\n"
        ),
    );
    let rates = write(
        dir.path(),
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
         acme,voice,44,0.03,USD,60,60/60,2026-01-01T00:00:00Z\n\
         acme,voice,33,0.04,USD,60,60/60,2026-01-01T00:00:00Z\n",
    );
    let prices = write(
        dir.path(),
        "prices.csv",
        "customer,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
         *,voice,44,0.05,USD,60,60/60,2026-01-01T00:00:00Z\n",
    );
    let out = dir.path().join("out").display().to_string();
    let output = reckon(&[
        "margin",
        "--usage",
        &usage,
        "--rates",
        &rates,
        "--prices",
        &prices,
        "--report-currency",
        "USD",
        "--out",
        &out,
    ]);
    let stdout = text(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let header = stdout.lines().next().unwrap();
    assert!(header.contains("unpriced cost"), "{stdout}");
    let bigco: Vec<&str> = stdout.lines().find(|line| line.starts_with("bigco")).unwrap().split_whitespace().collect();
    // customer, cur, records, revenue, cost, unpriced cost, margin, margin %
    assert_eq!(bigco[..8], ["bigco", "USD", "2", "0.05", "0.07", "0.04", "-0.02", "-40"], "{stdout}");
    // Leakage (below cost, no price, no rate), then the report currency (USD here), which
    // adds up the same way.
    assert_eq!(bigco[8..], ["0", "1", "0", "0.05", "USD", "0.07", "USD", "-0.02", "USD"], "{stdout}");
}

/// Issue 13, rate structures through the binary: first interval, cap, the carrier's rounding
/// (from the row and from the contract), a blocked prefix and a holiday.
#[test]
fn issue13_rate_structures_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(
        dir.path(),
        "usage.csv",
        &format!(
            "{USAGE_HEADER}\
             f1,voice,acme,,2026-03-03T12:00:00Z,+442071234567,95\n\
             f2,voice,acme,,2026-03-03T12:00:00Z,+442071234567,3600\n\
             b1,voice,acme,,2026-03-03T12:00:00Z,+447012345678,95\n\
             h1,voice,globex,,2026-12-25T10:00:00Z,+33123456789,60\n\
             h2,voice,globex,,2026-12-24T10:00:00Z,+33123456789,60\n\
             c1,voice,initech,,2026-03-03T12:00:00Z,+4912345678,61\n"
        ),
    );
    let rates = write(
        dir.path(),
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,effective_from,first_rate,max_cost,blocked,days,time_from,time_to,rounding_decimals,rounding_mode\n\
         acme,voice,44,0.012,USD,60,60/1,0.01,2026-01-01T00:00:00Z,0.05,0.5,,,,,,\n\
         acme,voice,4470,0,USD,60,60/1,,2026-01-01T00:00:00Z,,,true,,,,,\n\
         globex,voice,33,0.02,EUR,60,60/60,,2026-01-01T00:00:00Z,,,,,,,,\n\
         globex,voice,33,0.006,EUR,60,60/60,,2026-01-01T00:00:00Z,,,,sat-sun,00:00,24:00,,\n\
         initech,voice,49,0.0070,EUR,60,1/1,,2026-01-01T00:00:00Z,,,,,,,,\n",
    );
    let holidays = write(dir.path(), "holidays.csv", "carrier,date,rated_as\nglobex,2026-12-25,sun\n");
    let contracts = write(dir.path(), "contracts.csv", "carrier,rounding_decimals,rounding_mode\ninitech,4,up\n");
    let out = dir.path().join("rated.csv");
    let out_text = out.display().to_string();
    let output = reckon(&[
        "rate",
        "--usage",
        &usage,
        "--rates",
        &rates,
        "--holidays",
        &holidays,
        "--contracts",
        &contracts,
        "--out",
        &out_text,
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rows = read_csv(&out);
    let column = |name: &str| rows[0].iter().position(|column| column == name).unwrap();
    let found: Vec<(&str, &str, &str)> = rows[1..]
        .iter()
        .map(|row| (row[0].as_str(), row[column("billed_quantity")].as_str(), row[column("cost")].as_str()))
        .collect();
    assert_eq!(
        found,
        [
            // 0.01 + (0.05 * 60 + 0.012 * 35) / 60 = 0.067
            ("f1", "95", "0.067"),
            // 0.01 + (3 + 0.012 * 3540) / 60 = 0.768, capped at 0.5
            ("f2", "3600", "0.5"),
            // blocked: nothing billed
            ("b1", "0", "0"),
            // Christmas (a Friday) rated as a Sunday: the weekend rate
            ("h1", "60", "0.006"),
            // Christmas Eve, a Thursday: the weekday rate
            ("h2", "60", "0.02"),
            // 0.0070 * 61 / 60 = 0.0071166..., the contract's 4 places up: 0.0072
            ("c1", "61", "0.0072"),
        ]
    );
}

/// Issue 13, item 8: a bad `time_to` named `time_from`; rule errors were "not valid CSV".
#[test]
fn issue13_messages_name_the_right_column_and_fault() {
    let dir = tempfile::tempdir().unwrap();
    let usage = write(dir.path(), "usage.csv", USAGE_HEADER);
    let out = dir.path().join("rated.csv").display().to_string();
    let rate_with = |rates: &str| {
        let rates = write(dir.path(), "rates.csv", rates);
        let output = reckon(&["rate", "--usage", &usage, "--rates", &rates, "--out", &out]);
        assert_eq!(output.status.code(), Some(2));
        text(&output.stderr)
    };
    let stderr = rate_with(
        "carrier,service,prefix,rate,currency,effective_from,time_from,time_to\n\
         acme,voice,44,0.01,USD,2026-01-01T00:00:00Z,08:00,25:00\n",
    );
    assert!(stderr.contains("rates.csv:2:8: column \"time_to\": expected a local time like 18:00"), "{stderr}");
    let stderr = rate_with(
        "carrier,service,prefix,rate,currency,effective_from,min_charge,max_cost\n\
         acme,voice,44,0.01,USD,2026-01-01T00:00:00Z,0.1,0.05\n",
    );
    assert!(stderr.contains("rates.csv:2:8: column \"max_cost\": max_cost must be at least min_charge"), "{stderr}");
    assert!(!stderr.contains("not valid CSV"), "{stderr}");
    let stderr = rate_with(
        "carrier,service,prefix,rate,currency,effective_from,rounding_mode\n\
         acme,voice,44,0.01,USD,2026-01-01T00:00:00Z,up\n",
    );
    assert!(
        stderr.contains("rates.csv:2:7: column \"rounding_mode\": a rounding mode needs rounding_decimals"),
        "{stderr}"
    );

    // A contract listing a carrier twice is valid CSV breaking a rule.
    let contracts = write(dir.path(), "contracts.csv", "carrier,notice_days\nacme,7\nacme,14\n");
    let rates = write(
        dir.path(),
        "rates.csv",
        "carrier,service,prefix,rate,currency,effective_from\nacme,voice,44,0.01,USD,2026-01-01T00:00:00Z\n",
    );
    let output = reckon(&["rate", "--usage", &usage, "--rates", &rates, "--contracts", &contracts, "--out", &out]);
    let stderr = text(&output.stderr);
    assert!(stderr.contains("contracts.csv:3:1: column \"carrier\": carrier \"acme\" is listed twice"), "{stderr}");
    assert!(!stderr.contains("not valid CSV"), "{stderr}");
    // A file that cannot be read says why once.
    let missing = dir.path().join("missing.csv").display().to_string();
    for flag in ["--holidays", "--fx", "--ecb", "--contracts", "--networks"] {
        let output = reckon(&["rate", "--usage", &usage, "--rates", &rates, flag, &missing, "--out", &out]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flag}: {stderr}");
        assert_eq!(stderr.matches("No such file or directory").count(), 1, "{flag}: {stderr}");
        assert_eq!(stderr.matches("missing.csv").count(), 1, "{flag}: {stderr}");
    }
}
