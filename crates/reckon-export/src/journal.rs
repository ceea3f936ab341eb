//! Settlement journals in the shapes accounting systems import: CSV, hledger and beancount.
//! Every format carries each line's entry id, and the account's code apart from its name.

use reckon_core::settlement::{Account, JournalEntry};
use reckon_core::{Currency, Decimal};
use std::collections::BTreeMap;
use std::io::Write;

/// Which shape `reckon journal` and the service's journal route write.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JournalFormat {
    /// `entry_id,date,account_code,account,debit,credit,currency,memo`, one row per line.
    Csv,
    /// An hledger journal (plain text accounting), with account and commodity declarations.
    Hledger,
    /// A beancount ledger, with `open` directives.
    Beancount,
}

impl JournalFormat {
    /// Parses `csv`, `hledger` or `beancount`.
    ///
    /// # Errors
    /// Any other name, with the ones expected.
    pub fn parse(name: &str) -> Result<JournalFormat, String> {
        match name {
            "csv" => Ok(JournalFormat::Csv),
            "hledger" => Ok(JournalFormat::Hledger),
            "beancount" => Ok(JournalFormat::Beancount),
            other => Err(format!("journal format {other:?}: expected csv, hledger or beancount")),
        }
    }

    /// The media type of the format's text.
    pub fn content_type(self) -> &'static str {
        match self {
            JournalFormat::Csv => "text/csv",
            JournalFormat::Hledger | JournalFormat::Beancount => "text/plain; charset=utf-8",
        }
    }
}

/// Writes journal entries in a format.
///
/// # Errors
/// When the writer fails.
pub fn write_journal<W: Write>(writer: W, format: JournalFormat, entries: &[JournalEntry]) -> std::io::Result<()> {
    match format {
        JournalFormat::Csv => write_csv(writer, entries).map_err(std::io::Error::from),
        JournalFormat::Hledger => write_hledger(writer, entries),
        JournalFormat::Beancount => write_beancount(writer, entries),
    }
}

fn write_csv<W: Write>(writer: W, entries: &[JournalEntry]) -> csv::Result<()> {
    let mut csv_writer = csv::Writer::from_writer(writer);
    csv_writer.write_record(["entry_id", "date", "account_code", "account", "debit", "credit", "currency", "memo"])?;
    for entry in entries {
        let amount = |value: Decimal| if value.is_zero() { String::new() } else { money(value, entry.currency) };
        for line in &entry.lines {
            csv_writer.write_record([
                entry.entry_id.as_str(),
                &entry.date.to_string(),
                line.account.code,
                &line.account.name,
                &amount(line.debit),
                &amount(line.credit),
                entry.currency.as_str(),
                &entry.memo,
            ])?;
        }
    }
    csv_writer.flush()?;
    Ok(())
}

/// The accounts of a journal, by name, each with the date of its first entry.
fn accounts(entries: &[JournalEntry]) -> BTreeMap<&str, (&Account, jiff::civil::Date)> {
    let mut accounts = BTreeMap::new();
    for entry in entries {
        for line in &entry.lines {
            accounts.entry(line.account.name.as_str()).or_insert((&line.account, entry.date));
        }
    }
    accounts
}

/// A line's signed amount: debits positive, credits negative.
fn signed(line: &reckon_core::settlement::JournalLine, currency: Currency) -> String {
    money(line.debit - line.credit, currency)
}

/// An amount with its currency's minor unit of decimals (`-1.00` EUR, `500` JPY), never `-0`.
fn money(amount: Decimal, currency: Currency) -> String {
    let mut amount = if amount.is_zero() { Decimal::ZERO } else { amount };
    if let Some(places) = currency.minor_units() {
        amount.rescale(places);
    }
    amount.to_string()
}

fn write_hledger<W: Write>(mut writer: W, entries: &[JournalEntry]) -> std::io::Result<()> {
    writeln!(writer, "; settlement journal written by reckon")?;
    for (name, (account, _)) in accounts(entries) {
        writeln!(writer, "account {name}  ; code: {}", account.code)?;
    }
    let mut currencies: Vec<Currency> = entries.iter().map(|entry| entry.currency).collect();
    currencies.sort_unstable();
    currencies.dedup();
    for currency in currencies {
        writeln!(writer, "commodity {currency}")?;
    }
    for entry in entries {
        // hledger: DATE (CODE) DESCRIPTION; the code is the entry id.
        writeln!(writer, "\n{} ({}) {}", entry.date, entry.entry_id, one_line(&entry.memo))?;
        for line in &entry.lines {
            writeln!(writer, "    {}  {} {}", line.account.name, signed(line, entry.currency), entry.currency)?;
        }
    }
    writer.flush()
}

fn write_beancount<W: Write>(mut writer: W, entries: &[JournalEntry]) -> std::io::Result<()> {
    writeln!(writer, "; settlement journal written by reckon")?;
    for (name, (account, first_used)) in accounts(entries) {
        writeln!(writer, "{first_used} open {}\n  code: \"{}\"", beancount_account(name), account.code)?;
    }
    for entry in entries {
        writeln!(writer, "\n{} * \"{}\"", entry.date, quoted(&entry.memo))?;
        writeln!(writer, "  entry_id: \"{}\"", quoted(&entry.entry_id))?;
        for line in &entry.lines {
            writeln!(
                writer,
                "  {}  {} {}",
                beancount_account(&line.account.name),
                signed(line, entry.currency),
                entry.currency
            )?;
        }
    }
    writer.flush()
}

/// An account name as beancount spells it: each level starts with a capital letter or digit and
/// holds letters, digits and dashes (`liabilities:payable:acme_tel` -> `Liabilities:Payable:Acme-tel`).
fn beancount_account(name: &str) -> String {
    let levels: Vec<String> = name
        .split(':')
        .map(|level| {
            let mut text: String =
                level.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect();
            match text.chars().next() {
                Some(first) if first.is_ascii_alphanumeric() => {
                    text.replace_range(..1, &first.to_ascii_uppercase().to_string())
                }
                _ => text.insert(0, 'X'),
            }
            text
        })
        .collect();
    levels.join(":")
}

/// Text inside a beancount string.
fn quoted(text: &str) -> String {
    one_line(text).replace('\\', "\\\\").replace('"', "\\\"")
}

fn one_line(text: &str) -> String {
    text.replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beancount_account_names() {
        assert_eq!(beancount_account("liabilities:payable:acme_tel"), "Liabilities:Payable:Acme-tel");
        assert_eq!(beancount_account("assets:receivable:-x"), "Assets:Receivable:X-x");
        assert_eq!(beancount_account("expenses:carrier-costs"), "Expenses:Carrier-costs");
    }

    #[test]
    fn format_names() {
        assert_eq!(JournalFormat::parse("hledger"), Ok(JournalFormat::Hledger));
        assert_eq!(
            JournalFormat::parse("ledger").unwrap_err(),
            "journal format \"ledger\": expected csv, hledger or beancount"
        );
    }
}
