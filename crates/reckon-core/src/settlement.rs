//! Settlement: the net amount paid to (or claimed from) a carrier for a period, and the journal
//! entries an accounting system imports for it.
//!
//! Policy: pay the undisputed part. From what the carrier invoiced we take off the credits it
//! accepted and withhold what is still in dispute; what the carrier owes us on our own invoices
//! to it is netted. Everything is exact until the net amount, which alone is rounded to the
//! currency's minor unit, half to even.
//!
//! A carrier billed in several currencies gets one statement per currency, or, when its contract
//! names a settlement currency, one statement in that currency with each conversion shown.

use crate::charges::ChargeType;
use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::fx::{FxError, FxTable};
use crate::money::{round_cost, round_to_minor_units, NoMinorUnit};
use crate::Currency;
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::collections::BTreeMap;

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
    /// What the carrier owes us on our invoices to it, netted against its own, and the
    /// rebates due to us that its invoices did not credit (`rebates_due`).
    pub receivable: Decimal,
    /// The part of `invoiced` billed by contract charge lines (issue 17), per charge type
    /// (never `usage`); empty for invoices of usage only.
    pub charges: BTreeMap<ChargeType, Decimal>,
    /// The part of `receivable` that is rebates due to us ([`rebates_due`]).
    pub rebates_due: Decimal,
    /// The part of `accepted_credits` granted on contract charge lines, per charge type (never
    /// `usage`): a credited shortfall is booked back to the shortfall's account, not to the
    /// carrier costs.
    pub credited_charges: BTreeMap<ChargeType, Decimal>,
    /// Rebates this period's invoices credit for an earlier period whose own statement netted
    /// them as due already ([`late_rebate_already_netted`]): added back to what we pay, so that
    /// a rebate is taken once.
    pub rebates_netted_before: Decimal,
}

impl SettlementInputs {
    /// No figures yet, in `currency`.
    pub fn zero(currency: Currency) -> SettlementInputs {
        SettlementInputs {
            currency,
            invoiced: Decimal::ZERO,
            accepted_credits: Decimal::ZERO,
            withheld: Decimal::ZERO,
            receivable: Decimal::ZERO,
            charges: BTreeMap::new(),
            rebates_due: Decimal::ZERO,
            credited_charges: BTreeMap::new(),
            rebates_netted_before: Decimal::ZERO,
        }
    }

    /// The part of `invoiced` that is usage: the invoiced amount less the charge lines.
    pub fn usage_invoiced(&self) -> Option<Decimal> {
        self.charges.values().try_fold(self.invoiced, |sum, amount| sum.checked_sub(*amount))
    }
}

/// The rebates due to us per currency from a run's discrepancies: each `rebate_missing` (a
/// rebate the contract grants that no invoice line credits) becomes a receivable of its
/// amount, `-expected`, netted at settlement. A rebate credited short (`rebate_mismatch`) is a
/// line, disputed like any overcharge instead.
///
/// # Properties
/// Every amount is positive; a run without `rebate_missing` rows gives none.
pub fn rebates_due(discrepancies: &[Discrepancy]) -> BTreeMap<Currency, Decimal> {
    let mut due: BTreeMap<Currency, Decimal> = BTreeMap::new();
    for discrepancy in discrepancies {
        if discrepancy.kind != DiscrepancyKind::RebateMissing {
            continue;
        }
        let Some(credit) = discrepancy.expected_amount.map(|expected| -expected) else { continue };
        if credit > Decimal::ZERO {
            let sum = due.entry(discrepancy.currency).or_default();
            *sum = sum.checked_add(credit).unwrap_or(Decimal::MAX);
        }
    }
    due
}

/// Why a period's run cannot tell the rebates due at settlement, when it cannot: it reconciled
/// other invoice versions than the period's current ones (`reconciled` and `current`: version
/// per invoice id), so an invoice replaced or added since may credit a rebate the run reports
/// missing (netted twice) or drop one it credited (never claimed); or it measured the rebates on
/// another deck, other contract terms or other usage than the ledger holds now (`same_basis`
/// false). Settlement then refuses until the period is reconciled again.
pub fn run_staleness(
    reconciled: &BTreeMap<String, i64>,
    current: &BTreeMap<String, i64>,
    same_basis: bool,
) -> Option<String> {
    for (invoice_id, version) in current {
        match reconciled.get(invoice_id) {
            None => return Some(format!("invoice {invoice_id} was imported after it")),
            Some(run_version) if run_version != version => {
                return Some(format!(
                    "invoice {invoice_id} is at version {version}, it reconciled version {run_version}"
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(invoice_id) = reconciled.keys().find(|invoice_id| !current.contains_key(*invoice_id)) {
        return Some(format!("invoice {invoice_id}, which it reconciled, is no longer of the period"));
    }
    (!same_basis).then(|| "the deck, the contract terms or the usage its rebates count changed since".to_owned())
}

/// How much of the rebate a later period's invoices credit for an earlier period (`credited_now`,
/// a positive amount) its own period's statement netted already: that period took the whole
/// rebate due (`due`, its latest run's `rebate_missing`) as a receivable, so a credit paying it
/// later would take it a second time. The part of `due` that credits on periods before this one
/// covered (`credited_before`) is not added back twice; a credit beyond the due is the
/// carrier's, paid as invoiced.
///
/// # Properties
/// The result lies between 0 and `credited_now`, and over the later periods in order the
/// results add up to at most `due`.
pub fn late_rebate_already_netted(due: Decimal, credited_before: Decimal, credited_now: Decimal) -> Decimal {
    let left = due.checked_sub(credited_before).unwrap_or(Decimal::ZERO).max(Decimal::ZERO);
    credited_now.max(Decimal::ZERO).min(left)
}

/// A rebate credited late: the rebate terms it pays (indexes into the carrier's terms) and the
/// amount credited, positive.
pub type LateCredit = (Vec<usize>, Decimal);

/// What a period's statement adds back of the rebates its invoices credit late for one earlier
/// month, in one currency ([`late_rebate_already_netted`]): `credited_now` and
/// `credited_before` (the invoices of the months between) list each credit with the rebate terms
/// it pays (indexes; a code-named credit one, a codeless one several), as positive amounts.
/// Credits of overlapping terms pay the same rebates, so this period's credits are taken
/// together, against the rebates due of all their terms (`due_of`), less the credits before of
/// any of those terms.
///
/// # Properties
/// Over the later periods in order, what is added back for a rebate month never exceeds the
/// rebates due of the terms credited.
pub fn late_rebates_to_add_back(
    credited_now: &[LateCredit],
    credited_before: &[LateCredit],
    due_of: &dyn Fn(&[usize]) -> Decimal,
) -> Decimal {
    let mut terms: Vec<usize> = credited_now.iter().flat_map(|(terms, _)| terms.iter().copied()).collect();
    terms.sort_unstable();
    terms.dedup();
    let sum = |credits: &mut dyn Iterator<Item = Decimal>| {
        credits.fold(Decimal::ZERO, |sum, credit| sum.checked_add(credit).unwrap_or(Decimal::MAX))
    };
    let now = sum(&mut credited_now.iter().map(|(_, credit)| *credit));
    let before = sum(&mut credited_before
        .iter()
        .filter(|(paid, _)| paid.iter().any(|term| terms.contains(term)))
        .map(|(_, credit)| *credit));
    late_rebate_already_netted(due_of(&terms), before, now)
}

/// A settlement statement's figures.
#[derive(Clone, Debug, PartialEq)]
pub struct Statement {
    pub inputs: SettlementInputs,
    /// `invoiced - accepted_credits - withheld - receivable + rebates_netted_before`, exact.
    pub net_exact: Decimal,
    /// The net rounded to the currency's minor unit, half to even: positive, we pay the
    /// carrier; negative, the carrier pays us.
    pub net: Decimal,
    /// The figures in other currencies converted into `inputs.currency` (by their currency;
    /// empty when everything was in it already).
    pub conversions: Vec<Conversion>,
}

/// One currency's figures converted into a statement's currency: each figure times `rate`,
/// rounded like any converted amount (6 decimal places, half away from zero).
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The figures as billed, in their own currency.
    pub from: SettlementInputs,
    /// Units of the statement's currency per unit of `from.currency`.
    pub rate: Decimal,
    /// The day whose rates convert (the period's last day).
    pub date: Date,
}

/// Computes a statement.
///
/// # Errors
/// When the currency has no minor unit, or the net overflows.
///
/// # Properties
/// `net` is within half a minor unit of `invoiced - accepted_credits - withheld - receivable +
/// rebates_netted_before`.
pub fn settle(inputs: SettlementInputs) -> Result<Statement, SettlementError> {
    let net_exact = [inputs.accepted_credits, inputs.withheld, inputs.receivable]
        .into_iter()
        .try_fold(inputs.invoiced, Decimal::checked_sub)
        .and_then(|net| net.checked_add(inputs.rebates_netted_before))
        .ok_or(SettlementError::Overflow { currency: inputs.currency })?;
    let net = round_to_minor_units(net_exact, inputs.currency)?;
    Ok(Statement { inputs, net_exact, net, conversions: Vec::new() })
}

/// Computes one statement in `currency` from figures in several currencies: the figures in
/// `currency` count as they are, every other currency's are converted at the rate of `date`
/// (triangulated through EUR as `FxTable` does), each rounded to 6 decimal places half away
/// from zero, and listed as a conversion.
///
/// # Errors
/// A missing or stale rate, a currency without minor unit, or a figure past `Decimal`'s range.
///
/// # Properties
/// With figures in `currency` only, the statement is `settle`'s.
pub fn settle_in_currency(
    per_currency: &[SettlementInputs],
    currency: Currency,
    date: Date,
    fx: &FxTable,
) -> Result<Statement, SettlementError> {
    let overflow = SettlementError::Overflow { currency };
    let mut total = SettlementInputs::zero(currency);
    let mut conversions = Vec::new();
    for figures in per_currency {
        let rate = fx.convert(Decimal::ONE, figures.currency, currency, date)?;
        let same = figures.currency == currency;
        // Rounded like any converted amount (6 places, half away from zero), FORMATS.md.
        let convert = |amount: Decimal| {
            if same {
                return Ok(amount);
            }
            amount.checked_mul(rate).map(round_cost).ok_or(overflow.clone())
        };
        let add = |sum: &mut Decimal, amount: Decimal| -> Result<(), SettlementError> {
            *sum = sum.checked_add(convert(amount)?).ok_or(overflow.clone())?;
            Ok(())
        };
        add(&mut total.invoiced, figures.invoiced)?;
        add(&mut total.accepted_credits, figures.accepted_credits)?;
        add(&mut total.withheld, figures.withheld)?;
        add(&mut total.receivable, figures.receivable)?;
        add(&mut total.rebates_due, figures.rebates_due)?;
        add(&mut total.rebates_netted_before, figures.rebates_netted_before)?;
        for (charge_type, amount) in &figures.charges {
            add(total.charges.entry(*charge_type).or_default(), *amount)?;
        }
        for (charge_type, amount) in figures.credited_charges.iter().filter(|(_, amount)| !amount.is_zero()) {
            add(total.credited_charges.entry(*charge_type).or_default(), *amount)?;
        }
        if !same {
            // A conversion shows the four figures; their parts are in the statement's.
            let from = SettlementInputs {
                invoiced: figures.invoiced,
                accepted_credits: figures.accepted_credits,
                withheld: figures.withheld,
                receivable: figures.receivable,
                ..SettlementInputs::zero(figures.currency)
            };
            conversions.push(Conversion { from, rate: rate.normalize(), date });
        }
    }
    conversions.sort_by_key(|conversion| conversion.from.currency);
    let mut statement = settle(total)?;
    statement.conversions = conversions;
    Ok(statement)
}

/// Why a statement or its journal cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettlementError {
    #[error(transparent)]
    NoMinorUnit(#[from] NoMinorUnit),
    #[error("settlement figures of {currency} exceed the largest representable amount")]
    Overflow { currency: Currency },
    #[error("converting into the settlement currency: {0}")]
    Fx(#[from] FxError),
}

/// An account of the chart the journal posts to: a stable code for the accounting system, and
/// a hierarchical name (`:` separates levels; the first level is the account's type).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub code: &'static str,
    pub name: String,
}

impl Account {
    /// Cash paid out or received.
    pub fn bank() -> Account {
        Account { code: "1000", name: "assets:bank".to_owned() }
    }

    /// What the carrier owes us on our own invoices to it.
    pub fn receivable(carrier: &str) -> Account {
        Account { code: "1200", name: format!("assets:receivable:{}", account_level(carrier)) }
    }

    /// What we owe the carrier on its invoices.
    pub fn payable(carrier: &str) -> Account {
        Account { code: "2100", name: format!("liabilities:payable:{}", account_level(carrier)) }
    }

    /// The cost of the carrier's services.
    pub fn carrier_costs() -> Account {
        Account { code: "5100", name: "expenses:carrier-costs".to_owned() }
    }

    /// Where the contract charges of a type are booked (issue 17): usage is the carrier costs;
    /// the others each have their own account, rebates (credited, or due to us) included.
    pub fn charges(charge_type: ChargeType) -> Account {
        let (code, name) = match charge_type {
            ChargeType::Usage => return Account::carrier_costs(),
            ChargeType::Recurring => ("5110", "expenses:carrier-charges:recurring"),
            ChargeType::OneTime => ("5120", "expenses:carrier-charges:one-time"),
            ChargeType::CommitmentShortfall => ("5130", "expenses:carrier-charges:commitment-shortfall"),
            ChargeType::Rebate => ("5140", "expenses:carrier-charges:rebate"),
            ChargeType::Credit => ("5150", "expenses:carrier-charges:credit"),
            ChargeType::Tax => ("5160", "expenses:carrier-charges:tax"),
            ChargeType::Adjustment => ("5170", "expenses:carrier-charges:adjustment"),
        };
        Account { code, name: name.to_owned() }
    }

    /// Differences from rounding each figure to the currency's minor unit on its own.
    pub fn rounding() -> Account {
        Account { code: "5900", name: "expenses:rounding".to_owned() }
    }
}

/// A carrier id as one level of an account name: letters, digits, `-`, `_` and `.` are kept,
/// anything else (a `:` that would open a level, spaces) becomes `-`.
fn account_level(carrier: &str) -> String {
    carrier.chars().map(|c| if c.is_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '-' }).collect()
}

/// One line of a journal entry: a debit or a credit (the other is zero), never both.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalLine {
    pub account: Account,
    pub debit: Decimal,
    pub credit: Decimal,
}

/// One balanced entry: its lines' debits equal their credits, in its one currency.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    /// Unique within a journal, the same however often it is exported: the statement's id and
    /// what the entry books (`<statement>:invoices`, `<statement>:reversal`).
    pub entry_id: String,
    pub date: Date,
    pub currency: Currency,
    pub memo: String,
    pub lines: Vec<JournalLine>,
}

/// A statement as issued: its id and the date it was issued.
#[derive(Clone, Copy, Debug)]
pub struct IssuedStatement<'a> {
    pub statement_id: &'a str,
    pub date: Date,
    pub statement: &'a Statement,
}

/// The journal of a carrier's period in one currency: `chain` holds its statements in issue
/// order, each superseding the one before. Each superseded statement's entries are reversed (on
/// the date of the statement that supersedes it) before that statement's entries, so imported
/// whole the journal books the carrier's period once, as the statement in force says.
///
/// # Errors
/// When the currency has no minor unit, or a figure overflows.
///
/// # Properties
/// Every entry balances; over the whole journal the bank moves by the last statement's net and
/// the payable keeps only its rounded withheld amount.
pub fn journal(
    chain: &[IssuedStatement<'_>],
    carrier: &str,
    period: &str,
) -> Result<Vec<JournalEntry>, SettlementError> {
    let mut entries = Vec::new();
    let mut superseded: Option<(&IssuedStatement<'_>, Vec<JournalEntry>)> = None;
    for issued in chain {
        if let Some((old, booked)) = superseded.take() {
            if !booked.is_empty() {
                entries.push(reversal(old, &booked, issued, carrier, period));
            }
        }
        let booked = statement_entries(issued, carrier, period)?;
        entries.extend(booked.iter().cloned());
        superseded = Some((issued, booked));
    }
    Ok(entries)
}

/// The entries of one statement: the invoices, accepted credits and netted receivables at their
/// amounts rounded to the minor unit, the payment of the net, and the rounding difference, so
/// that the carrier's payable keeps exactly the rounded withheld amount.
fn statement_entries(
    issued: &IssuedStatement<'_>,
    carrier: &str,
    period: &str,
) -> Result<Vec<JournalEntry>, SettlementError> {
    let inputs = &issued.statement.inputs;
    let currency = inputs.currency;
    let round = |amount| round_to_minor_units(amount, currency);
    let overflow = SettlementError::Overflow { currency };
    let invoiced = round(inputs.invoiced)?;
    let credits = round(inputs.accepted_credits)?;
    let withheld = round(inputs.withheld)?;
    let receivable = round(inputs.receivable)?;
    let rebates_netted_before = round(inputs.rebates_netted_before)?;
    let net = issued.statement.net;
    // What the figures rounded one by one leave unpaid beyond the withheld claims:
    // invoiced - credits - withheld - receivable + rebates netted before - net, a few minor
    // units at most.
    let rounding = [credits, withheld, receivable, net]
        .into_iter()
        .try_fold(invoiced, Decimal::checked_sub)
        .and_then(|left| left.checked_add(rebates_netted_before))
        .ok_or(overflow.clone())?;
    let (payable, statement_id) = (Account::payable(carrier), issued.statement_id);
    let entry = |what: &str, memo: String, postings: [(Account, Decimal); 2]| JournalEntry {
        entry_id: format!("{statement_id}:{what}"),
        date: issued.date,
        currency,
        memo: format!("{memo} (statement {statement_id})"),
        lines: postings.into_iter().map(|(account, amount)| posting(account, amount)).collect(),
    };
    // The invoices: each charge type to its account at its rounded amount, the usage to the
    // carrier costs at what is left of the rounded total.
    let mut invoice_postings = Vec::new();
    let mut usage = invoiced;
    for (charge_type, amount) in &inputs.charges {
        let amount = round(*amount)?;
        usage = usage.checked_sub(amount).ok_or(overflow.clone())?;
        invoice_postings.push((Account::charges(*charge_type), amount));
    }
    invoice_postings.insert(0, (Account::carrier_costs(), usage));
    invoice_postings.push((payable.clone(), -invoiced));
    let invoices = JournalEntry {
        entry_id: format!("{statement_id}:invoices"),
        date: issued.date,
        currency,
        memo: format!("{carrier} invoices for {period} (statement {statement_id})"),
        lines: invoice_postings
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(account, amount)| posting(account, amount))
            .collect(),
    };
    // The accepted credits: each charge type's back to its account at its rounded amount, the
    // usage's to the carrier costs at what is left of the rounded total.
    let mut credit_postings = vec![(payable.clone(), credits)];
    let mut usage_credits = credits;
    for (charge_type, amount) in &inputs.credited_charges {
        let amount = round(*amount)?;
        usage_credits = usage_credits.checked_sub(amount).ok_or(overflow.clone())?;
        credit_postings.push((Account::charges(*charge_type), -amount));
    }
    credit_postings.insert(1, (Account::carrier_costs(), -usage_credits));
    let credits_entry = JournalEntry {
        entry_id: format!("{statement_id}:credits"),
        date: issued.date,
        currency,
        memo: format!("{carrier} accepted dispute credits, {period} (statement {statement_id})"),
        lines: credit_postings
            .into_iter()
            .filter(|(_, amount)| !amount.is_zero())
            .map(|(account, amount)| posting(account, amount))
            .collect(),
    };
    let rebates_due = round(inputs.rebates_due)?;
    let entries = [
        invoices,
        entry(
            "rebates",
            format!("rebates due from {carrier}, {period}"),
            [(Account::receivable(carrier), rebates_due), (Account::charges(ChargeType::Rebate), -rebates_due)],
        ),
        entry(
            "late-rebates",
            format!("rebates {carrier} credits late, netted before as due, {period}"),
            [(Account::charges(ChargeType::Rebate), rebates_netted_before), (payable.clone(), -rebates_netted_before)],
        ),
        credits_entry,
        entry(
            "netting",
            format!("netting of our invoices to {carrier}, {period}"),
            [(payable.clone(), receivable), (Account::receivable(carrier), -receivable)],
        ),
        entry(
            "rounding",
            format!("rounding of the settlement of {carrier}, {period}"),
            [(payable.clone(), rounding), (Account::rounding(), -rounding)],
        ),
        entry(
            "payment",
            format!("payment {} {carrier}, {period}", if net < Decimal::ZERO { "from" } else { "to" }),
            [(payable, net), (Account::bank(), -net)],
        ),
    ];
    Ok(entries.into_iter().filter(|entry| entry.lines.iter().any(|line| !line.is_zero())).collect())
}

/// One entry undoing every entry of a superseded statement, dated when it was superseded.
fn reversal(
    old: &IssuedStatement<'_>,
    booked: &[JournalEntry],
    by: &IssuedStatement<'_>,
    carrier: &str,
    period: &str,
) -> JournalEntry {
    JournalEntry {
        entry_id: format!("{}:reversal", old.statement_id),
        date: by.date,
        currency: old.statement.inputs.currency,
        memo: format!(
            "reversal of statement {} of {carrier}, {period}, superseded by statement {}",
            old.statement_id, by.statement_id
        ),
        lines: booked
            .iter()
            .flat_map(|entry| &entry.lines)
            .map(|line| JournalLine { account: line.account.clone(), debit: line.credit, credit: line.debit })
            .collect(),
    }
}

/// A signed amount as a line: positive is a debit, negative a credit.
fn posting(account: Account, amount: Decimal) -> JournalLine {
    if amount < Decimal::ZERO {
        JournalLine { account, debit: Decimal::ZERO, credit: -amount }
    } else {
        JournalLine { account, debit: amount, credit: Decimal::ZERO }
    }
}

impl JournalLine {
    fn is_zero(&self) -> bool {
        self.debit.is_zero() && self.credit.is_zero()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn inputs(currency: &str, figures: [&str; 4]) -> SettlementInputs {
        SettlementInputs {
            invoiced: d(figures[0]),
            accepted_credits: d(figures[1]),
            withheld: d(figures[2]),
            receivable: d(figures[3]),
            ..SettlementInputs::zero(Currency::parse(currency).unwrap())
        }
    }

    fn issued<'a>(statement_id: &'a str, day: i8, statement: &'a Statement) -> IssuedStatement<'a> {
        IssuedStatement { statement_id, date: jiff::civil::date(2026, 4, day), statement }
    }

    /// Balances (debit positive) per account name over a whole journal.
    fn balances(entries: &[JournalEntry]) -> BTreeMap<String, Decimal> {
        let mut balances = BTreeMap::new();
        for line in entries.iter().flat_map(|entry| &entry.lines) {
            *balances.entry(line.account.name.clone()).or_insert(Decimal::ZERO) += line.debit - line.credit;
        }
        balances
    }

    fn assert_every_entry_balances(entries: &[JournalEntry]) {
        for entry in entries {
            let debits: Decimal = entry.lines.iter().map(|line| line.debit).sum();
            let credits: Decimal = entry.lines.iter().map(|line| line.credit).sum();
            assert_eq!(debits, credits, "{}", entry.entry_id);
            assert!(entry.lines.iter().all(|line| line.debit.is_zero() || line.credit.is_zero()), "{}", entry.entry_id);
        }
    }

    #[test]
    fn pay_the_undisputed_part_net_of_what_they_owe_us() {
        // Invoiced 1,000.005 EUR; 12.50 accepted; 7.25 still disputed; we invoiced them 100.
        // 1000.005 - 12.5 - 7.25 - 100 = 880.255 -> 880.26 (half to even: 5 after 5 rounds up to 6)
        let statement = settle(inputs("EUR", ["1000.005", "12.5", "7.25", "100"])).unwrap();
        assert_eq!(statement.net_exact, d("880.255"));
        assert_eq!(statement.net, d("880.26"));
        let entries = journal(&[issued("s1", 6, &statement)], "acme", "2026-03").unwrap();
        assert_every_entry_balances(&entries);
        let balances = balances(&entries);
        assert_eq!(balances["assets:bank"], d("-880.26"));
        // 1000.005 -> 1000.00 (half to even) booked; 1000.00 - 12.50 - 7.25 - 100 = 880.25 owed,
        // 880.26 paid: the 0.01 goes to rounding, and the payable keeps the 7.25 withheld.
        assert_eq!(balances["expenses:rounding"], d("0.01"));
        assert_eq!(balances["liabilities:payable:acme"], d("-7.25"));
        assert_eq!(balances["expenses:carrier-costs"], d("987.50"));
        assert_eq!(balances["assets:receivable:acme"], d("-100"));
    }

    #[test]
    fn the_carrier_pays_when_it_owes_more() {
        // JPY: 1000 invoiced, 1500.5 owed to us: net -500.5 -> -500 (tie to even)
        let statement = settle(inputs("JPY", ["1000", "0", "0", "1500.5"])).unwrap();
        assert_eq!(statement.net, d("-500"));
        let entries = journal(&[issued("s1", 6, &statement)], "acme", "2026-03").unwrap();
        assert_every_entry_balances(&entries);
        let payment = entries.iter().find(|entry| entry.entry_id == "s1:payment").unwrap();
        assert!(payment.memo.starts_with("payment from acme"));
        assert!(payment.lines.iter().any(|line| line.account == Account::bank() && line.debit == d("500")));
        // 1500.5 -> 1500 (tie to even) netted; 1000 - 1500 = -500 = net: no rounding entry.
        assert!(entries.iter().all(|entry| entry.entry_id != "s1:rounding"));
        assert_eq!(balances(&entries)["liabilities:payable:acme"], Decimal::ZERO);
    }

    /// Issue 11, item 7: a correction booked the new statement without reversing the old one
    /// (both imported = the carrier paid twice), and the rounding stayed in the payable.
    #[test]
    fn a_corrected_statement_reverses_the_superseded_one_and_pays_once() {
        // First 3.724983 - 0.183 withheld - 1.00 = 2.541983 -> 2.54; booked one by one
        // 3.72 - 0.18 - 1.00 = 2.54: no rounding entry, no credits entry.
        let first = settle(inputs("EUR", ["3.724983", "0", "0.183", "1.00"])).unwrap();
        // Then 3.724983 - 0.11 credited - 0.995 = 2.619983 -> 2.62; booked one by one
        // 3.72 - 0.11 - 1.00 (0.995 half to even) = 2.61: 0.01 paid more, posted to rounding.
        let second = settle(inputs("EUR", ["3.724983", "0.11", "0", "0.995"])).unwrap();
        assert_eq!((first.net, second.net), (d("2.54"), d("2.62")));
        let chain = [issued("s1", 6, &first), issued("s2", 11, &second)];
        let entries = journal(&chain, "borealis", "2026-03").unwrap();
        assert_every_entry_balances(&entries);
        let ids: Vec<&str> = entries.iter().map(|entry| entry.entry_id.as_str()).collect();
        assert_eq!(
            ids,
            [
                "s1:invoices",
                "s1:netting",
                "s1:payment",
                "s1:reversal",
                "s2:invoices",
                "s2:credits",
                "s2:netting",
                "s2:rounding",
                "s2:payment"
            ]
        );
        let reversal = &entries[3];
        assert_eq!(reversal.date, jiff::civil::date(2026, 4, 11));
        let balances = balances(&entries);
        // Paid once: the second statement's net; nothing left in the payable (no claim pending).
        assert_eq!(balances["assets:bank"], d("-2.62"));
        assert_eq!(balances["liabilities:payable:borealis"], Decimal::ZERO);
        assert_eq!(balances["expenses:rounding"], d("0.01"));
        // 3.72 - 0.11 = 3.61 of costs, 1.00 netted against our receivable.
        assert_eq!(balances["expenses:carrier-costs"], d("3.61"));
        assert_eq!(balances["assets:receivable:borealis"], d("-1.00"));
    }

    #[test]
    fn figures_past_the_decimal_range_are_an_error() {
        let error =
            settle(inputs("EUR", ["-50000000000000000000000000000", "0", "0", "50000000000000000000000000000"]))
                .unwrap_err();
        assert_eq!(error.to_string(), "settlement figures of EUR exceed the largest representable amount");
    }

    /// Issue 11, item 3: a carrier billed in two currencies could not be settled at all.
    #[test]
    fn a_statement_in_the_settlement_currency_shows_each_conversion() {
        let march_31 = jiff::civil::date(2026, 3, 31);
        let mut fx = FxTable::new();
        fx.insert(march_31, Currency::parse("USD").unwrap(), d("1.25")).unwrap();
        let per_currency = [inputs("EUR", ["100", "0", "0", "0"]), inputs("USD", ["50", "0", "0", "10"])];
        let statement = settle_in_currency(&per_currency, Currency::EUR, march_31, &fx).unwrap();
        // 1 USD = 1 / 1.25 = 0.8 EUR: invoiced 100 + 50 * 0.8 = 140, receivable 10 * 0.8 = 8,
        // net 140 - 8 = 132.00 EUR.
        assert_eq!((statement.inputs.invoiced, statement.inputs.receivable), (d("140"), d("8")));
        assert_eq!(statement.net, d("132"));
        assert_eq!(
            statement.conversions,
            [Conversion { from: per_currency[1].clone(), rate: d("0.8"), date: march_31 }]
        );
        // Without a USD rate the statement cannot be made: an error, never a rate of 1.
        let error = settle_in_currency(&per_currency, Currency::EUR, march_31, &FxTable::new()).unwrap_err();
        assert_eq!(error.to_string(), "converting into the settlement currency: no exchange rate for USD");
    }

    /// Issue 17: a period with a commitment shortfall (disputed in part) and a rebate due.
    #[test]
    fn charge_types_are_booked_to_their_own_accounts_and_a_rebate_due_is_netted() {
        // Invoiced 120.004 EUR: usage 70.004, a recurring charge 25.00, a shortfall 30.00 and a
        // tax 5.25, a rebate credited -10.25. 12.00 of the shortfall is disputed (withheld); a
        // rebate of 3.50 is due to us (never credited), plus 1.00 of our own invoice.
        let mut figures = inputs("EUR", ["120.004", "0", "12.00", "4.50"]);
        figures.charges = BTreeMap::from([
            (ChargeType::Recurring, d("25.00")),
            (ChargeType::CommitmentShortfall, d("30.00")),
            (ChargeType::Rebate, d("-10.25")),
            (ChargeType::Tax, d("5.25")),
        ]);
        figures.rebates_due = d("3.50");
        assert_eq!(figures.usage_invoiced(), Some(d("70.004")));
        let statement = settle(figures).unwrap();
        // 120.004 - 12.00 - 4.50 = 103.504 -> 103.50.
        assert_eq!(statement.net, d("103.50"));
        let entries = journal(&[issued("s1", 6, &statement)], "acme", "2026-03").unwrap();
        assert_every_entry_balances(&entries);
        let balances = balances(&entries);
        // 120.00 booked (120.004 rounded): 25.00 + 30.00 - 10.25 + 5.25 = 50.00 of charges,
        // 120.00 - 50.00 = 70.00 of usage.
        assert_eq!(balances["expenses:carrier-costs"], d("70.00"));
        assert_eq!(balances["expenses:carrier-charges:recurring"], d("25.00"));
        assert_eq!(balances["expenses:carrier-charges:commitment-shortfall"], d("30.00"));
        assert_eq!(balances["expenses:carrier-charges:tax"], d("5.25"));
        // The rebate credited (-10.25) and the rebate due (-3.50): -13.75.
        assert_eq!(balances["expenses:carrier-charges:rebate"], d("-13.75"));
        // The receivable: +3.50 due, then 4.50 (3.50 + 1.00 of our invoice) netted: -1.00.
        assert_eq!(balances["assets:receivable:acme"], d("-1.00"));
        // The payable keeps the 12.00 withheld; 103.50 paid.
        assert_eq!(balances["liabilities:payable:acme"], d("-12.00"));
        assert_eq!(balances["assets:bank"], d("-103.50"));
        let codes: Vec<&str> = entries[0].lines.iter().map(|line| line.account.code).collect();
        assert_eq!(codes, ["5100", "5110", "5130", "5140", "5160", "2100"]);
    }

    /// Issue 17, review: an accepted credit on a shortfall was booked to the carrier costs, and
    /// a rebate credited a period late was taken a second time.
    #[test]
    fn a_credited_shortfall_goes_back_to_its_account_and_a_rebate_netted_before_is_paid_back() {
        // April, EUR: invoiced 50.00 = usage 40.00 + shortfall 12.00 + the first quarter's rebate
        // credited late -2.00. Accepted credits 6.00: 5.00 on the shortfall, 1.00 on a usage
        // line. March's statement netted that rebate (2.00) as due already: added back.
        let mut figures = inputs("EUR", ["50.00", "6.00", "0", "0"]);
        figures.charges =
            BTreeMap::from([(ChargeType::CommitmentShortfall, d("12.00")), (ChargeType::Rebate, d("-2.00"))]);
        figures.credited_charges = BTreeMap::from([(ChargeType::CommitmentShortfall, d("5.00"))]);
        figures.rebates_netted_before = d("2.00");
        let statement = settle(figures).unwrap();
        // 50.00 - 6.00 - 0 - 0 + 2.00 = 46.00: the 2.00 the April invoice takes off is paid, since
        // March took it.
        assert_eq!((statement.net_exact, statement.net), (d("46.00"), d("46.00")));
        let entries = journal(&[issued("s4", 6, &statement)], "acme", "2026-04").unwrap();
        assert_every_entry_balances(&entries);
        let balances = balances(&entries);
        // Usage 40.00 less its 1.00 credit; the shortfall 12.00 less its 5.00 credit.
        assert_eq!(balances["expenses:carrier-costs"], d("39.00"));
        assert_eq!(balances["expenses:carrier-charges:commitment-shortfall"], d("7.00"));
        // -2.00 credited, +2.00 paid back: the rebate is March's income alone.
        assert_eq!(balances["expenses:carrier-charges:rebate"], d("0"));
        // -50.00 invoiced + 6.00 credited - 2.00 paid back + 46.00 paid = 0 left.
        assert_eq!(balances["liabilities:payable:acme"], d("0"));
        assert_eq!(balances["assets:bank"], d("-46.00"));
        let credits = entries.iter().find(|entry| entry.entry_id == "s4:credits").unwrap();
        let codes: Vec<&str> = credits.lines.iter().map(|line| line.account.code).collect();
        assert_eq!(codes, ["2100", "5100", "5130"]);
    }

    #[test]
    fn a_rebate_credited_late_is_added_back_up_to_what_its_period_netted() {
        // Due 2.00 (netted by its period), credited late 2.00: all of it added back.
        assert_eq!(late_rebate_already_netted(d("2.00"), d("0"), d("2.00")), d("2.00"));
        // Credited 3.00: the 1.00 beyond the due is the carrier's, paid as invoiced.
        assert_eq!(late_rebate_already_netted(d("2.00"), d("0"), d("3.00")), d("2.00"));
        // In two parts: 1.50 in April, then 1.50 in May: 1.50, then 2.00 - 1.50 = 0.50.
        assert_eq!(late_rebate_already_netted(d("2.00"), d("0"), d("1.50")), d("1.50"));
        assert_eq!(late_rebate_already_netted(d("2.00"), d("1.50"), d("1.50")), d("0.50"));
        // Nothing was due (its run found it credited, or not reached): nothing added back.
        assert_eq!(late_rebate_already_netted(d("0"), d("0"), d("2.00")), d("0"));
    }

    /// Second review of issue 17: a code-named and a codeless late credit of the same rebate
    /// were capped apart, and added back 7.00 of 5.00 netted.
    #[test]
    fn late_credits_of_overlapping_terms_are_added_back_together() {
        // March netted rebates A 2.00 and B 3.00 (terms 0 and 1) and C 1.00 (term 2).
        let due =
            |terms: &[usize]| -> Decimal { terms.iter().map(|term| [d("2.00"), d("3.00"), d("1.00")][*term]).sum() };
        // April credits A and B together (codeless, 5.00): all of it back. May credits A again
        // (named, 2.00): 5.00 - 5.00 = 0 left of A's and B's due: nothing back. In all 5.00.
        let both = (vec![0, 1], d("5.00"));
        assert_eq!(late_rebates_to_add_back(std::slice::from_ref(&both), &[], &due), d("5.00"));
        assert_eq!(late_rebates_to_add_back(&[(vec![0], d("2.00"))], &[both], &due), d("0"));
        // The other order: A first (2.00 back), then A and B (5.00 due - 2.00 = 3.00 back).
        assert_eq!(late_rebates_to_add_back(&[(vec![0], d("2.00"))], &[], &due), d("2.00"));
        assert_eq!(late_rebates_to_add_back(&[(vec![0, 1], d("5.00"))], &[(vec![0], d("2.00"))], &due), d("3.00"));
        // C credited before takes nothing of A's due: A's 2.00 back.
        assert_eq!(late_rebates_to_add_back(&[(vec![0], d("2.00"))], &[(vec![2], d("1.00"))], &due), d("2.00"));
    }

    #[test]
    fn a_run_of_other_invoice_versions_or_another_basis_cannot_tell_the_rebates_due() {
        let versions = |pairs: &[(&str, i64)]| pairs.iter().map(|(id, version)| ((*id).to_owned(), *version)).collect();
        let run: BTreeMap<String, i64> = versions(&[("A-03", 1), ("B-03", 1)]);
        assert_eq!(run_staleness(&run, &versions(&[("A-03", 1), ("B-03", 1)]), true), None);
        assert_eq!(
            run_staleness(&run, &versions(&[("A-03", 2), ("B-03", 1)]), true).as_deref(),
            Some("invoice A-03 is at version 2, it reconciled version 1")
        );
        assert_eq!(
            run_staleness(&run, &versions(&[("A-03", 1), ("B-03", 1), ("C-03", 1)]), true).as_deref(),
            Some("invoice C-03 was imported after it")
        );
        assert_eq!(
            run_staleness(&run, &versions(&[("A-03", 1)]), true).as_deref(),
            Some("invoice B-03, which it reconciled, is no longer of the period")
        );
        assert_eq!(
            run_staleness(&run, &run, false).as_deref(),
            Some("the deck, the contract terms or the usage its rebates count changed since")
        );
    }

    #[test]
    fn rebate_missing_rows_are_rebates_due_per_currency() {
        let row = |kind: DiscrepancyKind, expected: &str| Discrepancy {
            carrier: "acme".into(),
            invoice_id: Some("A-03".into()),
            line_id: None,
            record_id: None,
            kind,
            service: crate::Service::Voice,
            destination: "REB".to_owned(),
            started_at: jiff::Timestamp::UNIX_EPOCH,
            billed_quantity: Decimal::ZERO,
            expected_quantity: None,
            billed_amount: Decimal::ZERO,
            expected_amount: Some(d(expected)),
            difference: Some(-d(expected)),
            currency: Currency::EUR,
            line_index: None,
            record_index: None,
        };
        // Two rebates due: 3.50 + 1.25 = 4.75; a missing recurring charge is not a rebate.
        let rows = [
            row(DiscrepancyKind::RebateMissing, "-3.50"),
            row(DiscrepancyKind::MissingCharge, "25.00"),
            row(DiscrepancyKind::RebateMissing, "-1.25"),
        ];
        assert_eq!(rebates_due(&rows), BTreeMap::from([(Currency::EUR, d("4.75"))]));
    }
}
