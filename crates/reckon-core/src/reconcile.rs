//! Reconciliation of a run: match every invoice line, classify it against the contract, and
//! report the billable usage no line bills.

use crate::charges::{ChargeContext, ChargeLine};
use crate::contract::{ContractTerms, FxPolicy};
use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::matching::{LineMatch, Matcher};
use crate::money::{round, round_cost, TotalOverflow};
use crate::period::Month;
use crate::rating::{ConversionStep, NoTrace, Rating, RatingTrace};
use crate::summary::ReportConversion;
use crate::summary::{Billed, GroupKey, Summary};
use crate::{Currency, FxTable, InvoiceLine, UsageRecord};
use jiff::civil::Date;
use jiff::tz::TimeZone;
use jiff::SignedDuration;
use rust_decimal::Decimal;
use rustc_hash::{FxHashMap, FxHashSet};
use std::collections::HashMap;
use std::sync::Arc;

/// The tolerances and period of a run.
#[derive(Clone, Debug)]
pub struct ReconcileConfig {
    /// Largest start difference of a match by time (default 60 s).
    pub time_tolerance: SignedDuration,
    /// Largest billed-quantity difference that still agrees (default 0: exact).
    pub quantity_tolerance: Decimal,
    /// Largest amount difference that still agrees, in the invoice currency (default 0.000001).
    pub amount_tolerance: Decimal,
    /// The period of every invoice; `None`: the months the carrier's lines fall in.
    pub period: Option<Month>,
    /// Contract terms per carrier; a carrier without an entry has the default terms.
    pub contracts: HashMap<String, ContractTerms>,
    /// The currency the summary also shows every amount in.
    pub report_currency: Option<Currency>,
    /// Contract terms beyond the deck (`contract_terms.csv`), against which the lines that are
    /// not usage are checked ([`crate::charges::check_charges`]).
    pub charge_terms: Vec<crate::contract_terms::ChargeTerm>,
}

impl Default for ReconcileConfig {
    fn default() -> ReconcileConfig {
        ReconcileConfig {
            time_tolerance: SignedDuration::from_secs(60),
            quantity_tolerance: Decimal::ZERO,
            amount_tolerance: Decimal::new(1, 6),
            period: None,
            contracts: HashMap::new(),
            report_currency: None,
            charge_terms: Vec::new(),
        }
    }
}

impl ReconcileConfig {
    /// The terms of a carrier's contract.
    pub fn terms(&self, carrier: &str) -> ContractTerms {
        self.contracts.get(carrier).copied().unwrap_or_default()
    }
}

/// The last carrier's contract terms. Lines come invoice by invoice, and a carrier's name is one
/// shared value for all its lines: one entry, compared by address, saves hashing the name for
/// nearly every line.
#[derive(Clone, Debug, Default)]
struct LastTerms(Option<(Arc<str>, ContractTerms)>);

impl LastTerms {
    fn of(&mut self, config: &ReconcileConfig, carrier: &Arc<str>) -> ContractTerms {
        match &self.0 {
            Some((known, terms)) if Arc::ptr_eq(known, carrier) => *terms,
            _ => {
                let terms = config.terms(carrier);
                self.0 = Some((carrier.clone(), terms));
                terms
            }
        }
    }
}

/// The result of a run.
#[derive(Debug)]
pub struct Reconciliation {
    /// Sorted by carrier, invoice, line (file order), then record (usage order).
    pub discrepancies: Vec<Discrepancy>,
    pub summary: Summary,
    /// What the charge lines are checked against ([`Reconciliation::add_charges`]); empty
    /// when the run has no contract terms.
    pub charge_context: ChargeContext,
}

impl Reconciliation {
    /// The result of a split run from the results of its parts (see [`Reconciler::for_part`]).
    pub fn merged(parts: impl IntoIterator<Item = Reconciliation>) -> Reconciliation {
        let mut whole = Reconciliation {
            discrepancies: Vec::new(),
            summary: Summary::default(),
            charge_context: ChargeContext::default(),
        };
        for part in parts {
            whole.summary.merge(part.summary);
            whole.discrepancies.extend(part.discrepancies);
            whole.charge_context.merge(part.charge_context);
        }
        // Each part is sorted: the sort merges their runs.
        whole.discrepancies.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        whole
    }

    /// Checks the run's contract charge lines (the lines that are not usage, in file order)
    /// once every usage line and record is in ([`crate::charges::check_charges`]): their rows
    /// join the discrepancies and their amounts the summary. Call it once, on the whole run's
    /// result (after [`Reconciliation::merged`] for a split run).
    pub fn add_charges(&mut self, lines: &[ChargeLine], config: &ReconcileConfig, fx: &FxTable) {
        if lines.is_empty() && config.charge_terms.is_empty() {
            return;
        }
        let check = crate::charges::check_charges(lines, &self.charge_context, config);
        let report = ReportConversion { currency: config.report_currency, fx };
        for (line, expected) in lines.iter().zip(check.line_expected) {
            let key = GroupKey {
                carrier: line.carrier.clone(),
                invoice_id: Some(line.invoice_id.clone()),
                currency: line.currency,
            };
            let billed = Billed { amount: line.amount, currency: line.currency, started_at: line.started_at };
            self.summary.add_charge_line(key, &billed, expected, &report);
        }
        for discrepancy in check.discrepancies {
            let key = GroupKey {
                carrier: discrepancy.carrier.clone(),
                invoice_id: discrepancy.invoice_id.clone(),
                currency: discrepancy.currency,
            };
            self.summary.add_discrepancy(key, &discrepancy, &report);
            self.discrepancies.push(discrepancy);
        }
        // Stable: an invoice's charge rows (no line index) keep their order, before its usage rows.
        self.discrepancies.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    }

    /// The result, or the overflow of a total that makes its summary wrong.
    ///
    /// # Errors
    /// When a total overflowed (see [`Summary::checked`]).
    pub fn checked(self) -> Result<Reconciliation, TotalOverflow> {
        self.summary.checked()?;
        Ok(self)
    }
}

/// What the contract says of one matched line.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LineCheck {
    /// The first kind whose comparison fails; `None` when the line is right.
    pub kind: Option<DiscrepancyKind>,
    /// Our billed quantity for the record (`None` without a rate).
    pub expected_quantity: Option<Decimal>,
    /// Our cost in the line's currency (`None` without a rate or a conversion).
    pub expected_amount: Option<Decimal>,
}

/// Reconciles the lines of a run (in file order, invoice files in the order given) against the
/// usage and its ratings (`ratings[i]` rates `usage[i]`; `None`: no rate). A total that
/// overflows is kept in the summary: call [`Reconciliation::checked`] before reporting.
///
/// # Panics
/// When `ratings` and `usage` differ in length.
pub fn reconcile(
    usage: &[UsageRecord],
    ratings: &[Option<Rating>],
    lines: &[InvoiceLine],
    fx: &FxTable,
    config: &ReconcileConfig,
) -> Reconciliation {
    let mut reconciler = Reconciler::new(usage, ratings, fx, config);
    for line in lines {
        reconciler.add_line(line);
    }
    reconciler.finish()
}

/// What a part of a split run must know of the whole run's invoice lines before matching any:
/// the months each carrier's invoices cover (its unbilled usage is reported for these) and each
/// invoice's date when its lines give none. A run read at once gathers them as its lines come.
#[derive(Clone, Debug, Default)]
pub struct RunFacts {
    /// (FxHash: both are read for every line and record.)
    carrier_months: FxHashMap<Arc<str>, FxHashSet<Month>>,
    /// The latest line date of each invoice: its date when the file gives none (only for
    /// contracts that convert at the invoice date).
    invoice_dates: FxHashMap<(Arc<str>, Arc<str>), Date>,
    last_terms: LastTerms,
}

impl RunFacts {
    /// Notes one line of the run.
    pub fn add_line(&mut self, line: &InvoiceLine, config: &ReconcileConfig) {
        let month = config.period.unwrap_or_else(|| Month::of(line.started_at));
        match self.carrier_months.get_mut(&line.carrier) {
            Some(months) => {
                months.insert(month);
            }
            None => {
                self.carrier_months.insert(line.carrier.clone(), FxHashSet::from_iter([month]));
            }
        }
        if self.last_terms.of(config, &line.carrier).fx_policy == FxPolicy::InvoiceDate {
            let line_date = crate::period::utc_date(line.started_at);
            let latest = self.invoice_dates.entry((line.carrier.clone(), line.invoice_id.clone())).or_insert(line_date);
            *latest = (*latest).max(line_date);
        }
    }

    /// Adds the facts of other lines of the same run.
    pub fn merge(&mut self, other: RunFacts) {
        for (carrier, months) in other.carrier_months {
            self.carrier_months.entry(carrier).or_default().extend(months);
        }
        for (invoice, date) in other.invoice_dates {
            let latest = self.invoice_dates.entry(invoice).or_insert(date);
            *latest = (*latest).max(date);
        }
    }

    /// Whether a record's month is one its carrier's invoices cover.
    pub(crate) fn invoiced_month(&self, record: &UsageRecord) -> bool {
        self.carrier_months.get(&record.carrier).is_some_and(|months| months.contains(&Month::of(record.started_at)))
    }

    pub(crate) fn invoice_date(&self, line: &InvoiceLine) -> Option<Date> {
        if line.invoice_date.is_some() || self.invoice_dates.is_empty() {
            return line.invoice_date;
        }
        self.invoice_dates.get(&(line.carrier.clone(), line.invoice_id.clone())).copied()
    }
}

/// The run facts a reconciler reads: gathered from its own lines, or known beforehand.
enum Facts<'a> {
    Gathered(RunFacts),
    Known(&'a RunFacts),
}

impl Facts<'_> {
    fn get(&self) -> &RunFacts {
        match self {
            Facts::Gathered(facts) => facts,
            Facts::Known(facts) => facts,
        }
    }
}

/// A reconciliation fed one invoice line at a time, so that invoices can be streamed: only the
/// usage, its indexes and the discrepancies found stay in memory.
///
/// A run can also be split into parts that share no candidate (every record a line could take
/// is in the line's part): each part reconciles its own records and lines, numbered as in the
/// whole run, against the whole run's [`RunFacts`], and the parts' results merged
/// ([`Reconciliation::merged`]) equal the whole run's.
pub struct Reconciler<'a> {
    usage: &'a [UsageRecord],
    ratings: &'a [Option<Rating>],
    /// The index in the whole run's usage of each record of `usage` (`None`: the same index).
    record_indexes: Option<&'a [usize]>,
    fx: &'a FxTable,
    config: &'a ReconcileConfig,
    matcher: Matcher<'a>,
    summary: Summary,
    discrepancies: Vec<Discrepancy>,
    facts: Facts<'a>,
    lines_seen: usize,
    /// Lines whose conversion waits for their invoice's date (policy `InvoiceDate`, no
    /// `invoice_date` column, facts gathered as the lines come): classified when the run ends.
    deferred: Vec<(usize, InvoiceLine, LineMatch)>,
    /// Gathered only when the run has contract terms.
    charge_context: ChargeContext,
    last_terms: LastTerms,
}

impl<'a> Reconciler<'a> {
    /// Indexes the usage for matching.
    ///
    /// # Panics
    /// When `ratings` and `usage` differ in length.
    pub fn new(
        usage: &'a [UsageRecord],
        ratings: &'a [Option<Rating>],
        fx: &'a FxTable,
        config: &'a ReconcileConfig,
    ) -> Reconciler<'a> {
        assert_eq!(usage.len(), ratings.len());
        Reconciler {
            usage,
            ratings,
            record_indexes: None,
            fx,
            config,
            matcher: Matcher::new(usage, config.time_tolerance),
            summary: Summary::default(),
            discrepancies: Vec::new(),
            facts: Facts::Gathered(RunFacts::default()),
            lines_seen: 0,
            deferred: Vec::new(),
            charge_context: ChargeContext::default(),
            last_terms: LastTerms::default(),
        }
    }

    /// A reconciler of one part of a split run: `usage` holds the part's records in usage
    /// order, `record_indexes[i]` is `usage[i]`'s index in the whole run, and `facts` are the
    /// whole run's. Feed the part's lines, in run order, with [`Reconciler::add_line_at`].
    ///
    /// # Panics
    /// When `ratings` or `record_indexes` and `usage` differ in length.
    pub fn for_part(
        usage: &'a [UsageRecord],
        ratings: &'a [Option<Rating>],
        record_indexes: &'a [usize],
        facts: &'a RunFacts,
        fx: &'a FxTable,
        config: &'a ReconcileConfig,
    ) -> Reconciler<'a> {
        assert_eq!(usage.len(), record_indexes.len());
        let mut reconciler = Reconciler::new(usage, ratings, fx, config);
        reconciler.record_indexes = Some(record_indexes);
        reconciler.facts = Facts::Known(facts);
        reconciler
    }

    fn report(&self) -> ReportConversion<'a> {
        ReportConversion { currency: self.config.report_currency, fx: self.fx }
    }

    /// Matches and classifies the next line of the run.
    pub fn add_line(&mut self, line: &InvoiceLine) {
        self.add_line_at(self.lines_seen, line);
    }

    /// Matches and classifies a line whose index in the run is `line_index`. Lines come in run
    /// order.
    pub fn add_line_at(&mut self, line_index: usize, line: &InvoiceLine) {
        self.lines_seen = line_index + 1;
        if let Facts::Gathered(facts) = &mut self.facts {
            facts.add_line(line, self.config);
        }
        if !self.config.charge_terms.is_empty() {
            self.charge_context.add_usage_line(line, self.config.period);
        }
        let line_match = self.matcher.match_line(line);
        let terms = self.last_terms.of(self.config, &line.carrier);
        // Gathered facts know an invoice's date only once its last line was read.
        let waits_for_invoice_date = matches!(self.facts, Facts::Gathered(_))
            && terms.fx_policy == FxPolicy::InvoiceDate
            && line.invoice_date.is_none();
        if waits_for_invoice_date && matches!(line_match, LineMatch::Matched(_)) {
            self.deferred.push((line_index, line.clone(), line_match));
            return;
        }
        self.classify(line_index, line, line_match);
    }

    /// Takes the record that a line of another period's invoice bills, without judging the line:
    /// that record is billed, so it is not unbilled usage of this run. Call it after every line
    /// of the run, so the run's own lines choose first.
    pub fn add_line_of_other_period(&mut self, line: &InvoiceLine) {
        let _ = self.matcher.match_line(line);
    }

    fn record_index(&self, index: usize) -> usize {
        self.record_indexes.map_or(index, |indexes| indexes[index])
    }

    fn classify(&mut self, line_index: usize, line: &InvoiceLine, line_match: LineMatch) {
        let (record_index, check) = match line_match {
            LineMatch::Matched(index) => {
                let invoice_date = self.facts.get().invoice_date(line);
                let terms = self.last_terms.of(self.config, &line.carrier);
                let conversion = Conversion { fx: self.fx, terms, invoice_date };
                (
                    Some(index),
                    check_line_with(line, &self.usage[index], self.ratings[index].as_ref(), &conversion, self.config),
                )
            }
            LineMatch::Duplicate(index) => (Some(index), billed_for_nothing(DiscrepancyKind::DuplicateCharge)),
            LineMatch::Unmatched => (None, billed_for_nothing(DiscrepancyKind::UnmatchedCharge)),
        };
        let report = self.report();
        self.summary.add_line(line, line_index, matches!(line_match, LineMatch::Matched(_)), &check, &report);
        if let Some(kind) = check.kind {
            let discrepancy =
                line_discrepancy(line, line_index, record_index.map(|index| &self.usage[index]), kind, &check);
            self.summary.add_discrepancy(GroupKey::of_line(line), &discrepancy, &report);
            self.discrepancies.push(discrepancy);
        }
    }

    /// Reports the unbilled usage and returns the sorted result.
    pub fn finish(mut self) -> Reconciliation {
        for (line_index, line, line_match) in std::mem::take(&mut self.deferred) {
            self.classify(line_index, &line, line_match);
        }
        let report = self.report();
        for (index, record) in self.usage.iter().enumerate() {
            // Usage of a carrier or month no invoice of the run covers is not reported.
            let Some(rating) = &self.ratings[index] else {
                continue;
            };
            if self.matcher.is_taken(index) || rating.cost <= Decimal::ZERO || !self.facts.get().invoiced_month(record)
            {
                continue;
            }
            let discrepancy = unbilled_discrepancy(record, self.record_index(index), rating);
            self.summary.add_discrepancy(GroupKey::unbilled(&record.carrier, rating.currency), &discrepancy, &report);
            self.discrepancies.push(discrepancy);
        }
        if !self.config.charge_terms.is_empty() {
            for (record, rating) in self.usage.iter().zip(self.ratings) {
                if let Some(rating) = rating {
                    self.charge_context.add_record(&self.config.charge_terms, record, rating);
                }
            }
        }
        self.discrepancies.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        Reconciliation { discrepancies: self.discrepancies, summary: self.summary, charge_context: self.charge_context }
    }
}

/// Classifies a matched line under the default contract terms (conversion at the record's
/// date): the first kind in precedence order whose comparison fails.
pub fn check_line(
    line: &InvoiceLine,
    record: &UsageRecord,
    rating: Option<&Rating>,
    fx: &FxTable,
    config: &ReconcileConfig,
) -> LineCheck {
    let conversion = Conversion { fx, terms: config.terms(&line.carrier), invoice_date: line.invoice_date };
    check_line_with(line, record, rating, &conversion, config)
}

/// How a line's expected amount reaches its currency.
pub struct Conversion<'a> {
    pub fx: &'a FxTable,
    pub terms: ContractTerms,
    /// The invoice's date, for [`FxPolicy::InvoiceDate`].
    pub invoice_date: Option<Date>,
}

/// Classifies a matched line: the first kind in precedence order whose comparison fails.
pub fn check_line_with(
    line: &InvoiceLine,
    record: &UsageRecord,
    rating: Option<&Rating>,
    conversion: &Conversion<'_>,
    config: &ReconcileConfig,
) -> LineCheck {
    check_line_traced(line, record, rating, conversion, config, &mut NoTrace)
}

/// [`check_line_with`], telling `trace` how the expected amount reached the line's currency.
pub fn check_line_traced(
    line: &InvoiceLine,
    record: &UsageRecord,
    rating: Option<&Rating>,
    conversion: &Conversion<'_>,
    config: &ReconcileConfig,
    trace: &mut impl RatingTrace,
) -> LineCheck {
    let Some(rating) = rating else {
        return LineCheck { kind: Some(DiscrepancyKind::NoRate), expected_quantity: None, expected_amount: None };
    };
    if let Some(check) = undelivered_charge(line, rating) {
        return check;
    }
    let expected_quantity = Some(rating.billed_quantity);
    let expected_amount = expected_in_currency_traced(rating, line.currency, record, conversion, trace);
    let check = |kind| LineCheck { kind, expected_quantity, expected_amount };
    // Checked: a difference too large to hold is certainly beyond the tolerance.
    let quantity_difference = line.quantity.checked_sub(rating.billed_quantity);
    if quantity_difference.is_none_or(|difference| difference.abs() > config.quantity_tolerance) {
        return check(Some(DiscrepancyKind::QuantityMismatch));
    }
    let Some(expected) = expected_amount else {
        return LineCheck {
            kind: Some(DiscrepancyKind::CurrencyMismatch),
            expected_quantity: None,
            expected_amount: None,
        };
    };
    // Where the currencies differ the rates are in different units: the amount decides.
    let same_currency = line.currency == rating.currency;
    if same_currency && line.rate.is_some_and(|rate| rate != rating.rate) {
        return check(Some(DiscrepancyKind::RateMismatch));
    }
    if (line.amount - expected).abs() > config.amount_tolerance {
        return check(Some(DiscrepancyKind::AmountMismatch));
    }
    check(None)
}

/// The record's cost in `currency` under the contract's policy, rounded as the carrier rounds
/// the cost itself (the rating's rounding: the row's, else the contract's, else 6 places half
/// away from zero); `None` when the contract forbids the currency or no rate converts it.
pub(crate) fn expected_in_currency(
    rating: &Rating,
    currency: Currency,
    record: &UsageRecord,
    conversion: &Conversion<'_>,
) -> Option<Decimal> {
    expected_in_currency_traced(rating, currency, record, conversion, &mut NoTrace)
}

/// [`expected_in_currency`], telling `trace` the conversion.
fn expected_in_currency_traced(
    rating: &Rating,
    currency: Currency,
    record: &UsageRecord,
    conversion: &Conversion<'_>,
    trace: &mut impl RatingTrace,
) -> Option<Decimal> {
    if rating.currency == currency {
        return Some(rating.cost).filter(|expected| crate::bounds::is_comparable_amount(*expected));
    }
    let mut step = ConversionStep {
        cost: rating.cost,
        from: rating.currency,
        to: currency,
        policy: conversion.terms.fx_policy,
        deck_currency_only: conversion.terms.deck_currency_only,
        date: None,
        converted: None,
        rounding: rating.rounding,
        expected: None,
    };
    let expected = converted_expected(rating, currency, record, conversion, &mut step);
    trace.conversion(&step);
    expected
}

/// The conversion of [`expected_in_currency`] into another currency than the deck's, noting
/// each step in `step`.
fn converted_expected(
    rating: &Rating,
    currency: Currency,
    record: &UsageRecord,
    conversion: &Conversion<'_>,
    step: &mut ConversionStep,
) -> Option<Decimal> {
    if conversion.terms.deck_currency_only {
        return None;
    }
    let converted = match conversion.terms.fx_policy {
        FxPolicy::RecordDate => {
            let date = record.started_at.to_zoned(TimeZone::UTC).date();
            step.date = Some(date);
            conversion.fx.convert(rating.cost, rating.currency, currency, date).ok()?
        }
        FxPolicy::InvoiceDate => {
            step.date = conversion.invoice_date;
            conversion.fx.convert(rating.cost, rating.currency, currency, conversion.invoice_date?).ok()?
        }
        FxPolicy::Fixed { currency: fixed_currency, rate } => {
            if fixed_currency != currency {
                return None;
            }
            rating.cost.checked_mul(rate)?
        }
    };
    step.converted = Some(converted);
    // The carrier prices in the invoice's currency the way it rounds in the deck's: an amount
    // rounded to 4 places up is expected as such, not to 6 places.
    let expected = match rating.rounding {
        Some(rounding) => round(converted, rounding.decimal_places, rounding.mode),
        None => round_cost(converted),
    };
    step.expected = Some(expected);
    // An expected amount that no billed amount could be compared with is as good as unconvertible.
    Some(expected).filter(|expected| crate::bounds::is_comparable_amount(*expected))
}

/// A line charging for a message that its receipt proves undelivered, where the carrier bills
/// delivered messages only ([`Rating::undelivered`]): an `undelivered_charge`, expected at
/// quantity and amount 0 in any currency (nothing to convert), so the whole amount is
/// overbilled. A line that bills it no amount (0, or a credit) goes on to the other checks.
fn undelivered_charge(line: &InvoiceLine, rating: &Rating) -> Option<LineCheck> {
    (rating.undelivered && line.amount > Decimal::ZERO).then(|| billed_for_nothing(DiscrepancyKind::UndeliveredCharge))
}

fn billed_for_nothing(kind: DiscrepancyKind) -> LineCheck {
    LineCheck { kind: Some(kind), expected_quantity: Some(Decimal::ZERO), expected_amount: Some(Decimal::ZERO) }
}

fn line_discrepancy(
    line: &InvoiceLine,
    line_index: usize,
    record: Option<&UsageRecord>,
    kind: DiscrepancyKind,
    check: &LineCheck,
) -> Discrepancy {
    Discrepancy {
        carrier: line.carrier.clone(),
        invoice_id: Some(line.invoice_id.clone()),
        line_id: Some(line.line_id.clone()),
        record_id: record.map(|record| record.record_id.clone()),
        kind,
        service: line.service,
        destination: line.destination.digits().to_owned(),
        started_at: line.started_at,
        billed_quantity: line.quantity,
        expected_quantity: check.expected_quantity,
        billed_amount: line.amount,
        expected_amount: check.expected_amount,
        difference: check.expected_amount.map(|expected| line.amount - expected),
        currency: line.currency,
        line_index: Some(line_index),
        record_index: None,
    }
}

fn unbilled_discrepancy(record: &UsageRecord, record_index: usize, rating: &Rating) -> Discrepancy {
    Discrepancy {
        carrier: record.carrier.clone(),
        invoice_id: None,
        line_id: None,
        record_id: Some(record.record_id.clone()),
        kind: DiscrepancyKind::UnbilledUsage,
        service: record.service,
        destination: record.destination.digits().to_owned(),
        started_at: record.started_at,
        billed_quantity: Decimal::ZERO,
        expected_quantity: Some(rating.billed_quantity),
        billed_amount: Decimal::ZERO,
        expected_amount: Some(rating.cost),
        difference: Some(-rating.cost),
        currency: rating.currency,
        line_index: None,
        record_index: Some(record_index),
    }
}

#[cfg(test)]
mod tests;
