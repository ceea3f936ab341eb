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
    )
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
