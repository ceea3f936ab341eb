//! `reckon deck update` (apply a carrier's new A-Z deck) and `reckon deck from-xlsx`.

use crate::args::{DeckFromXlsxArgs, DeckUpdateArgs};
use crate::pipeline::write_atomically;
use anyhow::{bail, Context};
use reckon_core::deck_update::{apply_deck, UpdatePolicy};
use reckon_core::Timestamp;
use reckon_import::rates::{load_deck, load_deck_entries, DeckKind};
use reckon_import::{BadRowPolicy, NoProgress};
use std::fmt::Write as _;
use std::process::ExitCode;

/// Runs `reckon deck update`: writes the updated rows and prints what deserves attention.
pub fn update_command(arguments: &DeckUpdateArgs) -> anyhow::Result<ExitCode> {
    let current =
        load_deck(std::slice::from_ref(&arguments.rates), DeckKind::CarrierRates, BadRowPolicy::Fail, &mut NoProgress)?;
    let entries = load_deck_entries(&arguments.deck)?;
    let days = |days: u32| jiff::SignedDuration::from_hours(i64::from(days) * 24);
    let contracts = match &arguments.contracts {
        Some(path) => reckon_import::contracts::load_contracts(path)?,
        None => Default::default(),
    };
    let policy = UpdatePolicy {
        issued_at: parse_instant(&arguments.issued).with_context(|| format!("--issued {:?}", arguments.issued))?,
        notice_min: days(arguments.notice_days),
        notice_min_by_carrier: contracts
            .iter()
            .filter_map(|(carrier, terms)| terms.notice_days.map(|notice| (carrier.clone(), days(notice))))
            .collect(),
        defer_short_notice: arguments.defer_short_notice,
        rounding_by_carrier: contracts
            .iter()
            .filter_map(|(carrier, terms)| terms.rounding.map(|rounding| (carrier.clone(), rounding)))
            .collect(),
    };
    let update = apply_deck(current.deck.rows().to_vec(), &entries, &policy);
    // The result must itself be a valid deck before it replaces anything.
    let mut check = reckon_core::RateDeck::new();
    for row in &update.rows {
        check.insert(row.clone()).map_err(|error| anyhow::anyhow!("the updated deck is inconsistent: {error}"))?;
    }
    write_atomically(&arguments.out, |file| Ok(reckon_export::rates::write_rates(file, "carrier", &update.rows)?))?;
    let mut text = format!(
        "{} entries applied: {} rows before, {} after; written to {}\n",
        entries.len(),
        current.deck.len(),
        update.rows.len(),
        arguments.out.display()
    );
    for flag in &update.flags {
        let _ = writeln!(text, "flag: {flag}");
    }
    crate::print_report(&text)?;
    Ok(if arguments.fail_on_flag && !update.flags.is_empty() { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

/// An RFC 3339 instant, or a date taken at midnight UTC.
fn parse_instant(text: &str) -> anyhow::Result<Timestamp> {
    if let Ok(instant) = text.parse::<Timestamp>() {
        return Ok(instant);
    }
    let date: jiff::civil::Date = text.parse().context("expected an RFC 3339 instant or a date like 2026-03-01")?;
    Ok(date.to_zoned(jiff::tz::TimeZone::UTC)?.timestamp())
}

/// Runs `reckon deck from-xlsx`: converts the sheet, then reads the result back as a deck so that
/// a bad cell is reported by its sheet row and nothing invalid is written.
pub fn from_xlsx_command(arguments: &DeckFromXlsxArgs) -> anyhow::Result<ExitCode> {
    let mapping = pairs(&arguments.map, "--map")?;
    let constants = pairs(&arguments.constants, "--set")?;
    let mut columns = reckon_export::rates::columns("carrier").to_vec();
    // A mapped `change` column makes the result a deck update (`deck update --deck`).
    let entries = mapping.iter().any(|(column, _)| column == "change");
    if entries {
        columns.push("change");
    }
    let layout = reckon_import::xlsx::SheetLayout {
        sheet: arguments.sheet.clone(),
        header_row: arguments.header_row,
        date_format: arguments.date_format.clone(),
    };
    let staging = arguments.out.with_extension("staging.csv");
    let file = std::io::BufWriter::new(fs_err::File::create(&staging)?);
    let converted = reckon_import::xlsx::xlsx_to_csv(&arguments.xlsx, &layout, &columns, &mapping, &constants, file);
    let info = match converted {
        Ok(info) => info,
        Err(error) => {
            let _ = fs_err::remove_file(&staging);
            return Err(error.into());
        }
    };
    let footer =
        info.footer.as_ref().map_or(String::new(), |(row, text)| format!("; footer at row {row} ignored: {text:?}"));
    if entries {
        // Read back as deck entries so that a bad cell is reported by its sheet row; the staging
        // file is already the canonical entries form.
        let loaded = load_deck_entries(&staging);
        if let Err(error) = loaded {
            let _ = fs_err::remove_file(&staging);
            return Err(reckon_import::xlsx::locate_in_sheet(&error, &arguments.xlsx, &info).into());
        }
        let count = loaded.map(|entries| entries.len()).unwrap_or_default();
        fs_err::rename(&staging, &arguments.out)?;
        crate::print_report(&format!(
            "{} rows read from sheet {:?} of {}{footer}; {count} deck entries written to {}\n",
            info.data_rows.len(),
            info.sheet,
            arguments.xlsx.display(),
            arguments.out.display()
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    let loaded = load_deck(std::slice::from_ref(&staging), DeckKind::CarrierRates, BadRowPolicy::Fail, &mut NoProgress);
    let _ = fs_err::remove_file(&staging);
    let deck = loaded.map_err(|error| reckon_import::xlsx::locate_in_sheet(&error, &arguments.xlsx, &info))?.deck;
    write_atomically(&arguments.out, |file| Ok(reckon_export::rates::write_rates(file, "carrier", deck.rows())?))?;
    crate::print_report(&format!(
        "{} rows read from sheet {:?} of {}{footer}; {} rate rows written to {}\n",
        info.data_rows.len(),
        info.sheet,
        arguments.xlsx.display(),
        deck.len(),
        arguments.out.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Parses `a=b,c=d`.
fn pairs(text: &str, flag: &str) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for part in text.split(',').map(str::trim).filter(|part| !part.is_empty()) {
        let Some((name, value)) = part.split_once('=') else {
            bail!("{flag}: expected COLUMN=VALUE, got {part:?}");
        };
        pairs.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    Ok(pairs)
}
