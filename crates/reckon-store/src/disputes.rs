//! Disputes in the ledger: opened from a run's overbilled discrepancies, one per carrier invoice
//! version and currency, driven through their lifecycle by appended events.

use crate::dialect::{decimal, instant, nanoseconds};
use crate::imports::audit;
use crate::{content_hash, Ledger, StoreError};
use reckon_core::dispute::{
    apply_thresholds, credits_for, draft_disputes, evidence_reason, transition, DisputeAction, DisputeLine,
    DisputeState, DisputeThresholds, EvidenceRow,
};
use reckon_core::{Decimal, DiscrepancyKind, Timestamp};
use sqlx::Row;
use std::collections::HashMap;

/// A dispute as stored, with its state derived from its events.
#[derive(Clone, Debug, PartialEq)]
pub struct DisputeRecord {
    pub dispute_id: String,
    pub run_id: String,
    pub carrier: String,
    pub invoice_id: String,
    /// The version of the invoice the dispute claims against.
    pub invoice_version: i64,
    pub period: String,
    pub currency: String,
    pub claimed_total: Decimal,
    pub state: DisputeState,
    /// The lines with what each was credited so far.
    pub lines: Vec<(DisputeLine, Decimal)>,
    pub events: Vec<DisputeEvent>,
}

impl DisputeRecord {
    /// Sum of the credits granted.
    pub fn credited_total(&self) -> Decimal {
        self.lines.iter().map(|(_, credited)| *credited).sum()
    }
}

/// The dispute thresholds `dispute open` applies (contracts.csv), the rates that convert a
/// minimum amount, and the day they are applied on.
#[derive(Clone, Copy, Debug)]
pub struct DisputePractice<'a> {
    pub thresholds: &'a HashMap<String, DisputeThresholds>,
    pub fx: &'a reckon_core::FxTable,
    pub today: jiff::civil::Date,
}

/// What opening a run's disputes did.
#[derive(Clone, Debug, PartialEq)]
pub struct OpenedDisputes {
    /// The dispute ids, with whether each was opened now (else it was open already).
    pub opened: Vec<(String, bool)>,
    /// The claims the carriers' thresholds held back.
    pub not_raised: Vec<NotRaisedClaim>,
}

/// Claims of one invoice that were not raised, and why.
#[derive(Clone, Debug, PartialEq)]
pub struct NotRaisedClaim {
    pub carrier: String,
    pub invoice_id: String,
    pub currency: String,
    pub lines: usize,
    pub claimed: Decimal,
    pub reason: String,
}

/// One entry of a dispute's history.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DisputeEvent {
    pub seq: i64,
    pub at: Timestamp,
    pub actor: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: String,
}

/// A dispute's id: a hash of its carrier, invoice and currency, and of the invoice's version
/// from version 2 on (so disputes of first versions keep the ids they had before versions).
fn dispute_id_of(carrier: &str, invoice_id: &str, currency: &str, invoice_version: i64) -> String {
    let version = format!("version {invoice_version}");
    let parts: &[&str] = if invoice_version == 1 {
        &[carrier, invoice_id, currency]
    } else {
        &[carrier, invoice_id, currency, &version]
    };
    content_hash(parts.iter().copied())[..16].to_owned()
}

impl Ledger {
    /// Opens the disputes of a run: its overbilled discrepancies above `threshold`, grouped per
    /// carrier invoice and currency. A dispute belongs to the invoice version the run reconciled:
    /// a version already in dispute is left as it is, so opening twice changes nothing, while a
    /// new version (`import invoice --replace`) gets a dispute of its own. Returns the dispute ids with whether each was opened now.
    ///
    /// # Errors
    /// An unknown run, or a database error.
    pub async fn open_disputes(
        &self,
        run_id: &str,
        threshold: Decimal,
        actor: &str,
        now: Timestamp,
    ) -> Result<Vec<(String, bool)>, StoreError> {
        Ok(self.open_disputes_as_practised(run_id, threshold, None, actor, now).await?.opened)
    }

    /// Opens the disputes of a run as [`Ledger::open_disputes`] does, applying each carrier's
    /// dispute thresholds ([`reckon_core::dispute::apply_thresholds`]) when `practice` is given:
    /// the claims held back are returned with the reason, and a draft with nothing left to
    /// raise opens no dispute. The thresholds applied are written in the open event's reason.
    ///
    /// # Errors
    /// An unknown run, a minimum amount no rate converts, or a database error.
    pub async fn open_disputes_as_practised(
        &self,
        run_id: &str,
        threshold: Decimal,
        practice: Option<&DisputePractice<'_>>,
        actor: &str,
        now: Timestamp,
    ) -> Result<OpenedDisputes, StoreError> {
        let discrepancies =
            self.run_discrepancies(run_id).await?.ok_or_else(|| StoreError::NotFound(format!("run {run_id}")))?;
        let period: String = sqlx::query_scalar(&self.dialect.sql("SELECT period FROM runs WHERE run_id = {1}"))
            .bind(run_id.to_owned())
            .fetch_one(&self.pool)
            .await?;
        let mut opened = Vec::new();
        let mut not_raised = Vec::new();
        for mut draft in draft_disputes(&discrepancies, threshold) {
            let version = self.run_invoice_version(run_id, &draft.carrier, &draft.invoice_id).await?;
            let mut practised = String::new();
            if let Some(practice) = practice {
                let thresholds = practice.thresholds.get(&*draft.carrier).copied().unwrap_or_default();
                if thresholds != DisputeThresholds::default() {
                    let facts = self
                        .invoice_facts(&draft.carrier, &draft.invoice_id, version, draft.currency)
                        .await?
                        .ok_or_else(|| {
                        StoreError::NotFound(format!(
                            "invoice {} version {version} of {}",
                            draft.invoice_id, draft.carrier
                        ))
                    })?;
                    let decision = apply_thresholds(&draft, &thresholds, &facts, practice.today, practice.fx).map_err(
                        |error| {
                            StoreError::Invalid(format!(
                                "dispute thresholds of {}: dispute_min_amount: {error}",
                                draft.carrier
                            ))
                        },
                    )?;
                    for held_back in decision.not_raised {
                        not_raised.push(NotRaisedClaim {
                            carrier: draft.carrier.to_string(),
                            invoice_id: draft.invoice_id.to_string(),
                            currency: draft.currency.to_string(),
                            lines: held_back.lines.len(),
                            claimed: held_back.lines.iter().map(|line| line.claimed).sum(),
                            reason: held_back.reason,
                        });
                    }
                    draft.lines = decision.raised;
                    practised = format!(" (thresholds applied on {})", practice.today);
                }
            }
            if draft.lines.is_empty() {
                continue;
            }
            let mut transaction = self.begin_write().await?;
            // One dispute per invoice version and currency: a replaced invoice can be disputed
            // again, the same version only once.
            let existing = self.dialect.sql(
                "SELECT dispute_id FROM disputes WHERE carrier = {1} AND invoice_id = {2} AND currency = {3} AND invoice_version = {4}",
            );
            let existing: Option<String> = sqlx::query_scalar(&existing)
                .bind(draft.carrier.to_string())
                .bind(draft.invoice_id.to_string())
                .bind(draft.currency.to_string())
                .bind(version)
                .fetch_optional(&mut *transaction)
                .await?;
            if let Some(dispute_id) = existing {
                opened.push((dispute_id, false));
                continue;
            }
            let dispute_id = dispute_id_of(&draft.carrier, &draft.invoice_id, draft.currency.as_str(), version);
            let insert = self.dialect.sql(
                "INSERT INTO disputes (dispute_id, run_id, carrier, invoice_id, period, currency, claimed_total, created_at_ns, invoice_version) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7:d}, {8}, {9})",
            );
            sqlx::query(&insert)
                .bind(dispute_id.clone())
                .bind(run_id.to_owned())
                .bind(draft.carrier.to_string())
                .bind(draft.invoice_id.to_string())
                .bind(period.clone())
                .bind(draft.currency.to_string())
                .bind(draft.claimed_total().normalize().to_string())
                .bind(nanoseconds(now))
                .bind(version)
                .execute(&mut *transaction)
                .await?;
            let insert_line = self.dialect.sql(
                "INSERT INTO dispute_lines (dispute_id, seq, line_id, record_id, kind, billed_amount, expected_amount, claimed) VALUES ({1}, {2}, {3}, {4}, {5}, {6:d}, {7:d}, {8:d})",
            );
            for (seq, line) in draft.lines.iter().enumerate() {
                sqlx::query(&insert_line)
                    .bind(dispute_id.clone())
                    .bind(seq as i64)
                    .bind(line.line_id.clone())
                    .bind(line.record_id.clone())
                    .bind(line.kind.as_str())
                    .bind(line.billed_amount.normalize().to_string())
                    .bind(line.expected_amount.normalize().to_string())
                    .bind(line.claimed.normalize().to_string())
                    .execute(&mut *transaction)
                    .await?;
            }
            let reason =
                format!("{} lines claimed from run {}{practised}", draft.lines.len(), &run_id[..12.min(run_id.len())]);
            self.append_event(&mut transaction, &dispute_id, 1, now, actor, "open", None, DisputeState::Open, &reason)
                .await?;
            transaction.commit().await?;
            opened.push((dispute_id, true));
        }
        Ok(OpenedDisputes { opened, not_raised })
    }

    /// The version of an invoice that a run reconciled: as recorded with the run, or, for runs
    /// recorded before versions were, the latest version imported by the run's time.
    pub(crate) async fn run_invoice_version(
        &self,
        run_id: &str,
        carrier: &str,
        invoice_id: &str,
    ) -> Result<i64, StoreError> {
        let recorded = self
            .dialect
            .sql("SELECT version FROM run_invoices WHERE run_id = {1} AND carrier = {2} AND invoice_id = {3}");
        let recorded: Option<i64> = sqlx::query_scalar(&recorded)
            .bind(run_id.to_owned())
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        if let Some(version) = recorded {
            return Ok(version);
        }
        let at_run = self.dialect.sql(
            "SELECT MAX(i.version) FROM invoices i JOIN runs r ON r.run_id = {1} \
             WHERE i.carrier = {2} AND i.invoice_id = {3} AND i.imported_at_ns <= r.created_at_ns",
        );
        let version: Option<i64> = sqlx::query_scalar(&at_run)
            .bind(run_id.to_owned())
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .fetch_one(&self.pool)
            .await?;
        Ok(version.unwrap_or(1))
    }

    /// Applies an action to a dispute: refused with a clear message when its state does not
    /// allow it; otherwise appended as an event (with the credits of an answer).
    ///
    /// # Errors
    /// An unknown dispute, an illegal transition, bad credits, or a database error.
    pub async fn act_on_dispute(
        &self,
        dispute_id: &str,
        action: &DisputeAction,
        actor: &str,
        reason: &str,
        now: Timestamp,
    ) -> Result<DisputeRecord, StoreError> {
        let mut transaction = self.begin_write().await?;
        let last = self
            .dialect
            .sql("SELECT seq, to_state FROM dispute_events WHERE dispute_id = {1} ORDER BY seq DESC LIMIT 1");
        let (seq, state): (i64, String) = sqlx::query_as(&last)
            .bind(dispute_id.to_owned())
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("dispute {dispute_id}")))?;
        let from = DisputeState::parse(&state).ok_or_else(|| StoreError::Corrupt {
            column: "to_state",
            value: state.clone(),
            reason: "unknown state".into(),
        })?;
        let to = transition(from, action)?;
        let lines = self.dispute_lines(&mut transaction, dispute_id).await?;
        let credits = credits_for(&lines, action).map_err(StoreError::Invalid)?;
        let event_seq = seq + 1;
        self.append_event(&mut transaction, dispute_id, event_seq, now, actor, action.name(), Some(from), to, reason)
            .await?;
        if matches!(action, DisputeAction::Accept | DisputeAction::AcceptPartially { .. }) {
            let insert = self.dialect.sql(
                "INSERT INTO dispute_credits (dispute_id, event_seq, line_seq, credited) VALUES ({1}, {2}, {3}, {4:d})",
            );
            for (line_seq, credited) in credits.iter().enumerate() {
                sqlx::query(&insert)
                    .bind(dispute_id.to_owned())
                    .bind(event_seq)
                    .bind(line_seq as i64)
                    .bind(credited.normalize().to_string())
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        transaction.commit().await?;
        self.dispute(dispute_id).await
    }

    #[allow(clippy::too_many_arguments)]
    async fn append_event(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        dispute_id: &str,
        seq: i64,
        now: Timestamp,
        actor: &str,
        action: &str,
        from: Option<DisputeState>,
        to: DisputeState,
        reason: &str,
    ) -> Result<(), StoreError> {
        let insert = self.dialect.sql(
            "INSERT INTO dispute_events (dispute_id, seq, at_ns, actor, action, from_state, to_state, reason) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})",
        );
        sqlx::query(&insert)
            .bind(dispute_id.to_owned())
            .bind(seq)
            .bind(nanoseconds(now))
            .bind(actor.to_owned())
            .bind(action.to_owned())
            .bind(from.map(|state| state.as_str().to_owned()))
            .bind(to.as_str())
            .bind(reason.to_owned())
            .execute(&mut **transaction)
            .await?;
        audit(transaction, self.dialect, now, actor, action, &format!("dispute {dispute_id}"), reason).await
    }

    async fn dispute_lines(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        dispute_id: &str,
    ) -> Result<Vec<DisputeLine>, StoreError> {
        let select = self.dialect.sql(
            "SELECT line_id, record_id, kind, CAST(billed_amount AS TEXT) AS billed_amount, CAST(expected_amount AS TEXT) AS expected_amount, \
             CAST(claimed AS TEXT) AS claimed FROM dispute_lines WHERE dispute_id = {1} ORDER BY seq",
        );
        let rows = sqlx::query(&select).bind(dispute_id.to_owned()).fetch_all(&mut **transaction).await?;
        rows.iter()
            .map(|row| {
                let kind: String = row.try_get("kind")?;
                Ok(DisputeLine {
                    line_id: row.try_get("line_id")?,
                    record_id: row.try_get("record_id")?,
                    kind: DiscrepancyKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                        column: "kind",
                        value: kind.clone(),
                        reason: "unknown".into(),
                    })?,
                    billed_amount: decimal(row, "billed_amount")?,
                    expected_amount: decimal(row, "expected_amount")?,
                    claimed: decimal(row, "claimed")?,
                })
            })
            .collect()
    }

    /// A dispute with its lines, credits and history.
    ///
    /// # Errors
    /// An unknown dispute or a database error.
    pub async fn dispute(&self, dispute_id: &str) -> Result<DisputeRecord, StoreError> {
        let select = self.dialect.sql(
            "SELECT run_id, carrier, invoice_id, invoice_version, period, currency, CAST(claimed_total AS TEXT) AS claimed_total FROM disputes WHERE dispute_id = {1}",
        );
        let header = sqlx::query(&select)
            .bind(dispute_id.to_owned())
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("dispute {dispute_id}")))?;
        let mut transaction = self.pool.begin().await?;
        let lines = self.dispute_lines(&mut transaction, dispute_id).await?;
        let credits_select = self
            .dialect
            .sql("SELECT line_seq, CAST(credited AS TEXT) AS credited FROM dispute_credits WHERE dispute_id = {1}");
        let mut credited = vec![Decimal::ZERO; lines.len()];
        for row in sqlx::query(&credits_select).bind(dispute_id.to_owned()).fetch_all(&mut *transaction).await? {
            let line_seq: i64 = row.try_get("line_seq")?;
            if let Some(slot) = credited.get_mut(line_seq as usize) {
                *slot += decimal(&row, "credited")?;
            }
        }
        let events_select = self.dialect.sql("SELECT seq, at_ns, actor, action, from_state, to_state, reason FROM dispute_events WHERE dispute_id = {1} ORDER BY seq");
        let events = sqlx::query(&events_select)
            .bind(dispute_id.to_owned())
            .fetch_all(&mut *transaction)
            .await?
            .iter()
            .map(|row| {
                Ok(DisputeEvent {
                    seq: row.try_get("seq")?,
                    at: instant(row, "at_ns")?,
                    actor: row.try_get("actor")?,
                    action: row.try_get("action")?,
                    from_state: row.try_get("from_state")?,
                    to_state: row.try_get("to_state")?,
                    reason: row.try_get("reason")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        transaction.commit().await?;
        let state_text = events.last().map(|event| event.to_state.clone()).unwrap_or_default();
        Ok(DisputeRecord {
            dispute_id: dispute_id.to_owned(),
            run_id: header.try_get("run_id")?,
            carrier: header.try_get("carrier")?,
            invoice_id: header.try_get("invoice_id")?,
            invoice_version: header.try_get::<Option<i64>, _>("invoice_version")?.unwrap_or(1),
            period: header.try_get("period")?,
            currency: header.try_get("currency")?,
            claimed_total: decimal(&header, "claimed_total")?,
            state: DisputeState::parse(&state_text).ok_or_else(|| StoreError::Corrupt {
                column: "to_state",
                value: state_text.clone(),
                reason: "unknown state".into(),
            })?,
            lines: lines.into_iter().zip(credited).collect(),
            events,
        })
    }

    /// The disputes of a carrier's period.
    ///
    /// # Errors
    /// A database error.
    pub async fn disputes_of(&self, carrier: &str, period: &str) -> Result<Vec<DisputeRecord>, StoreError> {
        let select = self.dialect.sql(
            "SELECT dispute_id FROM disputes WHERE carrier = {1} AND period = {2} ORDER BY invoice_id, dispute_id",
        );
        let ids: Vec<String> =
            sqlx::query_scalar(&select).bind(carrier.to_owned()).bind(period.to_owned()).fetch_all(&self.pool).await?;
        let mut disputes = Vec::with_capacity(ids.len());
        for id in ids {
            disputes.push(self.dispute(&id).await?);
        }
        Ok(disputes)
    }

    /// The evidence of a dispute: each disputed line with the carrier's line, our record, the
    /// expected and billed figures, and the reason.
    ///
    /// # Errors
    /// An unknown dispute or a database error.
    pub async fn dispute_evidence(&self, dispute_id: &str) -> Result<Vec<EvidenceRow>, StoreError> {
        let dispute = self.dispute(dispute_id).await?;
        let select = self.dialect.sql(
            "SELECT d.line_id, d.record_id, d.kind, d.service, d.destination, d.started_at_ns, CAST(d.billed_quantity AS TEXT) AS billed_quantity, \
             CAST(d.expected_quantity AS TEXT) AS expected_quantity, CAST(d.billed_amount AS TEXT) AS billed_amount, \
             CAST(d.expected_amount AS TEXT) AS expected_amount, CAST(d.difference AS TEXT) AS difference, d.currency, \
             u.started_at_ns AS our_started_at_ns, CAST(u.quantity AS TEXT) AS our_quantity \
             FROM run_discrepancies d LEFT JOIN usage_records u ON u.record_id = d.record_id \
             WHERE d.run_id = {1} AND d.invoice_id = {2} AND d.currency = {3} ORDER BY d.seq",
        );
        let rows = sqlx::query(&select)
            .bind(dispute.run_id.clone())
            .bind(dispute.invoice_id.clone())
            .bind(dispute.currency.clone())
            .fetch_all(&self.pool)
            .await?;
        let disputed: Vec<&str> = dispute.lines.iter().map(|(line, _)| line.line_id.as_str()).collect();
        let mut evidence = Vec::new();
        for row in &rows {
            // A summary invoice's unbilled groups are rows of its invoice without a line.
            let Some(line_id) = row.try_get::<Option<String>, _>("line_id")? else {
                continue;
            };
            if !disputed.contains(&line_id.as_str()) {
                continue;
            }
            let kind_text: String = row.try_get("kind")?;
            let kind = DiscrepancyKind::parse(&kind_text).ok_or_else(|| StoreError::Corrupt {
                column: "kind",
                value: kind_text.clone(),
                reason: "unknown".into(),
            })?;
            let our_started_at = match row.try_get::<Option<i64>, _>("our_started_at_ns")? {
                Some(_) => Some(instant(row, "our_started_at_ns")?),
                None => None,
            };
            let expected_quantity = crate::dialect::optional_decimal(row, "expected_quantity")?;
            let billed_quantity = decimal(row, "billed_quantity")?;
            let reason = evidence_reason(kind, billed_quantity, expected_quantity);
            evidence.push(EvidenceRow {
                line_id,
                record_id: row.try_get("record_id")?,
                kind,
                service: row.try_get("service")?,
                destination: row.try_get("destination")?,
                billed_started_at: instant(row, "started_at_ns")?,
                billed_quantity,
                billed_amount: decimal(row, "billed_amount")?,
                our_started_at,
                our_quantity: crate::dialect::optional_decimal(row, "our_quantity")?,
                expected_quantity,
                expected_amount: crate::dialect::optional_decimal(row, "expected_amount")?.unwrap_or_default(),
                claimed: crate::dialect::optional_decimal(row, "difference")?.unwrap_or_default(),
                currency: row.try_get("currency")?,
                reason,
            });
        }
        Ok(evidence)
    }
}
