//! Contract charges: the lines of an invoice that are not usage (recurring charges, one-time
//! fees, commitment shortfalls, rebates, credits, taxes, adjustments), checked per carrier and
//! month against the contract terms ([`crate::contract_terms`]) and the period's rated usage.

use crate::contract_terms::{ChargeTerm, ScopeTotals, TermRule};
use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::period::Month;
use crate::rating::Rating;
use crate::reconcile::ReconcileConfig;
use crate::{Currency, InvoiceLine, Service, UsageRecord};
use compact_str::CompactString;
use jiff::{civil::Date, Timestamp};
use rust_decimal::Decimal;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// The type of an invoice line (`charge_type` in `invoice.csv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChargeType {
    /// A call or message, matched to a usage record (the default).
    Usage,
    Recurring,
    OneTime,
    CommitmentShortfall,
    Rebate,
    Credit,
    Tax,
    Adjustment,
}

impl ChargeType {
    pub const ALL: [ChargeType; 8] = [
        ChargeType::Usage,
        ChargeType::Recurring,
        ChargeType::OneTime,
        ChargeType::CommitmentShortfall,
        ChargeType::Rebate,
        ChargeType::Credit,
        ChargeType::Tax,
        ChargeType::Adjustment,
    ];

    /// The names, for messages.
    pub const EXPECTED: &'static str =
        "a charge type: usage, recurring, one_time, commitment_shortfall, rebate, credit, tax or adjustment";

    /// The name in `invoice.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChargeType::Usage => "usage",
            ChargeType::Recurring => "recurring",
            ChargeType::OneTime => "one_time",
            ChargeType::CommitmentShortfall => "commitment_shortfall",
            ChargeType::Rebate => "rebate",
            ChargeType::Credit => "credit",
            ChargeType::Tax => "tax",
            ChargeType::Adjustment => "adjustment",
        }
    }

    /// Parses a name, case-insensitively.
    pub fn parse(name: &str) -> Option<ChargeType> {
        ChargeType::ALL.into_iter().find(|charge_type| charge_type.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// Whether lines of this type are the carrier's own corrections, carried into the totals
    /// without being judged against a term.
    fn is_correction(self) -> bool {
        matches!(self, ChargeType::Credit | ChargeType::Adjustment)
    }
}

/// An invoice line that is not usage: it bills a contract term, not a record.
#[derive(Clone, Debug, PartialEq)]
pub struct ChargeLine {
    pub carrier: Arc<str>,
    pub invoice_id: Arc<str>,
    pub invoice_date: Option<Date>,
    pub line_id: CompactString,
    pub charge_type: ChargeType,
    /// The term's code (`charge_code`); `None` matches the one term of the type in force.
    pub charge_code: Option<CompactString>,
    pub service: Service,
    /// The line's date (the start of the period it bills): its month is the month checked.
    pub started_at: Timestamp,
    pub amount: Decimal,
    pub currency: Currency,
}

/// What the charge check needs of a run's usage lines and records, gathered as they come and
/// merged over the parts of a split run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChargeContext {
    /// Per carrier and invoice: the months its usage lines start in and its billed usage. An
    /// invoice's usage belongs to one month, its period ([`InvoiceBilling::month`]), so a line
    /// just across a month's end does not bring the next month's terms into the check.
    pub billing: BTreeMap<(Arc<str>, Arc<str>), InvoiceBilling>,
    /// Per term (its index in the config's terms) and month: the usage in its scope.
    pub scope_totals: BTreeMap<(usize, Month), ScopeTotals>,
}

/// The usage lines of one invoice, as the charge check needs them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InvoiceBilling {
    /// Usage lines per month they start in (the run's period, when it has one).
    pub line_months: BTreeMap<Month, u64>,
    /// The usage lines' billed amounts per currency (a tax's base `usage`).
    pub usage_billed: BTreeMap<Currency, Decimal>,
    /// The service of the lowest line, to name a missing charge by.
    pub service: Option<Service>,
}

impl InvoiceBilling {
    /// The invoice's month: the one most of its usage lines start in, the earliest of a tie
    /// (the rule of [`crate::period::majority_month`], by which the ledger files an invoice).
    pub fn month(&self) -> Option<Month> {
        self.line_months.iter().rev().max_by_key(|(_, count)| **count).map(|(month, _)| *month)
    }
}

/// A carrier's invoices of a month.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonthBilling {
    pub invoices: BTreeSet<Arc<str>>,
    /// The usage lines' billed amounts per currency (a tax's base `usage`).
    pub usage_billed: BTreeMap<Currency, Decimal>,
    /// The service of the lowest line, to name a missing charge by.
    pub service: Option<Service>,
}

fn add_billed(into: &mut BTreeMap<Currency, Decimal>, currency: Currency, amount: Decimal) {
    let billed = into.entry(currency).or_default();
    // A sum past the largest decimal is reported by the run's summary (which adds the same
    // amounts); here it stays at the largest.
    *billed = billed.checked_add(amount).unwrap_or(Decimal::MAX);
}

fn lower_service(a: Option<Service>, b: Option<Service>) -> Option<Service> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

impl ChargeContext {
    /// Notes a usage line of the run.
    pub fn add_usage_line(&mut self, line: &InvoiceLine, period: Option<Month>) {
        let month = period.unwrap_or_else(|| Month::of(line.started_at));
        let billing = self.billing.entry((line.carrier.clone(), line.invoice_id.clone())).or_default();
        *billing.line_months.entry(month).or_default() += 1;
        billing.service = lower_service(billing.service, Some(line.service));
        add_billed(&mut billing.usage_billed, line.currency, line.amount);
    }

    /// Adds a rated record to the totals of the terms whose scope holds it.
    pub fn add_record(&mut self, terms: &[ChargeTerm], record: &UsageRecord, rating: &Rating) {
        for (term_index, term) in terms.iter().enumerate() {
            let Some(scope) = term.scope() else { continue };
            if *term.carrier != *record.carrier || !scope.contains(record.service, record.destination.digits()) {
                continue;
            }
            let totals = self.scope_totals.entry((term_index, Month::of(record.started_at))).or_default();
            if rating.currency == term.currency {
                totals.spend = totals.spend.checked_add(rating.cost).unwrap_or(Decimal::MAX);
            }
            totals.volume = totals.volume.checked_add(rating.billed_quantity).unwrap_or(Decimal::MAX);
        }
    }

    /// Adds another part's context (disjoint lines and records).
    pub fn merge(&mut self, other: ChargeContext) {
        for (key, theirs) in other.billing {
            let ours = self.billing.entry(key).or_default();
            for (month, count) in theirs.line_months {
                *ours.line_months.entry(month).or_default() += count;
            }
            ours.service = lower_service(ours.service, theirs.service);
            for (currency, amount) in theirs.usage_billed {
                add_billed(&mut ours.usage_billed, currency, amount);
            }
        }
        for (key, theirs) in other.scope_totals {
            let ours = self.scope_totals.entry(key).or_default();
            ours.spend = ours.spend.checked_add(theirs.spend).unwrap_or(Decimal::MAX);
            ours.volume = ours.volume.checked_add(theirs.volume).unwrap_or(Decimal::MAX);
        }
    }

    /// The invoices and billed usage per carrier and month, each invoice in its month.
    fn months(&self) -> BTreeMap<(Arc<str>, Month), MonthBilling> {
        let mut months: BTreeMap<(Arc<str>, Month), MonthBilling> = BTreeMap::new();
        for ((carrier, invoice_id), billing) in &self.billing {
            let Some(month) = billing.month() else { continue };
            let ours = months.entry((carrier.clone(), month)).or_default();
            ours.invoices.insert(invoice_id.clone());
            ours.service = lower_service(ours.service, billing.service);
            for (currency, amount) in &billing.usage_billed {
                add_billed(&mut ours.usage_billed, *currency, *amount);
            }
        }
        months
    }
}

impl ChargeLine {
    /// The type the line is booked as at settlement: a `credit` line naming a rebate term's
    /// code is that rebate (as [`check_charges`] takes it), any other line its own type.
    pub fn booked_as(&self, terms: &[ChargeTerm]) -> ChargeType {
        let names_a_rebate = self.charge_type == ChargeType::Credit
            && self.charge_code.as_ref().is_some_and(|code| {
                terms.iter().any(|term| {
                    term.charge_type() == ChargeType::Rebate && *term.carrier == *self.carrier && term.code == *code
                })
            });
        if names_a_rebate {
            ChargeType::Rebate
        } else {
            self.charge_type
        }
    }
}

/// A rebate of an earlier period that a later invoice's line pays ([`late_rebate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LateRebate {
    /// The rebate's terms (their indexes in the terms given, ascending): one for a line naming
    /// its code, those no code names together for a line without one.
    pub term_indexes: Vec<usize>,
    /// The month the rebate's period was checked on, whose run found it due.
    pub due_month: Month,
}

/// How far before a month's first midnight (UTC) a line may start and still be that month's:
/// the largest time zone offset (UTC+14), so that a carrier dating a line at its own first
/// midnight of the month dates it in the month.
const MONTH_START_GRACE: jiff::SignedDuration = jiff::SignedDuration::from_hours(14);

/// Whether a line of `month`'s invoices pays the rebate of an earlier period late: a `rebate`
/// line (or a `credit` line naming a rebate's code), in the rebate's currency, dated (its
/// `started_at`, in UTC; a line dated up to [`MONTH_START_GRACE`] before `month`'s first midnight
/// is `month`'s own) in a period of one of its carrier's rebate terms that was checked before
/// `month`, a term that applied to that period (in force on the
/// first day of its last month). A line naming a code pays that term; a `rebate` line without
/// one pays together the carrier's rebate terms in its currency checked on the same earlier
/// month. Such a line is not the rebate of `month`: its own period's run judged that rebate,
/// and settlement takes it once ([`crate::settlement::late_rebate_already_netted`]).
pub fn late_rebate(line: &ChargeLine, terms: &[ChargeTerm], month: Month) -> Option<LateRebate> {
    let names_a_rebate = match line.charge_type {
        ChargeType::Rebate => true,
        ChargeType::Credit => line.charge_code.is_some(),
        _ => false,
    };
    if !names_a_rebate {
        return None;
    }
    // Dated at a carrier's own first midnight of `month` (up to 14 hours before it in UTC), it is
    // `month`'s own; otherwise its month is the UTC month it starts in.
    if Month::of(line.started_at.checked_add(MONTH_START_GRACE).unwrap_or(line.started_at)) == month {
        return None;
    }
    let line_month = Month::of(line.started_at);
    let mut found: Option<LateRebate> = None;
    for (term_index, term) in terms.iter().enumerate() {
        if term.charge_type() != ChargeType::Rebate
            || *term.carrier != *line.carrier
            || term.currency != line.currency
            || line.charge_code.as_ref().is_some_and(|code| *code != term.code)
        {
            continue;
        }
        let Some(due_month) = term.checked_on(line_month) else { continue };
        if due_month >= month || !term.applies_to(due_month) {
            continue;
        }
        match &mut found {
            None => found = Some(LateRebate { term_indexes: vec![term_index], due_month }),
            // Several terms checked on different months: which one it pays is not guessed.
            Some(late) if late.due_month != due_month => return None,
            Some(late) => late.term_indexes.push(term_index),
        }
    }
    found
}

/// What the charge check found.
#[derive(Debug, Default)]
pub struct ChargeCheck {
    /// The amount expected of each line, in the lines' order (`None`: not known).
    pub line_expected: Vec<Option<Decimal>>,
    /// In carrier and month order: each month's lines in file order, then its missing charges
    /// in the terms' order.
    pub discrepancies: Vec<Discrepancy>,
}

/// Checks the charge lines of a run (in file order) against the terms of
/// `config.charge_terms`, per carrier and month (the run's period, else: a charge line's month
/// is the month of its `started_at`, an invoice's usage belongs to the month most of its usage
/// lines start in):
/// - a line takes the term of its type and code in force (a line without a code: the only
///   term of its type in force); several lines of one term are added up, and a discrepancy
///   names the first, with their sum;
/// - a term's expected amount is [`ChargeTerm::expected`]; billed and expected differing by
///   more than the amount tolerance is the term's mismatch kind; a term with an amount due and
///   no line is a `missing_charge` (a rebate: `rebate_missing`) on the carrier's first invoice
///   of the month;
/// - a line no term takes is an `unexpected_charge`, except credits and adjustments (the
///   carrier's corrections), which are carried into the totals unjudged.
pub fn check_charges(lines: &[ChargeLine], context: &ChargeContext, config: &ReconcileConfig) -> ChargeCheck {
    let terms = &config.charge_terms;
    let mut check = ChargeCheck { line_expected: vec![None; lines.len()], discrepancies: Vec::new() };
    let mut lines_per_month: BTreeMap<(Arc<str>, Month), Vec<usize>> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        let month = config.period.unwrap_or_else(|| Month::of(line.started_at));
        lines_per_month.entry((line.carrier.clone(), month)).or_default().push(index);
    }
    let month_billing = context.months();
    let months: BTreeSet<(Arc<str>, Month)> =
        month_billing.keys().cloned().chain(lines_per_month.keys().cloned()).collect();
    let no_billing = MonthBilling::default();
    for (carrier, month) in months {
        let line_indexes = lines_per_month.get(&(carrier.clone(), month)).map_or(&[][..], Vec::as_slice);
        let billing = month_billing.get(&(carrier.clone(), month)).unwrap_or(&no_billing);
        let terms_here: Vec<usize> = (0..terms.len())
            .filter(|index| *terms[*index].carrier == *carrier && terms[*index].applies_to(month))
            .collect();
        let mut taken: Vec<Vec<usize>> = vec![Vec::new(); terms_here.len()];
        // Rebate lines without a code while several rebates in their currency are in force, per
        // currency, and what the rebates no line names make due together in it (`None`: not
        // known).
        let mut joint_rebates: BTreeMap<Currency, Vec<usize>> = BTreeMap::new();
        let mut joint_expected: BTreeMap<Currency, Option<Decimal>> = BTreeMap::new();
        for &line_index in line_indexes {
            let line = &lines[line_index];
            if late_rebate(line, terms, month).is_some() {
                // An earlier period's rebate, paid late: carried, judged by its own period.
                check.line_expected[line_index] = Some(line.amount);
                continue;
            }
            // A carrier may pay a rebate on a credit note line: named by the rebate's code, it is
            // that rebate (else the rebate would be both credited and reported missing).
            let takes = |term: &ChargeTerm| {
                term.charge_type() == line.charge_type
                    || (line.charge_type == ChargeType::Credit
                        && line.charge_code.is_some()
                        && term.charge_type() == ChargeType::Rebate)
            };
            // A rebate line without a code pays the rebates in its own currency (any, when none
            // is in it: then it is a currency mismatch of the one it takes).
            let in_currency = |term: &ChargeTerm| {
                line.charge_code.is_some()
                    || line.charge_type != ChargeType::Rebate
                    || term.currency == line.currency
                    || !terms_here.iter().any(|index| takes(&terms[*index]) && terms[*index].currency == line.currency)
            };
            let of_type = || {
                terms_here.iter().enumerate().filter(|(_, term)| takes(&terms[**term]) && in_currency(&terms[**term]))
            };
            let term = match &line.charge_code {
                Some(code) => of_type().find(|(_, term)| terms[**term].code == *code).map(|(position, _)| position),
                None => {
                    let mut candidates = of_type();
                    match (candidates.next(), candidates.next()) {
                        (Some((position, _)), None) => Some(position),
                        _ => None,
                    }
                }
            };
            match term {
                Some(position) => taken[position].push(line_index),
                None if line.charge_type.is_correction() => check.line_expected[line_index] = Some(line.amount),
                None if line.charge_type == ChargeType::Rebate
                    && line.charge_code.is_none()
                    && of_type().count() > 1 =>
                {
                    joint_rebates.entry(line.currency).or_default().push(line_index);
                }
                None => {
                    check.line_expected[line_index] = Some(Decimal::ZERO);
                    let row = ChargeRow {
                        kind: DiscrepancyKind::UnexpectedCharge,
                        billed: line.amount,
                        expected: Some(Decimal::ZERO),
                    };
                    check.discrepancies.push(row.on_line(line));
                }
            }
        }
        let first_invoice = billing
            .invoices
            .first()
            .cloned()
            .or_else(|| line_indexes.first().map(|index| lines[*index].invoice_id.clone()));
        for (position, term_index) in terms_here.iter().enumerate() {
            let term = &terms[*term_index];
            let usage = |month: Month| context.scope_totals.get(&(*term_index, month)).copied().unwrap_or_default();
            let base =
                |types: &[crate::charges::ChargeType]| tax_base(types, term.currency, billing, line_indexes, lines);
            let expected = term.expected(month, &usage, &base);
            let taken = &taken[position];
            if taken.is_empty()
                && term.charge_type() == ChargeType::Rebate
                && joint_rebates.contains_key(&term.currency)
            {
                let sum = joint_expected.entry(term.currency).or_insert(Some(Decimal::ZERO));
                *sum = sum.zip(expected).and_then(|(sum, expected)| sum.checked_add(expected));
                continue;
            }
            if taken.is_empty() {
                if let (Some(expected), Some(invoice_id)) = (expected, &first_invoice) {
                    if !expected.is_zero() {
                        check.discrepancies.push(missing_row(term, month, invoice_id, billing, expected));
                    }
                }
                continue;
            }
            judge_lines(lines, taken, term.currency, expected, mismatch_kind(&term.rule), config, &mut check);
        }
        for (currency, joint) in &joint_rebates {
            // Lines without a code where several rebates in their currency are in force credit
            // those no line names, together: their sum against the sum of those rebates.
            let expected = joint_expected.get(currency).copied().unwrap_or(Some(Decimal::ZERO));
            let kind = DiscrepancyKind::RebateMismatch;
            judge_lines(lines, joint, *currency, expected, kind, config, &mut check);
        }
    }
    check
}

/// Judges the lines a term (or rebates together) takes against its expected amount: the first
/// line carries the expected amount and the others 0; their sum differing from it by more than
/// the amount tolerance is `kind`, named on the first line; a line in another currency than
/// `currency` is a `currency_mismatch` (nothing compares).
fn judge_lines(
    lines: &[ChargeLine],
    taken: &[usize],
    currency: Currency,
    expected: Option<Decimal>,
    kind: DiscrepancyKind,
    config: &ReconcileConfig,
    check: &mut ChargeCheck,
) {
    let Some(first) = taken.first().map(|index| &lines[*index]) else { return };
    if taken.iter().any(|index| lines[*index].currency != currency) {
        let row = ChargeRow { kind: DiscrepancyKind::CurrencyMismatch, billed: first.amount, expected: None };
        check.discrepancies.push(row.on_line(first));
        return;
    }
    for index in taken {
        check.line_expected[*index] = Some(Decimal::ZERO);
    }
    check.line_expected[taken[0]] = expected;
    let Some(expected) = expected else { return };
    let billed = taken.iter().try_fold(Decimal::ZERO, |sum, index| sum.checked_add(lines[*index].amount));
    let agrees = billed
        .and_then(|billed| billed.checked_sub(expected))
        .is_some_and(|difference| difference.abs() <= config.amount_tolerance);
    if !agrees {
        let row = ChargeRow { kind, billed: billed.unwrap_or(Decimal::MAX), expected: Some(expected) };
        check.discrepancies.push(row.on_line(first));
    }
}

/// The billed base of a tax: the usage lines (`usage`) and the charge lines of the named types
/// of the carrier's invoices of the month, in the tax's currency.
fn tax_base(
    types: &[ChargeType],
    currency: Currency,
    billing: &MonthBilling,
    line_indexes: &[usize],
    lines: &[ChargeLine],
) -> Decimal {
    let mut base = Decimal::ZERO;
    if types.contains(&ChargeType::Usage) {
        base = billing.usage_billed.get(&currency).copied().unwrap_or_default();
    }
    for index in line_indexes {
        let line = &lines[*index];
        if line.currency == currency && line.charge_type != ChargeType::Usage && types.contains(&line.charge_type) {
            base = base.checked_add(line.amount).unwrap_or(Decimal::MAX);
        }
    }
    base
}

fn mismatch_kind(rule: &TermRule) -> DiscrepancyKind {
    match rule {
        TermRule::Recurring { .. } => DiscrepancyKind::RecurringMismatch,
        TermRule::Commitment { .. } => DiscrepancyKind::ShortfallMismatch,
        TermRule::Rebate { .. } => DiscrepancyKind::RebateMismatch,
        TermRule::Tax { .. } => DiscrepancyKind::TaxMismatch,
    }
}

struct ChargeRow {
    kind: DiscrepancyKind,
    billed: Decimal,
    expected: Option<Decimal>,
}

impl ChargeRow {
    /// The row of a line: its `destination` column holds the line's charge code.
    fn on_line(self, line: &ChargeLine) -> Discrepancy {
        Discrepancy {
            carrier: line.carrier.clone(),
            invoice_id: Some(line.invoice_id.clone()),
            line_id: Some(line.line_id.clone()),
            record_id: None,
            kind: self.kind,
            service: line.service,
            destination: line.charge_code.as_deref().unwrap_or("").to_owned(),
            started_at: line.started_at,
            billed_quantity: Decimal::ZERO,
            expected_quantity: None,
            billed_amount: self.billed,
            expected_amount: self.expected,
            difference: self.expected.and_then(|expected| self.billed.checked_sub(expected)),
            currency: line.currency,
            line_index: None,
            record_index: None,
        }
    }
}

/// The row of a term with an amount due and no line: on the month's first invoice, dated the
/// month's first instant, its `destination` column holding the term's code.
fn missing_row(
    term: &ChargeTerm,
    month: Month,
    invoice_id: &Arc<str>,
    billing: &MonthBilling,
    expected: Decimal,
) -> Discrepancy {
    let kind = match term.rule {
        TermRule::Rebate { .. } => DiscrepancyKind::RebateMissing,
        _ => DiscrepancyKind::MissingCharge,
    };
    let service = billing.service.or_else(|| term.scope().and_then(|scope| scope.service)).unwrap_or(Service::Voice);
    Discrepancy {
        carrier: term.carrier.clone(),
        invoice_id: Some(invoice_id.clone()),
        line_id: None,
        record_id: None,
        kind,
        service,
        destination: term.code.to_string(),
        started_at: month.bounds().map_or(Timestamp::UNIX_EPOCH, |(start, _)| start),
        billed_quantity: Decimal::ZERO,
        expected_quantity: None,
        billed_amount: Decimal::ZERO,
        expected_amount: Some(expected),
        difference: Some(-expected),
        currency: term.currency,
        line_index: None,
        record_index: None,
    }
}

#[cfg(test)]
mod tests;
