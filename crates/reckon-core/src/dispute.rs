//! Disputes: overbilled discrepancies grouped per carrier invoice, and their lifecycle
//! `open -> submitted -> (accepted | partially_accepted | rejected) -> closed`.
//!
//! A dispute's state is never stored as a field to edit: it is the result of its events, each
//! appended with who, when, what and why. [`transition`] is the one rule of which event may
//! follow which state.

use crate::discrepancy::{Discrepancy, DiscrepancyKind};
use crate::Currency;
use rust_decimal::Decimal;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Where a dispute stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DisputeState {
    Open,
    Submitted,
    Accepted,
    PartiallyAccepted,
    Rejected,
    Closed,
}

impl DisputeState {
    pub const ALL: [DisputeState; 6] = [
        DisputeState::Open,
        DisputeState::Submitted,
        DisputeState::Accepted,
        DisputeState::PartiallyAccepted,
        DisputeState::Rejected,
        DisputeState::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DisputeState::Open => "open",
            DisputeState::Submitted => "submitted",
            DisputeState::Accepted => "accepted",
            DisputeState::PartiallyAccepted => "partially_accepted",
            DisputeState::Rejected => "rejected",
            DisputeState::Closed => "closed",
        }
    }

    pub fn parse(text: &str) -> Option<DisputeState> {
        DisputeState::ALL.into_iter().find(|state| state.as_str() == text)
    }
}

impl fmt::Display for DisputeState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What happens to a dispute.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DisputeAction {
    /// Sent to the carrier.
    Submit,
    /// The carrier credits every line in full.
    Accept,
    /// The carrier credits some lines, by line id (unnamed lines: nothing).
    AcceptPartially { credits: BTreeMap<String, Decimal> },
    /// The carrier credits nothing.
    Reject,
    /// The matter is done.
    Close,
}

impl DisputeAction {
    pub fn name(&self) -> &'static str {
        match self {
            DisputeAction::Submit => "submit",
            DisputeAction::Accept => "accept",
            DisputeAction::AcceptPartially { .. } => "accept_partially",
            DisputeAction::Reject => "reject",
            DisputeAction::Close => "close",
        }
    }
}

/// A transition the lifecycle does not allow.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a dispute that is {from} cannot be {action}: {hint}")]
pub struct IllegalTransition {
    pub from: DisputeState,
    pub action: &'static str,
    pub hint: &'static str,
}

/// The state after an action, or why it is not allowed.
///
/// # Errors
/// When the lifecycle does not allow the action in that state.
pub fn transition(from: DisputeState, action: &DisputeAction) -> Result<DisputeState, IllegalTransition> {
    use DisputeState::*;
    let to = match (from, action) {
        (Open, DisputeAction::Submit) => Submitted,
        (Submitted, DisputeAction::Accept) => Accepted,
        (Submitted, DisputeAction::AcceptPartially { .. }) => PartiallyAccepted,
        (Submitted, DisputeAction::Reject) => Rejected,
        (Accepted | PartiallyAccepted | Rejected, DisputeAction::Close) => Closed,
        _ => {
            let hint = match from {
                Open => "submit it to the carrier first",
                Submitted => "it awaits the carrier's answer: accept, accept partially or reject",
                Accepted | PartiallyAccepted | Rejected => "the carrier has answered; it can only be closed",
                Closed => "it is closed",
            };
            return Err(IllegalTransition { from, action: action_past(action), hint });
        }
    };
    Ok(to)
}

fn action_past(action: &DisputeAction) -> &'static str {
    match action {
        DisputeAction::Submit => "submitted",
        DisputeAction::Accept => "accepted",
        DisputeAction::AcceptPartially { .. } => "partially accepted",
        DisputeAction::Reject => "rejected",
        DisputeAction::Close => "closed",
    }
}

/// A discrepancy claimed back in a dispute.
#[derive(Clone, Debug, PartialEq)]
pub struct DisputeLine {
    pub line_id: String,
    pub record_id: Option<String>,
    pub kind: DiscrepancyKind,
    pub billed_amount: Decimal,
    pub expected_amount: Decimal,
    /// `billed - expected`: what we ask to be credited.
    pub claimed: Decimal,
}

/// The lines of one carrier invoice to dispute.
#[derive(Clone, Debug, PartialEq)]
pub struct DisputeDraft {
    pub carrier: Arc<str>,
    pub invoice_id: Arc<str>,
    pub currency: Currency,
    pub lines: Vec<DisputeLine>,
}

impl DisputeDraft {
    /// The total claimed.
    pub fn claimed_total(&self) -> Decimal {
        self.lines.iter().map(|line| line.claimed).sum()
    }
}

/// One disputed line with both sides, as the carrier receives it.
#[derive(Clone, Debug, PartialEq)]
pub struct EvidenceRow {
    pub line_id: String,
    pub record_id: Option<String>,
    pub kind: DiscrepancyKind,
    pub service: String,
    pub destination: String,
    pub billed_started_at: jiff::Timestamp,
    pub billed_quantity: Decimal,
    pub billed_amount: Decimal,
    pub our_started_at: Option<jiff::Timestamp>,
    pub our_quantity: Option<Decimal>,
    pub expected_quantity: Option<Decimal>,
    pub expected_amount: Decimal,
    pub claimed: Decimal,
    pub currency: String,
    pub reason: String,
}

/// What a dispute does to its period's settlement.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisputeShare {
    /// Held back from payment: the claim, while the carrier has not answered.
    pub withheld: Decimal,
    /// Taken off what is owed: the credits the carrier granted.
    pub accepted_credits: Decimal,
}

/// The share of a dispute in a settlement, by its state: an unanswered dispute (open,
/// submitted) withholds its whole claim; an answered one (accepted, partially accepted, and
/// closed after either) takes off the credits granted; a rejected one (or closed after the
/// rejection, with no credits) changes nothing.
pub fn dispute_share(state: DisputeState, claimed_total: Decimal, credited_total: Decimal) -> DisputeShare {
    match state {
        DisputeState::Open | DisputeState::Submitted => {
            DisputeShare { withheld: claimed_total, accepted_credits: Decimal::ZERO }
        }
        DisputeState::Accepted | DisputeState::PartiallyAccepted | DisputeState::Closed => {
            DisputeShare { withheld: Decimal::ZERO, accepted_credits: credited_total }
        }
        DisputeState::Rejected => DisputeShare { withheld: Decimal::ZERO, accepted_credits: Decimal::ZERO },
    }
}

/// Why a disputed line is claimed back, in words the carrier reads on the evidence file.
pub fn evidence_reason(kind: DiscrepancyKind, billed_quantity: Decimal, expected_quantity: Option<Decimal>) -> String {
    match kind {
        DiscrepancyKind::UnmatchedCharge => "no call or message of ours matches this charge".to_owned(),
        DiscrepancyKind::DuplicateCharge => "this call or message is already billed on another line".to_owned(),
        DiscrepancyKind::UndeliveredCharge => {
            "this message was not delivered, and the contract bills delivered messages only".to_owned()
        }
        DiscrepancyKind::QuantityMismatch => format!(
            "billed {billed_quantity} units where the contract's increments give {}",
            expected_quantity.map(|quantity| quantity.to_string()).unwrap_or_default()
        ),
        DiscrepancyKind::RateMismatch => "the rate applied differs from the contracted rate in force".to_owned(),
        DiscrepancyKind::SummaryUnexpectedGroup => {
            "no call or message of ours falls in this destination in the period".to_owned()
        }
        DiscrepancyKind::SummaryVolumeMismatch => {
            "more calls or messages billed for this destination than we sent in the period".to_owned()
        }
        DiscrepancyKind::SummaryQuantityMismatch => format!(
            "billed {billed_quantity} units for this destination where our traffic, after the contract's increments, gives {}",
            expected_quantity.map(|quantity| quantity.to_string()).unwrap_or_default()
        ),
        DiscrepancyKind::SummaryRateMismatch => {
            "the rate applied to this destination differs from the contracted rate in force".to_owned()
        }
        DiscrepancyKind::UnexpectedCharge => "no term of the contract provides for this charge".to_owned(),
        DiscrepancyKind::RecurringMismatch => {
            "the recurring charge differs from the contract's, pro-rated to the days in service".to_owned()
        }
        DiscrepancyKind::ShortfallMismatch => {
            "the shortfall differs from the commitment less our rated usage of the period".to_owned()
        }
        DiscrepancyKind::RebateMismatch => "the rebate credited differs from the rebate the contract grants".to_owned(),
        DiscrepancyKind::TaxMismatch => "the tax differs from its rate applied to its base".to_owned(),
        _ => "the amount differs from the contracted price".to_owned(),
    }
}

/// Whether a kind bills us too much (and can be disputed).
pub fn is_overbilling(kind: DiscrepancyKind) -> bool {
    matches!(
        kind,
        DiscrepancyKind::UnmatchedCharge
            | DiscrepancyKind::DuplicateCharge
            | DiscrepancyKind::UndeliveredCharge
            | DiscrepancyKind::QuantityMismatch
            | DiscrepancyKind::RateMismatch
            | DiscrepancyKind::AmountMismatch
            | DiscrepancyKind::SummaryUnexpectedGroup
            | DiscrepancyKind::SummaryVolumeMismatch
            | DiscrepancyKind::SummaryQuantityMismatch
            | DiscrepancyKind::SummaryRateMismatch
            | DiscrepancyKind::SummaryAmountMismatch
            | DiscrepancyKind::UnexpectedCharge
            | DiscrepancyKind::RecurringMismatch
            | DiscrepancyKind::ShortfallMismatch
            | DiscrepancyKind::RebateMismatch
            | DiscrepancyKind::TaxMismatch
    )
}

/// Whether a kind disputes a rate (rate disputes have a window, not a minimum) rather than a
/// volume (calls, quantities, amounts: a minimum, not a window).
pub fn is_rate_dispute(kind: DiscrepancyKind) -> bool {
    matches!(kind, DiscrepancyKind::RateMismatch | DiscrepancyKind::SummaryRateMismatch)
}

/// When a carrier's disputes are worth raising, as practised (contracts.csv): volume disputes
/// not below a share of the invoice or an absolute amount, rate disputes within a window from
/// the invoice date. The default raises everything.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DisputeThresholds {
    /// Volume claims below this percentage of the invoice's billed amount (in the dispute's
    /// currency) are not raised, unless they reach `min_amount`.
    pub min_share_percent: Option<Decimal>,
    /// Volume claims below this amount are not raised, unless they reach `min_share_percent`.
    pub min_amount: Option<(Decimal, Currency)>,
    /// Rate disputes are raised only up to this many days after the invoice date.
    pub rate_window_days: Option<u32>,
}

/// What a dispute's invoice says, for its thresholds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvoiceFacts {
    /// The invoice's billed amount in the dispute's currency.
    pub billed_total: Decimal,
    /// The invoice's date (its `invoice_date`, else its latest line's date or, for a summary
    /// invoice, its period's last day).
    pub invoice_date: jiff::civil::Date,
}

/// Lines of a draft that are not raised, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct NotRaised {
    pub lines: Vec<DisputeLine>,
    pub reason: String,
}

/// The lines of a draft to raise, and those held back by the carrier's thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct ThresholdDecision {
    pub raised: Vec<DisputeLine>,
    pub not_raised: Vec<NotRaised>,
}

/// Applies a carrier's thresholds to a draft's lines on `today`: rate lines
/// ([`is_rate_dispute`]) are raised while `today` is at most `rate_window_days` after the
/// invoice date; the other (volume) lines are raised together when their claim reaches
/// `min_share_percent` of the invoice's billed amount or `min_amount` (converted into the
/// draft's currency at the invoice date), and when neither is set.
///
/// # Errors
/// When `min_amount` is in another currency and no rate converts it at the invoice date.
pub fn apply_thresholds(
    draft: &DisputeDraft,
    thresholds: &DisputeThresholds,
    invoice: &InvoiceFacts,
    today: jiff::civil::Date,
    fx: &crate::FxTable,
) -> Result<ThresholdDecision, crate::fx::FxError> {
    let is_rate = |line: &&DisputeLine| is_rate_dispute(line.kind);
    let rate_held = if draft.lines.iter().any(|line| is_rate(&line)) {
        rate_window_closed(thresholds, invoice, today)
    } else {
        None
    };
    let mut volume_lines = draft.lines.iter().filter(|line| !is_rate(line)).peekable();
    let volume_held = if volume_lines.peek().is_some() {
        let claimed: Decimal = volume_lines.map(|line| line.claimed).sum();
        volume_below_minimum(claimed, draft.currency, thresholds, invoice, fx)?
    } else {
        None
    };
    let held = |line: &&DisputeLine| if is_rate(line) { rate_held.is_some() } else { volume_held.is_some() };
    // Raised lines keep the draft's order (one pass: a draft may hold 100,000 lines).
    let raised = draft.lines.iter().filter(|line| !held(line)).cloned().collect();
    let mut not_raised = Vec::new();
    for (reason, rate) in [(rate_held, true), (volume_held, false)] {
        if let Some(reason) = reason {
            let lines = draft.lines.iter().filter(|line| is_rate(line) == rate).cloned().collect();
            not_raised.push(NotRaised { lines, reason });
        }
    }
    Ok(ThresholdDecision { raised, not_raised })
}

fn rate_window_closed(
    thresholds: &DisputeThresholds,
    invoice: &InvoiceFacts,
    today: jiff::civil::Date,
) -> Option<String> {
    let days = thresholds.rate_window_days?;
    // Past the last representable date, the window never closes.
    let last_day = invoice.invoice_date.checked_add(jiff::Span::new().days(i64::from(days))).ok()?;
    (today > last_day).then(|| {
        format!(
            "out of window: rate disputes are raised within {days} days of the invoice date ({}), until {last_day}",
            invoice.invoice_date
        )
    })
}

fn volume_below_minimum(
    claimed: Decimal,
    currency: Currency,
    thresholds: &DisputeThresholds,
    invoice: &InvoiceFacts,
    fx: &crate::FxTable,
) -> Result<Option<String>, crate::fx::FxError> {
    let share_minimum = thresholds
        .min_share_percent
        .and_then(|percent| invoice.billed_total.checked_mul(percent))
        .map(|product| product / Decimal::ONE_HUNDRED);
    let amount_minimum = match thresholds.min_amount {
        None => None,
        Some((amount, amount_currency)) if amount_currency == currency => Some(amount),
        Some((amount, amount_currency)) => {
            Some(fx.convert_cost(amount, amount_currency, currency, invoice.invoice_date)?)
        }
    };
    if share_minimum.is_none() && amount_minimum.is_none() {
        return Ok(None);
    }
    let reaches = |minimum: Option<Decimal>| minimum.is_some_and(|minimum| claimed >= minimum);
    if reaches(share_minimum) || reaches(amount_minimum) {
        return Ok(None);
    }
    let mut minimums = Vec::new();
    if let (Some(percent), Some(minimum)) = (thresholds.min_share_percent, share_minimum) {
        minimums.push(format!(
            "{}% of the invoice's {} {currency} ({} {currency})",
            percent.normalize(),
            invoice.billed_total.normalize(),
            minimum.normalize()
        ));
    }
    if let (Some((amount, amount_currency)), Some(minimum)) = (thresholds.min_amount, amount_minimum) {
        let converted = if amount_currency == currency {
            String::new()
        } else {
            format!(" = {} {currency} on {}", minimum.normalize(), invoice.invoice_date)
        };
        minimums.push(format!("{} {amount_currency}{converted}", amount.normalize()));
    }
    Ok(Some(format!(
        "below threshold: the volume claim of {} {currency} is below {}",
        claimed.normalize(),
        minimums.join(" and ")
    )))
}

/// Groups a run's disputable discrepancies per carrier, invoice and currency: overbilling kinds
/// whose difference is above `threshold`.
pub fn draft_disputes(discrepancies: &[Discrepancy], threshold: Decimal) -> Vec<DisputeDraft> {
    let mut drafts: BTreeMap<(Arc<str>, Arc<str>, Currency), Vec<DisputeLine>> = BTreeMap::new();
    for discrepancy in discrepancies {
        let (Some(invoice_id), Some(line_id), Some(difference), Some(expected)) =
            (&discrepancy.invoice_id, &discrepancy.line_id, discrepancy.difference, discrepancy.expected_amount)
        else {
            continue;
        };
        if !is_overbilling(discrepancy.kind) || difference <= threshold {
            continue;
        }
        drafts.entry((discrepancy.carrier.clone(), invoice_id.clone(), discrepancy.currency)).or_default().push(
            DisputeLine {
                line_id: line_id.to_string(),
                record_id: discrepancy.record_id.as_ref().map(ToString::to_string),
                kind: discrepancy.kind,
                billed_amount: discrepancy.billed_amount,
                expected_amount: expected,
                claimed: difference,
            },
        );
    }
    drafts
        .into_iter()
        .map(|((carrier, invoice_id, currency), lines)| DisputeDraft { carrier, invoice_id, currency, lines })
        .collect()
}

/// What each line is credited after an answer: everything claimed on `Accept`, the named amounts
/// (at most the claim) on `AcceptPartially`, nothing otherwise.
///
/// # Errors
/// A credit for a line that is not in the dispute, or above what the line claims, or negative.
pub fn credits_for(lines: &[DisputeLine], action: &DisputeAction) -> Result<Vec<Decimal>, String> {
    match action {
        DisputeAction::Accept => Ok(lines.iter().map(|line| line.claimed).collect()),
        DisputeAction::AcceptPartially { credits } => {
            for (line_id, credit) in credits {
                let line = lines
                    .iter()
                    .find(|line| &line.line_id == line_id)
                    .ok_or_else(|| format!("line {line_id:?} is not in the dispute"))?;
                if *credit < Decimal::ZERO || *credit > line.claimed {
                    return Err(format!("line {line_id:?}: a credit of {credit} is outside 0..={}", line.claimed));
                }
            }
            Ok(lines.iter().map(|line| credits.get(&line.line_id).copied().unwrap_or_default()).collect())
        }
        _ => Ok(vec![Decimal::ZERO; lines.len()]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DisputeState::*;

    #[test]
    fn lifecycle_table() {
        let partially = DisputeAction::AcceptPartially { credits: BTreeMap::new() };
        let table = [
            (Open, DisputeAction::Submit, Ok(Submitted)),
            (Submitted, DisputeAction::Accept, Ok(Accepted)),
            (Submitted, partially.clone(), Ok(PartiallyAccepted)),
            (Submitted, DisputeAction::Reject, Ok(Rejected)),
            (Accepted, DisputeAction::Close, Ok(Closed)),
            (PartiallyAccepted, DisputeAction::Close, Ok(Closed)),
            (Rejected, DisputeAction::Close, Ok(Closed)),
            (Open, DisputeAction::Accept, Err("a dispute that is open cannot be accepted: submit it to the carrier first")),
            (Open, DisputeAction::Close, Err("a dispute that is open cannot be closed: submit it to the carrier first")),
            (Submitted, DisputeAction::Submit, Err("a dispute that is submitted cannot be submitted: it awaits the carrier's answer: accept, accept partially or reject")),
            (Accepted, DisputeAction::Reject, Err("a dispute that is accepted cannot be rejected: the carrier has answered; it can only be closed")),
            (Closed, partially, Err("a dispute that is closed cannot be partially accepted: it is closed")),
        ];
        for (from, action, expected) in table {
            let actual = transition(from, &action).map_err(|error| error.to_string());
            assert_eq!(actual, expected.map_err(str::to_owned), "{from} {action:?}");
        }
    }

    /// Which states withhold money and which take credits off (moved from the store, issue 11).
    #[test]
    fn dispute_shares_by_state() {
        let (claimed, credited) = (Decimal::new(183, 3), Decimal::new(11, 2));
        let table = [
            (Open, "0.183", "0"),
            (Submitted, "0.183", "0"),
            (Accepted, "0", "0.11"),
            (PartiallyAccepted, "0", "0.11"),
            (Rejected, "0", "0"),
            (Closed, "0", "0.11"),
        ];
        for (state, withheld, accepted_credits) in table {
            let share = dispute_share(state, claimed, credited);
            assert_eq!(share.withheld.to_string(), withheld, "{state}");
            assert_eq!(share.accepted_credits.to_string(), accepted_credits, "{state}");
        }
    }

    #[test]
    fn evidence_reasons_by_kind() {
        let reason = |kind| evidence_reason(kind, Decimal::new(120, 0), Some(Decimal::new(90, 0)));
        assert_eq!(reason(DiscrepancyKind::UnmatchedCharge), "no call or message of ours matches this charge");
        assert_eq!(reason(DiscrepancyKind::DuplicateCharge), "this call or message is already billed on another line");
        assert_eq!(
            reason(DiscrepancyKind::UndeliveredCharge),
            "this message was not delivered, and the contract bills delivered messages only"
        );
        assert!(is_overbilling(DiscrepancyKind::UndeliveredCharge));
        assert_eq!(
            reason(DiscrepancyKind::QuantityMismatch),
            "billed 120 units where the contract's increments give 90"
        );
        assert_eq!(reason(DiscrepancyKind::RateMismatch), "the rate applied differs from the contracted rate in force");
        assert_eq!(reason(DiscrepancyKind::AmountMismatch), "the amount differs from the contracted price");
    }

    /// Issue 14: disputes as practised. The draft claims 5.00 + 3.00 = 8.00 USD of volume
    /// (amount, quantity) and 2.00 USD of rate on an invoice dated 2026-04-02.
    #[test]
    fn issue14_thresholds_hold_back_small_volume_claims_and_late_rate_claims() {
        let line = |id: &str, kind, claimed: i64| DisputeLine {
            line_id: id.into(),
            record_id: None,
            kind,
            billed_amount: Decimal::new(claimed, 2),
            expected_amount: Decimal::ZERO,
            claimed: Decimal::new(claimed, 2),
        };
        let usd = Currency::parse("USD").unwrap();
        let eur = Currency::parse("EUR").unwrap();
        let draft = DisputeDraft {
            carrier: "acme".into(),
            invoice_id: "INV-1".into(),
            currency: usd,
            lines: vec![
                line("1", DiscrepancyKind::AmountMismatch, 500),
                line("2", DiscrepancyKind::SummaryRateMismatch, 200),
                line("3", DiscrepancyKind::QuantityMismatch, 300),
            ],
        };
        let practice = DisputeThresholds {
            min_share_percent: Some(Decimal::ONE),
            min_amount: Some((Decimal::new(1000, 0), usd)),
            rate_window_days: Some(30),
        };
        let date = |text: &str| text.parse::<jiff::civil::Date>().unwrap();
        let invoice =
            |billed: i64| InvoiceFacts { billed_total: Decimal::new(billed, 0), invoice_date: date("2026-04-02") };
        let fx = crate::FxTable::new();
        let ids = |lines: &[DisputeLine]| lines.iter().map(|line| line.line_id.clone()).collect::<Vec<_>>();
        // 8.00 is below 1% of 1000 (10.00) and below 1000 USD; the rate line is within its
        // window (until 2026-05-02).
        let decision = apply_thresholds(&draft, &practice, &invoice(1000), date("2026-05-02"), &fx).unwrap();
        assert_eq!(ids(&decision.raised), ["2"]);
        assert_eq!(decision.not_raised.len(), 1);
        assert_eq!(ids(&decision.not_raised[0].lines), ["1", "3"]);
        assert_eq!(
            decision.not_raised[0].reason,
            "below threshold: the volume claim of 8 USD is below 1% of the invoice's 1000 USD (10 USD) and 1000 USD"
        );
        // On a 500 USD invoice, 1% is 5.00: 8.00 reaches it. A day later the rate window is closed.
        let decision = apply_thresholds(&draft, &practice, &invoice(500), date("2026-05-03"), &fx).unwrap();
        assert_eq!(ids(&decision.raised), ["1", "3"]);
        assert_eq!(
            decision.not_raised[0].reason,
            "out of window: rate disputes are raised within 30 days of the invoice date (2026-04-02), until 2026-05-02"
        );
        // No thresholds: everything is raised, in the draft's order.
        let decision =
            apply_thresholds(&draft, &DisputeThresholds::default(), &invoice(1000), date("2027-01-01"), &fx).unwrap();
        assert_eq!(ids(&decision.raised), ["1", "2", "3"]);
        assert!(decision.not_raised.is_empty());
        // A minimum in EUR converts at the invoice date: 10 EUR at 1.25 USD per EUR = 12.50 USD.
        let mut rates = crate::FxTable::new();
        rates.insert(date("2026-04-01"), usd, Decimal::new(125, 2)).unwrap();
        let in_euros = DisputeThresholds { min_amount: Some((Decimal::TEN, eur)), ..DisputeThresholds::default() };
        let decision = apply_thresholds(&draft, &in_euros, &invoice(1000), date("2026-04-03"), &rates).unwrap();
        assert_eq!(
            decision.not_raised[0].reason,
            "below threshold: the volume claim of 8 USD is below 10 EUR = 12.5 USD on 2026-04-02"
        );
        assert!(apply_thresholds(&draft, &in_euros, &invoice(1000), date("2026-04-03"), &fx).is_err());
    }

    #[test]
    fn partial_credits_are_checked_against_the_claims() {
        let line = |id: &str, claimed: i64| DisputeLine {
            line_id: id.into(),
            record_id: None,
            kind: DiscrepancyKind::AmountMismatch,
            billed_amount: Decimal::new(claimed, 2),
            expected_amount: Decimal::ZERO,
            claimed: Decimal::new(claimed, 2),
        };
        let lines = [line("1", 500), line("2", 300)];
        let partial = |pairs: &[(&str, i64)]| DisputeAction::AcceptPartially {
            credits: pairs.iter().map(|(id, cents)| (id.to_string(), Decimal::new(*cents, 2))).collect(),
        };
        assert_eq!(credits_for(&lines, &partial(&[("1", 200)])), Ok(vec![Decimal::new(200, 2), Decimal::ZERO]));
        assert_eq!(credits_for(&lines, &DisputeAction::Accept), Ok(vec![Decimal::new(500, 2), Decimal::new(300, 2)]));
        assert!(credits_for(&lines, &partial(&[("3", 1)])).is_err());
        assert!(credits_for(&lines, &partial(&[("2", 301)])).is_err());
    }
}
