//! Golden tests of the deck and carrier-export profiles: each fixture (written from the
//! documented format, REAL-FORMATS.md sections 5 and 6) converts to exactly the canonical rows
//! of its `.expected.csv`, written and checked by hand against docs/FORMATS.md; the reasoning
//! behind each expected row is in the test's comment. Then what a profile refuses: each error
//! names the source file, line, column and value, and why the canonical files cannot hold it.

use reckon_import::BadRowPolicy;
use reckon_profiles::{convert, ConvertOptions, Overrides, Profile};
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn options(sets: &[(&str, &str)]) -> ConvertOptions {
    ConvertOptions {
        overrides: Overrides {
            sets: sets.iter().map(|(field, value)| (field.to_string(), value.to_string())).collect(),
            maps: Vec::new(),
            time_zone: None,
        },
        ..ConvertOptions::default()
    }
}

/// Converts a file and returns the canonical text.
fn converted_path(profile: &str, input: &Path, options: &ConvertOptions) -> Result<String, String> {
    let profile = Profile::resolve(profile).map_err(|error| error.to_string())?;
    let mut output = Vec::new();
    convert(&profile, input, &mut output, options).map_err(|error| error.to_string())?;
    Ok(String::from_utf8(output).unwrap())
}

/// The fixture converts to exactly the expected file.
fn check(profile: &str, input: &str, expected: &str, sets: &[(&str, &str)]) {
    let actual = converted_path(profile, &fixture(input), &options(sets)).unwrap();
    let expected = std::fs::read_to_string(fixture(expected)).unwrap();
    assert_eq!(actual, expected, "{profile} on {input}");
}

/// Writes `content` as `name` in a fresh folder and converts it; the error's text.
fn error_of(profile: &str, name: &str, content: &str, sets: &[(&str, &str)]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, content).unwrap();
    converted_path(profile, &path, &options(sets)).unwrap_err()
}

const ACME_USD: &[(&str, &str)] = &[("carrier", "acme"), ("currency", "USD")];
const ACME_USD_MARCH: &[(&str, &str)] =
    &[("carrier", "acme"), ("currency", "USD"), ("effective_from", "2026-03-01T00:00:00Z")];

/// The generic A-Z deck in CSV (CRLF line ends, as spreadsheets export): `336;337` is two
/// rows, the range `1201-1203` three; day-first dates (`08/03/2026` is 8 March, not 3 August);
/// the change words become deck-update indicators (Increase -> increase); Albania's connect fee
/// 0.0100 is kept; `35567` marked Closed becomes a closing entry: rate 0, change closed.
#[test]
fn az_deck_csv() {
    check("az-deck", "decks/az-deck.csv", "decks/az-deck.expected.csv", ACME_USD);
}

/// The same deck as a spreadsheet (make-az-deck-xlsx.py): two title rows and a blank row above
/// the header, codes stored as numbers, `336, 337` in one cell, increments `1-1` and `60-60`,
/// dates as date cells and one as day-first text, a blank row inside the table, `Closed` in
/// the rate cell, and a footer. Numbers are the ones the sheet shows (0.012, the shortest
/// decimal of the stored double), so only their written scale differs from the CSV's rows.
#[test]
fn az_deck_xlsx() {
    check("az-deck", "decks/az-deck.xlsx", "decks/az-deck-xlsx.expected.csv", ACME_USD);
}

/// JeraSoft: Min Volume / Interval joined as increments (1/1, 60/60, 6/6), Setup Fee as the
/// connect fee, End Date as effective_to, `Prev Diff Status` increased/decreased as
/// increase/decrease, times `2026-03-01 00:00:00` in UTC.
#[test]
fn jerasoft_rates() {
    check("jerasoft", "decks/jerasoft-rates.csv", "decks/jerasoft-rates.expected.csv", ACME_USD);
}

/// ASTPP: `^447.*` codes are 447, Initial Increment / Increment the increments, Connect Cost the
/// connect fee (written 0.0000 as in the file), no effective date in the file: given.
#[test]
fn astpp_termination_rates() {
    check("astpp", "decks/astpp-termination-rates.csv", "decks/astpp-termination-rates.expected.csv", ACME_USD_MARCH);
}

/// MagnusBilling: no header, `;`, CRLF; buyrate with buyrateinitblock/buyrateincrement;
/// minimal_time_buy 0 everywhere, so nothing is refused.
#[test]
fn magnusbilling_rates() {
    check("magnusbilling", "decks/magnusbilling-rates.csv", "decks/magnusbilling-rates.expected.csv", ACME_USD_MARCH);
}

/// A2Billing: the buy side (buyrate 0.0120, not the selling rate 0.0250), startdate and an
/// empty or given stopdate.
#[test]
fn a2billing_ratecard() {
    check("a2billing", "decks/a2billing-ratecard.csv", "decks/a2billing-ratecard.expected.csv", ACME_USD);
}

/// Yeti: France's first 60 s at 0.0500, then 0.0350 per minute in 60 s steps: increments
/// 60/60, rate 0.0350, first_rate 0.0500 (a 61 s call: 0.05 x 60/60 + 0.035 x 60/60 = 0.085);
/// PostgreSQL timestamps `2026-03-01 00:00:00+00`.
#[test]
fn yeti_dialpeers() {
    check("yeti", "decks/yeti-dialpeers.csv", "decks/yeti-dialpeers.expected.csv", ACME_USD);
}

/// CGRateS: the folder's three files joined, one row per prefix (DST_FR_MOB has 336 and 337).
/// RT_UK_MOB, one tier 0.012 per 60s in 1s steps: increments 1/1. RT_FR_MOB, two tiers:
/// 0.05 per 60s in 60s steps from 0s, then 0.035 per 60s in 60s steps from 60s: increments
/// 60/60, rate 0.035, first_rate 0.05. RT_AL: connect fee 0.01. `*up` 4 -> up 4, `*middle`
/// -> half_up. MaxCost 0: no cap.
#[test]
fn cgrates_tariff_plan() {
    check("cgrates", "decks/cgrates", "decks/cgrates.expected.csv", ACME_USD_MARCH);
}

/// DIDWW: the currency from the `Charged (USD)` header; timed from the connect time (10:00:02,
/// not the start 09:59:55); the failed call (billing duration 0) left out.
#[test]
fn didww_cdrs() {
    check("didww", "exports/didww-cdr.csv", "exports/didww-cdr.expected.csv", &[("invoice_id", "D-2026-03")]);
}

/// Twilio calls: RFC 2822 times, the negative price -0.02400 billed as 0.02400, the duration
/// rounded up to whole minutes (75 s -> 120, 61 s -> 120, 30 s -> 60); busy and no-answer
/// calls left out.
#[test]
fn twilio_calls() {
    check(
        "twilio-calls",
        "exports/twilio-calls.csv",
        "exports/twilio-calls.expected.csv",
        &[("invoice_id", "T-2026-03")],
    );
}

/// Twilio messages: SM sids are sms, MM sids mms; two segments of an undelivered message are
/// billed (0.08000); the failed message's fee of 0.00100 is a line, the failed message priced
/// 0.00000 is not; a queued message (no price yet) is not final and left out.
#[test]
fn twilio_messages() {
    check(
        "twilio-messages",
        "exports/twilio-messages.csv",
        "exports/twilio-messages.expected.csv",
        &[("invoice_id", "T-2026-03")],
    );
}

/// Telnyx voice: fractional answer time kept (10:00:02.48Z), billed_sec as quantity (61 s
/// billed 120), the unanswered call (billed_sec 0) left out.
#[test]
fn telnyx_voice() {
    check(
        "telnyx-voice",
        "exports/telnyx-voice.csv",
        "exports/telnyx-voice.expected.csv",
        &[("invoice_id", "X-2026-03")],
    );
}

/// Telnyx messaging: amount = cost + carrier_fee (0.0120 + 0.0030 = 0.015 for 3 parts at
/// 0.0040); the gw_timeout message was charged 0.04 and is a line; the free inbound one is not.
#[test]
fn telnyx_messaging() {
    check(
        "telnyx-messaging",
        "exports/telnyx-messaging.csv",
        "exports/telnyx-messaging.expected.csv",
        &[("invoice_id", "X-2026-03")],
    );
}

/// Vonage SMS: one row per part (the concatenated message order-2 is two lines of 1 segment),
/// `+0000` offsets; the rejected message priced 0 left out.
#[test]
fn vonage_sms() {
    check("vonage-sms", "exports/vonage-sms.csv", "exports/vonage-sms.expected.csv", &[("invoice_id", "V-2026-03")]);
}

/// Vonage voice: price is the rate per minute (0.011), total_price the amount
/// (75 s x 0.011 / 60 = 0.01375); the unanswered call priced 0 left out.
#[test]
fn vonage_voice() {
    check(
        "vonage-voice",
        "exports/vonage-voice.csv",
        "exports/vonage-voice.expected.csv",
        &[("invoice_id", "V-2026-03")],
    );
}

/// Sinch: `;`-separated; ANSWERED calls only, timed from AnswerTime.
#[test]
fn sinch_voice() {
    check("sinch-voice", "exports/sinch-voice.csv", "exports/sinch-voice.expected.csv", &[("invoice_id", "S-2026-03")]);
}

/// Infobip: amount = pricePerMessage x smsCount (0.0380 x 2 = 0.076); the rejected message
/// priced 0 left out.
#[test]
fn infobip_sms() {
    check("infobip-sms", "exports/infobip-sms.csv", "exports/infobip-sms.expected.csv", &[("invoice_id", "I-2026-03")]);
}

/// JeraSoft's Grace Volume, ASTPP's Included Seconds and MagnusBilling's minimal_time_buy have
/// no rates.csv term: the row is refused with the column, the value and why, never converted
/// as if they were 0.
#[test]
fn terms_the_canonical_deck_cannot_express_are_refused() {
    let header = "Code,Code Name,Rate,Effective Date,End Date,Min Volume,Interval,Grace Volume,Setup Fee,Profile,Policy,Tag,Notes,Prev Rate,Prev Diff Status\n";
    let error = error_of(
        "jerasoft",
        "rates.csv",
        &format!("{header}447,UK,0.0120,2026-03-01 00:00:00,,1,1,0,0,,,,,,new\n44,UK,0.0100,2026-03-01 00:00:00,,60,60,5,0,,,,,,new\n"),
        ACME_USD,
    );
    assert!(error.contains("rates.csv:3:8: column \"Grace Volume\": \"5\" is not 0: a grace volume"), "{error}");
    let error = error_of(
        "astpp",
        "astpp.csv",
        "Code,Destination,Connect Cost,Included Seconds,Per Minute Cost,Initial Increment,Increment,Strip,Prepend\n^44.*,UK,0,30,0.01,60,60,,\n",
        ACME_USD_MARCH,
    );
    assert!(error.contains("astpp.csv:2:4: column \"Included Seconds\": \"30\" is not 0: included seconds"), "{error}");
    let error =
        error_of("magnusbilling", "magnus.csv", "44;UK;0.01;60;60;0\r\n447;UK Mobile;0.02;1;1;3\r\n", ACME_USD_MARCH);
    assert!(error.contains("magnus.csv:2:6: column \"minimal_time_buy\": \"3\" is not 0: a minimal time"), "{error}");
}

/// CGRateS tiers that `rates.csv` cannot express are refused at their Rates.csv line: a first
/// tier stepping by 1s while the second starts at 60s (a 30 s call bills 30 s at the first
/// price, which increments 60/1 would bill as 60 s), and three tiers.
#[test]
fn cgrates_tiers_that_rates_csv_cannot_express_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, content: &str| std::fs::write(dir.path().join(name), content).unwrap();
    write("Destinations.csv", "#Id,Prefix\nDST_A,44\nDST_B,33\n");
    write(
        "Rates.csv",
        "#Id,ConnectFee,Rate,RateUnit,RateIncrement,GroupIntervalStart\n\
         RT_A,0,0.2,60s,1s,0s\n\
         RT_A,0,0.1,60s,1s,60s\n\
         RT_B,0,0.2,60s,60s,0s\n\
         RT_B,0,0.1,60s,60s,60s\n\
         RT_B,0,0.05,60s,60s,600s\n",
    );
    write(
        "DestinationRates.csv",
        "#Id,DestinationId,RatesTag,RoundingMethod,RoundingDecimals,MaxCost,MaxCostStrategy\n\
         DR,DST_A,RT_A,*up,4,0,\n\
         DR,DST_B,RT_B,*up,4,0,\n",
    );
    let profile = Profile::resolve("cgrates").unwrap();
    let mut output = Vec::new();
    let mut quarantine = options(ACME_USD_MARCH);
    quarantine.policy = BadRowPolicy::Quarantine;
    let conversion = convert(&profile, dir.path(), &mut output, &quarantine).unwrap();
    assert_eq!(conversion.rows_written, 0);
    let reasons: Vec<String> = conversion
        .rejected
        .iter()
        .map(|rejection| {
            format!(
                "{}:{}:{}: {}",
                rejection.path.file_name().unwrap().to_string_lossy(),
                rejection.line_number,
                rejection.column.as_deref().unwrap_or(""),
                rejection.reason
            )
        })
        .collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert!(
        reasons[0].starts_with(
            "Rates.csv:2:RateIncrement: \"1s\" is not a first tier stepping by the second tier's start (60s)"
        ),
        "{reasons:?}"
    );
    assert!(reasons[1].starts_with("Rates.csv:6:GroupIntervalStart: \"600s\" is not at most two tiers"), "{reasons:?}");
}

/// A-Z decks: a code cell that is not codes, and a rate `Closed` on a row whose change says
/// otherwise, are errors naming the cell.
#[test]
fn az_deck_cells_that_do_not_read_are_positioned() {
    let header = "Destination,Code,Rate,Effective Date,Change,Billing Increment,Connection Fee\n";
    let error = error_of("az-deck", "deck.csv", &format!("{header}UK,44x,0.01,01/03/2026,New,1/1,0\n"), ACME_USD);
    assert!(error.contains("deck.csv:2:2: column \"Code\": \"44x\" is not a dial-code prefix, digits only (profile az-deck, field prefix)"), "{error}");
    let error = error_of("az-deck", "deck.csv", &format!("{header}UK,44,Closed,01/03/2026,Increase,1/1,0\n"), ACME_USD);
    assert!(
        error.contains("deck.csv:2:5: column \"Change\": \"Increase\" is not Closed: the row's rate says Closed"),
        "{error}"
    );
    // A deck without a Change column cannot close a code: it has no deck-update entries.
    let error =
        error_of("az-deck", "deck.csv", "Destination,Code,Rate,Effective Date\nUK,44,Closed,01/03/2026\n", ACME_USD);
    assert!(error.contains("deck.csv:2:3: column \"Rate\": \"Closed\" is not a rate"), "{error}");
}

/// `reckon convert --detect`: each deck and export fixture is read by its own profile first
/// (a deck's `--set` options are not needed to recognise it), and a deck is not taken for an
/// export or the other way round.
#[test]
fn each_fixture_is_detected_as_its_profile() {
    let profiles = reckon_profiles::builtin::all().unwrap();
    for (input, expected) in [
        ("decks/az-deck.csv", "az-deck"),
        ("decks/az-deck.xlsx", "az-deck"),
        ("decks/jerasoft-rates.csv", "jerasoft"),
        ("decks/astpp-termination-rates.csv", "astpp"),
        ("decks/yeti-dialpeers.csv", "yeti"),
        ("exports/didww-cdr.csv", "didww"),
        ("exports/twilio-calls.csv", "twilio-calls"),
        ("exports/twilio-messages.csv", "twilio-messages"),
        ("exports/telnyx-voice.csv", "telnyx-voice"),
        ("exports/telnyx-messaging.csv", "telnyx-messaging"),
        ("exports/vonage-sms.csv", "vonage-sms"),
        ("exports/vonage-voice.csv", "vonage-voice"),
        ("exports/sinch-voice.csv", "sinch-voice"),
        ("exports/infobip-sms.csv", "infobip-sms"),
    ] {
        let detections = reckon_profiles::detect(&fixture(input), &profiles);
        let names: Vec<&str> = detections.iter().map(|detection| detection.profile.as_str()).collect();
        assert_eq!(names.first(), Some(&expected), "{input}: {names:?}");
    }
}
