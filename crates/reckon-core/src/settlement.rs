//! Settlement: the net amount paid to (or claimed from) a carrier for a period, and the journal
//! entries an accounting system imports for it.
//!
//! Policy: pay the undisputed part. From what the carrier invoiced we take off the credits it
//! accepted and withhold what is still in dispute; what the carrier owes us on our own invoices
//! to it is netted. Everything is exact until the net amount, which alone is rounded to the
//! currency's minor unit, half to even.

use crate::money::{round_to_minor_units, NoMinorUnit};
use crate::Currency;
use rust_decimal::Decimal;

/// The figures a statement is computed from, all in the settlement currency.
#[derive(Clone, Debug, PartialEq)]
pub struct SettlementInputs {
    pub currency: Currency,
    /// Sum of the amounts the carrier billed for the period.
    pub invoiced: Decimal,
    /// Credits the carrier accepted in answered disputes.
    pub accepted_credits: Decimal,
    /// Amounts claimed in disputes the carrier has not answered yet.
    pub withheld: Decimal,
    /// What the carrier owes us on our invoices to it, netted against its own.
    pub receivable: Decimal,
}

/// A settlement statement's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub inputs: SettlementInputs,
    /// `invoiced - accepted_credits - withheld - receivable`, exact.
    pub net_exact: Decimal,
    /// The net rounded to the currency's minor unit, half to even: positive, we pay the
    /// carrier; negative, the carrier pays us.
    pub net: Decimal,
}

/// Computes a statement.
///
/// # Errors
/// When the currency has no minor unit.
///
/// # Properties
/// `net` is within half a minor unit of `invoiced - accepted_credits - withheld - receivable`.
pub fn settle(inputs: SettlementInputs) -> Result<Statement, NoMinorUnit> {
    let net_exact = inputs.invoiced - inputs.accepted_credits - inputs.withheld - inputs.receivable;
    let net = round_to_minor_units(net_exact, inputs.currency)?;
    Ok(Statement { inputs, net_exact, net })
}

/// One line of a journal entry.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalLine {
    pub account: String,
    pub debit: Decimal,
    pub credit: Decimal,
    pub memo: String,
}

/// The journal entries of a statement. Debits equal credits. Amounts are rounded to the minor
/// unit like the net, and the payment line takes the rounding, so the books balance exactly.
///
/// # Errors
/// When the currency has no minor unit.
pub fn journal(statement: &Statement, carrier: &str, period: &str) -> Result<Vec<JournalLine>, NoMinorUnit> {
    let currency = statement.inputs.currency;
    let round = |amount| round_to_minor_units(amount, currency);
    let payable = format!("2100 Accounts payable:{carrier}");
    let invoiced = round(statement.inputs.invoiced)?;
    let credits = round(statement.inputs.accepted_credits)?;
    let receivable = round(statement.inputs.receivable)?;
    let mut lines = vec![
        line("5100 Carrier costs", invoiced, Decimal::ZERO, format!("{carrier} invoices for {period}")),
        line(&payable, Decimal::ZERO, invoiced, format!("{carrier} invoices for {period}")),
    ];
    if !credits.is_zero() {
        lines.push(line(&payable, credits, Decimal::ZERO, format!("{carrier} accepted dispute credits, {period}")));
        lines.push(line(
            "5100 Carrier costs",
            Decimal::ZERO,
            credits,
            format!("{carrier} accepted dispute credits, {period}"),
        ));
    }
    if !receivable.is_zero() {
        lines.push(line(
            &payable,
            receivable,
            Decimal::ZERO,
            format!("netting of our invoices to {carrier}, {period}"),
        ));
        lines.push(line(
            &format!("1200 Accounts receivable:{carrier}"),
            Decimal::ZERO,
            receivable,
            format!("netting of our invoices to {carrier}, {period}"),
        ));
    }
    let net = statement.net;
    if net > Decimal::ZERO {
        lines.push(line(&payable, net, Decimal::ZERO, format!("payment to {carrier}, {period}")));
        lines.push(line("1000 Bank", Decimal::ZERO, net, format!("payment to {carrier}, {period}")));
    } else if net < Decimal::ZERO {
        lines.push(line("1000 Bank", -net, Decimal::ZERO, format!("payment from {carrier}, {period}")));
        lines.push(line(&payable, Decimal::ZERO, -net, format!("payment from {carrier}, {period}")));
    }
    let debits: Decimal = lines.iter().map(|line| line.debit).sum();
    let credits_total: Decimal = lines.iter().map(|line| line.credit).sum();
    assert_eq!(debits, credits_total, "a journal entry balances");
    Ok(lines)
}

fn line(account: &str, debit: Decimal, credit: Decimal, memo: String) -> JournalLine {
    JournalLine { account: account.to_owned(), debit, credit, memo }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn pay_the_undisputed_part_net_of_what_they_owe_us() {
        // Invoiced 1,000.005 EUR; 12.50 accepted; 7.25 still disputed; we invoiced them 100.
        // 1000.005 - 12.5 - 7.25 - 100 = 880.255 -> 880.26 (half to even: 5 after 5 rounds up to 6)
        let statement = settle(SettlementInputs {
            currency: Currency::EUR,
            invoiced: d("1000.005"),
            accepted_credits: d("12.5"),
            withheld: d("7.25"),
            receivable: d("100"),
        })
        .unwrap();
        assert_eq!(statement.net_exact, d("880.255"));
        assert_eq!(statement.net, d("880.26"));
        let journal = journal(&statement, "acme", "2026-03").unwrap();
        let debits: Decimal = journal.iter().map(|line| line.debit).sum();
        let credits: Decimal = journal.iter().map(|line| line.credit).sum();
        assert_eq!(debits, credits);
        let bank: Decimal = journal.iter().filter(|line| line.account == "1000 Bank").map(|line| line.credit).sum();
        assert_eq!(bank, d("880.26"));
    }

    #[test]
    fn the_carrier_pays_when_it_owes_more() {
        // JPY: 1000 invoiced, 1500.5 owed to us: net -500.5 -> -500 (tie to even)
        let statement = settle(SettlementInputs {
            currency: Currency::parse("JPY").unwrap(),
            invoiced: d("1000"),
            accepted_credits: Decimal::ZERO,
            withheld: Decimal::ZERO,
            receivable: d("1500.5"),
        })
        .unwrap();
        assert_eq!(statement.net, d("-500"));
        let journal = journal(&statement, "acme", "2026-03").unwrap();
        assert!(journal.iter().any(|line| line.account == "1000 Bank" && line.debit == d("500")));
    }
}
