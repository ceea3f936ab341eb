//! The engine's features on small profiles written in the test: the shapes carrier exports and
//! decks need (a header capture for the currency, a column found by pattern, the line number as
//! a line id, a value given on the command line, negated prices, RFC 2822 dates, h:mm:ss
//! durations, deck cells with several codes and ranges, day-first dates, skipped title lines).

use reckon_profiles::{convert, ConvertOptions, Overrides, Profile};

fn run(toml: &str, input: &str, sets: &[(&str, &str)]) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.csv");
    std::fs::write(&path, input).unwrap();
    let profile = Profile::from_toml("test profile", toml).map_err(|error| error.to_string())?;
    let options = ConvertOptions {
        overrides: Overrides {
            sets: sets.iter().map(|(field, value)| (field.to_string(), value.to_string())).collect(),
            ..Overrides::default()
        },
        ..ConvertOptions::default()
    };
    let mut output = Vec::new();
    convert(&profile, &path, &mut output, &options).map_err(|error| error.to_string())?;
    Ok(String::from_utf8(output).unwrap())
}

/// A DIDWW-like export: the currency sits in the header (`Charged (USD)`), the amount column is
/// found by pattern, the line id is the source line, the invoice number comes from `--set`.
/// Twilio-like negative prices and RFC 2822 dates; a duration written `0:01:15` is 75 s.
#[test]
fn an_invoice_export_with_the_currency_in_its_header() {
    let toml = r#"
name = "export"
description = "a carrier export"
target = "invoice"
[source]
header = true
[time]
formats = ["rfc2822"]
[fields]
carrier = { value = "didww" }
invoice_id = { option = "the invoice number" }
line_id = { line_number = true }
service = { value = "voice" }
started_at = { column = "Date" }
destination = { column = "Destination Number" }
quantity = { column = "Billing Duration", unit = "hms" }
amount = { column_matching = '^Charged \(', sign = "negate" }
currency = { header_capture = 'Charged \((?P<value>[A-Z]{3})\)' }
"#;
    let input = "Date,Destination Number,Billing Duration,Charged (USD)\n\
                 \"Sun, 01 Mar 2026 12:00:05 +0000\",442071234567,0:01:15,-0.01500\n\
                 \"Sun, 01 Mar 2026 13:00:00 +0100\",33612345678,0:00:00,0\n";
    assert_eq!(
        run(toml, input, &[("invoice_id", "INV-7")]).unwrap(),
        "carrier,invoice_id,line_id,service,started_at,destination,quantity,amount,currency\n\
         didww,INV-7,2,voice,2026-03-01T12:00:05Z,442071234567,75,0.01500,USD\n\
         didww,INV-7,3,voice,2026-03-01T12:00:00Z,33612345678,0,0,USD\n"
    );
    let error = run(toml, input, &[]).unwrap_err();
    assert_eq!(error, "profile test profile: field invoice_id needs --set invoice_id=VALUE (the invoice number)");
}

/// An A-Z deck: a title line skipped, `;`-separated, several codes per cell and a range, each
/// code its own row; day-first dates at midnight UTC; a status map; increments as written.
#[test]
fn a_deck_with_several_codes_per_cell() {
    let toml = r#"
name = "deck"
description = "an A-Z deck"
target = "rates"
[source]
header = true
delimiter = ";"
skip_lines = 1
[time]
zone = "UTC"
formats = ["%d/%m/%Y"]
[fields]
carrier = { value = "acme" }
service = { value = "voice" }
prefix = { column = "Code", expand_codes = true }
destination_name = { column = "Destination" }
rate = { column = "Rate" }
currency = { value = "USD" }
increments = { column = "Billing Increment" }
effective_from = { column = "Effective Date", format = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y"] }
change = { column = "Change", map = { Unchanged = "unchanged", Decrease = "decrease", Closed = "closed" } }
"#;
    let input = "Acme rates, March 2026\n\
                 Destination;Code;Rate;Effective Date;Change;Billing Increment\n\
                 France - Mobile;336, 337;0.0350;01/03/2026;Decrease;60/60\n\
                 UK - Mobile;4470-4472;0.0120;08/03/2026;Unchanged;1/1\n";
    assert_eq!(
        run(toml, input, &[]).unwrap(),
        "carrier,service,prefix,destination_name,rate,currency,increments,effective_from,change\n\
         acme,voice,336,France - Mobile,0.0350,USD,60/60,2026-03-01T00:00:00Z,decrease\n\
         acme,voice,337,France - Mobile,0.0350,USD,60/60,2026-03-01T00:00:00Z,decrease\n\
         acme,voice,4470,UK - Mobile,0.0120,USD,1/1,2026-03-08T00:00:00Z,unchanged\n\
         acme,voice,4471,UK - Mobile,0.0120,USD,1/1,2026-03-08T00:00:00Z,unchanged\n\
         acme,voice,4472,UK - Mobile,0.0120,USD,1/1,2026-03-08T00:00:00Z,unchanged\n"
    );
    let bad = input.replace("4470-4472", "4479-4470");
    let error = run(toml, &bad, &[]).unwrap_err();
    assert!(error.contains("input.csv:4:2: column \"Code\": \"4479-4470\" is not dial codes"), "{error}");
    assert!(error.ends_with("(profile deck, field prefix)"), "{error}");
}

/// Schema errors name the profile and the key.
#[test]
fn a_profile_that_breaks_the_schema_is_refused_with_the_key() {
    let base = "name = \"x\"\ndescription = \"x\"\ntarget = \"usage\"\n";
    let fields = "[fields]\nrecord_id = { column = 1 }\nservice = { value = \"sms\" }\ncarrier = { value = \"a\" }\n\
                  started_at = { column = 2 }\ndestination = { column = 3 }\nquantity = { value = \"1\" }\n";
    let error = Profile::from_toml("p.toml", &format!("{base}colour = 1\n{fields}")).unwrap_err().to_string();
    assert!(error.starts_with("profile p.toml: ") && error.contains("colour"), "{error}");
    let error = Profile::from_toml("p.toml", &format!("{base}{fields}amount = {{ value = \"1\" }}\n")).unwrap_err();
    assert!(error.to_string().contains("[fields] \"amount\" is not a column of usage.csv"), "{error}");
    let missing = fields.replace("quantity = { value = \"1\" }\n", "");
    let error = Profile::from_toml("p.toml", &format!("{base}{missing}")).unwrap_err();
    assert!(error.to_string().contains("has no \"quantity\", a required column of usage.csv"), "{error}");
    let two = fields.replace("{ value = \"a\" }", "{ value = \"a\", column = 4 }");
    let error = Profile::from_toml("p.toml", &format!("{base}{two}")).unwrap_err();
    assert!(error.to_string().contains("fields.carrier needs exactly one source"), "{error}");
    let pattern = fields.replace("{ value = \"a\" }", "{ column = 4, capture = \"(\" }");
    let error = Profile::from_toml("p.toml", &format!("{base}{pattern}")).unwrap_err();
    assert!(error.to_string().contains("fields.carrier.capture: \"(\" is not a regular expression"), "{error}");
}

/// A deck in a workbook as carriers publish it (the fixture of `deck from-xlsx`): title rows and
/// a blank row above the header, blank rows between, several codes in a cell, a range,
/// increments `60-60`, day-first dates, a footer row (no code: left out by the profile's filter).
#[test]
fn a_deck_in_a_workbook_sheet() {
    let toml = r#"
name = "xlsx-deck"
description = "an A-Z deck in a workbook"
target = "rates"
[source]
format = "xlsx"
sheet = "Rates"
header = true
skip_lines = 2
[time]
zone = "UTC"
formats = ["%d/%m/%Y", "rfc3339"]
[[skip]]
column = "Dial Codes"
empty = true
[fields]
carrier = { value = "acme" }
service = { value = "voice" }
prefix = { column = "Dial Codes", expand_codes = true }
destination_name = { column = "Destination" }
rate = { column = "Rate (USD/min)" }
currency = { value = "USD" }
rate_unit = { value = "60" }
increments = { column = "Billing Increment" }
effective_from = { column = "Effective Date" }
"#;
    let profile = Profile::from_toml("test profile", toml).unwrap();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/real-deck.xlsx");
    let mut output = Vec::new();
    let conversion = convert(&profile, &path, &mut output, &ConvertOptions::default()).unwrap();
    assert_eq!(
        String::from_utf8(output).unwrap(),
        "carrier,service,prefix,destination_name,rate,currency,rate_unit,increments,effective_from\n\
         acme,voice,44,United Kingdom,0.01,USD,60,60/60,2026-03-01T00:00:00Z\n\
         acme,voice,447,UK Mobile,0.045,USD,60,30/6,2026-03-01T00:00:00Z\n\
         acme,voice,4479,UK Mobile,0.045,USD,60,30/6,2026-03-01T00:00:00Z\n\
         acme,voice,1201,USA NPA 1201-1203,0.005,USD,60,60/60,2026-03-15T00:00:00Z\n\
         acme,voice,1202,USA NPA 1201-1203,0.005,USD,60,60/60,2026-03-15T00:00:00Z\n\
         acme,voice,1203,USA NPA 1201-1203,0.005,USD,60,60/60,2026-03-15T00:00:00Z\n"
    );
    assert_eq!(conversion.rows_filtered, 1);
    // A bad cell is named by its sheet, row and column.
    let bad = toml.replace("formats = [\"%d/%m/%Y\", \"rfc3339\"]", "formats = [\"%m/%d/%Y\"]");
    let profile = Profile::from_toml("test profile", &bad).unwrap();
    let error = convert(&profile, &path, std::io::sink(), &ConvertOptions::default()).unwrap_err().to_string();
    assert!(error.contains("real-deck.xlsx[Rates]:8:5: column \"Effective Date\": \"15/03/2026\""), "{error}");
}
