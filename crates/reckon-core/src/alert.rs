//! Alert rules: conditions on a month's running figures (margin per customer or destination, a
//! carrier's spend, the share of unrated traffic) or on a reconciled invoice (its overbilled
//! share). Evaluating a rule gives the alerts whose condition holds; whoever raises them keeps
//! one per rule, subject and period, so a condition fires once per period, not once per event.

use crate::margin::RecordMargin;
use crate::money::{round, RoundMode};
use crate::rating::Rating;
use crate::{Currency, InvoiceLine, RateDeck, UsageRecord};
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;

/// What a rule watches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// Margin as a percentage of revenue below the threshold (per customer or destination).
    MarginBelow,
    /// A carrier's accrued cost in the month above the threshold (in the deck's currency).
    SpendOver,
    /// Percentage of a carrier's records without a rate above the threshold.
    UnratedShareOver,
    /// Percentage of an invoice's billed amount that is overbilled above the threshold.
    OverbilledShareOver,
    /// A carrier's commitment projected to fall short at the current run rate, by a shortfall
    /// above the threshold (an amount; 0: any shortfall), issue 17.
    CommitmentAtRisk,
}

impl AlertKind {
    pub const ALL: [AlertKind; 5] = [
        AlertKind::MarginBelow,
        AlertKind::SpendOver,
        AlertKind::UnratedShareOver,
        AlertKind::OverbilledShareOver,
        AlertKind::CommitmentAtRisk,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::MarginBelow => "margin_below",
            AlertKind::SpendOver => "spend_over",
            AlertKind::UnratedShareOver => "unrated_share_over",
            AlertKind::OverbilledShareOver => "overbilled_share_over",
            AlertKind::CommitmentAtRisk => "commitment_at_risk",
        }
    }

    pub fn parse(text: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The dimensions a rule of this kind may name.
    pub fn dimensions(self) -> &'static [Dimension] {
        match self {
            AlertKind::MarginBelow => &[Dimension::Customer, Dimension::Destination],
            _ => &[Dimension::Carrier],
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a rule's subject names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dimension {
    Customer,
    Destination,
    Carrier,
}

impl Dimension {
    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::Customer => "customer",
            Dimension::Destination => "destination",
            Dimension::Carrier => "carrier",
        }
    }
}

/// One rule: `kind` on `dimension` = `name` (`*`: every one) against `threshold`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AlertRule {
    pub kind: AlertKind,
    pub dimension: Dimension,
    /// A customer, destination or carrier name, or `*` for each of them.
    pub name: String,
    /// A percentage for the share and margin kinds, an amount for `spend_over`.
    pub threshold: Decimal,
}

impl AlertRule {
    /// Parses `dimension:name` (`customer:bigco`, `carrier:*`) for a kind.
    ///
    /// # Errors
    /// A subject without `:`, or a dimension the kind does not watch.
    pub fn new(kind: AlertKind, subject: &str, threshold: Decimal) -> Result<AlertRule, String> {
        let (dimension, name) = subject
            .split_once(':')
            .filter(|(_, name)| !name.is_empty())
            .ok_or_else(|| format!("subject {subject:?}: expected DIMENSION:NAME, like customer:bigco or carrier:*"))?;
        let dimension =
            kind.dimensions().iter().copied().find(|known| known.as_str() == dimension).ok_or_else(|| {
                let allowed: Vec<&str> = kind.dimensions().iter().map(|known| known.as_str()).collect();
                format!("subject {subject:?}: {kind} watches {}", allowed.join(" or "))
            })?;
        if threshold.is_sign_negative() && kind != AlertKind::MarginBelow {
            return Err(format!("threshold {threshold}: must be >= 0 for {kind}"));
        }
        Ok(AlertRule { kind, dimension, name: name.to_owned(), threshold })
    }

    fn covers(&self, dimension: Dimension, name: &str) -> bool {
        self.dimension == dimension && (self.name == "*" || self.name == name)
    }

    /// A stable name of the rule, part of an alert's identity.
    pub fn label(&self) -> String {
        format!("{} {}:{} {}", self.kind, self.dimension.as_str(), self.name, self.threshold.normalize())
    }
}

/// A condition that holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// [`AlertRule::label`] of the rule.
    pub rule: String,
    pub kind: AlertKind,
    /// `dimension:name` it holds for (`customer:bigco`, `carrier:acme`).
    pub subject: String,
    /// `YYYY-MM` for the month's figures; `invoice:ID` for an invoice.
    pub period: String,
    /// The figure that crossed the threshold (a percentage, or an amount).
    pub value: Decimal,
    pub threshold: Decimal,
    pub message: String,
}

/// Revenue and margin of a group, per price currency.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MarginFigures {
    pub revenue: Decimal,
    pub margin: Decimal,
}

/// Spend and traffic of a carrier.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CarrierFigures {
    pub records: u64,
    pub unrated: u64,
    /// Cost per currency of the carrier's rows.
    pub cost: BTreeMap<Currency, Decimal>,
}

/// The running figures of one month, from rated records.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MonthFigures {
    /// `(customer or destination, name, price currency)`: records with both a price and a cost.
    pub margins: BTreeMap<(Dimension, String, Currency), MarginFigures>,
    pub carriers: BTreeMap<String, CarrierFigures>,
}

impl MonthFigures {
    /// Adds a rated record. Margins count only records whose margin is known, so a record
    /// without a price or rate shows in the unrated share instead of as a full loss.
    pub fn add(&mut self, record: &UsageRecord, cost: Option<&Rating>, deck: &RateDeck, margin: &RecordMargin) {
        let carrier = self.carriers.entry(record.carrier.to_string()).or_default();
        carrier.records += 1;
        match cost {
            // Saturating: an alert compares a month's figures with a threshold, and a sum past
            // Decimal's range (only from inputs beyond the documented bounds) is past any threshold.
            Some(rating) => {
                let cost = carrier.cost.entry(rating.currency).or_default();
                *cost = cost.saturating_add(rating.cost);
            }
            None => carrier.unrated += 1,
        }
        let (Some(value), Some(price), Some(currency)) = (margin.margin, margin.price, margin.currency) else {
            return;
        };
        let destination = cost.map_or_else(String::new, |rating| {
            let row = deck.row(rating.row);
            row.destination_name.clone().unwrap_or_else(|| format!("+{}", row.prefix))
        });
        let customer = record.customer.as_deref().unwrap_or("(none)").to_owned();
        for key in [(Dimension::Customer, customer), (Dimension::Destination, destination)] {
            let figures = self.margins.entry((key.0, key.1, currency)).or_default();
            figures.revenue = figures.revenue.saturating_add(price);
            figures.margin = figures.margin.saturating_add(value);
        }
    }
}

/// Percentage `part / whole * 100` to 4 places (a figure for people, not money); `None` for an
/// empty whole.
fn percent(part: Decimal, whole: Decimal) -> Option<Decimal> {
    if whole.is_zero() {
        None
    } else {
        part.checked_mul(Decimal::ONE_HUNDRED)?
            .checked_div(whole)
            .map(|share| round(share, 4, RoundMode::HalfAwayFromZero).normalize())
    }
}

/// The alerts the month's figures raise under the rules (invoice rules are left to
/// [`invoice_alerts`]).
pub fn month_alerts(rules: &[AlertRule], month: &str, figures: &MonthFigures) -> Vec<Alert> {
    let mut alerts = Vec::new();
    for rule in rules {
        match rule.kind {
            AlertKind::MarginBelow => {
                for ((dimension, name, currency), group) in &figures.margins {
                    let Some(share) = percent(group.margin, group.revenue) else { continue };
                    if rule.covers(*dimension, name) && share < rule.threshold {
                        alerts.push(alert(
                            rule,
                            *dimension,
                            name,
                            month,
                            share,
                            format!(
                                "margin of {} {name} in {month} is {share}% ({} on {} {currency} revenue), below {}%",
                                dimension.as_str(),
                                group.margin.normalize(),
                                group.revenue.normalize(),
                                rule.threshold.normalize()
                            ),
                        ));
                    }
                }
            }
            AlertKind::SpendOver => {
                for (carrier, group) in &figures.carriers {
                    for (currency, cost) in &group.cost {
                        if rule.covers(Dimension::Carrier, carrier) && *cost > rule.threshold {
                            alerts.push(alert(
                                rule,
                                Dimension::Carrier,
                                carrier,
                                month,
                                *cost,
                                format!(
                                    "accrued spend with {carrier} in {month} is {} {currency}, over the budget of {}",
                                    cost.normalize(),
                                    rule.threshold.normalize()
                                ),
                            ));
                        }
                    }
                }
            }
            AlertKind::UnratedShareOver => {
                for (carrier, group) in &figures.carriers {
                    let Some(share) = percent(Decimal::from(group.unrated), Decimal::from(group.records)) else {
                        continue;
                    };
                    if rule.covers(Dimension::Carrier, carrier) && share > rule.threshold {
                        alerts.push(alert(
                            rule,
                            Dimension::Carrier,
                            carrier,
                            month,
                            share,
                            format!(
                                "{share}% of {carrier}'s records in {month} have no rate ({} of {}), over {}%",
                                group.unrated,
                                group.records,
                                rule.threshold.normalize()
                            ),
                        ));
                    }
                }
            }
            AlertKind::OverbilledShareOver | AlertKind::CommitmentAtRisk => {}
        }
    }
    alerts
}

/// What an invoice bills in one currency: the sum of its lines in that currency. An invoice
/// billed in two currencies has a total per currency (summing across them would add unlike
/// units); `None` when the sum passes Decimal's range.
pub fn invoice_billed(lines: &[InvoiceLine], carrier: &str, invoice_id: &str, currency: Currency) -> Option<Decimal> {
    lines
        .iter()
        .filter(|line| &*line.carrier == carrier && &*line.invoice_id == invoice_id && line.currency == currency)
        .try_fold(Decimal::ZERO, |total, line| total.checked_add(line.amount))
}

/// The alerts a reconciled invoice raises: its overbilled amount (what its disputable lines
/// claim) as a share of its billed amount in the same currency ([`invoice_billed`]).
pub fn invoice_alerts(
    rules: &[AlertRule],
    carrier: &str,
    invoice_id: &str,
    billed: Decimal,
    overbilled: Decimal,
    currency: Currency,
) -> Vec<Alert> {
    let Some(share) = percent(overbilled, billed) else { return Vec::new() };
    rules
        .iter()
        .filter(|rule| {
            rule.kind == AlertKind::OverbilledShareOver
                && rule.covers(Dimension::Carrier, carrier)
                && share > rule.threshold
        })
        .map(|rule| {
            alert(
                rule,
                Dimension::Carrier,
                carrier,
                &format!("invoice:{invoice_id}"),
                share,
                format!(
                    "invoice {invoice_id} of {carrier} overbills {} of {} {currency} ({share}%), over {}%",
                    overbilled.normalize(),
                    billed.normalize(),
                    rule.threshold.normalize()
                ),
            )
        })
        .collect()
}

/// The alerts a commitment's forecast raises (`commitment_at_risk`): its projection falls short
/// of the minimum, by a projected shortfall above the rule's threshold. One per rule, carrier,
/// commitment and period (`commitment:CODE:FIRST-DAY`).
pub fn commitment_alerts(
    rules: &[AlertRule],
    carrier: &str,
    term: &crate::contract_terms::ChargeTerm,
    forecast: &crate::contract_terms::CommitmentForecast,
) -> Vec<Alert> {
    if !forecast.at_risk() {
        return Vec::new();
    }
    let currency = term.currency;
    rules
        .iter()
        .filter(|rule| {
            rule.kind == AlertKind::CommitmentAtRisk
                && rule.covers(Dimension::Carrier, carrier)
                && forecast.projected_shortfall > rule.threshold
        })
        .map(|rule| {
            alert(
                rule,
                Dimension::Carrier,
                carrier,
                &format!("commitment:{}:{}", term.code, forecast.first_day),
                forecast.projected_shortfall,
                format!(
                    "commitment {} of {carrier} is projected at {} {currency} against {} (day {} of {}): a shortfall of {} {currency}, over {}",
                    term.code,
                    crate::money::round_cost(forecast.projected).normalize(),
                    forecast.minimum.normalize(),
                    forecast.days_elapsed,
                    forecast.days_in_period,
                    forecast.projected_shortfall.normalize(),
                    rule.threshold.normalize()
                ),
            )
        })
        .collect()
}

fn alert(rule: &AlertRule, dimension: Dimension, name: &str, period: &str, value: Decimal, message: String) -> Alert {
    Alert {
        rule: rule.label(),
        kind: rule.kind,
        subject: format!("{}:{name}", dimension.as_str()),
        period: period.to_owned(),
        value,
        threshold: rule.threshold,
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    #[test]
    fn subjects_name_a_dimension_the_kind_watches() {
        assert!(AlertRule::new(AlertKind::MarginBelow, "customer:bigco", d("5")).is_ok());
        assert!(AlertRule::new(AlertKind::MarginBelow, "destination:*", d("5")).is_ok());
        let error = AlertRule::new(AlertKind::SpendOver, "customer:bigco", d("5")).unwrap_err();
        assert!(error.contains("spend_over watches carrier"), "{error}");
        assert!(AlertRule::new(AlertKind::SpendOver, "acme", d("5")).unwrap_err().contains("DIMENSION:NAME"));
        assert!(AlertRule::new(AlertKind::SpendOver, "carrier:acme", d("-1")).is_err());
    }

    #[test]
    fn month_rules_fire_on_their_subjects_only() {
        let mut figures = MonthFigures::default();
        // bigco: revenue 10.00, margin 0.40 -> 4%; smallco: revenue 2, margin 1 -> 50%.
        figures.margins.insert(
            (Dimension::Customer, "bigco".into(), eur()),
            MarginFigures { revenue: d("10.00"), margin: d("0.40") },
        );
        figures
            .margins
            .insert((Dimension::Customer, "smallco".into(), eur()), MarginFigures { revenue: d("2"), margin: d("1") });
        // acme: 1000.5 USD, 3 of 40 records unrated = 7.5%.
        figures.carriers.insert(
            "acme".into(),
            CarrierFigures {
                records: 40,
                unrated: 3,
                cost: [(Currency::parse("USD").unwrap(), d("1000.5"))].into_iter().collect(),
            },
        );
        let rules = [
            AlertRule::new(AlertKind::MarginBelow, "customer:*", d("5")).unwrap(),
            AlertRule::new(AlertKind::SpendOver, "carrier:acme", d("1000")).unwrap(),
            AlertRule::new(AlertKind::SpendOver, "carrier:borealis", d("1")).unwrap(),
            AlertRule::new(AlertKind::UnratedShareOver, "carrier:*", d("7.5")).unwrap(),
            AlertRule::new(AlertKind::UnratedShareOver, "carrier:*", d("7")).unwrap(),
        ];
        let alerts = month_alerts(&rules, "2026-03", &figures);
        let fired: Vec<(&str, &str, String)> =
            alerts.iter().map(|alert| (alert.kind.as_str(), alert.subject.as_str(), alert.value.to_string())).collect();
        assert_eq!(
            fired,
            [
                ("margin_below", "customer:bigco", "4".to_owned()),
                ("spend_over", "carrier:acme", "1000.5".to_owned()),
                // 7.5% is not over 7.5%; it is over 7%.
                ("unrated_share_over", "carrier:acme", "7.5".to_owned()),
            ]
        );
        assert!(alerts[0].message.contains("4% (0.4 on 10 EUR revenue), below 5%"), "{}", alerts[0].message);
        assert_eq!(alerts[2].rule, "unrated_share_over carrier:* 7");
    }

    #[test]
    fn invoice_share_is_overbilled_over_billed() {
        let rules = [AlertRule::new(AlertKind::OverbilledShareOver, "carrier:acme", d("2")).unwrap()];
        // 0.25 of 10 = 2.5% > 2%.
        let alerts = invoice_alerts(&rules, "acme", "INV-1", d("10"), d("0.25"), eur());
        assert_eq!(alerts.len(), 1);
        assert_eq!((alerts[0].period.as_str(), alerts[0].value), ("invoice:INV-1", d("2.5")));
        // 0.2 of 10 = 2%: not over.
        assert!(invoice_alerts(&rules, "acme", "INV-1", d("10"), d("0.2"), eur()).is_empty());
        assert!(invoice_alerts(&rules, "borealis", "INV-1", d("10"), d("5"), eur()).is_empty());
        assert!(invoice_alerts(&rules, "acme", "INV-1", Decimal::ZERO, d("5"), eur()).is_empty());
    }

    /// Issue 11 ("one place per rule"): an invoice's billed total is per currency.
    #[test]
    fn an_invoice_is_billed_per_currency() {
        let line = |invoice: &str, amount: &str, currency: &str| InvoiceLine {
            carrier: "acme".into(),
            invoice_id: invoice.into(),
            invoice_date: None,
            line_id: "1".into(),
            carrier_ref: None,
            service: crate::Service::Voice,
            started_at: "2026-03-02T10:00:00Z".parse().unwrap(),
            destination: crate::Destination::parse("44").unwrap(),
            quantity: d("60"),
            rate: None,
            amount: d(amount),
            currency: Currency::parse(currency).unwrap(),
        };
        let lines = [
            line("INV-1", "10", "EUR"),
            line("INV-1", "2.5", "EUR"),
            line("INV-1", "900", "USD"),
            line("INV-2", "7", "EUR"),
        ];
        // EUR: 10 + 2.5 = 12.5 (not 912.5 with the USD line, nor 19.5 with INV-2).
        assert_eq!(invoice_billed(&lines, "acme", "INV-1", eur()), Some(d("12.5")));
        assert_eq!(invoice_billed(&lines, "acme", "INV-1", Currency::parse("USD").unwrap()), Some(d("900")));
        assert_eq!(invoice_billed(&lines, "borealis", "INV-1", eur()), Some(Decimal::ZERO));
        let huge = [
            line("INV-1", "50000000000000000000000000000", "EUR"),
            line("INV-1", "50000000000000000000000000000", "EUR"),
        ];
        assert_eq!(invoice_billed(&huge, "acme", "INV-1", eur()), None, "5e28 + 5e28 passes Decimal's range");
    }
}
