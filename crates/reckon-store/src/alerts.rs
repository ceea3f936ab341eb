//! Alerts raised by the service, once per rule, subject and period, and every attempt to
//! deliver them (append-only); and the months waiting for an alert check.

use crate::dialect::{instant, nanoseconds, Dialect};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::alert::Alert;
use reckon_core::period::Month;
use reckon_core::Timestamp;
use sqlx::Row;
use std::collections::BTreeSet;

/// An alert as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredAlert {
    pub alert_id: String,
    pub rule: String,
    pub subject: String,
    pub period: String,
    pub message: String,
    pub raised_at: Timestamp,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Whether an attempt succeeded.
    pub delivered: bool,
}

/// A month waiting for an alert check, at the generation its last queueing left it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingMonth {
    pub month: Month,
    pub generation: i64,
}

impl Ledger {
    /// Queues months for an alert check in their own transaction (when events were stored by
    /// another path than [`Ledger::ingest_usage`], like a correction).
    ///
    /// # Errors
    /// A database error.
    pub async fn queue_alert_months(&self, months: impl Iterator<Item = Month>) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        queue_months(&mut transaction, self.dialect, months).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The months waiting for an alert check, oldest first.
    ///
    /// # Errors
    /// A database error, or a stored month that does not read back.
    pub async fn pending_alert_months(&self) -> Result<Vec<PendingMonth>, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT month, generation FROM alert_pending_months ORDER BY month")
                .fetch_all(&self.pool)
                .await?;
        rows.into_iter()
            .map(|(month, generation)| {
                let month = Month::parse(&month)
                    .map_err(|error| StoreError::Invalid(format!("alert_pending_months: {month:?}: {error}")))?;
                Ok(PendingMonth { month, generation })
            })
            .collect()
    }

    /// Takes a checked month off the queue, unless events queued it again since it was read
    /// (its generation moved): then it is checked once more.
    ///
    /// # Errors
    /// A database error.
    pub async fn clear_alert_month(&self, pending: PendingMonth) -> Result<(), StoreError> {
        let delete = self.dialect.sql("DELETE FROM alert_pending_months WHERE month = {1} AND generation = {2}");
        sqlx::query(&delete).bind(pending.month.to_string()).bind(pending.generation).execute(&self.pool).await?;
        Ok(())
    }

    /// Records an alert unless the same rule already fired for the same subject and period.
    /// Returns its id when it is new (it should then be delivered), `None` when it fired before.
    ///
    /// # Errors
    /// A database error.
    pub async fn raise_alert(&self, alert: &Alert, now: Timestamp) -> Result<Option<String>, StoreError> {
        let alert_id = content_hash([alert.rule.as_str(), &alert.subject, &alert.period]);
        let insert = self.dialect.sql(
            "INSERT INTO alerts (alert_id, rule, subject, period, message, raised_at_ns) VALUES ({1}, {2}, {3}, {4}, {5}, {6}) ON CONFLICT (alert_id) DO NOTHING",
        );
        let inserted = sqlx::query(&insert)
            .bind(alert_id.clone())
            .bind(alert.rule.clone())
            .bind(alert.subject.clone())
            .bind(alert.period.clone())
            .bind(alert.message.clone())
            .bind(nanoseconds(now))
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok((inserted == 1).then_some(alert_id))
    }

    /// Appends one delivery attempt of an alert: `delivered`, or `failed: reason`.
    ///
    /// # Errors
    /// A database error.
    pub async fn record_alert_delivery(
        &self,
        alert_id: &str,
        attempt: i64,
        outcome: &str,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let insert = self.dialect.sql(
            "INSERT INTO alert_deliveries (alert_id, attempt, at_ns, outcome) VALUES ({1}, {2}, {3}, {4}) ON CONFLICT (alert_id, attempt) DO NOTHING",
        );
        sqlx::query(&insert)
            .bind(alert_id.to_owned())
            .bind(attempt)
            .bind(nanoseconds(now))
            .bind(outcome.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every alert, newest first, with its delivery state.
    ///
    /// # Errors
    /// A database error.
    pub async fn alerts(&self) -> Result<Vec<StoredAlert>, StoreError> {
        let select = format!("{ALERT_SELECT} ORDER BY a.raised_at_ns DESC, a.alert_id");
        let rows = sqlx::query(&select).fetch_all(&self.pool).await?;
        rows.iter().map(alert_of).collect()
    }

    /// One alert with its delivery state as it stands now (`None`: no such alert). A replica
    /// about to deliver an alert reads it again under the alert's lease, so an attempt another
    /// replica just made is seen.
    ///
    /// # Errors
    /// A database error.
    pub async fn alert(&self, alert_id: &str) -> Result<Option<StoredAlert>, StoreError> {
        let select = self.dialect.sql(&format!("{ALERT_SELECT} WHERE a.alert_id = {{1}}"));
        let row = sqlx::query(&select).bind(alert_id.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref().map(alert_of).transpose()
    }
}

const ALERT_SELECT: &str = "SELECT a.alert_id, a.rule, a.subject, a.period, a.message, a.raised_at_ns, \
     (SELECT COUNT(*) FROM alert_deliveries d WHERE d.alert_id = a.alert_id) AS attempts, \
     (SELECT COUNT(*) FROM alert_deliveries d WHERE d.alert_id = a.alert_id AND d.outcome = 'delivered') AS delivered \
     FROM alerts a";

fn alert_of(row: &sqlx::any::AnyRow) -> Result<StoredAlert, StoreError> {
    Ok(StoredAlert {
        alert_id: row.try_get("alert_id")?,
        rule: row.try_get("rule")?,
        subject: row.try_get("subject")?,
        period: row.try_get("period")?,
        message: row.try_get("message")?,
        raised_at: instant(row, "raised_at_ns")?,
        attempts: row.try_get("attempts")?,
        delivered: row.try_get::<i64, _>("delivered")? > 0,
    })
}

/// Queues months for an alert check inside the caller's transaction; a month already queued
/// moves to a new generation.
pub(crate) async fn queue_months(
    transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
    dialect: Dialect,
    months: impl Iterator<Item = Month>,
) -> Result<(), StoreError> {
    let upsert = dialect.sql(
        "INSERT INTO alert_pending_months (month, generation) VALUES ({1}, 1) \
         ON CONFLICT (month) DO UPDATE SET generation = alert_pending_months.generation + 1",
    );
    for month in months.collect::<BTreeSet<Month>>() {
        sqlx::query(&upsert).bind(month.to_string()).execute(&mut **transaction).await?;
    }
    Ok(())
}
