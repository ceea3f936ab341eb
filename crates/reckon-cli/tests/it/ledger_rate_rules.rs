//! Issue 13 through the binary, for the ledger and the service: a deck with every pricing rule
//! (first_rate, max_cost, rounding, blocked) is stored by `reckon import rates` (it was refused:
//! no database column), and `reckon reconcile --carrier --period` and `reckon serve` apply the
//! contract's rounding (`--contracts`) and the holiday calendar (`--holidays`) as the file
//! commands do; on SQLite and PostgreSQL.
//!
//! Method: acme's deck, contract (3 places up) and calendar (Friday 2026-03-06 rated as a
//! Sunday) are written to a temporary folder; six calls are stored and billed, or sent to the
//! service as events. Each cost is computed by hand in `COSTS`.

use crate::ledger::{ledger_urls, run_ok};
use crate::serve::{http, json, start_server_with};
use std::path::Path;
use std::process::Command;

const DECK: &str = "\
carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,time_zone,days,time_from,time_to,effective_from,first_rate,max_cost,rounding_decimals,rounding_mode,blocked
acme,voice,44,0.012,USD,60,60/1,0.01,,,,,2026-01-01T00:00:00Z,0.05,0.5,,,
acme,voice,4470,0,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,,,true
acme,voice,33,0.0070,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,4,up,
acme,voice,49,0.01,USD,60,1/1,0,,,,,2026-01-01T00:00:00Z,,,,,
acme,voice,49,0.02,USD,60,1/1,0,Europe/Berlin,mon-fri,08:00,18:00,2026-01-01T00:00:00Z,,,,,
";

/// `(record, destination, start, seconds)` of the six calls.
const CALLS: [(&str, &str, &str, &str); 6] = [
    ("r1", "+442071234567", "2026-03-02T10:00:00Z", "95"),
    ("r2", "+442071234568", "2026-03-02T11:00:00Z", "3600"),
    ("r3", "+447012345678", "2026-03-02T12:00:00Z", "120"),
    ("r4", "+33123456789", "2026-03-02T13:00:00Z", "61"),
    ("r5", "+4930123456", "2026-03-06T09:00:00Z", "61"),
    ("r6", "+4930123457", "2026-03-05T09:00:00Z", "61"),
];

/// The cost of each call, in USD, with the contract and the calendar:
/// - r1, 95 s to 44: 0.01 + (0.05 × 60 + 0.012 × 35) / 60 = 0.067;
/// - r2, 3,600 s to 44: 0.01 + (3 + 0.012 × 3,540) / 60 = 0.768, capped at 0.5;
/// - r3, to 4470: blocked, 0;
/// - r4, 61 s to 33: 0.0070 × 61 / 60 = 0.00711666..., the row's 4 places up: 0.0072;
/// - r5, 61 s to 49 at 10:00 Berlin on the holiday (a Sunday): off-peak 0.01 × 61 / 60 =
///   0.0101666..., the contract's 3 places up: 0.011;
/// - r6, the same on Thursday: peak 0.02 × 61 / 60 = 0.020333..., 3 places up: 0.021.
const COSTS: [&str; 6] = ["0.067", "0.5", "0", "0.0072", "0.011", "0.021"];

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

/// `--contracts` and `--holidays` with acme's files.
fn reference(dir: &Path) -> [String; 4] {
    let contracts = write(dir, "contracts.csv", "carrier,rounding_decimals,rounding_mode\nacme,3,up\n");
    let holidays = write(dir, "holidays.csv", "carrier,date,rated_as\nacme,2026-03-06,sun\n");
    ["--contracts".to_owned(), contracts, "--holidays".to_owned(), holidays]
}

#[test]
fn issue13_a_ledger_run_applies_every_rule_the_contract_rounding_and_the_holidays() {
    let dir = tempfile::tempdir().unwrap();
    let rates = write(dir.path(), "rates.csv", DECK);
    let mut usage = "record_id,service,carrier,carrier_ref,started_at,destination,quantity\n".to_owned();
    let mut invoice =
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,amount,currency\n".to_owned();
    for (index, (record, destination, at, seconds)) in CALLS.iter().enumerate() {
        usage.push_str(&format!("{record},voice,acme,{record},{at},{destination},{seconds}\n"));
        // The carrier bills every call but the blocked one, at its own figures.
        if *record != "r3" {
            invoice.push_str(&format!(
                "acme,ACME-2603,{record},{record},voice,{at},{destination},{seconds},{},USD\n",
                COSTS[index]
            ));
        }
    }
    let usage = write(dir.path(), "usage.csv", &usage);
    let invoice = write(dir.path(), "invoice.csv", &invoice);
    let reference = reference(dir.path());
    for (backend, url) in ledger_urls(dir.path()) {
        let stored = run_ok(&["import", "rates", &rates, "--database-url", &url]);
        assert!(stored.contains("5 rows stored"), "{backend}: {stored}");
        run_ok(&["import", "usage", &usage, "--database-url", &url]);
        run_ok(&["import", "invoice", &invoice, "--database-url", &url]);
        let run = |extra: &[String]| {
            let mut arguments = vec!["reconcile", "--carrier", "acme", "--period", "2026-03", "--database-url", &url];
            arguments.extend(extra.iter().map(String::as_str));
            run_ok(&arguments)
        };
        // Without them, r5 (the holiday, rated at Friday's peak) and r6 (to 6 places: 0.020333)
        // disagree with the carrier's figures.
        let bare = run(&[]);
        assert!(bare.contains("2 discrepancies"), "{backend}: {bare}");
        let with_reference = run(&reference);
        assert!(with_reference.contains(": 0 discrepancies"), "{backend}: {with_reference}");
    }
}

#[test]
fn issue13_serve_rates_events_with_the_contract_rounding_and_the_holidays() {
    let dir = tempfile::tempdir().unwrap();
    let rates = write(dir.path(), "rates.csv", DECK);
    let reference = reference(dir.path());
    let events: Vec<String> = CALLS
        .iter()
        .map(|(record, destination, at, seconds)| {
            format!(
                r#"{{"record_id":"{record}","service":"voice","carrier":"acme","started_at":"{at}","destination":"{destination}","quantity":"{seconds}"}}"#
            )
        })
        .collect();
    let batch = format!("[{}]", events.join(","));
    let accruals = "/v1/accruals?carrier=acme&from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&group_by=service";
    for (backend, url) in ledger_urls(dir.path()) {
        run_ok(&["import", "rates", &rates, "--database-url", &url]);
        let token = run_ok(&["apikey", "create", "--scope", "ingest,read", "--database-url", &url]).trim().to_owned();
        let arguments: Vec<&str> = reference.iter().map(String::as_str).collect();
        let (mut server, address) = start_server_with(&url, &arguments);
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &batch);
        assert_eq!(status, 200, "{backend}: {body}");
        let response = json(&body);
        let costs: Vec<&str> = (0..6).map(|index| response["results"][index]["cost"].as_str().unwrap_or("")).collect();
        assert_eq!(costs, COSTS, "{backend}: {body}");
        // The month's accrued cost: 0.067 + 0.5 + 0 + 0.0072 + 0.011 + 0.021 = 0.6062.
        let (status, body) = http(&address, "GET", accruals, Some(&token), "");
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(json(&body)["groups"][0]["cost"], "0.6062", "{backend}: {body}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
        // Without the contract and the calendar, the same stored events accrue r5 at Friday's
        // peak and r5, r6 to 6 places: 0.067 + 0.5 + 0 + 0.0072 + 0.020333 + 0.020333 = 0.614866.
        let (mut server, address) = start_server_with(&url, &[]);
        let (status, body) = http(&address, "GET", accruals, Some(&token), "");
        assert_eq!(status, 200, "{backend}: {body}");
        assert_eq!(json(&body)["groups"][0]["cost"], "0.614866", "{backend}: {body}");
        let _ = Command::new("kill").args(["-TERM", &server.id().to_string()]).status();
        assert!(server.wait().unwrap().success(), "{backend}");
    }
}
