//! Golden tests of the built-in profiles: each fixture (written from the documented format,
//! REAL-FORMATS.md) converts to exactly the canonical rows of its `.expected.csv`, which was
//! written and checked by hand (the arithmetic of each time and quantity is in comments below).
//! Then bad rows: each error names the source file, line, column, value and profile field.

use reckon_import::BadRowPolicy;
use reckon_profiles::{convert, ConvertOptions, Overrides, Profile};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options(sets: &[(&str, &str)], time_zone: Option<&str>) -> ConvertOptions {
    ConvertOptions {
        overrides: Overrides {
            sets: sets.iter().map(|(field, value)| (field.to_string(), value.to_string())).collect(),
            maps: Vec::new(),
            time_zone: time_zone.map(str::to_owned),
        },
        ..ConvertOptions::default()
    }
}

/// Converts a fixture and returns the canonical text.
fn converted(profile: &str, input: &str, options: &ConvertOptions) -> Result<String, String> {
    let profile = Profile::resolve(profile).map_err(|error| error.to_string())?;
    let mut output = Vec::new();
    convert(&profile, &fixture(input), &mut output, options).map_err(|error| error.to_string())?;
    Ok(String::from_utf8(output).unwrap())
}

/// The fixture converts to exactly the expected file.
fn check(profile: &str, input: &str, expected: &str, options: &ConvertOptions) {
    let actual = converted(profile, input, options).unwrap();
    let expected = std::fs::read_to_string(fixture(expected)).unwrap();
    assert_eq!(actual, expected, "{profile} on {input}");
}

#[test]
fn every_builtin_profile_reads_and_checks() {
    let profiles = reckon_profiles::builtin::all().unwrap();
    assert!(profiles.len() >= 4);
    for profile in profiles {
        assert!(!profile.description().is_empty(), "{}", profile.name());
    }
}

/// Asterisk, 18 columns, UTC (the sample cdr.conf). Kept: the two sample CDRs (answered: timed
/// from its answer 12:00:12, billsec 75; unanswered: from its start 12:05:00, billsec 0) and a
/// call to +12125550100 whose caller is `anonymous` (no origin). Left out: voicemail (not
/// Dial), a congested Dial with no destination channel, an OMIT CDR.
#[test]
fn asterisk_18_columns_in_utc() {
    check("asterisk", "asterisk-18.csv", "asterisk-18.expected.csv", &ConvertOptions::default());
}

/// Asterisk, 21 columns: a transferred call is two CDRs of one linkedid (sequence 1 and 2),
/// each leg to the carrier a record of its own uniqueid; a chan_sip leg (lastdata
/// `SIP/carrierC/4915112345678`, no `@`) takes its number from dst.
#[test]
fn asterisk_21_columns_keep_each_leg_of_a_transferred_call() {
    check("asterisk", "asterisk-21.csv", "asterisk-21.expected.csv", &ConvertOptions::default());
}

/// Asterisk, 16 columns (no uniqueid: the record id joins channel and start), local time in
/// Paris across the end of summer time on 2026-10-25 (03:00 CEST becomes 02:00 CET):
/// 01:59:58 CEST = 23:59:58Z; 02:30:00 occurs twice and is taken at its earlier instant,
/// CEST (+02:00) = 00:30:00Z; 03:00:05 CET (+01:00) = 02:00:05Z.
#[test]
fn asterisk_16_columns_in_local_time_across_the_autumn_change() {
    check("asterisk", "asterisk-16-paris.csv", "asterisk-16-paris.expected.csv", &options(&[], Some("Europe/Paris")));
}

/// FreeSWITCH `example` template, Paris in March (CET, +01:00): 13:00:12 = 12:00:12Z.
#[test]
fn freeswitch_example_template() {
    let options = options(&[("carrier", "carrierA")], Some("Europe/Paris"));
    check("freeswitch", "freeswitch-example.csv", "freeswitch-example.expected.csv", &options);
}

/// FreeSWITCH built-in default template (13 columns, a space before the last quoted field),
/// Paris in July (CEST, +02:00): 14:00:12 = 12:00:12Z.
#[test]
fn freeswitch_default_template_with_its_space_before_the_last_field() {
    let options = options(&[("carrier", "carrierA")], Some("Europe/Paris"));
    check("freeswitch", "freeswitch-default.csv", "freeswitch-default.expected.csv", &options);
}

/// Kannel access log (access-log-time = gmt): four `Sent SMS` parts (a two-part message is two
/// records of one segment); statuses from the last receipt of each FID: DELIVRD → delivered,
/// ENROUTE (intermediate) → none, UNDELIV → failed, EXPIRED → expired. The `FAILED Send SMS`
/// line and the receipts themselves are not records; the `Log begins` line is skipped.
#[test]
fn kannel_access_log_with_receipts() {
    check("kannel", "kannel-access.log", "kannel-access.expected.csv", &options(&[], Some("UTC")));
    let profile = Profile::resolve("kannel").unwrap();
    let conversion =
        convert(&profile, &fixture("kannel-access.log"), std::io::sink(), &options(&[], Some("UTC"))).unwrap();
    assert_eq!((conversion.rows_written, conversion.rows_filtered, conversion.lines_unmatched), (4, 5, 1));
}

/// Jasmin submit_log (Paris, CET): pdu_count is the segments (3 for a 400-character message);
/// ESME_ROK without a receipt has no status; ESME_RTHROTTLED was not accepted: left out.
#[test]
fn jasmin_submit_log() {
    check("jasmin", "jasmin-submit_log.tsv", "jasmin-submit_log.expected.csv", &options(&[], Some("Europe/Paris")));
}

/// FreeSWITCH with legs=ab: the first call's A leg names its B leg (bleg_uuid), which is in
/// the file: the A leg is left out and the B leg (the carrier leg) kept; the unanswered call has
/// no B leg: its A leg is kept.
#[test]
fn freeswitch_both_legs_count_a_call_once_by_its_b_leg() {
    let options = options(&[("carrier", "carrierA")], Some("Europe/Paris"));
    check("freeswitch", "freeswitch-legs-ab.csv", "freeswitch-legs-ab.expected.csv", &options);
}

/// A field that needs `--set` is an error naming the field and how to give it.
#[test]
fn a_missing_option_is_named() {
    let error = converted("freeswitch", "freeswitch-example.csv", &options(&[], Some("Europe/Paris"))).unwrap_err();
    assert!(error.contains("field carrier needs --set carrier=VALUE"), "{error}");
}

/// Local times with no zone: the error says how to give one.
#[test]
fn local_times_without_a_zone_are_an_error() {
    let error = converted("jasmin", "jasmin-submit_log.tsv", &ConvertOptions::default()).unwrap_err();
    assert!(error.contains("jasmin-submit_log.tsv:2:14: column \"created_at\""), "{error}");
    assert!(error.contains("--time-zone"), "{error}");
}

/// A malformed source row: the error names file, line, column (number and name), the value,
/// what was expected and the profile's field; under quarantine the row is set aside with the
/// same position and the others convert.
#[test]
fn a_malformed_row_gets_a_positioned_error_naming_the_profile_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Master.csv");
    let good = std::fs::read_to_string(fixture("asterisk-18.csv")).unwrap();
    let bad = good.replacen("\"2026-03-01 12:00:12\"", "\"2026-03-01 12:00:1x\"", 1);
    std::fs::write(&path, &bad).unwrap();
    let profile = Profile::resolve("asterisk").unwrap();
    let error = convert(&profile, &path, std::io::sink(), &ConvertOptions::default()).unwrap_err().to_string();
    assert!(
        error.ends_with(
            "Master.csv:1:11: column \"answer\": \"2026-03-01 12:00:1x\" is not a time written %Y-%m-%d %H:%M:%S \
             (local times in UTC) (profile asterisk, field started_at)"
        ),
        "{error}"
    );
    let quarantine = ConvertOptions { policy: BadRowPolicy::Quarantine, ..ConvertOptions::default() };
    let conversion = convert(&profile, &path, std::io::sink(), &quarantine).unwrap();
    assert_eq!(conversion.rows_written, 2);
    assert_eq!(conversion.rejected.len(), 1);
    let rejection = &conversion.rejected[0];
    assert_eq!((rejection.line_number, rejection.column.as_deref()), (1, Some("answer")));
    assert_eq!(rejection.value.as_deref(), Some("2026-03-01 12:00:1x"));

    // A quantity that is not a number, and a row of a field count no layout has.
    let bad = good.replacen(",82,75,", ",82,7.5.1,", 1).replacen(",\"1772366700.43\",\"\"", ",\"1772366700.43\"", 1);
    std::fs::write(&path, &bad).unwrap();
    let conversion = convert(&profile, &path, std::io::sink(), &quarantine).unwrap();
    let reasons: Vec<String> = conversion
        .rejected
        .iter()
        .map(|rejection| format!("{}:{:?}:{}", rejection.line_number, rejection.column, rejection.reason))
        .collect();
    assert_eq!(
        reasons,
        [
            "1:Some(\"billsec\"):\"7.5.1\" is not a decimal number like 12.5 (`.` as separator, no exponent) (profile \
             asterisk, field quantity)",
            "2:None:not valid CSV: the row has 17 fields; profile asterisk reads rows of 16, 18, 21 fields"
        ]
    );
}
