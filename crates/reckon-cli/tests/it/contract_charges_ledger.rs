//! Issue 17 in the ledger: invoices with charge lines and the contract terms stored, and a
//! ledger run that checks them exactly as the file run does, on SQLite and PostgreSQL.
//!
//! The worked example with its charge lines (see contract_charges.rs for the recurring and tax
//! arithmetic) and a quarterly volume commitment of acme, checked on March with the quarter's
//! three months of usage. By hand: acme's SMS to 44 in March are u00002, u00076, u00049,
//! u00000, u00074 (1 each) and u00039 (2): 7 messages; two February records add 3 + 4 = 7 (at
//! 0.0310 USD, rated from 30 January): 14 in the quarter. The commitment is 20 messages at
//! 0.05 USD per message short: (20 - 14) × 0.05 = 0.30 USD. Counting March alone it would be
//! (20 - 7) × 0.05 = 0.65.

use crate::contract_charges::invoice_with_charges;
use crate::ledger::{count, ledger_urls, reckon_ok_on, reckon_on};
use crate::{fixtures, read_csv, reckon, text};
use std::path::Path;

const TERMS: &str = "carrier,term,code,effective_from,effective_to,currency,amount,prorate,percent,period,metric,service,prefixes,minimum,rate\n\
acme,recurring,NUM-RENT,2026-01-01,,USD,25.00,,,,,,,,\n\
acme,tax,VAT,2026-01-01,,USD,,,10,,,,,,\n\
acme,commitment,Q-SMS,2026-01-01,,USD,,,,quarter,volume,sms,44,20,0.05\n\
borealis,recurring,TRUNK,2026-03-16,,EUR,100.00,days,,,,,,,\n\
borealis,tax,VAT,2026-01-01,,EUR,,,20,,,,,,\n";

/// acme: rent right, tax 0.15 instead of 0.12 (0.03 over), the quarterly shortfall right.
const ACME: [&str; 3] = [
    "C1,sms,2026-03-01T00:00:00Z,25.00,USD,recurring,NUM-RENT",
    "C2,sms,2026-03-31T00:00:00Z,0.15,USD,tax,VAT",
    "C3,sms,2026-03-31T00:00:00Z,0.30,USD,commitment_shortfall,Q-SMS",
];
/// acme billed right: the rent, the tax 0.12 and the quarterly shortfall 0.30.
const ACME_RIGHT: [&str; 3] = [ACME[0], "C2,sms,2026-03-31T00:00:00Z,0.12,USD,tax,VAT", ACME[2]];
/// acme with the shortfall billed on March's usage alone: 0.65, 0.65 - 0.30 = 0.35 over.
const ACME_SHORTFALL_OVER: [&str; 3] = [
    ACME[0],
    "C2,sms,2026-03-31T00:00:00Z,0.12,USD,tax,VAT",
    "C3,sms,2026-03-31T00:00:00Z,0.65,USD,commitment_shortfall,Q-SMS",
];
/// borealis: the whole month of the trunk (48.39 over) and no tax (0.74 missing).
const BOREALIS: [&str; 1] = ["C1,voice,2026-03-01T00:00:00Z,100.00,EUR,recurring,TRUNK"];

/// The worked example's usage with two February SMS of acme to 44 (3 and 4 messages).
fn usage_with_february(folder: &Path) -> String {
    let mut text = std::fs::read_to_string(fixtures().join("basic/usage.csv")).unwrap();
    text.push_str("f0001,sms,acme,,c1,2026-02-03T10:00:00Z,,+44770000001,3\n");
    text.push_str("f0002,sms,acme,,c1,2026-02-17T10:00:00Z,,+44770000002,4\n");
    let path = folder.join("usage.csv");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

struct Inputs {
    usage: String,
    rates: String,
    acme: String,
    borealis: String,
    terms: String,
}

fn inputs(folder: &Path, acme: &[&str], borealis: &[&str]) -> Inputs {
    let terms = folder.join("contract_terms.csv");
    std::fs::write(&terms, TERMS).unwrap();
    Inputs {
        usage: usage_with_february(folder),
        rates: fixtures().join("basic/rates.csv").display().to_string(),
        acme: invoice_with_charges("invoice-acme.csv", "acme", "ACME-2026-03", acme, folder),
        borealis: invoice_with_charges("invoice-borealis.csv", "borealis", "BOR-2603", borealis, folder),
        terms: terms.display().to_string(),
    }
}

/// The file run of March: its discrepancies.csv.
fn file_run(folder: &Path, inputs: &Inputs) -> Vec<Vec<String>> {
    let out = folder.join("file-run");
    let output = reckon(&[
        "reconcile",
        "--usage",
        &inputs.usage,
        "--rates",
        &inputs.rates,
        "--invoice",
        &inputs.acme,
        "--invoice",
        &inputs.borealis,
        "--contract-terms",
        &inputs.terms,
        "--period",
        "2026-03",
        "--out",
        &out.display().to_string(),
        "--quiet",
    ]);
    assert!(output.status.success(), "stderr: {}", text(&output.stderr));
    read_csv(&out.join("discrepancies.csv"))
}

/// Imports everything into the ledger at `url`.
fn import_all(url: &str, inputs: &Inputs) {
    for (kind, file) in [
        ("usage", &inputs.usage),
        ("rates", &inputs.rates),
        ("invoice", &inputs.acme),
        ("invoice", &inputs.borealis),
        ("contract-terms", &inputs.terms),
    ] {
        reckon_ok_on(url, &["import", kind, file]);
    }
}

/// The ledger runs of March of both carriers: the rows of both, one header.
fn ledger_runs(url: &str, folder: &Path, partitions: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    for carrier in ["acme", "borealis"] {
        let out = folder.join(format!("ledger-{carrier}-{partitions}"));
        reckon_ok_on(
            url,
            &[
                "reconcile",
                "--carrier",
                carrier,
                "--period",
                "2026-03",
                "--partitions",
                partitions,
                "--out",
                &out.display().to_string(),
                "--quiet",
            ],
        );
        let mut these = read_csv(&out.join("discrepancies.csv"));
        if !rows.is_empty() {
            these.remove(0);
        }
        rows.extend(these);
    }
    rows
}

/// The rows with numbers compared by value (a ledger run writes amounts as stored, normalized).
fn by_value(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|row| {
            row.iter()
                .map(|cell| match rust_decimal::Decimal::from_str_exact(cell) {
                    Ok(number) if cell.contains('.') => number.normalize().to_string(),
                    _ => cell.clone(),
                })
                .collect()
        })
        .collect()
}

/// Columns kind, destination, billed, expected, difference, currency of the charge rows.
fn charge_rows(rows: &[Vec<String>]) -> Vec<Vec<String>> {
    const KINDS: [&str; 7] = [
        "unexpected_charge",
        "missing_charge",
        "recurring_mismatch",
        "shortfall_mismatch",
        "rebate_missing",
        "rebate_mismatch",
        "tax_mismatch",
    ];
    by_value(rows)
        .iter()
        .filter(|row| KINDS.contains(&row[4].as_str()))
        .map(|row| [0, 2, 4, 6, 10, 11, 12, 13].map(|column| row[column].clone()).to_vec())
        .collect()
}

#[test]
fn a_ledger_run_checks_charge_lines_against_stored_terms_as_the_file_run_does() {
    let folder = tempfile::tempdir().unwrap();
    let inputs = inputs(folder.path(), &ACME, &BOREALIS);
    let from_files = file_run(folder.path(), &inputs);
    // The charge rows by hand: acme's tax 0.15 - 0.12 = 0.03 over; its quarterly shortfall
    // right (no row); borealis's trunk 100.00 - 51.61 = 48.39 over, its tax 0.74 missing.
    assert_eq!(
        charge_rows(&from_files),
        [
            ["acme", "C2", "tax_mismatch", "VAT", "0.15", "0.12", "0.03", "USD"],
            ["borealis", "C1", "recurring_mismatch", "TRUNK", "100", "51.61", "48.39", "EUR"],
            ["borealis", "", "missing_charge", "VAT", "0", "0.74", "-0.74", "EUR"],
        ]
        .map(|row| row.map(str::to_owned).to_vec())
    );
    for (backend, url) in ledger_urls(folder.path()) {
        import_all(&url, &inputs);
        assert_eq!(count(&url, "invoice_charge_lines"), 4, "{backend}");
        for partitions in ["0", "3"] {
            let from_ledger = ledger_runs(&url, folder.path(), partitions);
            assert_eq!(by_value(&from_ledger), by_value(&from_files), "{backend}, partitions {partitions}");
        }
    }
}

#[test]
fn a_quarterly_commitment_in_the_ledger_counts_the_quarters_three_months() {
    // Billed on March's usage alone: 0.65, 0.65 - 0.30 = 0.35 over.
    let acme = ACME_SHORTFALL_OVER;
    let folder = tempfile::tempdir().unwrap();
    let inputs = inputs(folder.path(), &acme, &BOREALIS);
    for (backend, url) in ledger_urls(folder.path()) {
        import_all(&url, &inputs);
        let rows = ledger_runs(&url, folder.path(), "0");
        let acme_rows: Vec<Vec<String>> = charge_rows(&rows).into_iter().filter(|row| row[0] == "acme").collect();
        assert_eq!(
            acme_rows,
            [["acme", "C3", "shortfall_mismatch", "Q-SMS", "0.65", "0.3", "0.35", "USD"].map(str::to_owned).to_vec()],
            "{backend}"
        );
        // 6 more February messages imported later: 14 + 6 = 20, the commitment is met and the
        // whole 0.65 is over. The run of March is made again (the quarter's usage is a part of
        // its id), never the stored one of before.
        let late = folder.path().join(format!("late-february-{backend}.csv"));
        std::fs::write(
            &late,
            "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity
             f0003,sms,acme,,c1,2026-02-20T10:00:00Z,,+44770000004,6
",
        )
        .unwrap();
        reckon_ok_on(&url, &["import", "usage", &late.display().to_string()]);
        let rows = ledger_runs(&url, folder.path(), "0");
        let acme_rows: Vec<Vec<String>> = charge_rows(&rows).into_iter().filter(|row| row[0] == "acme").collect();
        assert_eq!(
            acme_rows,
            [["acme", "C3", "shortfall_mismatch", "Q-SMS", "0.65", "0", "0.65", "USD"].map(str::to_owned).to_vec()],
            "{backend}"
        );
    }
}

#[test]
fn contract_terms_import_once_and_a_changed_term_is_a_new_version_with_audit() {
    let folder = tempfile::tempdir().unwrap();
    let terms = folder.path().join("contract_terms.csv");
    std::fs::write(&terms, TERMS).unwrap();
    let terms_path = terms.display().to_string();
    for (backend, url) in ledger_urls(folder.path()) {
        let first = reckon_ok_on(&url, &["import", "contract-terms", &terms_path]);
        assert!(first.contains("5 stored, 0 already stored unchanged, 0 replaced"), "{backend}: {first}");
        let again = reckon_ok_on(&url, &["import", "contract-terms", &terms_path]);
        assert!(again.contains("0 stored, 5 already stored unchanged, 0 replaced"), "{backend}: {again}");
        assert_eq!(count(&url, "contract_terms"), 5, "{backend}");
        // The rent corrected to 27.50: refused without --replace, a new version with it.
        let changed = folder.path().join("changed.csv");
        std::fs::write(&changed, TERMS.replace("NUM-RENT,2026-01-01,,USD,25.00", "NUM-RENT,2026-01-01,,USD,27.50"))
            .unwrap();
        let changed_path = changed.display().to_string();
        let (code, _, stderr) = reckon_on(&url, &["import", "contract-terms", &changed_path]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(
            stderr.contains("acme NUM-RENT from 2026-01-01") && stderr.contains("--replace"),
            "{backend}: {stderr}"
        );
        let replaced = reckon_ok_on(&url, &["import", "contract-terms", &changed_path, "--replace"]);
        assert!(replaced.contains("0 stored, 4 already stored unchanged, 1 replaced"), "{backend}: {replaced}");
        assert_eq!(count(&url, "contract_terms"), 6, "{backend}: the old version is kept");
        let audit = count(&url, "audit_log WHERE action = 'replace_contract_term'");
        assert_eq!(audit, 1, "{backend}");
        // A term overlapping a stored one of the same code is refused, naming the stored terms.
        let overlapping = folder.path().join("overlapping.csv");
        std::fs::write(
            &overlapping,
            "carrier,term,code,effective_from,effective_to,currency,amount\nacme,recurring,NUM-RENT,2026-02-01,,USD,30.00\n",
        )
        .unwrap();
        let (code, _, stderr) = reckon_on(&url, &["import", "contract-terms", &overlapping.display().to_string()]);
        assert_eq!(code, Some(2), "{backend}");
        assert!(stderr.contains("stored contract terms of acme") && stderr.contains("NUM-RENT"), "{backend}: {stderr}");
        assert_eq!(count(&url, "contract_terms"), 6, "{backend}: nothing of the refused file stored");
    }
}

/// An invoice with charge lines is stored with them (its content), once.
#[test]
fn an_invoice_with_charge_lines_is_stored_with_them_once() {
    let folder = tempfile::tempdir().unwrap();
    let invoice = invoice_with_charges("invoice-acme.csv", "acme", "ACME-2026-03", &ACME, folder.path());
    for (backend, url) in ledger_urls(folder.path()) {
        let stored = reckon_ok_on(&url, &["import", "invoice", &invoice]);
        // 45 usage lines and 3 charge lines.
        assert!(stored.contains("48 lines stored"), "{backend}: {stored}");
        assert!(reckon_ok_on(&url, &["import", "invoice", &invoice]).contains("no-op"), "{backend}");
        assert_eq!((count(&url, "invoice_lines"), count(&url, "invoice_charge_lines")), (45, 3), "{backend}");
    }
}

/// The terms with a rebate of acme: 2.00 USD once its month's SMS to 44 reach 5 messages (7 in
/// March): due, and credited by no line of the invoice.
fn terms_with_rebate() -> String {
    let mut text = String::from(
        "carrier,term,code,effective_from,effective_to,currency,amount,prorate,percent,period,metric,service,prefixes,minimum,rate,threshold\n",
    );
    for row in TERMS.lines().skip(1) {
        text.push_str(row);
        text.push_str(",\n");
    }
    text.push_str("acme,rebate,REB,2026-01-01,,USD,2.00,,,month,volume,sms,44,,,5\n");
    text
}

/// Issue 17, settlement: a period with a disputed shortfall and a rebate due, through the binary,
/// on SQLite and PostgreSQL. acme's March invoice bills in USD its usage 1.20, the rent 25.00,
/// the tax 0.12 (right) and a shortfall of 0.65 where 0.30 is due (0.35 over, disputed); the
/// rebate of 2.00 is due to us and credited by no line (`rebate_missing`): a receivable.
#[test]
fn settlement_and_journal_of_a_disputed_shortfall_and_a_rebate_due_by_hand() {
    let acme = ACME_SHORTFALL_OVER;
    let folder = tempfile::tempdir().unwrap();
    let inputs = inputs(folder.path(), &acme, &BOREALIS);
    std::fs::write(&inputs.terms, terms_with_rebate()).unwrap();
    for (backend, url) in ledger_urls(folder.path()) {
        import_all(&url, &inputs);
        let out = folder.path().join(format!("run-{backend}"));
        let run_text = reckon_ok_on(
            &url,
            &["reconcile", "--carrier", "acme", "--period", "2026-03", "--out", &out.display().to_string()],
        );
        let run_id = run_text.split_whitespace().nth(1).unwrap().to_owned();
        let rows = read_csv(&out.join("discrepancies.csv"));
        assert_eq!(
            charge_rows(&rows),
            [
                ["acme", "C3", "shortfall_mismatch", "Q-SMS", "0.65", "0.3", "0.35", "USD"],
                ["acme", "", "rebate_missing", "REB", "0", "-2", "2", "USD"],
            ]
            .map(|row| row.map(str::to_owned).to_vec()),
            "{backend}"
        );
        // Above 0.10 only the shortfall's 0.35 is claimed (the usage rows are 0.025 at most).
        let opened = reckon_ok_on(&url, &["dispute", "open", "--run", &run_id, "--threshold", "0.10"]);
        assert!(opened.contains("1 lines, 0.35 USD claimed"), "{backend}: {opened}");
        let dispute_id = opened.split_whitespace().nth(1).unwrap().trim_end_matches(':').to_owned();
        // Invoiced 1.20 + 25.00 + 0.12 + 0.65 = 26.97; withheld 0.35; the rebate due 2.00 netted:
        // 26.97 - 0.35 - 2.00 = 24.62.
        let settled = reckon_ok_on(&url, &["settle", "--carrier", "acme", "--period", "2026-03", "--currency", "USD"]);
        for line in [
            "  invoiced           26.97 USD",
            "    usage            1.20 USD",
            "    recurring        25.00 USD",
            "    shortfall        0.65 USD",
            "    tax              0.12 USD",
            "  withheld (open)    -0.35 USD",
            "  netted receivable  -2.00 USD",
            "    rebates due      -2.00 USD",
            "  net to pay         24.62 USD",
        ] {
            assert!(settled.contains(line), "{backend}: {line:?} in\n{settled}");
        }
        // Settled again while the dispute is open: the same statement, no correction.
        let again = reckon_ok_on(&url, &["settle", "--carrier", "acme", "--period", "2026-03", "--currency", "USD"]);
        assert!(again.contains("(unchanged: stored before)"), "{backend}: {again}");
        // The carrier accepts 0.20 of the 0.35: 26.97 - 0.20 - 2.00 = 24.77, a correction.
        reckon_ok_on(&url, &["dispute", "submit", &dispute_id, "--reason", "sent"]);
        reckon_ok_on(&url, &["dispute", "accept", &dispute_id, "--credit", "C3=0.20", "--reason", "CN-1"]);
        let corrected = reckon_ok_on(
            &url,
            &["settle", "--carrier", "acme", "--period", "2026-03", "--currency", "USD", "--correct"],
        );
        assert!(corrected.contains("  net to pay         24.77 USD"), "{backend}: {corrected}");
        assert!(corrected.contains("    on shortfall     -0.20 USD"), "{backend}: {corrected}");
        let journal = folder.path().join(format!("journal-{backend}.csv"));
        reckon_ok_on(
            &url,
            &["journal", "--carrier", "acme", "--period", "2026-03", "--out", &journal.display().to_string()],
        );
        let rows = read_csv(&journal);
        // Net per account over the journal (debit - credit): the first statement is reversed,
        // so only the correction counts.
        let balance = |code: &str| account_balance(&rows, code);
        let d = |text: &str| text.parse::<rust_decimal::Decimal>().unwrap();
        // The usage 1.20; the shortfall 0.65 less the 0.20 credited on it (back to its own
        // account, not to the carrier costs) = 0.45.
        assert_eq!(balance("5100"), d("1.20"), "{backend}");
        assert_eq!(balance("5110"), d("25.00"), "{backend}: recurring");
        assert_eq!(balance("5130"), d("0.45"), "{backend}: shortfall");
        assert_eq!(balance("5160"), d("0.12"), "{backend}: tax");
        assert_eq!(balance("5140"), d("-2.00"), "{backend}: the rebate due");
        // The receivable: +2.00 due, 2.00 netted.
        assert_eq!(balance("1200"), d("0"), "{backend}");
        assert_eq!(balance("1000"), d("-24.77"), "{backend}: paid");
        assert_eq!(balance("2100"), d("0"), "{backend}: nothing left open");
        let debits: rust_decimal::Decimal =
            rows[1..].iter().filter_map(|row| row[4].parse::<rust_decimal::Decimal>().ok()).sum();
        let credits: rust_decimal::Decimal =
            rows[1..].iter().filter_map(|row| row[5].parse::<rust_decimal::Decimal>().ok()).sum();
        assert_eq!(debits, credits, "{backend}");
    }
}

/// An account's balance (debits less credits) over a journal CSV's rows (header first).
fn account_balance(rows: &[Vec<String>], code: &str) -> rust_decimal::Decimal {
    let number = |cell: &str| cell.parse::<rust_decimal::Decimal>().unwrap_or_default();
    rows[1..].iter().filter(|row| row[2] == code).map(|row| number(&row[4]) - number(&row[5])).sum()
}

/// Review of issue 17: a rebate its month's run found missing (netted by that month's
/// statement as due) and credited on the next month's invoice was taken twice; and a run made
/// before an invoice was replaced still gave the rebates due. acme's rebate REB is 2.00 USD a
/// month once its SMS to 44 reach 5 (7 in March). March's invoice credits no rebate.
#[test]
fn a_rebate_credited_a_month_late_is_taken_once_and_a_stale_run_is_not_settled() {
    let acme = ACME_RIGHT;
    let folder = tempfile::tempdir().unwrap();
    let inputs = inputs(folder.path(), &acme, &BOREALIS);
    std::fs::write(&inputs.terms, terms_with_rebate()).unwrap();
    // April's invoice: the rent, and March's rebate on a credit note (dated in March).
    let april = folder.path().join("invoice-acme-04.csv");
    std::fs::write(
        &april,
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency,charge_type,charge_code
         acme,ACME-2026-04,C1,,sms,2026-04-01T00:00:00Z,,,,25.00,USD,recurring,NUM-RENT
         acme,ACME-2026-04,R1,,sms,2026-03-01T00:00:00Z,,,,-2.00,USD,credit,REB
",
    )
    .unwrap();
    let april = april.display().to_string();
    for (backend, url) in ledger_urls(folder.path()) {
        import_all(&url, &inputs);
        let settle = |period: &str, correct: bool| {
            let mut arguments = vec!["settle", "--carrier", "acme", "--period", period, "--currency", "USD"];
            if correct {
                arguments.push("--correct");
            }
            reckon_on(&url, &arguments)
        };
        // Never reconciled: the rebates due are not known, nothing is settled.
        let (code, _, stderr) = settle("2026-03", false);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(stderr.contains("never reconciled"), "{backend}: {stderr}");
        // April, which credits March's rebate late, cannot be settled before March is known.
        reckon_ok_on(&url, &["import", "invoice", &april, "--period", "2026-04"]);
        reckon_ok_on(&url, &["reconcile", "--carrier", "acme", "--period", "2026-04", "--quiet"]);
        let (code, _, stderr) = settle("2026-04", false);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(stderr.contains("2026-03 was never reconciled"), "{backend}: {stderr}");
        reckon_ok_on(&url, &["reconcile", "--carrier", "acme", "--period", "2026-03", "--quiet"]);
        // March: 1.20 + 25.00 + 0.12 + 0.30 = 26.62 invoiced, the rebate 2.00 due: 24.62.
        let (code, march, stderr) = settle("2026-03", false);
        assert_eq!(code, Some(0), "{backend}: {stderr}");
        assert!(march.contains("    rebates due      -2.00 USD"), "{backend}: {march}");
        assert!(march.contains("  net to pay         24.62 USD"), "{backend}: {march}");

        let out = folder.path().join(format!("april-{backend}"));
        reckon_ok_on(
            &url,
            &["reconcile", "--carrier", "acme", "--period", "2026-04", "--out", &out.display().to_string(), "--quiet"],
        );
        // The late credit is March's rebate: not judged as April's (nothing due in April).
        assert_eq!(charge_rows(&read_csv(&out.join("discrepancies.csv"))), Vec::<Vec<String>>::new(), "{backend}");
        // April: 25.00 - 2.00 = 23.00 invoiced; March took the 2.00 already: paid back, 25.00.
        let (code, april_statement, stderr) = settle("2026-04", false);
        assert_eq!(code, Some(0), "{backend}: {stderr}");
        assert!(april_statement.contains("  invoiced           23.00 USD"), "{backend}: {april_statement}");
        assert!(april_statement.contains("  late rebates       2.00 USD"), "{backend}: {april_statement}");
        assert!(april_statement.contains("  net to pay         25.00 USD"), "{backend}: {april_statement}");
        // Over both months the rebate is income once: -2.00 due in March, -2.00 + 2.00 in April.
        let journal = folder.path().join(format!("journal-04-{backend}.csv"));
        reckon_ok_on(
            &url,
            &["journal", "--carrier", "acme", "--period", "2026-04", "--out", &journal.display().to_string()],
        );
        assert_eq!(account_balance(&read_csv(&journal), "5140"), rust_decimal::Decimal::ZERO, "{backend}");

        // May's invoice credits March's rebate once more (the rent, and -2.00 dated March): April
        // paid the 2.00 back already, so none of it is paid back again: 25.00 - 2.00 = 23.00.
        let may = folder.path().join(format!("invoice-acme-05-{backend}.csv"));
        std::fs::write(
            &may,
            "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency,charge_type,charge_code\n\
             acme,ACME-2026-05,C1,,sms,2026-05-01T00:00:00Z,,,,25.00,USD,recurring,NUM-RENT\n\
             acme,ACME-2026-05,R1,,sms,2026-03-01T00:00:00Z,,,,-2.00,USD,credit,REB\n",
        )
        .unwrap();
        reckon_ok_on(&url, &["import", "invoice", &may.display().to_string(), "--period", "2026-05"]);
        reckon_ok_on(&url, &["reconcile", "--carrier", "acme", "--period", "2026-05", "--quiet"]);
        let (code, may_statement, stderr) = settle("2026-05", false);
        assert_eq!(code, Some(0), "{backend}: {stderr}");
        assert!(!may_statement.contains("late rebates"), "{backend}: {may_statement}");
        assert!(may_statement.contains("  net to pay         23.00 USD"), "{backend}: {may_statement}");

        // March's invoice replaced (the tax corrected to 0.13) after its run: the run no longer
        // tells the rebates due of the current version, and settling is refused until run again.
        let replaced_folder = folder.path().join(format!("replaced-{backend}"));
        std::fs::create_dir_all(&replaced_folder).unwrap();
        let replaced = invoice_with_charges(
            "invoice-acme.csv",
            "acme",
            "ACME-2026-03",
            &[ACME[0], "C2,sms,2026-03-31T00:00:00Z,0.13,USD,tax,VAT", ACME[2]],
            &replaced_folder,
        );
        reckon_ok_on(&url, &["import", "invoice", &replaced, "--replace"]);
        let (code, _, stderr) = settle("2026-03", true);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(
            stderr.contains("out of date") && stderr.contains("invoice ACME-2026-03 is at version 2"),
            "{backend}: {stderr}"
        );
        reckon_ok_on(&url, &["reconcile", "--carrier", "acme", "--period", "2026-03", "--quiet"]);
        // 26.63 - 2.00 = 24.63, a correction.
        let (code, corrected, stderr) = settle("2026-03", true);
        assert_eq!(code, Some(0), "{backend}: {stderr}");
        assert!(corrected.contains("  net to pay         24.63 USD"), "{backend}: {corrected}");
        // A late March record (an SMS to 44 the rebate counts) after the run: out of date again.
        let late_usage = folder.path().join(format!("late-usage-{backend}.csv"));
        std::fs::write(
            &late_usage,
            "record_id,service,carrier,carrier_ref,customer,started_at,origin,destination,quantity
             late1,sms,acme,,c1,2026-03-30T10:00:00Z,,+44770000003,1
",
        )
        .unwrap();
        reckon_ok_on(&url, &["import", "usage", &late_usage.display().to_string()]);
        let (code, _, stderr) = settle("2026-03", true);
        assert_eq!(code, Some(2), "{backend}: {stderr}");
        assert!(stderr.contains("the usage its rebates count changed"), "{backend}: {stderr}");
    }
}

/// acme's commitment of 1.00 USD of voice a month (MIN-VOICE), as `contract_terms.csv`.
fn min_voice_terms(folder: &Path) -> std::path::PathBuf {
    let terms = folder.join("terms.csv");
    std::fs::write(
        &terms,
        "carrier,term,code,effective_from,effective_to,currency,period,metric,service,minimum\n\
         acme,commitment,MIN-VOICE,2026-01-01,,USD,month,spend,voice,1.00\n",
    )
    .unwrap();
    terms
}

/// Issue 17, forecast: `reckon commitments` and `GET /v1/commitments` from the real-time
/// accruals, on SQLite and PostgreSQL. acme commits to 1.00 USD of voice a month. Three calls
/// to +44 2071234567 of 60 s each in March, ingested by the service: acme's 44 rate 0.0120 USD a
/// minute in 60/6 increments with a 0.0010 connect fee, 0.012 + 0.001 = 0.013 each, 0.039 in
/// all. March is over and no traffic follows: the forecast is the final figure, 0.039 so far
/// and projected, a shortfall of 1.00 - 0.039 = 0.961 = 0.96, the one the ledger run of the
/// March invoice expects (`missing_charge`, no line bills it).
#[test]
fn the_commitment_forecast_equals_the_final_shortfall_when_the_month_ends_without_traffic() {
    use crate::serve::{event, http, json, start_server_with};
    let folder = tempfile::tempdir().unwrap();
    let terms = min_voice_terms(folder.path());
    let invoice = folder.path().join("invoice.csv");
    let calls = [("f1", "2026-03-05T10:00:00Z"), ("f2", "2026-03-10T10:00:00Z"), ("f3", "2026-03-20T10:00:00Z")];
    let mut text = String::from(
        "carrier,invoice_id,line_id,carrier_ref,service,started_at,destination,quantity,rate,amount,currency\n",
    );
    for (index, (_, at)) in calls.iter().enumerate() {
        text.push_str(&format!("acme,ACME-F,{index},,voice,{at},442071234567,60,0.012,0.013,USD\n"));
    }
    std::fs::write(&invoice, text).unwrap();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(folder.path()) {
        reckon_ok_on(&url, &["import", "rates", &rates]);
        reckon_ok_on(&url, &["import", "contract-terms", &terms.display().to_string()]);
        let token = reckon_ok_on(&url, &["apikey", "create", "--scope", "ingest,read"]).trim().to_owned();
        let (mut server, address) = start_server_with(&url, &[]);
        let events: Vec<String> = calls.iter().map(|(id, at)| event(id, "+442071234567", at, "60")).collect();
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &format!("[{}]", events.join(",")));
        assert_eq!(status, 200, "{backend}: {body}");
        let (status, body) = http(&address, "GET", "/v1/commitments?carrier=acme&period=2026-03", Some(&token), "");
        assert_eq!(status, 200, "{backend}: {body}");
        let served = json(&body);
        assert_eq!(served["as_of"], "2026-03-31", "{backend}");
        let commitment = &served["commitments"][0];
        assert_eq!(
            [&commitment["code"], &commitment["so_far"], &commitment["projected"], &commitment["projected_shortfall"]],
            ["MIN-VOICE", "0.039", "0.039", "0.96"],
            "{backend}: {body}"
        );
        assert_eq!((commitment["days_elapsed"].as_i64(), commitment["at_risk"].as_bool()), (Some(31), Some(true)));
        let (status, _) = http(&address, "GET", "/v1/commitments?carrier=acme&period=March", Some(&token), "");
        assert_eq!(status, 400, "{backend}");
        let _ = server.kill();
        let _ = server.wait();
        let shown = reckon_ok_on(&url, &["commitments", "--carrier", "acme", "--period", "2026-03"]);
        assert!(
            shown.contains("MIN-VOICE: 2026-03-01 to 2026-03-31 (day 31 of 31): spent 0.039 USD, minimum 1.00 USD, projected 0.039 USD, projected shortfall 0.96 USD AT RISK"),
            "{backend}: {shown}"
        );
        // The final figure: the ledger run of the invoice expects the same shortfall.
        reckon_ok_on(&url, &["import", "invoice", &invoice.display().to_string()]);
        let out = folder.path().join(format!("forecast-run-{backend}"));
        reckon_ok_on(
            &url,
            &["reconcile", "--carrier", "acme", "--period", "2026-03", "--out", &out.display().to_string(), "--quiet"],
        );
        let rows = read_csv(&out.join("discrepancies.csv"));
        assert_eq!(
            charge_rows(&rows),
            [["acme", "", "missing_charge", "MIN-VOICE", "0", "0.96", "-0.96", "USD"].map(str::to_owned).to_vec()],
            "{backend}"
        );
    }
}

/// Issue 17, alert: `commitment_at_risk` reaches the webhook once, through a real server, on
/// SQLite and PostgreSQL. acme commits to 1.00 USD of voice in March; three calls of 60 s to
/// +44 2071234567 cost 0.013 each (see the forecast test above): 0.039 spent when March is over,
/// a projected shortfall of 1.00 - 0.039 = 0.961 = 0.96, over the rule's 0.50. The rule for
/// borealis (threshold 0: any shortfall) fires nothing: borealis has no commitment.
#[test]
fn commitment_at_risk_reaches_the_webhook_once() {
    use crate::serve::{event, http, json, start_server_with, wait_for, webhook_receiver};
    let folder = tempfile::tempdir().unwrap();
    let terms = min_voice_terms(folder.path());
    let rules = folder.path().join("alerts.csv");
    std::fs::write(
        &rules,
        "rule,subject,threshold\ncommitment_at_risk,carrier:acme,0.50\ncommitment_at_risk,carrier:borealis,0\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let rates = fixtures().join("basic/rates.csv").display().to_string();
    for (backend, url) in ledger_urls(folder.path()) {
        reckon_ok_on(&url, &["import", "rates", &rates]);
        reckon_ok_on(&url, &["import", "contract-terms", &terms.display().to_string()]);
        let token = reckon_ok_on(&url, &["apikey", "create", "--scope", "ingest,read"]).trim().to_owned();
        let (hook, received) = webhook_receiver(0);
        let (mut server, address) =
            start_server_with(&url, &["--alerts", &rules, "--webhook", &hook, "--alert-interval-ms", "100"]);
        let calls = [("w1", "2026-03-05T10:00:00Z"), ("w2", "2026-03-10T10:00:00Z"), ("w3", "2026-03-20T10:00:00Z")];
        let events: Vec<String> = calls.iter().map(|(id, at)| event(id, "+442071234567", at, "60")).collect();
        let (status, body) = http(&address, "POST", "/v1/usage", Some(&token), &format!("[{}]", events.join(",")));
        assert_eq!(status, 200, "{backend}: {body}");
        assert!(wait_for(20, || !received.lock().unwrap().is_empty()), "{backend}: no alert delivered");
        // A fourth call (0.013 more: 0.948 short, still over 0.50) changes nothing: it fired once.
        let (status, body) = http(
            &address,
            "POST",
            "/v1/usage",
            Some(&token),
            &event("w4", "+442071234567", "2026-03-25T10:00:00Z", "60"),
        );
        assert_eq!(status, 200, "{backend}: {body}");
        std::thread::sleep(std::time::Duration::from_millis(800));
        let deliveries = received.lock().unwrap().clone();
        assert_eq!(deliveries.len(), 1, "{backend}: {deliveries:?}");
        let alert = json(&deliveries[0].1);
        assert_eq!(
            (alert["rule"].as_str(), alert["subject"].as_str(), alert["period"].as_str()),
            (
                Some("commitment_at_risk carrier:acme 0.5"),
                Some("carrier:acme"),
                Some("commitment:MIN-VOICE:2026-03-01")
            ),
            "{backend}: {alert}"
        );
        let message = alert["message"].as_str().unwrap();
        assert!(
            message.contains("projected at 0.039 USD against 1 (day 31 of 31): a shortfall of 0.96 USD, over 0.5"),
            "{backend}: {message}"
        );
        let _ = server.kill();
        let _ = server.wait();
    }
}
