//! Issue 14, import profiles through the binary: a month of traffic written in a source format
//! (Asterisk Master.csv; a Kannel access log with delivery receipts) and reconciled through its
//! profile gives the same discrepancies.csv as the same month written as canonical usage.csv;
//! a bad source row is an error naming the source file, line, column and the profile's field
//! (and under --skip-bad-rows a rejected row naming them); local times across the autumn change.
//!
//! Method: each month is generated in the test from one list of records and written twice, as
//! the source format and as canonical usage; the invoice plants known discrepancies, so the
//! expected kinds are counted by construction and both runs must find exactly them.

use crate::{read_csv, reckon, text};
use jiff::{SignedDuration, Timestamp};
use std::fmt::Write as _;
use std::path::Path;

fn write(dir: &Path, name: &str, content: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    path.display().to_string()
}

fn asterisk_time(instant: Timestamp) -> String {
    instant.strftime("%Y-%m-%d %H:%M:%S").to_string()
}

/// One voice call of the month.
struct Call {
    uniqueid: String,
    start: Timestamp,
    /// Seconds of ringing before the answer; `None`: unanswered.
    ring_s: Option<i64>,
    billsec: i64,
    destination: String,
}

impl Call {
    /// When the carrier times it from: the answer, else the start.
    fn started_at(&self) -> Timestamp {
        self.start + SignedDuration::from_secs(self.ring_s.unwrap_or(0))
    }
}

/// 120 calls over March 2026, one every 6 hours: every tenth unanswered, the others answered
/// after 0 to 6 s of ringing for (37 × i) mod 600 s, to UK mobiles (even i) and French mobiles
/// (odd i).
fn month_of_calls() -> Vec<Call> {
    let first = "2026-03-01T00:00:17Z".parse::<Timestamp>().unwrap();
    (0..120_i64)
        .map(|i| {
            let answered = i % 10 != 0;
            Call {
                uniqueid: format!("{}.{i}", 1_772_323_200 + i * 21_600),
                start: first + SignedDuration::from_hours(6 * i),
                ring_s: answered.then_some(i % 7),
                billsec: if answered { (37 * i) % 600 + 1 } else { 0 },
                destination: if i % 2 == 0 { format!("447700900{i:03}") } else { format!("33612345{i:03}") },
            }
        })
        .collect()
}

/// The month as canonical usage.csv.
fn calls_as_usage(calls: &[Call]) -> String {
    let mut text = "record_id,service,carrier,customer,started_at,destination,quantity\n".to_owned();
    for call in calls {
        let _ = writeln!(
            text,
            "{},voice,acme,shop,{},{},{}",
            call.uniqueid,
            call.started_at(),
            call.destination,
            call.billsec
        );
    }
    text
}

/// The month as Asterisk writes it (18 columns, UTC), with a voicemail CDR between the calls,
/// which carried no carrier traffic and is left out by the profile.
fn calls_as_master_csv(calls: &[Call]) -> String {
    let mut text = String::new();
    for (index, call) in calls.iter().enumerate() {
        let end = call.started_at() + SignedDuration::from_secs(call.billsec);
        let answer = call.ring_s.map(|_| format!("\"{}\"", asterisk_time(call.started_at()))).unwrap_or_default();
        let disposition = if call.ring_s.is_some() { "ANSWERED" } else { "NO ANSWER" };
        let duration = end.duration_since(call.start).as_secs();
        let _ = writeln!(
            text,
            "\"shop\",\"15551230000\",\"{dst}\",\"from-internal\",\"\"\"Shop\"\" <15551230000>\",\"PJSIP/pbx-{index:08x}\",\
             \"PJSIP/acme-{index:08x}\",\"Dial\",\"PJSIP/{dst}@acme,60,T\",\"{start}\",{answer},\"{end}\",{duration},{billsec},\
             \"{disposition}\",\"DOCUMENTATION\",\"{id}\",\"\"",
            dst = call.destination,
            start = asterisk_time(call.start),
            end = asterisk_time(end),
            billsec = call.billsec,
            id = call.uniqueid,
        );
        if index % 40 == 5 {
            let _ = writeln!(
                text,
                "\"shop\",\"1001\",\"*97\",\"from-internal\",\"\"\"Desk\"\" <1001>\",\"PJSIP/1001-{index:08x}\",\"\",\
                 \"VoiceMailMain\",\"\",\"{start}\",\"{start}\",\"{start}\",0,0,\"ANSWERED\",\"DOCUMENTATION\",\"vm.{index}\",\"\"",
                start = asterisk_time(call.start),
            );
        }
    }
    text
}

/// Billed seconds under `A/B` increments (FORMATS.md step 3).
fn billed(quantity: i64, first: i64, next: i64) -> i64 {
    if quantity <= first {
        first
    } else {
        first + (quantity - first + next - 1) / next * next
    }
}

/// acme's deck: UK mobiles 0.0120 per minute in 60/6, French mobiles 0.0350 in 60/60.
const VOICE_RATES: &str = "carrier,service,prefix,rate,currency,rate_unit,increments,effective_from\n\
                           acme,voice,447,0.0120,USD,60,60/6,2026-01-01T00:00:00Z\n\
                           acme,voice,336,0.0350,USD,60,60/60,2026-01-01T00:00:00Z\n";

/// The invoice of the month, timed from the answer as carriers do. Each answered call is billed
/// at its contracted cost (UK: 0.0120 × b / 60 = 0.0002 × b; France: 0.0350 × b / 60 with b a
/// multiple of 60), except: i ≡ 3 (mod 19) not billed (unbilled_usage), i ≡ 1 (mod 13) billed
/// 0.01 more (amount_mismatch), i ≡ 2 (mod 17) billed 6 s more at that cost (quantity_mismatch);
/// and one line for a call we never made (unmatched_charge).
fn voice_invoice(calls: &[Call]) -> (String, [usize; 4]) {
    let mut text = "carrier,invoice_id,line_id,service,started_at,destination,quantity,amount,currency\n".to_owned();
    let mut planted = [0; 4];
    let mut line = 0;
    for (i, call) in calls.iter().enumerate() {
        if call.ring_s.is_none() {
            continue;
        }
        if i % 19 == 3 {
            planted[0] += 1;
            continue;
        }
        let uk = call.destination.starts_with("44");
        let mut quantity = if uk { billed(call.billsec, 60, 6) } else { billed(call.billsec, 60, 60) };
        let mut amount = if uk {
            rust_decimal::Decimal::new(2, 4) * rust_decimal::Decimal::from(quantity)
        } else {
            rust_decimal::Decimal::new(350, 4) * rust_decimal::Decimal::from(quantity) / rust_decimal::Decimal::from(60)
        };
        if i % 13 == 1 {
            amount += rust_decimal::Decimal::new(1, 2);
            planted[1] += 1;
        } else if i % 17 == 2 {
            quantity += 6;
            planted[2] += 1;
        }
        line += 1;
        let _ = writeln!(
            text,
            "acme,AC-2026-03,{line},voice,{},{},{quantity},{amount},USD",
            call.started_at(),
            call.destination
        );
    }
    let _ = writeln!(text, "acme,AC-2026-03,{},voice,2026-03-15T10:00:00Z,447700999999,60,0.012,USD", line + 1);
    planted[3] += 1;
    (text, planted)
}

fn reconcile(arguments: &[&str], out: &Path) -> std::process::Output {
    let out_text = out.display().to_string();
    let mut all = vec!["reconcile"];
    all.extend(arguments);
    all.extend(["--out", &out_text, "--quiet"]);
    let output = reckon(&all);
    assert!(output.status.success(), "{}", text(&output.stderr));
    output
}

/// The kinds of a discrepancies.csv, counted.
fn kind_counts(rows: &[Vec<String>]) -> std::collections::BTreeMap<String, usize> {
    let mut counts = std::collections::BTreeMap::new();
    for row in &rows[1..] {
        *counts.entry(row[4].clone()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn issue14_a_month_of_asterisk_cdrs_reconciles_as_the_same_month_in_canonical_usage() {
    let dir = tempfile::tempdir().unwrap();
    let calls = month_of_calls();
    let usage = write(dir.path(), "usage.csv", &calls_as_usage(&calls));
    let master = write(dir.path(), "Master.csv", &calls_as_master_csv(&calls));
    let rates = write(dir.path(), "rates.csv", VOICE_RATES);
    let (invoice_text, planted) = voice_invoice(&calls);
    let invoice = write(dir.path(), "invoice.csv", &invoice_text);

    let canonical_out = dir.path().join("canonical");
    reconcile(&["--usage", &usage, "--rates", &rates, "--invoice", &invoice], &canonical_out);
    let profiled_out = dir.path().join("asterisk");
    reconcile(
        &["--usage", &master, "--usage-profile", "asterisk", "--rates", &rates, "--invoice", &invoice],
        &profiled_out,
    );

    let canonical = read_csv(&canonical_out.join("discrepancies.csv"));
    let profiled = read_csv(&profiled_out.join("discrepancies.csv"));
    assert_eq!(profiled, canonical);
    let counts = kind_counts(&canonical);
    let expected: std::collections::BTreeMap<String, usize> = [
        ("unbilled_usage", planted[0]),
        ("amount_mismatch", planted[1]),
        ("quantity_mismatch", planted[2]),
        ("unmatched_charge", planted[3]),
    ]
    .into_iter()
    .map(|(kind, count)| (kind.to_owned(), count))
    .collect();
    assert_eq!(counts, expected);
    assert!(planted.iter().all(|count| *count > 0), "{planted:?}");
    // The converted file lives only for the run: the output folder holds the reports alone.
    let mut names: Vec<String> = std::fs::read_dir(&profiled_out)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["discrepancies.csv", "summary.json"]);
}

/// One text message of the month: its SMSC id, when it was sent, and its last receipt.
struct Message {
    fid: String,
    sent: Timestamp,
    destination: String,
    /// The receipt's stat (`None`: no receipt) and the canonical status it means.
    receipt: Option<(&'static str, &'static str)>,
}

/// 60 messages over March 2026, one every 12 hours: i ≡ 0 (mod 5) UNDELIV (failed), else
/// i ≡ 0 (mod 7) EXPIRED, else i ≡ 0 (mod 11) without a receipt, else DELIVRD.
fn month_of_messages() -> Vec<Message> {
    let first = "2026-03-01T08:00:05Z".parse::<Timestamp>().unwrap();
    (0..60_i64)
        .map(|i| Message {
            fid: format!("{:08X}", 0x0A00_0000 + i),
            sent: first + SignedDuration::from_hours(12 * i),
            destination: format!("4479111{i:05}"),
            receipt: if i % 5 == 0 {
                Some(("UNDELIV", "failed"))
            } else if i % 7 == 0 {
                Some(("EXPIRED", "expired"))
            } else if i % 11 == 0 {
                None
            } else {
                Some(("DELIVRD", "delivered"))
            },
        })
        .collect()
}

/// The messages as a Kannel access log in London local time (GMT, then BST from 29 March 01:00
/// UTC): each `Sent SMS` line, and a minute later its receipt (an ENROUTE receipt first for every
/// third message); a `Log begins` line first.
fn messages_as_kannel_log(messages: &[Message]) -> String {
    let london = jiff::tz::TimeZone::get("Europe/London").unwrap();
    let local = |instant: Timestamp| instant.to_zoned(london.clone()).strftime("%Y-%m-%d %H:%M:%S").to_string();
    let mut text = format!("{} Log begins\n", local(messages[0].sent));
    for (index, message) in messages.iter().enumerate() {
        let fid = &message.fid;
        let to = &message.destination;
        let _ = writeln!(
            text,
            "{} Sent SMS [SMSC:smsA] [SVC:shop] [ACT:] [BINF:] [FID:{fid}] [META:] [from:Shop] [to:{to}] \
             [flags:-1:0:-1:0:31] [msg:9:Your code] [udh:0:]",
            local(message.sent)
        );
        let receipt_at = local(message.sent + SignedDuration::from_secs(60));
        if index % 3 == 0 {
            let _ = writeln!(
                text,
                "{receipt_at} Receive DLR [SMSC:smsA] [SVC:shop] [ACT:] [BINF:] [FID:{fid}] [META:] [from:Shop] \
                 [to:{to}] [flags:-1:-1:-1:-1:4] [msg:80:id:{fid} sub:001 dlvrd:000 submit date:2603010800 done \
                 date:2603010800 stat:ENROUTE err:000 text:Your code] [udh:0:]"
            );
        }
        if let Some((stat, _)) = message.receipt {
            let _ = writeln!(
                text,
                "{receipt_at} Receive DLR [SMSC:smsA] [SVC:shop] [ACT:] [BINF:] [FID:{fid}] [META:] [from:Shop] \
                 [to:{to}] [flags:-1:-1:-1:-1:1] [msg:80:id:{fid} sub:001 dlvrd:001 submit date:2603010800 done \
                 date:2603010801 stat:{stat} err:000 text:Your code] [udh:0:]"
            );
        }
    }
    text
}

fn messages_as_usage(messages: &[Message]) -> String {
    let mut text = "record_id,service,carrier,carrier_ref,customer,started_at,destination,quantity,status\n".to_owned();
    for message in messages {
        let status = message.receipt.map_or("", |(_, status)| status);
        let _ = writeln!(
            text,
            "smsA:{fid},sms,smsA,{fid},shop,{},{},1,{status}",
            message.sent,
            message.destination,
            fid = message.fid
        );
    }
    text
}

#[test]
fn issue14_a_month_of_kannel_messages_billed_on_delivery_reconciles_as_canonical_usage() {
    let dir = tempfile::tempdir().unwrap();
    let messages = month_of_messages();
    let usage = write(dir.path(), "usage.csv", &messages_as_usage(&messages));
    let log = write(dir.path(), "access.log", &messages_as_kannel_log(&messages));
    let rates = write(
        dir.path(),
        "rates.csv",
        "carrier,service,prefix,rate,currency,rate_unit,effective_from,billed_on\n\
         smsA,sms,447,0.031,USD,1,2026-01-01T00:00:00Z,delivered\n",
    );
    // Every message billed 0.031 by its reference; the failed and expired ones are
    // undelivered_charge; message 1 billed 0.05 (amount_mismatch).
    let mut invoice =
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,amount,currency\n".to_owned();
    let mut undelivered = 0;
    for (index, message) in messages.iter().enumerate() {
        let amount = if index == 1 { "0.05" } else { "0.031" };
        if matches!(message.receipt, Some((_, "failed" | "expired"))) {
            undelivered += 1;
        }
        let _ = writeln!(
            invoice,
            "smsA,S-03,{},{},sms,{},{},1,{amount},USD",
            index + 1,
            message.fid,
            message.sent,
            message.destination
        );
    }
    let invoice = write(dir.path(), "invoice.csv", &invoice);

    let canonical_out = dir.path().join("canonical");
    reconcile(&["--usage", &usage, "--rates", &rates, "--invoice", &invoice], &canonical_out);
    let profiled_out = dir.path().join("kannel");
    reconcile(
        &[
            "--usage",
            &log,
            "--usage-profile",
            "kannel",
            "--time-zone",
            "Europe/London",
            "--rates",
            &rates,
            "--invoice",
            &invoice,
        ],
        &profiled_out,
    );
    let canonical = read_csv(&canonical_out.join("discrepancies.csv"));
    assert_eq!(read_csv(&profiled_out.join("discrepancies.csv")), canonical);
    let counts = kind_counts(&canonical);
    assert_eq!(counts.get("undelivered_charge"), Some(&undelivered));
    assert_eq!(counts.get("amount_mismatch"), Some(&1));
    assert_eq!(counts.len(), 2, "{counts:?}");
    // 12 failed (i ≡ 0 mod 5) and 7 expired (i ≡ 0 mod 7, not mod 5: 7, 14, 21, 28, 42, 49, 56).
    assert_eq!(undelivered, 12 + 7);
}

/// A bad source row stops the run with its source position and the profile's field; with
/// --skip-bad-rows it is set aside in rejected.csv with the same position. A repeated uniqueid
/// (found by the canonical reader after the conversion) names the source lines too.
#[test]
fn issue14_a_malformed_source_row_is_named_by_its_source_position_and_profile_field() {
    let dir = tempfile::tempdir().unwrap();
    let calls = month_of_calls();
    let good = calls_as_master_csv(&calls[..5]);
    let bad_time = good.replacen("\"2026-03-01 06:00:18\"", "\"2026-03-01 06:00:1x\"", 1);
    assert_ne!(bad_time, good);
    let master = write(dir.path(), "Master.csv", &bad_time);
    let rates = write(dir.path(), "rates.csv", VOICE_RATES);
    let invoice = write(
        dir.path(),
        "invoice.csv",
        "carrier,invoice_id,line_id,service,started_at,destination,quantity,amount,currency\n",
    );
    let out = dir.path().join("out");
    let out_text = out.display().to_string();
    let arguments =
        ["reconcile", "--usage", &master, "--usage-profile", "asterisk", "--rates", &rates, "--invoice", &invoice];
    let mut failing = arguments.to_vec();
    failing.extend(["--out", &out_text]);
    let output = reckon(&failing);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "Master.csv:2:11: column \"answer\": \"2026-03-01 06:00:1x\" is not a time written %Y-%m-%d %H:%M:%S \
             (local times in UTC) (profile asterisk, field started_at)"
        ),
        "{stderr}"
    );
    assert!(!out.join("discrepancies.csv").exists());

    let mut skipping = failing.clone();
    skipping.push("--skip-bad-rows");
    let output = reckon(&skipping);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rejected = read_csv(&out.join("rejected.csv"));
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert_eq!(rejected[1][0], master);
    assert_eq!(rejected[1][1..4], ["2", "answer", "2026-03-01 06:00:1x"]);

    let repeated = good.replacen(&calls[3].uniqueid, &calls[1].uniqueid, 1);
    let master = write(dir.path(), "Master.csv", &repeated);
    let output = reckon(&failing);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let expected = format!(
        "Master.csv:4: record_id \"{}\" repeats line 2 of {master} (in the rows profile asterisk wrote)",
        calls[1].uniqueid
    );
    assert!(stderr.contains(&expected), "{stderr}");
}

/// Local times in Paris across the end of summer time (2026-10-25, 03:00 CEST → 02:00 CET):
/// the 02:30 that occurs twice is taken at its earlier instant (CEST, 00:30Z), by `reckon
/// convert --time-zone`.
#[test]
fn issue14_local_times_across_the_autumn_change_follow_the_documented_rule() {
    let dir = tempfile::tempdir().unwrap();
    let master = write(
        dir.path(),
        "Master.csv",
        "\"acme\",\"15551230000\",\"442071234567\",\"from-internal\",\"\",\"PJSIP/pbx-1\",\"PJSIP/acme-2\",\"Dial\",\
         \"PJSIP/442071234567@acme\",\"2026-10-25 01:59:50\",\"2026-10-25 01:59:58\",\"2026-10-25 02:00:10\",20,12,\
         \"ANSWERED\",\"DOCUMENTATION\",\"u1\",\"\"\n\
         \"acme\",\"15551230000\",\"442071234567\",\"from-internal\",\"\",\"PJSIP/pbx-3\",\"PJSIP/acme-4\",\"Dial\",\
         \"PJSIP/442071234567@acme\",\"2026-10-25 02:29:50\",\"2026-10-25 02:30:00\",\"2026-10-25 02:31:00\",70,60,\
         \"ANSWERED\",\"DOCUMENTATION\",\"u2\",\"\"\n\
         \"acme\",\"15551230000\",\"442071234567\",\"from-internal\",\"\",\"PJSIP/pbx-5\",\"PJSIP/acme-6\",\"Dial\",\
         \"PJSIP/442071234567@acme\",\"2026-10-25 03:00:00\",\"2026-10-25 03:00:05\",\"2026-10-25 03:00:35\",35,30,\
         \"ANSWERED\",\"DOCUMENTATION\",\"u3\",\"\"\n",
    );
    let out = dir.path().join("usage.csv");
    let out_text = out.display().to_string();
    let output =
        reckon(&["convert", &master, "--profile", "asterisk", "--time-zone", "Europe/Paris", "--out", &out_text]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let rows = read_csv(&out);
    let started: Vec<&str> = rows[1..].iter().map(|row| row[4].as_str()).collect();
    assert_eq!(started, ["2026-10-24T23:59:58Z", "2026-10-25T00:30:00Z", "2026-10-25T02:00:05Z"]);
    assert!(text(&output.stderr).contains("3 rows written"), "{}", text(&output.stderr));
}

#[test]
fn issue14_profiles_are_listed_and_a_file_is_detected() {
    let output = reckon(&["profiles"]);
    assert!(output.status.success());
    let listing = text(&output.stdout);
    for name in ["asterisk", "freeswitch", "kannel", "jasmin"] {
        assert!(listing.lines().any(|line| line.starts_with(name)), "{listing}");
    }
    let output = reckon(&["profiles", "--show", "asterisk"]);
    assert!(text(&output.stdout).contains("name = \"asterisk\""));

    let dir = tempfile::tempdir().unwrap();
    let master = write(dir.path(), "Master.csv", &calls_as_master_csv(&month_of_calls()[..10]));
    let output = reckon(&["convert", "--detect", &master]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let detected = text(&output.stdout);
    assert!(detected.starts_with("asterisk: "), "{detected}");
    assert!(detected.contains("10 converted"), "{detected}");
    let log = write(dir.path(), "access.log", &messages_as_kannel_log(&month_of_messages()[..4]));
    let detected = text(&reckon(&["convert", "--detect", &log]).stdout);
    assert!(detected.starts_with("kannel: "), "{detected}");
}

/// The ledger reads a source file through a profile too: `import usage --profile` stores the
/// converted records (importing again changes nothing), and a bad source row is named by its
/// source position. SQLite in a temporary data directory.
#[test]
fn issue14_the_ledger_imports_usage_through_a_profile() {
    let dir = tempfile::tempdir().unwrap();
    let calls = month_of_calls();
    let master = write(dir.path(), "Master.csv", &calls_as_master_csv(&calls[..20]));
    let data_dir = dir.path().join("ledger").display().to_string();
    let import = |file: &str| reckon(&["import", "usage", file, "--profile", "asterisk", "--data-dir", &data_dir]);
    let output = import(&master);
    assert!(output.status.success(), "{}", text(&output.stderr));
    // 20 calls; the voicemail CDR after the sixth is left out by the profile.
    assert!(text(&output.stdout).contains(&format!("usage {master}: 20 stored")), "{}", text(&output.stdout));
    let output = import(&master);
    assert!(text(&output.stdout).contains("0 stored, 20 already stored unchanged"), "{}", text(&output.stdout));
    // The second call (line 2) bills 38 s: written 7x.
    let bad_text = calls_as_master_csv(&calls[..3]).replacen(",38,\"ANSWERED\"", ",7x,\"ANSWERED\"", 1);
    let bad = write(dir.path(), "Bad.csv", &bad_text);
    let output = import(&bad);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    let expected = "Bad.csv:2:14: column \"billsec\": \"7x\" is not a decimal number";
    assert!(stderr.contains(expected), "{stderr}");
    assert!(stderr.contains("(profile asterisk, field quantity)"), "{stderr}");
}
