//! Contract terms beyond the rate deck (`contract_terms.csv`): recurring charges, minimum
//! commitments and their shortfalls, volume rebates and retroactive rates, taxes and
//! surcharges. Each term is effective-dated like a deck row, and says what amount a carrier
//! may bill under one charge code in one month.

use crate::charges::ChargeType;
use crate::money::{round, RoundMode};
use crate::period::Month;
use crate::{Currency, Service};
use compact_str::CompactString;
use jiff::civil::Date;
use rust_decimal::Decimal;
use std::sync::Arc;

/// One term of a carrier's contract, in force from `effective_from` (inclusive) to
/// `effective_to` (exclusive; `None`: open-ended).
#[derive(Clone, Debug, PartialEq)]
pub struct ChargeTerm {
    pub carrier: Arc<str>,
    /// The `charge_code` the carrier's invoice lines of this term carry.
    pub code: CompactString,
    pub currency: Currency,
    pub effective_from: Date,
    pub effective_to: Option<Date>,
    pub rule: TermRule,
}

/// What a term charges or credits.
#[derive(Clone, Debug, PartialEq)]
pub enum TermRule {
    /// A fixed monthly charge (trunks, numbers, channels); with `prorate`, a month the term is
    /// in force only in part is charged `amount × days in force / days in the month`.
    Recurring { amount: Decimal, prorate: bool },
    /// A minimum spend or volume per period over a scope of the usage: short of it, the carrier
    /// bills the difference (spend), or `shortfall_rate` per unit short.
    Commitment {
        period: TermPeriod,
        metric: Metric,
        scope: UsageScope,
        minimum: Decimal,
        shortfall_rate: Option<Decimal>,
    },
    /// A credit once the period's spend or volume reaches `threshold`.
    Rebate { period: TermPeriod, metric: Metric, scope: UsageScope, threshold: Decimal, reward: Reward },
    /// A percentage of a base: the billed usage and/or the billed charges of named types of the
    /// carrier's invoices of the month, in the term's currency.
    Tax { percent: Decimal, base: Vec<ChargeType> },
}

/// The period a commitment or a rebate is measured over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TermPeriod {
    Month,
    /// A calendar quarter, checked on the invoice of its last month (March, June, September,
    /// December) with the three months' usage.
    Quarter,
}

/// What a commitment or rebate measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Our rated cost of the records in scope, in the term's currency.
    Spend,
    /// Our billed quantity of the records in scope, in the service's base unit.
    Volume,
}

/// The records a commitment or rebate counts: of one service (or all), to destinations under
/// one of the prefixes (or all).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageScope {
    pub service: Option<Service>,
    pub prefixes: Vec<CompactString>,
}

/// What a rebate credits once due.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reward {
    /// A percentage of the period's spend in scope.
    Percent(Decimal),
    /// A fixed amount.
    Amount(Decimal),
    /// An amount per unit of the period's volume in scope: a retroactive rate (the deck rate
    /// less this, on every unit of the period).
    PerUnit(Decimal),
}

/// The usage a term measures over one month: spend and volume of the records in scope.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ScopeTotals {
    pub spend: Decimal,
    pub volume: Decimal,
}

impl ChargeTerm {
    /// The charge type of the invoice lines this term bills.
    pub fn charge_type(&self) -> ChargeType {
        match self.rule {
            TermRule::Recurring { .. } => ChargeType::Recurring,
            TermRule::Commitment { .. } => ChargeType::CommitmentShortfall,
            TermRule::Rebate { .. } => ChargeType::Rebate,
            TermRule::Tax { .. } => ChargeType::Tax,
        }
    }

    /// Whether the term applies to a month: a recurring charge when in force on any day of it,
    /// any other term when in force on its first day.
    pub fn applies_to(&self, month: Month) -> bool {
        let Some((first, next)) = month_dates(month) else { return false };
        match self.rule {
            TermRule::Recurring { .. } => self.days_in_force(first, next) > 0,
            _ => self.effective_from <= first && self.effective_to.is_none_or(|to| to > first),
        }
    }

    /// The scope of a commitment or rebate.
    pub fn scope(&self) -> Option<&UsageScope> {
        match &self.rule {
            TermRule::Commitment { scope, .. } | TermRule::Rebate { scope, .. } => Some(scope),
            _ => None,
        }
    }

    fn days_in_force(&self, first: Date, next: Date) -> i32 {
        let from = self.effective_from.max(first);
        let to = self.effective_to.map_or(next, |to| to.min(next));
        if to <= from {
            return 0;
        }
        days_between(from, to)
    }

    /// The amount the term makes due in `month` (negative: a credit to us), rounded to the
    /// currency's minor unit half away from zero; zero when nothing is due. `usage(m)` gives the
    /// totals in scope of month `m`; `base(types)` the billed base of a tax.
    ///
    /// # Properties
    /// A recurring charge in force the whole month is its amount; a commitment met and a
    /// rebate not reached make nothing due.
    pub fn expected(
        &self,
        month: Month,
        usage: &dyn Fn(Month) -> ScopeTotals,
        base: &dyn Fn(&[ChargeType]) -> Decimal,
    ) -> Option<Decimal> {
        let amount = match &self.rule {
            TermRule::Recurring { amount, prorate } => {
                let (first, next) = month_dates(month)?;
                let days = self.days_in_force(first, next);
                if days == 0 {
                    Decimal::ZERO
                } else if *prorate {
                    // Actual days in force over actual days in the month.
                    amount.checked_mul(Decimal::from(days))?.checked_div(Decimal::from(days_between(first, next)))?
                } else {
                    *amount
                }
            }
            TermRule::Commitment { period, metric, minimum, shortfall_rate, .. } => {
                let Some(months) = period_months(*period, month) else { return Some(Decimal::ZERO) };
                let (_, measured) = measure(&months, *metric, usage)?;
                if measured >= *minimum {
                    Decimal::ZERO
                } else {
                    let short = minimum.checked_sub(measured)?;
                    match shortfall_rate {
                        Some(rate) => short.checked_mul(*rate)?,
                        None => short,
                    }
                }
            }
            TermRule::Rebate { period, metric, threshold, reward, .. } => {
                let Some(months) = period_months(*period, month) else { return Some(Decimal::ZERO) };
                let (totals, measured) = measure(&months, *metric, usage)?;
                if measured < *threshold {
                    Decimal::ZERO
                } else {
                    let credit = match reward {
                        Reward::Percent(percent) => {
                            totals.spend.checked_mul(*percent)?.checked_div(Decimal::ONE_HUNDRED)?
                        }
                        Reward::Amount(amount) => *amount,
                        Reward::PerUnit(rate) => totals.volume.checked_mul(*rate)?,
                    };
                    -credit
                }
            }
            TermRule::Tax { percent, base: types } => {
                base(types).checked_mul(*percent)?.checked_div(Decimal::ONE_HUNDRED)?
            }
        };
        Some(round(amount, self.currency.minor_units().unwrap_or(6), RoundMode::HalfAwayFromZero))
    }
}

impl UsageScope {
    /// Whether a record of `service` to `digits` is in scope.
    pub fn contains(&self, service: Service, digits: &str) -> bool {
        self.service.is_none_or(|scope_service| scope_service == service)
            && (self.prefixes.is_empty() || self.prefixes.iter().any(|prefix| digits.starts_with(prefix.as_str())))
    }
}

impl ChargeTerm {
    /// The first month a commitment or rebate checked on `month` counts the usage of (the
    /// quarter's first for a quarterly one); `None` for other terms, or when `month` ends no
    /// period of the term.
    pub fn measured_from(&self, month: Month) -> Option<Month> {
        let period = match self.rule {
            TermRule::Commitment { period, .. } | TermRule::Rebate { period, .. } => period,
            _ => return None,
        };
        period_months(period, month).and_then(|months| months.first().copied())
    }

    /// The month a commitment's or rebate's period holding `month` is checked on: the month
    /// itself for a monthly term, the quarter's last month for a quarterly one; `None` for
    /// other terms.
    pub fn checked_on(&self, month: Month) -> Option<Month> {
        let period = match self.rule {
            TermRule::Commitment { period, .. } | TermRule::Rebate { period, .. } => period,
            _ => return None,
        };
        Some(match period {
            TermPeriod::Month => month,
            TermPeriod::Quarter => Month { year: month.year, month: (month.month - 1) / 3 * 3 + 3 },
        })
    }
}

/// The months a period ending with `month` covers; `None` when `month` ends no period (a
/// quarterly term is checked on its quarter's last month only).
fn period_months(period: TermPeriod, month: Month) -> Option<Vec<Month>> {
    match period {
        TermPeriod::Month => Some(vec![month]),
        TermPeriod::Quarter if month.month % 3 == 0 => {
            Some((0..3).map(|back| Month { year: month.year, month: month.month - back }).rev().collect())
        }
        TermPeriod::Quarter => None,
    }
}

/// The totals of the months added up, and the metric's figure of them; `None` past the
/// largest decimal.
fn measure(months: &[Month], metric: Metric, usage: &dyn Fn(Month) -> ScopeTotals) -> Option<(ScopeTotals, Decimal)> {
    let mut totals = ScopeTotals::default();
    for month in months {
        let month_totals = usage(*month);
        totals.spend = totals.spend.checked_add(month_totals.spend)?;
        totals.volume = totals.volume.checked_add(month_totals.volume)?;
    }
    let measured = match metric {
        Metric::Spend => totals.spend,
        Metric::Volume => totals.volume,
    };
    Some((totals, measured))
}

/// The month's first day and the next month's.
fn month_dates(month: Month) -> Option<(Date, Date)> {
    let first = Date::new(month.year, month.month, 1).ok()?;
    let next = first.checked_add(jiff::Span::new().months(1)).ok()?;
    Some((first, next))
}

fn days_between(from: Date, to: Date) -> i32 {
    // Both dates lie within a few months of each other: the span in days always fits.
    from.until((jiff::Unit::Day, to)).map_or(0, |span| span.get_days())
}

/// A commitment's forecast during its period (`reckon commitments`): the spend or volume so far,
/// and the shortfall the period would end with at the current run rate.
#[derive(Clone, Debug, PartialEq)]
pub struct CommitmentForecast {
    /// The period's first day and the first day after it.
    pub first_day: Date,
    pub end_day: Date,
    /// Whole days of the period up to the day of the forecast (that day included), at most
    /// the period's days.
    pub days_elapsed: i32,
    pub days_in_period: i32,
    /// The spend or volume in scope so far.
    pub so_far: Decimal,
    /// `so_far / days_elapsed × days_in_period`, exact to 28 digits.
    pub projected: Decimal,
    pub minimum: Decimal,
    /// The shortfall due on `projected`, rounded as the one billed ([`ChargeTerm::expected`]):
    /// zero when the projection meets the minimum.
    pub projected_shortfall: Decimal,
}

impl CommitmentForecast {
    /// Whether the projection leaves a shortfall to pay (an alert `commitment_at_risk`): the
    /// rounded shortfall, so that "at risk" never shows beside a shortfall of 0.00.
    pub fn at_risk(&self) -> bool {
        self.projected_shortfall > Decimal::ZERO
    }
}

impl ChargeTerm {
    /// The days of the period of a commitment in force on `day` that holds it (its month, or
    /// its calendar quarter): `(first day, first day after)`; `None` for other terms.
    pub fn commitment_period(&self, day: Date) -> Option<(Date, Date)> {
        let TermRule::Commitment { period, .. } = self.rule else { return None };
        let first_month = match period {
            TermPeriod::Month => day.month(),
            TermPeriod::Quarter => (day.month() - 1) / 3 * 3 + 1,
        };
        let first = Date::new(day.year(), first_month, 1).ok()?;
        let months = if period == TermPeriod::Month { 1 } else { 3 };
        let end = first.checked_add(jiff::Span::new().months(months)).ok()?;
        Some((first, end))
    }

    /// Whether a commitment's forecast on `day` forecasts a shortfall that will be checked: the
    /// period holding `day` is checked on a month the term applies to (in force on that month's
    /// first day, [`ChargeTerm::applies_to`]), as the shortfall itself is.
    pub fn forecast_applies(&self, day: Date) -> bool {
        let month = Month { year: day.year(), month: day.month() };
        matches!(self.rule, TermRule::Commitment { .. })
            && self.checked_on(month).is_some_and(|checked_on| self.applies_to(checked_on))
    }

    /// The forecast of a commitment on `day` (its period's day), from the spend or volume in
    /// scope `so_far` over the period's days up to and including `day`: projected at the run
    /// rate, `so_far / days elapsed × days in the period`. On or after the period's last day
    /// the projection is `so_far` itself, so the forecast is the shortfall the period ends
    /// with. `None` for other terms, or past the largest decimal.
    ///
    /// # Properties
    /// With the whole period elapsed, `projected_shortfall` equals [`ChargeTerm::expected`] on
    /// the period's usage.
    pub fn forecast(&self, day: Date, so_far: Decimal) -> Option<CommitmentForecast> {
        let TermRule::Commitment { minimum, shortfall_rate, .. } = &self.rule else { return None };
        let (first_day, end_day) = self.commitment_period(day)?;
        let days_in_period = days_between(first_day, end_day);
        let days_elapsed = (days_between(first_day, day) + 1).clamp(1, days_in_period);
        let projected = if days_elapsed == days_in_period {
            so_far
        } else {
            so_far.checked_mul(Decimal::from(days_in_period))?.checked_div(Decimal::from(days_elapsed))?
        };
        let short = if projected >= *minimum { Decimal::ZERO } else { minimum.checked_sub(projected)? };
        let due = match shortfall_rate {
            Some(rate) => short.checked_mul(*rate)?,
            None => short,
        };
        Some(CommitmentForecast {
            first_day,
            end_day,
            days_elapsed,
            days_in_period,
            so_far,
            projected,
            minimum: *minimum,
            projected_shortfall: round(due, self.currency.minor_units().unwrap_or(6), RoundMode::HalfAwayFromZero),
        })
    }
}

impl ChargeTerm {
    /// Whether the real-time accruals (cost per day, carrier, customer, destination name,
    /// service and currency: no quantities, no dial codes) measure this commitment, and why not
    /// otherwise: they give a spend of a service or of all, not a volume, nor a spend under
    /// some prefixes.
    ///
    /// # Errors
    /// The reason, for a volume commitment, one scoped by prefixes, or another term.
    pub fn measured_by_accruals(&self) -> Result<(), &'static str> {
        match &self.rule {
            TermRule::Commitment { metric: Metric::Volume, .. } => {
                Err("a volume commitment: the accruals keep costs, not billed quantities")
            }
            TermRule::Commitment { scope, .. } if !scope.prefixes.is_empty() => {
                Err("a commitment scoped by prefixes: the accruals keep destination names, not dial codes")
            }
            TermRule::Commitment { .. } => Ok(()),
            _ => Err("not a commitment"),
        }
    }

    /// Whether an accrued cost of `service` in `currency` counts towards this commitment's
    /// spend (see [`ChargeTerm::measured_by_accruals`]).
    pub fn counts_accrued(&self, service: Service, currency: Option<Currency>) -> bool {
        currency == Some(self.currency) && self.scope().is_some_and(|scope| scope.service.is_none_or(|s| s == service))
    }
}

/// The months the forecasts of commitments on `day` read the accruals of: from the first month
/// of `day`'s quarter (a quarterly commitment's period) to `day`'s month.
pub fn forecast_months(day: Date) -> (Month, Month) {
    let last = Month { year: day.year(), month: day.month() };
    (Month { year: last.year, month: (last.month - 1) / 3 * 3 + 1 }, last)
}

/// The day a forecast of `period` is made on: `today` within it, its last day once it is over
/// (the forecast is then the period's final figure), its first before it starts; `today`
/// without a period. `None` past the last representable month.
pub fn forecast_day(period: Option<Month>, today: Date) -> Option<Date> {
    let Some(period) = period else { return Some(today) };
    let (first, next) = month_dates(period)?;
    Some(today.clamp(first, next.yesterday().ok()?))
}
