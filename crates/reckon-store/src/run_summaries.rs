//! A run's summary kept with the run (migration 0016): per invoice and currency, what was billed
//! and what we expected, as `reckon_core::summary::Summary` totalled it when the run was made,
//! so that the console's "billed vs expected" is the figure `reckon reconcile` printed.
//!
//! It is written in the run's own transaction ([`Ledger::record_run`]); a run recorded before
//! the migration has no summary (`runs.summary_groups_count` is NULL), and reading it says so
//! (`None`) instead of making one up.

use crate::dialect::decimal;
use crate::{Ledger, StoreError};
use reckon_core::summary::Summary;
use reckon_core::{Currency, Decimal};
use sqlx::Row;

/// One group of a stored run summary: an invoice (or the carrier's unbilled usage) in one
/// currency.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunSummaryGroup {
    /// `None`: the carrier's usage no line billed.
    pub invoice_id: Option<String>,
    pub currency: Currency,
    pub lines_billed: u64,
    pub lines_matched: u64,
    /// Sum of the amounts billed.
    pub billed_total: Decimal,
    /// Sum of the expected amounts, where one is known (unbilled: the records' costs).
    pub expected_total: Decimal,
    /// Billed amounts of lines whose expected amount is unknown.
    pub unverified_total: Decimal,
    pub overbilled: Decimal,
    pub underbilled: Decimal,
}

impl Ledger {
    /// Writes a run's summary groups in the run's transaction, and their count on the run.
    pub(crate) async fn insert_run_summary(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        run_id: &str,
        summary: &Summary,
    ) -> Result<(), StoreError> {
        let insert = self.dialect.sql(
            "INSERT INTO run_summaries (run_id, seq, invoice_id, currency, lines_billed, lines_matched, billed_total, \
             expected_total, unverified_total, overbilled, underbilled) \
             VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7:d}, {8:d}, {9:d}, {10:d}, {11:d})",
        );
        let text = |value: Decimal| value.normalize().to_string();
        let count = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        for (seq, (key, totals)) in summary.groups.iter().enumerate() {
            sqlx::query(&insert)
                .bind(run_id.to_owned())
                .bind(count(seq as u64))
                .bind(key.invoice_id.as_ref().map(ToString::to_string))
                .bind(key.currency.to_string())
                .bind(count(totals.lines_billed))
                .bind(count(totals.lines_matched))
                .bind(text(totals.billed_total))
                .bind(text(totals.expected_total))
                .bind(text(totals.unverified_total))
                .bind(text(totals.overbilled))
                .bind(text(totals.underbilled))
                .execute(&mut **transaction)
                .await?;
        }
        sqlx::query(&self.dialect.sql("UPDATE runs SET summary_groups_count = {1} WHERE run_id = {2}"))
            .bind(count(summary.groups.len() as u64))
            .bind(run_id.to_owned())
            .execute(&mut **transaction)
            .await?;
        Ok(())
    }

    /// A run's summary groups in the summary's order; `None` when the run is unknown or was
    /// recorded before summaries were kept.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_summary(&self, run_id: &str) -> Result<Option<Vec<RunSummaryGroup>>, StoreError> {
        let select = self.dialect.sql("SELECT summary_groups_count FROM runs WHERE run_id = {1}");
        let kept: Option<Option<i64>> =
            sqlx::query_scalar(&select).bind(run_id.to_owned()).fetch_optional(&self.pool).await?;
        let Some(Some(groups_count)) = kept else { return Ok(None) };
        let select = self.dialect.sql(
            "SELECT invoice_id, currency, lines_billed, lines_matched, CAST(billed_total AS TEXT) AS billed_total, \
             CAST(expected_total AS TEXT) AS expected_total, CAST(unverified_total AS TEXT) AS unverified_total, \
             CAST(overbilled AS TEXT) AS overbilled, CAST(underbilled AS TEXT) AS underbilled \
             FROM run_summaries WHERE run_id = {1} ORDER BY seq",
        );
        let rows = sqlx::query(&select).bind(run_id.to_owned()).fetch_all(&self.pool).await?;
        if i64::try_from(rows.len()).ok() != Some(groups_count) {
            return Err(StoreError::Corrupt {
                column: "summary_groups_count",
                value: groups_count.to_string(),
                reason: format!("run {run_id} has {} summary rows", rows.len()),
            });
        }
        let count = |row: &sqlx::any::AnyRow, column: &str| -> Result<u64, StoreError> {
            Ok(u64::try_from(row.try_get::<i64, _>(column)?).unwrap_or(0))
        };
        rows.iter()
            .map(|row| {
                let currency: String = row.try_get("currency")?;
                Ok(RunSummaryGroup {
                    invoice_id: row.try_get("invoice_id")?,
                    currency: Currency::parse(&currency).ok_or_else(|| StoreError::Corrupt {
                        column: "currency",
                        value: currency.clone(),
                        reason: "not an ISO 4217 code".to_owned(),
                    })?,
                    lines_billed: count(row, "lines_billed")?,
                    lines_matched: count(row, "lines_matched")?,
                    billed_total: decimal(row, "billed_total")?,
                    expected_total: decimal(row, "expected_total")?,
                    unverified_total: decimal(row, "unverified_total")?,
                    overbilled: decimal(row, "overbilled")?,
                    underbilled: decimal(row, "underbilled")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()
            .map(Some)
    }
}
