//! Bad input: every case gives exit 2, a message naming file, line and column and what was
//! expected, no panic, and no report; `--skip-bad-rows` quarantines the bad rows instead.

use crate::{read_csv, reckon, text};
use std::path::PathBuf;

const USAGE: &str = "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity
u1,voice,acme,R1,c1,2026-03-02T10:00:00Z,,+442071234567,75.2
u2,sms,acme,R2,c1,2026-03-02T11:00:00Z,,+447700000001,1
";
const RATES: &str = "carrier,service,prefix,rate,currency,rate_unit,increments,connect_fee,effective_from
acme,voice,44,0.0120,USD,60,60/6,0.0010,2026-01-01T00:00:00Z
acme,sms,44,0.0310,USD,1,1/1,0,2026-01-01T00:00:00Z
";
const INVOICE: &str =
    "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency
acme,INV1,1,R1,voice,2026-03-02T10:00:00Z,442071234567,78,0.0120,0.0166,USD
acme,INV1,2,R2,sms,2026-03-02T11:00:00Z,447700000001,1,0.0310,0.031,USD
";

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    /// A folder with the three good files, then `file` replaced by `content`.
    fn new(file: &str, content: &[u8]) -> Case {
        let dir = tempfile::tempdir().unwrap();
        for (name, good) in [("usage.csv", USAGE), ("rates.csv", RATES), ("invoice.csv", INVOICE)] {
            std::fs::write(dir.path().join(name), good).unwrap();
        }
        std::fs::write(dir.path().join(file), content).unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn run(&self, extra: &[&str]) -> std::process::Output {
        let [usage, rates, invoice, out] =
            ["usage.csv", "rates.csv", "invoice.csv", "out"].map(|name| self.path(name).display().to_string());
        let mut arguments =
            vec!["reconcile", "--usage", &usage, "--rates", &rates, "--invoice", &invoice, "--out", &out];
        arguments.extend_from_slice(extra);
        reckon(&arguments)
    }

    /// Runs without `--skip-bad-rows` and checks the failure; returns stderr.
    fn fails(&self) -> String {
        let output = self.run(&[]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "stderr: {stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
        assert!(!self.path("out/discrepancies.csv").exists(), "a failed run wrote a report");
        assert!(!self.path("out/summary.json").exists(), "a failed run wrote a summary");
        stderr
    }
}

fn replace_line(original: &str, line_number: usize, new: &str) -> Vec<u8> {
    let mut lines: Vec<&str> = original.lines().collect();
    lines[line_number - 1] = new;
    (lines.join("\n") + "\n").into_bytes()
}

#[track_caller]
fn assert_mentions(stderr: &str, parts: &[&str]) {
    for part in parts {
        assert!(stderr.contains(part), "{part:?} missing from: {stderr}");
    }
}

#[test]
fn good_files_pass() {
    let case = Case::new("usage.csv", USAGE.as_bytes());
    let output = case.run(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(read_csv(&case.path("out/discrepancies.csv")).len(), 1, "header only");
}

#[test]
fn missing_column() {
    let usage = USAGE.replace(",quantity", ",qty");
    let stderr = Case::new("usage.csv", usage.as_bytes()).fails();
    assert_mentions(&stderr, &["usage.csv:1", "missing required column \"quantity\"", "record_id,service"]);
}

#[test]
fn non_numeric_amount() {
    let invoice = replace_line(INVOICE, 3, "acme,INV1,2,R2,sms,2026-03-02T11:00:00Z,447700000001,1,0.0310,0,031,USD");
    // That row has one field too many: malformed CSV, named by line.
    let stderr = Case::new("invoice.csv", &invoice).fails();
    assert_mentions(&stderr, &["invoice.csv:3", "fields"]);
    let invoice = replace_line(INVOICE, 3, "acme,INV1,2,R2,sms,2026-03-02T11:00:00Z,447700000001,1,0.0310,abc,USD");
    let stderr = Case::new("invoice.csv", &invoice).fails();
    assert_mentions(&stderr, &["invoice.csv:3:10: column \"amount\"", "\"abc\" is not a decimal"]);
}

#[test]
fn unknown_service() {
    let usage = replace_line(USAGE, 2, "u1,fax,acme,R1,c1,2026-03-02T10:00:00Z,,+442071234567,75.2");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:2:2: column \"service\"", "\"fax\" is not a service: one of voice"]);
}

#[test]
fn lines_are_counted_right_in_crlf_files() {
    // Windows line endings (Excel's CSV): the csv crate alone would say line 2 here
    // (rust-csv issue #395); the reader corrects it. Ragged rows too.
    let usage = replace_line(USAGE, 3, "u2,fax,acme,R2,c1,2026-03-02T11:00:00Z,,+447700000001,1");
    let usage = String::from_utf8(usage).unwrap().replace('\n', "\r\n");
    let stderr = Case::new("usage.csv", usage.as_bytes()).fails();
    assert_mentions(&stderr, &["usage.csv:3:2: column \"service\""]);
    let invoice = replace_line(INVOICE, 3, "acme,INV1,2,R2,sms,2026-03-02T11:00:00Z,447700000001,1,0.0310,0,031,USD");
    let invoice = String::from_utf8(invoice).unwrap().replace('\n', "\r\n");
    let stderr = Case::new("invoice.csv", invoice.as_bytes()).fails();
    assert_mentions(&stderr, &["invoice.csv:3", "fields"]);
}

#[test]
fn bad_timestamp() {
    let usage = replace_line(USAGE, 3, "u2,sms,acme,R2,c1,2026-03-02 11:00:00,,+447700000001,1");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:3:6: column \"started_at\"", "RFC 3339", "with an offset"]);
    // A mistyped year: out of any plausible range (and of the ledger's 64-bit nanoseconds).
    let usage = replace_line(USAGE, 3, "u2,sms,acme,R2,c1,2263-03-02T11:00:00Z,,+447700000001,1");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:3:6: column \"started_at\"", "a time between 1970 and 2200"]);
}

#[test]
fn negative_quantity_and_letters_in_a_number() {
    let usage = replace_line(USAGE, 3, "u2,sms,acme,R2,c1,2026-03-02T11:00:00Z,,+447700000001,-1");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:3:9: column \"quantity\"", ">= 0"]);
    let usage = replace_line(USAGE, 3, "u2,sms,acme,R2,c1,2026-03-02T11:00:00Z,,+44 ABC,1");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:3:8: column \"destination\"", "phone number"]);
}

#[test]
fn empty_file() {
    let stderr = Case::new("rates.csv", b"").fails();
    assert_mentions(&stderr, &["rates.csv", "empty"]);
}

#[test]
fn not_csv_at_all() {
    let stderr = Case::new("invoice.csv", b"{\"invoice\": [1, 2, 3]}\n").fails();
    assert_mentions(&stderr, &["invoice.csv:1", "missing required column \"carrier\""]);
    let stderr = Case::new("usage.csv", &[0x89, b'P', b'N', b'G', 0xff, 0xfe, 0, 1, 2, b'\n', 0xc3, 0x28]).fails();
    assert_mentions(&stderr, &["usage.csv"]);
}

#[test]
fn repeated_ids() {
    let usage = replace_line(USAGE, 3, "u1,sms,acme,R2,c1,2026-03-02T11:00:00Z,,+447700000001,1");
    let stderr = Case::new("usage.csv", &usage).fails();
    assert_mentions(&stderr, &["usage.csv:3", "record_id \"u1\" repeats line 2"]);
    let invoice = replace_line(INVOICE, 3, "acme,INV1,1,R2,sms,2026-03-02T11:00:00Z,447700000001,1,0.0310,0.031,USD");
    let stderr = Case::new("invoice.csv", &invoice).fails();
    assert_mentions(&stderr, &["invoice.csv:3", "line \"1\" of invoice \"INV1\"", "repeats line 2"]);
    let rates = replace_line(RATES, 3, "acme,voice,44,0.0130,USD,60,60/6,0.0010,2026-01-01T00:00:00Z");
    let stderr = Case::new("rates.csv", &rates).fails();
    assert_mentions(&stderr, &["rates.csv:3", "same carrier, service, prefix and effective_from", "repeats line 2"]);
}

#[test]
fn missing_file() {
    let case = Case::new("usage.csv", USAGE.as_bytes());
    std::fs::remove_file(case.path("usage.csv")).unwrap();
    let stderr = case.fails();
    assert_mentions(&stderr, &["usage.csv", "cannot read"]);
}

#[test]
fn skip_bad_rows_quarantines_and_counts() {
    let usage = format!("{USAGE}u3,fax,acme,R3,c1,2026-03-02T12:00:00Z,,+447700000001,1\nu4,sms,acme,R4,c1,yesterday,,+447700000001,1\n");
    let case = Case::new("usage.csv", usage.as_bytes());
    let output = case.run(&["--skip-bad-rows"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let rejected = read_csv(&case.path("out/rejected.csv"));
    assert_eq!(rejected[0], ["file", "line", "column", "value", "reason"]);
    assert_eq!(rejected.len(), 3);
    assert!(rejected[1][0].ends_with("usage.csv"));
    assert_eq!(rejected[1][1..4], ["4", "service", "fax"]);
    assert_eq!(rejected[2][1..4], ["5", "started_at", "yesterday"]);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(case.path("out/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["counts"]["rejected_rows"], 2);
    assert_eq!(summary["counts"]["usage_records"], 2);
    assert!(text(&output.stdout).contains("2 rows rejected"));
}

#[test]
fn bom_and_crlf_and_spaces_are_accepted() {
    let usage = format!("\u{feff}{}", USAGE.replace('\n', "\r\n").replace(",sms,", ", SMS ,"));
    let case = Case::new("usage.csv", usage.as_bytes());
    let output = case.run(&[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    assert_eq!(read_csv(&case.path("out/discrepancies.csv")).len(), 1);
}
