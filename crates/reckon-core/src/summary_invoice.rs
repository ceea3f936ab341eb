//! Summary invoices: carriers that bill totals per destination for a period (calls, billed
//! quantity, rate, amount) instead of one line per record (FORMATS.md, "invoice-summary.csv").
//!
//! Nothing is rated here: the records come with the ratings every run computes
//! ([`crate::rating::rate_all`]), and each record's expected amount in a line's currency is the
//! one an itemised line would be checked against ([`crate::reconcile`]'s conversion and
//! rounding). A group's expected figures are sums over its records, so a summary invoice and an
//! itemised invoice of the same traffic come to the same money impact per group.
//!
//! Records are grouped the carrier's way. An invoice whose every line names a prefix groups by
//! prefix: a record belongs to the line whose prefix is the longest prefix of its destination
//! (among the lines of its service). Otherwise the invoice groups by destination name: a record
//! belongs to the line named as the deck row that rated it (case and runs of spaces ignored).
//! Billable records of the invoice's period and services that no line takes form unbilled
//! groups, named by their deck row's prefix (or destination name).

use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::money::{add_to, TotalOverflow};
use crate::period::utc_date;
use crate::rating::Rating;
use crate::reconcile::{expected_in_currency, Conversion};
use crate::{Currency, FxTable, RateDeck, ReconcileConfig, Service, UsageRecord};
use compact_str::CompactString;
use jiff::civil::Date;
use jiff::Timestamp;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::sync::Arc;

/// One row of `invoice-summary.csv`: what a carrier billed for one group of its traffic in a
/// period.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryLine {
    pub carrier: Arc<str>,
    /// The carrier's invoice number.
    pub invoice_id: Arc<str>,
    /// Date of the invoice, when the file gives one (else the period's last day).
    pub invoice_date: Option<Date>,
    /// The line's id within the invoice (by default its prefix, else its destination name).
    pub line_id: CompactString,
    /// First day of the period billed (UTC), inclusive.
    pub period_start: Date,
    /// Last day of the period billed (UTC), inclusive.
    pub period_end: Date,
    pub service: Service,
    /// The dial-code prefix the line bills, digits only.
    pub prefix: Option<String>,
    /// The destination name the line bills.
    pub destination_name: Option<String>,
    /// Calls (or messages, sessions) billed; `None` when the invoice does not count them.
    pub calls: Option<u64>,
    /// Billed quantity in the service's base unit (seconds for voice), after the carrier's
    /// increments.
    pub quantity: Decimal,
    /// Rate applied, per the deck's `rate_unit`, when the line gives it.
    pub rate: Option<Decimal>,
    /// Amount billed for the group.
    pub amount: Decimal,
    pub currency: Currency,
}

impl SummaryLine {
    /// The group the line bills: its prefix, else its destination name.
    pub fn group(&self) -> &str {
        self.prefix.as_deref().or(self.destination_name.as_deref()).unwrap_or_default()
    }

    /// The invoice's date for conversions at the invoice date: the file's, else the period's
    /// last day.
    pub fn effective_invoice_date(&self) -> Date {
        self.invoice_date.unwrap_or(self.period_end)
    }

    /// Whether a UTC date falls in the line's period.
    pub fn covers(&self, date: Date) -> bool {
        self.period_start <= date && date <= self.period_end
    }
}

/// How an invoice's lines name their groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Grouping {
    /// Every line names a prefix: records go to the longest prefix of their destination.
    Prefix,
    /// Some line names no prefix: records go to the line named as their deck row.
    DestinationName,
}

/// Why summary invoices cannot be compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SummaryError {
    #[error(
        "summary invoice {invoice_id:?} of {carrier}: its lines give two periods ({first} and {other}); \
         an invoice covers one period"
    )]
    MixedPeriods { carrier: String, invoice_id: String, first: String, other: String },
    #[error(
        "summary invoice {invoice_id:?} of {carrier}: {service} group {group:?} is billed on two lines \
         ({first_line:?} and {second_line:?}); a group is billed once"
    )]
    RepeatedGroup {
        carrier: String,
        invoice_id: String,
        service: Service,
        group: String,
        first_line: String,
        second_line: String,
    },
    #[error(
        "summary invoices {first:?} and {second:?} of {carrier} both bill {service} traffic of {date}: \
         each day of a carrier's traffic is compared with one summary invoice"
    )]
    OverlappingInvoices { carrier: String, first: String, second: String, service: Service, date: Date },
    #[error("summary invoice {invoice_id:?} of {carrier}: line {line_id:?} names neither a prefix nor a destination")]
    NoGroup { carrier: String, invoice_id: String, line_id: String },
    #[error(transparent)]
    Total(#[from] TotalOverflow),
}

/// What a carrier billed for a group.
#[derive(Clone, Debug, PartialEq)]
pub struct BilledFigures {
    pub calls: Option<u64>,
    pub quantity: Decimal,
    pub rate: Option<Decimal>,
    pub amount: Decimal,
}

/// What our rated usage gives for a group.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpectedFigures {
    /// Billable records (billed quantity above 0).
    pub calls: u64,
    /// Sum of their billed quantities (after the contract's increments).
    pub quantity: Decimal,
    /// The contracted rate, when every record of the group is rated at one rate in the line's
    /// currency; `None` when rates differ (or currencies): the amount decides.
    pub rate: Option<Decimal>,
    /// Sum of their costs in the group's currency (each converted and rounded as a line's
    /// expected amount); `None` when one cannot be converted.
    pub amount: Option<Decimal>,
}

/// One group of a summary invoice compared with our usage.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupComparison {
    pub carrier: Arc<str>,
    pub invoice_id: Arc<str>,
    /// The summary line; `None` for an unbilled group.
    pub line_id: Option<CompactString>,
    /// The line's index among the lines compared (`None` for an unbilled group).
    pub line_index: Option<usize>,
    pub service: Service,
    /// The group's prefix or destination name.
    pub group: String,
    /// The line's currency (the deck's for an unbilled group).
    pub currency: Currency,
    /// The first day of the period.
    pub period_start: Date,
    /// What the carrier billed (`None` for an unbilled group).
    pub billed: Option<BilledFigures>,
    pub expected: ExpectedFigures,
    /// The first kind whose comparison fails; `None` when the group agrees.
    pub kind: Option<DiscrepancyKind>,
    /// Our records in the group (usage indexes, in usage order) with each one's expected
    /// amount in the group's currency (`None`: not convertible).
    pub records: Vec<(usize, Option<Decimal>)>,
}

/// Our side of a group on one UTC day: the first evidence of a volume dispute.
#[derive(Clone, Debug, PartialEq)]
pub struct DayEvidence {
    pub date: Date,
    pub calls: u64,
    pub quantity: Decimal,
    /// `None` when a record's cost cannot be converted into the group's currency.
    pub expected_amount: Option<Decimal>,
}

impl GroupComparison {
    /// Our figures of the group per UTC day, in date order.
    ///
    /// # Errors
    /// When a day's total overflows.
    pub fn evidence_by_day(
        &self,
        usage: &[UsageRecord],
        ratings: &[Option<Rating>],
    ) -> Result<Vec<DayEvidence>, TotalOverflow> {
        let mut days: BTreeMap<Date, DayEvidence> = BTreeMap::new();
        for (index, expected) in &self.records {
            let date = utc_date(usage[*index].started_at);
            let day = days.entry(date).or_insert(DayEvidence {
                date,
                calls: 0,
                quantity: Decimal::ZERO,
                expected_amount: Some(Decimal::ZERO),
            });
            day.calls += 1;
            add_to(&mut day.quantity, ratings[*index].map_or(Decimal::ZERO, |rating| rating.billed_quantity))?;
            day.expected_amount = match (day.expected_amount, expected) {
                (Some(total), Some(amount)) => Some(total.checked_add(*amount).ok_or(TotalOverflow)?),
                _ => None,
            };
        }
        Ok(days.into_values().collect())
    }

    /// `billed - expected` (positive: overbilled); `None` when the expected amount is unknown.
    pub fn difference(&self) -> Option<Decimal> {
        let billed = self.billed.as_ref().map_or(Decimal::ZERO, |billed| billed.amount);
        self.expected.amount.and_then(|expected| billed.checked_sub(expected))
    }
}

/// The result of comparing summary invoices with our usage.
#[derive(Clone, Debug, PartialEq)]
pub struct SummaryReconciliation {
    /// Every group: the lines in the order given, then the unbilled groups of each invoice.
    pub groups: Vec<GroupComparison>,
    /// The groups that disagree, as `discrepancies.csv` rows, sorted as FORMATS.md fixes.
    pub discrepancies: Vec<Discrepancy>,
}

/// Compares summary invoices (`lines`, in file order) with the usage and its ratings
/// (`ratings[i]` rates `usage[i]`); `deck` is the deck that rated them (for the prefix and name
/// of each record's row).
///
/// A line's group is checked in this order, the first failing comparison giving its kind:
/// no billable record but an amount billed (`summary_unexpected_group`), calls (when the line
/// counts them: `summary_volume_mismatch`), billed quantity against the quantity tolerance
/// (`summary_quantity_mismatch`), conversion (`currency_mismatch`), rate (when the line gives
/// one, the group has one contracted rate and the currencies agree: `summary_rate_mismatch`),
/// amount against the amount tolerance (`summary_amount_mismatch`). Unbilled groups with an
/// expected amount above 0 are `summary_unbilled_group`.
///
/// # Properties
/// - every billable record of a covered carrier, service and day is in exactly one group;
/// - a group's expected amount is the sum of its records' expected amounts, so the money impact
///   of a group equals the sum of the differences an itemised invoice of the same traffic gives
///   for the group's records and lines.
///
/// # Errors
/// Invoices that cannot be compared (two periods in one invoice, a group billed twice, two
/// invoices of a carrier and service covering one day), or a total that overflows.
///
/// # Panics
/// When `ratings` and `usage` differ in length.
pub fn reconcile_summaries(
    usage: &[UsageRecord],
    ratings: &[Option<Rating>],
    deck: &RateDeck,
    lines: &[SummaryLine],
    fx: &FxTable,
    config: &ReconcileConfig,
) -> Result<SummaryReconciliation, SummaryError> {
    assert_eq!(usage.len(), ratings.len());
    let invoices = invoices_of(lines)?;
    check_no_overlap(lines, &invoices)?;
    let mut line_records: Vec<Vec<(usize, Option<Decimal>)>> = vec![Vec::new(); lines.len()];
    // Unbilled groups per invoice, service, group and currency, in first-record order.
    let mut unbilled: BTreeMap<(usize, Service, String, Currency), Vec<usize>> = BTreeMap::new();
    for (index, record) in usage.iter().enumerate() {
        let Some(rating) = ratings[index].as_ref().filter(|rating| rating.billed_quantity > Decimal::ZERO) else {
            continue;
        };
        let date = utc_date(record.started_at);
        let Some(invoice_index) = invoices.iter().position(|invoice| invoice.covers(lines, record, date)) else {
            continue;
        };
        let invoice = &invoices[invoice_index];
        match invoice.line_of(lines, deck, record, rating) {
            Some(line_index) => {
                let line = &lines[line_index];
                let conversion = Conversion {
                    fx,
                    terms: config.terms(&line.carrier),
                    invoice_date: Some(line.effective_invoice_date()),
                };
                let expected = expected_in_currency(rating, line.currency, record, &conversion);
                line_records[line_index].push((index, expected));
            }
            None => {
                let group = row_group(deck, rating, invoice.grouping);
                unbilled.entry((invoice_index, record.service, group, rating.currency)).or_default().push(index);
            }
        }
    }
    let mut groups = Vec::with_capacity(lines.len() + unbilled.len());
    for (line_index, (line, records)) in lines.iter().zip(line_records).enumerate() {
        groups.push(compare_line(line, line_index, records, ratings, config)?);
    }
    let mut unbilled_groups = Vec::with_capacity(unbilled.len());
    for ((invoice_index, service, group, currency), indexes) in unbilled {
        let first_line = &lines[invoices[invoice_index].lines[0]];
        unbilled_groups.push(unbilled_group(first_line, service, group, currency, indexes, ratings)?);
    }
    unbilled_groups.sort_by_key(|group| group.records.first().map(|(index, _)| *index));
    groups.extend(unbilled_groups);
    let mut discrepancies: Vec<Discrepancy> = groups.iter().filter_map(group_discrepancy).collect();
    discrepancies.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    Ok(SummaryReconciliation { groups, discrepancies })
}

/// The lines of one summary invoice.
struct InvoiceGroups {
    carrier: Arc<str>,
    invoice_id: Arc<str>,
    grouping: Grouping,
    /// Indexes into the lines, in file order.
    lines: Vec<usize>,
    services: Vec<Service>,
}

impl InvoiceGroups {
    /// Whether the invoice bills the record's carrier, service and day.
    fn covers(&self, lines: &[SummaryLine], record: &UsageRecord, date: Date) -> bool {
        *self.carrier == *record.carrier && self.services.contains(&record.service) && lines[self.lines[0]].covers(date)
    }

    /// The line that bills a record's group, if any.
    fn line_of(&self, lines: &[SummaryLine], deck: &RateDeck, record: &UsageRecord, rating: &Rating) -> Option<usize> {
        let of_service = self.lines.iter().copied().filter(|index| lines[*index].service == record.service);
        match self.grouping {
            Grouping::Prefix => {
                let digits = record.destination.digits();
                of_service
                    .filter(|index| lines[*index].prefix.as_deref().is_some_and(|prefix| digits.starts_with(prefix)))
                    .max_by_key(|index| lines[*index].prefix.as_deref().map_or(0, str::len))
            }
            Grouping::DestinationName => {
                let name = deck.row(rating.row).destination_name.as_deref().map(name_key)?;
                of_service
                    .filter(|index| lines[*index].destination_name.as_deref().map(name_key).as_ref() == Some(&name))
                    .min()
            }
        }
    }
}

/// A destination name compared case-insensitively, runs of spaces as one.
fn name_key(name: &str) -> String {
    name.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

/// The group our usage gives a record no line takes: its deck row's prefix (or, for an invoice
/// grouped by name, its row's name), else the other one, else the row's network.
fn row_group(deck: &RateDeck, rating: &Rating, grouping: Grouping) -> String {
    let row = deck.row(rating.row);
    let prefix = Some(row.prefix.as_str()).filter(|prefix| !prefix.is_empty());
    let name = row.destination_name.as_deref().filter(|name| !name.is_empty());
    let (first, second) = match grouping {
        Grouping::Prefix => (prefix, name),
        Grouping::DestinationName => (name, prefix),
    };
    first.or(second).map_or_else(|| format!("row {}", rating.row.0 + 1), str::to_owned)
}

/// Groups the lines per invoice and checks each invoice names one period and each group once.
fn invoices_of(lines: &[SummaryLine]) -> Result<Vec<InvoiceGroups>, SummaryError> {
    let mut invoices: Vec<InvoiceGroups> = Vec::new();
    let mut by_key: BTreeMap<(Arc<str>, Arc<str>), usize> = BTreeMap::new();
    for (index, line) in lines.iter().enumerate() {
        if line.prefix.is_none() && line.destination_name.is_none() {
            return Err(SummaryError::NoGroup {
                carrier: line.carrier.to_string(),
                invoice_id: line.invoice_id.to_string(),
                line_id: line.line_id.to_string(),
            });
        }
        let key = (line.carrier.clone(), line.invoice_id.clone());
        let position = *by_key.entry(key).or_insert_with(|| {
            invoices.push(InvoiceGroups {
                carrier: line.carrier.clone(),
                invoice_id: line.invoice_id.clone(),
                grouping: Grouping::Prefix,
                lines: Vec::new(),
                services: Vec::new(),
            });
            invoices.len() - 1
        });
        let invoice = &mut invoices[position];
        if let Some(first) = invoice.lines.first().map(|first| &lines[*first]) {
            if (first.period_start, first.period_end) != (line.period_start, line.period_end) {
                return Err(SummaryError::MixedPeriods {
                    carrier: line.carrier.to_string(),
                    invoice_id: line.invoice_id.to_string(),
                    first: format!("{} to {}", first.period_start, first.period_end),
                    other: format!("{} to {}", line.period_start, line.period_end),
                });
            }
        }
        if line.prefix.is_none() {
            invoice.grouping = Grouping::DestinationName;
        }
        if !invoice.services.contains(&line.service) {
            invoice.services.push(line.service);
        }
        invoice.lines.push(index);
    }
    for invoice in &invoices {
        check_groups_unique(lines, invoice)?;
    }
    Ok(invoices)
}

fn check_groups_unique(lines: &[SummaryLine], invoice: &InvoiceGroups) -> Result<(), SummaryError> {
    let mut seen: BTreeMap<(Service, String), usize> = BTreeMap::new();
    for index in &invoice.lines {
        let line = &lines[*index];
        let group = match invoice.grouping {
            Grouping::Prefix => line.prefix.clone().unwrap_or_default(),
            Grouping::DestinationName => match &line.destination_name {
                Some(name) => name_key(name),
                None => {
                    return Err(SummaryError::NoGroup {
                        carrier: line.carrier.to_string(),
                        invoice_id: line.invoice_id.to_string(),
                        line_id: line.line_id.to_string(),
                    })
                }
            },
        };
        if let Some(first) = seen.insert((line.service, group.clone()), *index) {
            return Err(SummaryError::RepeatedGroup {
                carrier: line.carrier.to_string(),
                invoice_id: line.invoice_id.to_string(),
                service: line.service,
                group: line.group().to_owned(),
                first_line: lines[first].line_id.to_string(),
                second_line: line.line_id.to_string(),
            });
        }
    }
    Ok(())
}

/// Two invoices of one carrier billing one service on the same day would both claim its records.
fn check_no_overlap(lines: &[SummaryLine], invoices: &[InvoiceGroups]) -> Result<(), SummaryError> {
    for (position, first) in invoices.iter().enumerate() {
        for second in &invoices[position + 1..] {
            if first.carrier != second.carrier {
                continue;
            }
            let (a, b) = (&lines[first.lines[0]], &lines[second.lines[0]]);
            let overlap_start = a.period_start.max(b.period_start);
            if overlap_start > a.period_end.min(b.period_end) {
                continue;
            }
            if let Some(service) = first.services.iter().find(|service| second.services.contains(service)) {
                return Err(SummaryError::OverlappingInvoices {
                    carrier: first.carrier.to_string(),
                    first: first.invoice_id.to_string(),
                    second: second.invoice_id.to_string(),
                    service: *service,
                    date: overlap_start,
                });
            }
        }
    }
    Ok(())
}

/// The rate every record of a group is rated at, when there is one in `currency`.
fn common_rate(
    indexes: impl Iterator<Item = usize>,
    ratings: &[Option<Rating>],
    currency: Currency,
) -> Option<Decimal> {
    let mut common = None;
    for index in indexes {
        let rating = ratings[index].as_ref()?;
        if rating.currency != currency || common.is_some_and(|rate| rate != rating.rate) {
            return None;
        }
        common = Some(rating.rate);
    }
    common
}

fn expected_figures(
    records: &[(usize, Option<Decimal>)],
    ratings: &[Option<Rating>],
    currency: Currency,
) -> Result<ExpectedFigures, TotalOverflow> {
    let mut quantity = Decimal::ZERO;
    let mut amount = Some(Decimal::ZERO);
    for (index, expected) in records {
        add_to(&mut quantity, ratings[*index].map_or(Decimal::ZERO, |rating| rating.billed_quantity))?;
        amount = match (amount, expected) {
            (Some(total), Some(expected)) => Some(total.checked_add(*expected).ok_or(TotalOverflow)?),
            _ => None,
        };
    }
    Ok(ExpectedFigures {
        calls: records.len() as u64,
        quantity,
        rate: common_rate(records.iter().map(|(index, _)| *index), ratings, currency),
        amount,
    })
}

fn compare_line(
    line: &SummaryLine,
    line_index: usize,
    records: Vec<(usize, Option<Decimal>)>,
    ratings: &[Option<Rating>],
    config: &ReconcileConfig,
) -> Result<GroupComparison, TotalOverflow> {
    let expected = expected_figures(&records, ratings, line.currency)?;
    let billed = BilledFigures { calls: line.calls, quantity: line.quantity, rate: line.rate, amount: line.amount };
    let kind = classify(&billed, &expected, records.is_empty(), config);
    Ok(GroupComparison {
        carrier: line.carrier.clone(),
        invoice_id: line.invoice_id.clone(),
        line_id: Some(line.line_id.clone()),
        line_index: Some(line_index),
        service: line.service,
        group: line.group().to_owned(),
        currency: line.currency,
        period_start: line.period_start,
        billed: Some(billed),
        expected,
        kind,
        records,
    })
}

/// The first failing comparison of a billed group, in the order of [`reconcile_summaries`].
fn classify(
    billed: &BilledFigures,
    expected: &ExpectedFigures,
    no_records: bool,
    config: &ReconcileConfig,
) -> Option<DiscrepancyKind> {
    if no_records && !billed.amount.is_zero() {
        return Some(DiscrepancyKind::SummaryUnexpectedGroup);
    }
    if billed.calls.is_some_and(|calls| calls != expected.calls) {
        return Some(DiscrepancyKind::SummaryVolumeMismatch);
    }
    // Checked: a difference too large to hold is certainly beyond the tolerance.
    let quantity_difference = billed.quantity.checked_sub(expected.quantity);
    if quantity_difference.is_none_or(|difference| difference.abs() > config.quantity_tolerance) {
        return Some(DiscrepancyKind::SummaryQuantityMismatch);
    }
    let Some(expected_amount) = expected.amount else {
        return Some(DiscrepancyKind::CurrencyMismatch);
    };
    // The expected rate is known only when every record is rated at one rate in the line's
    // currency: rates in different currencies (or several rates) leave the amount to decide.
    if let (Some(billed_rate), Some(expected_rate)) = (billed.rate, expected.rate) {
        if billed_rate != expected_rate {
            return Some(DiscrepancyKind::SummaryRateMismatch);
        }
    }
    let amount_difference = billed.amount.checked_sub(expected_amount);
    if amount_difference.is_none_or(|difference| difference.abs() > config.amount_tolerance) {
        return Some(DiscrepancyKind::SummaryAmountMismatch);
    }
    None
}

fn unbilled_group(
    first_line: &SummaryLine,
    service: Service,
    group: String,
    currency: Currency,
    indexes: Vec<usize>,
    ratings: &[Option<Rating>],
) -> Result<GroupComparison, TotalOverflow> {
    let records: Vec<(usize, Option<Decimal>)> =
        indexes.iter().map(|index| (*index, ratings[*index].map(|rating| rating.cost))).collect();
    let expected = expected_figures(&records, ratings, currency)?;
    let kind =
        expected.amount.is_some_and(|amount| amount > Decimal::ZERO).then_some(DiscrepancyKind::SummaryUnbilledGroup);
    Ok(GroupComparison {
        carrier: first_line.carrier.clone(),
        invoice_id: first_line.invoice_id.clone(),
        line_id: None,
        line_index: None,
        service,
        group,
        currency,
        period_start: first_line.period_start,
        billed: None,
        expected,
        kind,
        records,
    })
}

/// The `discrepancies.csv` row of a group that disagrees: `line_id` the summary line,
/// `destination` the group, `started_at` the period's first midnight (UTC), quantities and
/// amounts the group's totals.
fn group_discrepancy(group: &GroupComparison) -> Option<Discrepancy> {
    let kind = group.kind?;
    let unconvertible = kind == DiscrepancyKind::CurrencyMismatch;
    let (billed_quantity, billed_amount) =
        group.billed.as_ref().map_or((Decimal::ZERO, Decimal::ZERO), |billed| (billed.quantity, billed.amount));
    let expected_amount = if unconvertible { None } else { group.expected.amount };
    Some(Discrepancy {
        carrier: group.carrier.clone(),
        invoice_id: Some(group.invoice_id.clone()),
        line_id: group.line_id.clone(),
        record_id: None,
        kind,
        service: group.service,
        destination: group.group.clone(),
        started_at: midnight_utc(group.period_start),
        billed_quantity,
        expected_quantity: if unconvertible { None } else { Some(group.expected.quantity) },
        billed_amount,
        expected_amount,
        difference: expected_amount.and_then(|expected| billed_amount.checked_sub(expected)),
        currency: group.currency,
        line_index: group.line_index,
        // Unbilled groups (no line) sort by their first record, as unbilled usage does.
        record_index: if group.line_index.is_none() { group.records.first().map(|(index, _)| *index) } else { None },
    })
}

fn midnight_utc(date: Date) -> Timestamp {
    jiff::tz::Offset::UTC.to_timestamp(date.to_datetime(jiff::civil::Time::midnight())).unwrap_or(Timestamp::UNIX_EPOCH)
}

#[cfg(test)]
mod tests;
