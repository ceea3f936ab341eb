//! Reconciliation runs over the ledger: the inputs of a carrier's period read back, reconciled
//! by `reckon-core`, and the run and its discrepancies recorded once.
//!
//! A run's id is a hash of everything that decides its result (usage, deck, invoice versions,
//! settings), so running it again with nothing changed finds the same run and stores nothing.

use crate::dialect::{decimal, instant, nanoseconds, optional_decimal};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::rating::{rate_all, Party};
use reckon_core::{
    CompactString, Currency, Discrepancy, DiscrepancyKind, FxTable, ReconcileConfig, Service, Timestamp,
};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::Arc;

/// The scope of a run.
#[derive(Clone, Debug)]
pub struct RunInputs<'a> {
    pub carrier: &'a str,
    pub period: Month,
    pub config: &'a ReconcileConfig,
    pub fx: &'a FxTable,
    pub networks: &'a NetworkMap,
}

/// A recorded run.
#[derive(Clone, Debug)]
pub struct StoredRun {
    pub run_id: String,
    /// Whether this call recorded it (false: the same run was recorded before).
    pub created: bool,
    pub discrepancies: Vec<Discrepancy>,
    pub summary: Option<reckon_core::summary::Summary>,
}

/// Bounds of the usage read for a period: a day either side, so records just across the month
/// boundary can still match its lines (unbilled usage stays within the period).
fn usage_window(period: Month) -> Result<(Timestamp, Timestamp), StoreError> {
    usage_window_for(period, 1)
}

/// The month's bounds widened by `margin_days` on each side.
pub(crate) fn usage_window_for(period: Month, margin_days: i64) -> Result<(Timestamp, Timestamp), StoreError> {
    let (start, end) = period.bounds().ok_or_else(|| StoreError::Invalid(format!("{period}: past the last month")))?;
    let widen = |instant: Timestamp, days: i64| {
        instant
            .checked_add(jiff::SignedDuration::from_hours(24 * days))
            .map_err(|error| StoreError::Invalid(error.to_string()))
    };
    Ok((widen(start, -margin_days)?, widen(end, margin_days)?))
}

impl Ledger {
    /// Reconciles a carrier's period from the ledger and records the run (once).
    ///
    /// # Errors
    /// A stored deck that does not read back, or a database error.
    pub async fn reconcile_period(&self, inputs: &RunInputs<'_>, now: Timestamp) -> Result<StoredRun, StoreError> {
        let (from, to) = usage_window(inputs.period)?;
        let usage = self.usage_between(inputs.carrier, from, to).await?;
        let lines = self.invoice_lines_between(inputs.carrier, from, to).await?;
        let deck_text = self.rates_csv(inputs.carrier).await?;
        let deck = crate::service::deck_of(
            deck_text.clone(),
            reckon_import::rates::DeckKind::CarrierRates,
            &format!("stored rates of {}", inputs.carrier),
        )?;
        let versions = self.invoice_versions(inputs.carrier).await?;
        let config = ReconcileConfig { period: Some(inputs.period), ..inputs.config.clone() };
        let fingerprint = format!(
            "{:?}|{}|{}|{}|{:?}",
            config.time_tolerance, config.quantity_tolerance, config.amount_tolerance, inputs.period, config.contracts
        );
        let usage_ids: Vec<String> = usage.iter().map(crate::imports::usage_hash).collect();
        let run_id = content_hash(
            [inputs.carrier, fingerprint.as_str(), deck_text.as_str()]
                .into_iter()
                .chain(versions.iter().map(|(_, _, hash)| hash.as_str()))
                .chain(usage_ids.iter().map(String::as_str)),
        );
        if let Some(stored) = self.run_discrepancies(&run_id).await? {
            return Ok(StoredRun { run_id, created: false, discrepancies: stored, summary: None });
        }
        let ratings = rate_all(&deck, &usage, Party::Carrier, inputs.networks);
        let reconciliation = reckon_core::reconcile(&usage, &ratings, &lines, inputs.fx, &config);
        self.record_run(&run_id, inputs.carrier, inputs.period, &reconciliation.discrepancies, now).await?;
        Ok(StoredRun {
            run_id,
            created: true,
            discrepancies: reconciliation.discrepancies,
            summary: Some(reconciliation.summary),
        })
    }

    async fn record_run(
        &self,
        run_id: &str,
        carrier: &str,
        period: Month,
        discrepancies: &[Discrepancy],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO runs (run_id, carrier, period, discrepancies_count, created_at_ns) VALUES ({1}, {2}, {3}, {4}, {5}) ON CONFLICT (run_id) DO NOTHING",
        );
        let inserted = sqlx::query(&insert)
            .bind(run_id.to_owned())
            .bind(carrier.to_owned())
            .bind(period.to_string())
            .bind(discrepancies.len() as i64)
            .bind(nanoseconds(now))
            .execute(&mut *transaction)
            .await?
            .rows_affected();
        if inserted == 0 {
            // Another process recorded the same run meanwhile.
            return Ok(());
        }
        let insert = self.dialect.sql(
            "INSERT INTO run_discrepancies (run_id, seq, carrier, invoice_id, line_id, record_id, kind, service, destination, started_at_ns, \
             billed_quantity, expected_quantity, billed_amount, expected_amount, difference, currency) \
             VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11:d}, {12:d}, {13:d}, {14:d}, {15:d}, {16})",
        );
        let text = |value: Option<reckon_core::Decimal>| value.map(|value| value.normalize().to_string());
        for (seq, found) in discrepancies.iter().enumerate() {
            sqlx::query(&insert)
                .bind(run_id.to_owned())
                .bind(seq as i64)
                .bind(found.carrier.to_string())
                .bind(found.invoice_id.as_ref().map(ToString::to_string))
                .bind(found.line_id.as_ref().map(ToString::to_string))
                .bind(found.record_id.as_ref().map(ToString::to_string))
                .bind(found.kind.as_str())
                .bind(found.service.as_str())
                .bind(found.destination.clone())
                .bind(nanoseconds(found.started_at))
                .bind(found.billed_quantity.normalize().to_string())
                .bind(text(found.expected_quantity))
                .bind(found.billed_amount.normalize().to_string())
                .bind(text(found.expected_amount))
                .bind(text(found.difference))
                .bind(found.currency.to_string())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The discrepancies of a recorded run, in report order; `None` when no such run.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_discrepancies(&self, run_id: &str) -> Result<Option<Vec<Discrepancy>>, StoreError> {
        let exists = self.dialect.sql("SELECT COUNT(*) FROM runs WHERE run_id = {1}");
        let count: i64 = sqlx::query_scalar(&exists).bind(run_id.to_owned()).fetch_one(&self.pool).await?;
        if count == 0 {
            return Ok(None);
        }
        let select = self.dialect.sql(
            "SELECT seq, carrier, invoice_id, line_id, record_id, kind, service, destination, started_at_ns, \
             CAST(billed_quantity AS TEXT) AS billed_quantity, CAST(expected_quantity AS TEXT) AS expected_quantity, \
             CAST(billed_amount AS TEXT) AS billed_amount, CAST(expected_amount AS TEXT) AS expected_amount, \
             CAST(difference AS TEXT) AS difference, currency FROM run_discrepancies WHERE run_id = {1} ORDER BY seq",
        );
        let rows = sqlx::query(&select).bind(run_id.to_owned()).fetch_all(&self.pool).await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        let mut intern = |name: String| names.entry(name).or_insert_with_key(|name| Arc::from(name.as_str())).clone();
        let mut discrepancies = Vec::with_capacity(rows.len());
        for row in &rows {
            let kind: String = row.try_get("kind")?;
            let service: String = row.try_get("service")?;
            let currency: String = row.try_get("currency")?;
            let seq: i64 = row.try_get("seq")?;
            let invoice_id: Option<String> = row.try_get("invoice_id")?;
            discrepancies.push(Discrepancy {
                carrier: intern(row.try_get("carrier")?),
                invoice_id: invoice_id.map(&mut intern),
                line_id: row.try_get::<Option<String>, _>("line_id")?.map(CompactString::from),
                record_id: row.try_get::<Option<String>, _>("record_id")?.map(CompactString::from),
                kind: DiscrepancyKind::parse(&kind).ok_or_else(|| StoreError::Corrupt {
                    column: "kind",
                    value: kind.clone(),
                    reason: "unknown kind".into(),
                })?,
                service: Service::parse(&service).ok_or_else(|| StoreError::Corrupt {
                    column: "service",
                    value: service.clone(),
                    reason: "unknown".into(),
                })?,
                destination: row.try_get("destination")?,
                started_at: instant(row, "started_at_ns")?,
                billed_quantity: decimal(row, "billed_quantity")?,
                expected_quantity: optional_decimal(row, "expected_quantity")?,
                billed_amount: decimal(row, "billed_amount")?,
                expected_amount: optional_decimal(row, "expected_amount")?,
                difference: optional_decimal(row, "difference")?,
                currency: Currency::parse(&currency).ok_or_else(|| StoreError::Corrupt {
                    column: "currency",
                    value: currency.clone(),
                    reason: "not a code".into(),
                })?,
                line_index: Some(seq as usize),
                record_index: None,
            });
        }
        Ok(Some(discrepancies))
    }

    /// The ids of a carrier's runs for a period, newest first.
    ///
    /// # Errors
    /// A database error.
    pub async fn runs_of(&self, carrier: &str, period: Month) -> Result<Vec<String>, StoreError> {
        let select = self
            .dialect
            .sql("SELECT run_id FROM runs WHERE carrier = {1} AND period = {2} ORDER BY created_at_ns DESC, run_id");
        Ok(sqlx::query_scalar(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await?)
    }
}
