//! Why a record or an invoice line is expected at the amount it is, in plain words: the deck row
//! used, the increments, fees, minimum, cap and rounding, the FX conversion, the match and the
//! comparison that failed (issue 16, `reckon explain`).
//!
//! An explanation is never computed apart from the run it explains: the record is rated by
//! [`crate::rating::rate_all_traced`] and the line checked by
//! [`crate::reconcile::check_line_traced`], the code every run uses, with a [`RatingTrace`]
//! that writes each step down. The matching is the run's own [`Matcher`], fed the run's lines in
//! the run's order, so the line takes the record it takes in the run.

use crate::contract::FxPolicy;
use crate::discrepancy::DiscrepancyKind;
use crate::matching::{LineMatch, Matcher};
use crate::network::NetworkMap;
use crate::rate_deck::{RateRowIndex, TierMode};
use crate::rating::{rate_all_traced, ConversionStep, CostSteps, Party, Rating, RatingTrace, TierStep, UnitsPrice};
use crate::reconcile::{check_line_traced, Conversion, LineCheck, RunFacts};
use crate::{Currency, FxTable, Increments, InvoiceLine, RateDeck, ReconcileConfig, Service, UsageRecord};
use rust_decimal::Decimal;
use std::fmt;

/// One step of an explanation: what it is about, and what happened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExplanationStep {
    pub title: String,
    pub detail: String,
}

/// Why a record or a line is expected at its amount, step by step.
#[derive(Clone, Debug, PartialEq)]
pub struct Explanation {
    /// What is explained: `record u00013`, `line acme/ACME-2026-03/7`.
    pub subject: String,
    pub steps: Vec<ExplanationStep>,
    /// The amount the run expects: a record's cost in its deck's currency, a line's expected
    /// amount in the line's currency (0 for a duplicate or unmatched line); `None` without a
    /// rate or a conversion.
    pub expected_amount: Option<Decimal>,
    pub currency: Option<Currency>,
    /// The quantity the run expects billed (after increments).
    pub expected_quantity: Option<Decimal>,
    /// A line's discrepancy (or a record's, when it is unbilled usage); `None`: it agrees.
    pub discrepancy: Option<DiscrepancyKind>,
    /// `billed - expected` for a line (positive: overbilled); for unbilled usage, `-cost`.
    pub difference: Option<Decimal>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.subject)?;
        for step in &self.steps {
            writeln!(f, "  {}: {}", step.title, step.detail)?;
        }
        match (self.expected_amount, self.currency) {
            (Some(amount), Some(currency)) => writeln!(f, "expected amount: {} {currency}", amount.normalize())?,
            _ => writeln!(f, "expected amount: none")?,
        }
        let verdict = self.discrepancy.map_or("none", DiscrepancyKind::as_str);
        writeln!(f, "discrepancy: {verdict}")
    }
}

/// The inputs of the run an explanation is about, as the run reads them: the usage (in run
/// order), the carrier deck made ready by `RateDeck::apply_reference`, the run's lines in run
/// order, and the lines of other periods' invoices that only take records away.
pub struct ExplainInputs<'a> {
    pub usage: &'a [UsageRecord],
    pub deck: &'a RateDeck,
    pub networks: &'a NetworkMap,
    pub lines: &'a [InvoiceLine],
    pub other_period_lines: &'a [InvoiceLine],
    pub fx: &'a FxTable,
    pub config: &'a ReconcileConfig,
}

/// The index of a record by its id.
pub fn find_record(usage: &[UsageRecord], record_id: &str) -> Option<usize> {
    usage.iter().position(|record| record.record_id == record_id)
}

/// The index of a line by carrier, invoice and line id.
pub fn find_line(lines: &[InvoiceLine], carrier: &str, invoice_id: &str, line_id: &str) -> Option<usize> {
    lines
        .iter()
        .position(|line| &*line.carrier == carrier && &*line.invoice_id == invoice_id && line.line_id == line_id)
}

/// Explains `usage[record_index]`: its rating, and the line that bills it (or that none does).
///
/// # Panics
/// When `record_index` is out of range.
pub fn explain_record(inputs: &ExplainInputs<'_>, record_index: usize) -> Explanation {
    let record = &inputs.usage[record_index];
    let (ratings, mut steps) = rate_with_steps(inputs, record_index);
    steps.insert(0, step("record", describe_record(record)));
    let rating = ratings[record_index];
    let run = RunMatches::of(inputs);
    let mut explanation = Explanation {
        subject: format!("record {}", record.record_id),
        steps,
        expected_amount: rating.map(|rating| rating.cost),
        currency: rating.map(|rating| rating.currency),
        expected_quantity: rating.map(|rating| rating.billed_quantity),
        discrepancy: None,
        difference: None,
    };
    let billed_by = run.matches.iter().position(|found| *found == LineMatch::Matched(record_index));
    let billing = match (billed_by, rating) {
        (Some(line_index), _) => {
            let line = &inputs.lines[line_index];
            let check = check_with(inputs, &run.facts, line, record_index, rating.as_ref(), &mut NoSteps);
            let verdict = check.kind.map_or("agrees with it", DiscrepancyKind::as_str);
            format!("by line {} ({verdict})", line_name(line))
        }
        (None, _) if run.taken_by_other_period.contains(&record_index) => {
            "by a line of another period's invoice (not judged in this run)".to_owned()
        }
        (None, None) => "no line bills it".to_owned(),
        (None, Some(rating)) if rating.cost <= Decimal::ZERO => "no line bills it, and it costs nothing".to_owned(),
        (None, Some(rating)) if run.facts.invoiced_month(record) => {
            explanation.discrepancy = Some(DiscrepancyKind::UnbilledUsage);
            explanation.difference = Some(-rating.cost);
            format!("no line bills it: unbilled_usage of {} {} (underbilled)", rating.cost.normalize(), rating.currency)
        }
        (None, Some(_)) => "no line bills it, and no invoice of the run covers its carrier's month".to_owned(),
    };
    explanation.steps.push(step("billed", billing));
    explanation
}

/// Explains `lines[line_index]`: the record it takes, that record's rating, the conversion into
/// the line's currency and the comparison that fails (or that it agrees).
///
/// # Panics
/// When `line_index` is out of range.
pub fn explain_line(inputs: &ExplainInputs<'_>, line_index: usize) -> Explanation {
    let line = &inputs.lines[line_index];
    let run = RunMatches::of(inputs);
    let mut steps = vec![step("line", describe_line(line))];
    let subject = format!("line {}", line_name(line));
    let (kind, expected_quantity, expected_amount) = match run.matches[line_index] {
        LineMatch::Matched(record_index) => {
            let record = &inputs.usage[record_index];
            steps.push(step("match", how_matched(line, record, inputs.config)));
            let (ratings, rating_steps) = rate_with_steps(inputs, record_index);
            steps.push(step("record", describe_record(record)));
            steps.extend(rating_steps);
            let rating = ratings[record_index];
            let mut recorder = StepRecorder::new(inputs, record_index);
            let check = check_with(inputs, &run.facts, line, record_index, rating.as_ref(), &mut recorder);
            steps.extend(recorder.steps);
            steps.push(step("check", verdict(line, rating.as_ref(), &check, inputs.config)));
            (check.kind, check.expected_quantity, check.expected_amount)
        }
        LineMatch::Duplicate(record_index) => {
            let record = &inputs.usage[record_index];
            let first = run.matches.iter().position(|found| *found == LineMatch::Matched(record_index));
            let by = first.map_or("a line of another period's invoice".to_owned(), |index| {
                format!("line {}", line_name(&inputs.lines[index]))
            });
            steps.push(step(
                "match",
                format!("record {} is the one it bills, but {by} already billed it", record.record_id),
            ));
            steps.push(step("check", billed_for_nothing(line, DiscrepancyKind::DuplicateCharge)));
            (Some(DiscrepancyKind::DuplicateCharge), Some(Decimal::ZERO), Some(Decimal::ZERO))
        }
        LineMatch::Unmatched => {
            let reference = line
                .carrier_ref
                .as_ref()
                .map_or(String::new(), |reference| format!("with reference {reference}, nor "));
            steps.push(step(
                "match",
                format!(
                    "no record of {} {reference}for {} to {} within {} s of {}",
                    line.carrier,
                    line.service,
                    line.destination.digits(),
                    inputs.config.time_tolerance.as_secs(),
                    line.started_at
                ),
            ));
            steps.push(step("check", billed_for_nothing(line, DiscrepancyKind::UnmatchedCharge)));
            (Some(DiscrepancyKind::UnmatchedCharge), Some(Decimal::ZERO), Some(Decimal::ZERO))
        }
    };
    Explanation {
        subject,
        steps,
        expected_amount,
        currency: Some(line.currency),
        expected_quantity,
        discrepancy: kind,
        difference: expected_amount.map(|expected| line.amount - expected),
    }
}

/// The run's matching, as the run does it: its own lines in order, then other periods' lines.
struct RunMatches {
    matches: Vec<LineMatch>,
    taken_by_other_period: Vec<usize>,
    facts: RunFacts,
}

impl RunMatches {
    fn of(inputs: &ExplainInputs<'_>) -> RunMatches {
        let mut matcher = Matcher::new(inputs.usage, inputs.config.time_tolerance);
        let mut facts = RunFacts::default();
        let matches = inputs
            .lines
            .iter()
            .map(|line| {
                facts.add_line(line, inputs.config);
                matcher.match_line(line)
            })
            .collect();
        let taken_by_other_period = inputs
            .other_period_lines
            .iter()
            .filter_map(|line| match matcher.match_line(line) {
                LineMatch::Matched(index) => Some(index),
                _ => None,
            })
            .collect();
        RunMatches { matches, taken_by_other_period, facts }
    }
}

/// Rates the whole usage as the run does (a month's tiers need every record), writing down the
/// steps of one record.
fn rate_with_steps(inputs: &ExplainInputs<'_>, record_index: usize) -> (Vec<Option<Rating>>, Vec<ExplanationStep>) {
    let mut recorder = StepRecorder::new(inputs, record_index);
    let ratings = rate_all_traced(inputs.deck, inputs.usage, Party::Carrier, inputs.networks, &mut recorder);
    (ratings, recorder.steps)
}

/// Checks a matched line as the run does (the run's invoice dates, the carrier's contract).
fn check_with(
    inputs: &ExplainInputs<'_>,
    facts: &RunFacts,
    line: &InvoiceLine,
    record_index: usize,
    rating: Option<&Rating>,
    trace: &mut impl RatingTrace,
) -> LineCheck {
    let conversion =
        Conversion { fx: inputs.fx, terms: inputs.config.terms(&line.carrier), invoice_date: facts.invoice_date(line) };
    check_line_traced(line, &inputs.usage[record_index], rating, &conversion, inputs.config, trace)
}

/// A trace that notes nothing (for a check whose steps are not shown).
struct NoSteps;

impl RatingTrace for NoSteps {}

/// Writes down, in plain words, the steps of one record.
struct StepRecorder<'a> {
    deck: &'a RateDeck,
    fx: &'a FxTable,
    usage: &'a [UsageRecord],
    target: usize,
    current: usize,
    steps: Vec<ExplanationStep>,
}

impl<'a> StepRecorder<'a> {
    fn new(inputs: &ExplainInputs<'a>, target: usize) -> StepRecorder<'a> {
        StepRecorder {
            deck: inputs.deck,
            fx: inputs.fx,
            usage: inputs.usage,
            target,
            current: target,
            steps: Vec::new(),
        }
    }

    fn note(&mut self, title: &str, detail: String) {
        if self.current == self.target {
            self.steps.push(step(title, detail));
        }
    }

    fn service(&self) -> Service {
        self.usage[self.target].service
    }
}

impl RatingTrace for StepRecorder<'_> {
    fn record(&mut self, record_index: usize) {
        self.current = record_index;
    }

    fn no_row(&mut self) {
        let record = &self.usage[self.target];
        let detail = format!(
            "no rate: no row of {}'s deck prices {} to {} at {} (no prefix of the number, or none in force then, in its band or for its origin)",
            record.carrier,
            record.service,
            record.destination.digits(),
            record.started_at
        );
        self.note("deck row", detail);
    }

    fn quantity_past_bounds(&mut self) {
        let quantity = self.usage[self.target].quantity;
        self.note("rate", format!("no rate: the quantity {quantity} is past the bounds every reader enforces"));
    }

    fn row(&mut self, row: RateRowIndex) {
        if self.current == self.target {
            let detail = describe_row(self.deck, row);
            self.note("deck row", detail);
        }
    }

    fn undelivered(&mut self) {
        let status = self.usage[self.target].status.map_or("no receipt", |status| status.as_str());
        self.note(
            "delivery",
            format!("the receipt says {status} and the row bills delivered messages only: billed quantity 0, cost 0"),
        );
    }

    fn nothing_billed(&mut self, blocked: bool) {
        let detail = if blocked {
            "the destination is blocked: nothing is billable, billed quantity 0, cost 0".to_owned()
        } else {
            "the measured quantity is 0: nothing is billed (no connect fee, no minimum), cost 0".to_owned()
        };
        self.note("quantity", detail);
    }

    fn billed_quantity(&mut self, measured_quantity: Decimal, increments: Increments, billed_quantity: Decimal) {
        let unit = unit_of(self.service());
        self.note(
            "increments",
            format!(
                "{} {unit} → {} {unit} at {increments}",
                measured_quantity.normalize(),
                billed_quantity.normalize()
            ),
        );
    }

    fn units_price(&mut self, units: &UnitsPrice) {
        let unit = unit_of(self.service());
        let rest = format!("{} {unit} × {}", units.units.normalize(), units.rate.normalize());
        let detail = match units.first_block {
            Some((first_rate, first_units)) => format!(
                "first block {} {unit} × first rate {} + {rest} = {}",
                first_units.normalize(),
                first_rate.normalize(),
                units.units_price.normalize()
            ),
            None => format!("{rest} = {}", units.units_price.normalize()),
        };
        self.note("units", detail);
    }

    fn cost(&mut self, cost: &CostSteps) {
        if self.current == self.target {
            self.note("cost", describe_cost(cost));
        }
    }

    fn tier(&mut self, tier: &TierStep) {
        let unit = unit_of(self.service());
        let detail = match tier.mode {
            TierMode::Volume => format!(
                "volume tier: the month's {} {unit} reach the tier at {}; units price {}",
                tier.month_quantity.normalize(),
                tier.rate.normalize(),
                tier.units_price.normalize()
            ),
            TierMode::Graduated => format!(
                "graduated tiers: this record's units {}–{} of the month's {} {unit} (first unit at {}); units price {}",
                tier.position_before.normalize(),
                tier.position_after.normalize(),
                tier.month_quantity.normalize(),
                tier.rate.normalize(),
                tier.units_price.normalize()
            ),
        };
        self.note("tier", detail);
    }

    fn conversion(&mut self, conversion: &ConversionStep) {
        let detail = describe_conversion(conversion, self.fx);
        self.note("conversion", detail);
    }
}

fn step(title: &str, detail: String) -> ExplanationStep {
    ExplanationStep { title: title.to_owned(), detail }
}

/// The base unit a quantity of the service is counted in, as the explanation writes it.
fn unit_of(service: Service) -> &'static str {
    match service {
        Service::Voice => "s",
        Service::Video => "participant-s",
        Service::Sms => "segments",
        Service::Mms | Service::Email => "messages",
        Service::Data => "bytes",
    }
}

fn line_name(line: &InvoiceLine) -> String {
    format!("{}/{}/{}", line.carrier, line.invoice_id, line.line_id)
}

fn describe_record(record: &UsageRecord) -> String {
    let mut detail = format!(
        "{} {} by {} to {} at {}, {} {}",
        record.record_id,
        record.service,
        record.carrier,
        record.destination.digits(),
        record.started_at,
        record.quantity.normalize(),
        unit_of(record.service)
    );
    if let Some(reference) = &record.carrier_ref {
        detail.push_str(&format!(", carrier reference {reference}"));
    }
    if let Some(origin) = &record.origin {
        detail.push_str(&format!(", from {}", origin.digits()));
    }
    if let Some(network) = &record.network {
        detail.push_str(&format!(", network {network}"));
    }
    if let Some(status) = record.status {
        detail.push_str(&format!(", receipt {}", status.as_str()));
    }
    detail
}

fn describe_line(line: &InvoiceLine) -> String {
    let rate = line.rate.map_or(String::new(), |rate| format!(" at rate {}", rate.normalize()));
    let reference =
        line.carrier_ref.as_ref().map_or(String::new(), |reference| format!(", carrier reference {reference}"));
    format!(
        "{} to {} at {}{reference}: {} {}{rate}, amount {} {}",
        line.service,
        line.destination.digits(),
        line.started_at,
        line.quantity.normalize(),
        unit_of(line.service),
        line.amount.normalize(),
        line.currency
    )
}

fn describe_row(deck: &RateDeck, index: RateRowIndex) -> String {
    let row = deck.row(index);
    let mut detail =
        format!("{} {} prefix {}", row.carrier, row.service, if row.prefix.is_empty() { "(any)" } else { &row.prefix });
    if let Some(name) = &row.destination_name {
        detail.push_str(&format!(" ({name})"));
    }
    if let Some(network) = &row.conditions.network {
        detail.push_str(&format!(", network {network}"));
    }
    detail.push_str(&format!(", in force from {}", row.effective_from));
    match row.effective_to {
        Some(to) => detail.push_str(&format!(" until {to}")),
        None => detail.push_str(", open-ended"),
    }
    if let Some(band) = &row.conditions.band {
        detail.push_str(&format!(", band {band}"));
    }
    if let Some(origin) = &row.conditions.origin_prefix {
        detail.push_str(&format!(", origin prefix {origin}"));
    }
    detail.push_str(&format!(
        "; rate {} {} per {} {}, increments {}",
        row.rate.normalize(),
        row.currency,
        row.rate_unit.normalize(),
        unit_of(row.service),
        row.increments
    ));
    if let Some(tiers) = &row.tiers {
        let mode = match tiers.mode {
            TierMode::Volume => "volume",
            TierMode::Graduated => "graduated",
        };
        let steps: Vec<String> = tiers
            .steps
            .iter()
            .map(|(from, rate)| format!("from {} at {}", from.normalize(), rate.normalize()))
            .collect();
        detail.push_str(&format!(", {mode} tiers {}", steps.join(", ")));
    }
    if let Some(first_rate) = row.rules.first_rate {
        detail.push_str(&format!(", first rate {}", first_rate.normalize()));
    }
    if !row.connect_fee.is_zero() {
        detail.push_str(&format!(", connect fee {}", row.connect_fee.normalize()));
    }
    if !row.min_charge.is_zero() {
        detail.push_str(&format!(", minimum {}", row.min_charge.normalize()));
    }
    if !row.per_record_fee.is_zero() {
        detail.push_str(&format!(", per-record fee {}", row.per_record_fee.normalize()));
    }
    if let Some(max_cost) = row.rules.max_cost {
        detail.push_str(&format!(", cap {}", max_cost.normalize()));
    }
    if let Some(billed_on) = row.rules.billed_on {
        detail.push_str(&format!(", billed on {}", billed_on.as_str()));
    }
    if row.rules.blocked {
        detail.push_str(", blocked");
    }
    detail
}

fn describe_rounding(rounding: Option<crate::rate_deck::CostRounding>) -> String {
    match rounding {
        Some(rounding) => format!("{} places {}", rounding.decimal_places, rounding.mode.as_str()),
        None => "6 places half away from zero".to_owned(),
    }
}

fn describe_cost(cost: &CostSteps) -> String {
    let mut parts = vec![format!("{} / {}", cost.units_price.normalize(), cost.rate_unit.normalize())];
    if !cost.connect_fee.is_zero() {
        parts.push(format!("+ connect fee {}", cost.connect_fee.normalize()));
    }
    let mut detail = format!("{} = {}", parts.join(" "), cost.before_minimum.normalize());
    if cost.min_charge > cost.before_minimum {
        detail.push_str(&format!(", below the minimum: {}", cost.min_charge.normalize()));
    } else if !cost.min_charge.is_zero() {
        detail.push_str(&format!(", not below the minimum {}", cost.min_charge.normalize()));
    }
    if !cost.per_record_fee.is_zero() {
        detail.push_str(&format!(
            ", + per-record fee {} = {}",
            cost.per_record_fee.normalize(),
            cost.with_fees.normalize()
        ));
    }
    if let Some(max_cost) = cost.max_cost {
        if cost.unrounded < cost.with_fees {
            detail.push_str(&format!(", capped at {}", max_cost.normalize()));
        } else {
            detail.push_str(&format!(", under the cap {}", max_cost.normalize()));
        }
    }
    detail.push_str(&format!("; rounded to {}: {}", describe_rounding(cost.rounding), cost.cost.normalize()));
    detail
}

fn describe_conversion(conversion: &ConversionStep, fx: &FxTable) -> String {
    let (cost, from, to) = (conversion.cost.normalize(), conversion.from, conversion.to);
    if conversion.deck_currency_only {
        return format!("the contract bills in the deck's currency only: {cost} {from} is not converted into {to}");
    }
    let how = match (conversion.policy, conversion.date) {
        (FxPolicy::Fixed { currency, .. }, _) if currency != to => {
            return format!("the contract fixes a rate into {currency} only: {cost} {from} is not converted into {to}");
        }
        (FxPolicy::Fixed { rate, .. }, _) => format!("at the contract's fixed rate {}", rate.normalize()),
        (FxPolicy::InvoiceDate, None) => {
            return format!(
                "the contract converts at the invoice's date, and the invoice has none: {cost} {from} is not converted"
            );
        }
        (policy, Some(date)) => {
            let whose = if policy == FxPolicy::InvoiceDate { "the invoice's date" } else { "the record's date" };
            let rates: Vec<String> = [from, to]
                .into_iter()
                .filter(|currency| *currency != Currency::EUR)
                .map(|currency| per_eur(fx, currency, date))
                .collect();
            format!("at the rates of {date} ({whose}): {}", rates.join(", "))
        }
        (_, None) => String::new(),
    };
    match (conversion.converted, conversion.expected) {
        (Some(converted), Some(expected)) => format!(
            "{cost} {from} → {to} {how} = {}; rounded to {}: {} {to}",
            converted.normalize(),
            describe_rounding(conversion.rounding),
            expected.normalize()
        ),
        _ => format!("{cost} {from} → {to} {how}: not converted"),
    }
}

/// A currency's rate per EUR on a date, with the date it was published (the latest on or before).
fn per_eur(fx: &FxTable, currency: Currency, date: jiff::civil::Date) -> String {
    match (fx.per_eur(currency, date), fx.rate_date(currency, date)) {
        (Ok(rate), Some(rate_date)) => format!("{} {currency} per EUR of {rate_date}", rate.normalize()),
        (Ok(rate), None) => format!("{} {currency} per EUR", rate.normalize()),
        (Err(error), _) => error.to_string(),
    }
}

fn difference_words(difference: Decimal, currency: Currency) -> String {
    if difference > Decimal::ZERO {
        format!("overbilled by {} {currency}", difference.normalize())
    } else if difference < Decimal::ZERO {
        format!("underbilled by {} {currency}", (-difference).normalize())
    } else {
        "no money difference".to_owned()
    }
}

fn billed_for_nothing(line: &InvoiceLine, kind: DiscrepancyKind) -> String {
    format!(
        "{kind}: expected 0, billed {} {}: {}",
        line.amount.normalize(),
        line.currency,
        difference_words(line.amount, line.currency)
    )
}

/// The comparison of a matched line that failed, with its numbers and money impact.
fn verdict(line: &InvoiceLine, rating: Option<&Rating>, check: &LineCheck, config: &ReconcileConfig) -> String {
    let Some(rating) = rating else {
        return format!(
            "no_rate: the contract prices nothing for this record; the billed {} {} cannot be checked",
            line.amount.normalize(),
            line.currency
        );
    };
    let unit = unit_of(line.service);
    let impact = match check.expected_amount {
        Some(expected) => format!(
            "billed {} {cur}, expected {} {cur}: {}",
            line.amount.normalize(),
            expected.normalize(),
            difference_words(line.amount - expected, line.currency),
            cur = line.currency
        ),
        None => String::new(),
    };
    match check.kind {
        Some(DiscrepancyKind::UndeliveredCharge) => billed_for_nothing(line, DiscrepancyKind::UndeliveredCharge),
        Some(DiscrepancyKind::QuantityMismatch) => format!(
            "quantity_mismatch: billed {} {unit}, expected {} {unit} (tolerance {}); {impact}",
            line.quantity.normalize(),
            rating.billed_quantity.normalize(),
            config.quantity_tolerance.normalize()
        ),
        Some(DiscrepancyKind::CurrencyMismatch) => format!(
            "currency_mismatch: billed {} {}, the deck prices in {} and the amount cannot be converted",
            line.amount.normalize(),
            line.currency,
            rating.currency
        ),
        Some(DiscrepancyKind::RateMismatch) => format!(
            "rate_mismatch: billed rate {}, contracted rate {} {}; {impact}",
            line.rate.unwrap_or_default().normalize(),
            rating.rate.normalize(),
            rating.currency
        ),
        Some(DiscrepancyKind::AmountMismatch) => format!(
            "amount_mismatch: quantity and rate agree, but the amount differs by more than the tolerance {}; {impact}",
            config.amount_tolerance.normalize()
        ),
        Some(kind) => format!("{kind}; {impact}"),
        None => format!(
            "agrees: quantity {} {unit}, {}amount within the tolerance {}; {impact}",
            line.quantity.normalize(),
            if line.rate.is_some() && line.currency == rating.currency { "rate and " } else { "" },
            config.amount_tolerance.normalize()
        ),
    }
}

/// How the line took its record: by the carrier's reference, or as the nearest untaken record
/// in time with the same destination.
fn how_matched(line: &InvoiceLine, record: &UsageRecord, config: &ReconcileConfig) -> String {
    if line.carrier_ref.is_some() && line.carrier_ref == record.carrier_ref {
        return format!(
            "record {} by the carrier's reference {}",
            record.record_id,
            line.carrier_ref.as_deref().unwrap_or_default()
        );
    }
    let distance = record.started_at.duration_since(line.started_at).abs();
    format!(
        "record {}, the nearest untaken record to {} in time ({} s apart, within the tolerance of {} s)",
        record.record_id,
        line.destination.digits(),
        distance.as_secs(),
        config.time_tolerance.as_secs()
    )
}

#[cfg(test)]
mod tests;
