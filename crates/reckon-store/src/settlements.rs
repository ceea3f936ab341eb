//! Settlement statements: computed from the ledger by `reckon-core`, stored once and never
//! changed; a correction is a new statement that supersedes the last one.

use crate::dialect::{decimal, instant, nanoseconds};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::dispute::dispute_share;
use reckon_core::period::Month;
use reckon_core::settlement::{settle, SettlementInputs, Statement};
use reckon_core::{Currency, Decimal, Timestamp};
use sqlx::Row;
use std::collections::HashMap;

/// A stored statement.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredStatement {
    pub statement_id: String,
    pub carrier: String,
    pub period: String,
    pub statement: Statement,
    pub supersedes: Option<String>,
    pub created_at: Timestamp,
    /// Whether this call stored it.
    pub created: bool,
}

impl Ledger {
    /// Settles a carrier's period: invoiced (current versions of the period's invoices),
    /// minus credits accepted in its disputes, minus the claims still pending, minus our
    /// receivables, rounded to the currency's minor unit. Settling again with the same figures
    /// returns the stored statement; changed figures need `correct`, which stores a new
    /// statement superseding the last.
    ///
    /// # Errors
    /// Changed figures without `correct`, amounts in several currencies, or a database error.
    pub async fn settle_period(
        &self,
        carrier: &str,
        period: Month,
        correct: bool,
        now: Timestamp,
    ) -> Result<StoredStatement, StoreError> {
        let inputs = self.settlement_inputs(carrier, period).await?;
        let statement = settle(inputs).map_err(|error| StoreError::Invalid(error.to_string()))?;
        let figures = [
            statement.inputs.invoiced,
            statement.inputs.accepted_credits,
            statement.inputs.withheld,
            statement.inputs.receivable,
            statement.net,
        ]
        .map(|value| value.normalize().to_string());
        let latest = self.latest_statement(carrier, &period.to_string()).await?;
        if let Some(latest) = latest {
            if latest.statement.net == statement.net && latest.statement.inputs == statement.inputs {
                return Ok(latest);
            }
            if !correct {
                return Err(StoreError::Conflict(format!(
                    "statement {} for {carrier} {period} says {} {}, the ledger now gives {}: settle with --correct to issue a correction",
                    latest.statement_id, latest.statement.net, latest.statement.inputs.currency, statement.net
                )));
            }
            return self.store_statement(carrier, period, statement, Some(latest.statement_id), &figures, now).await;
        }
        self.store_statement(carrier, period, statement, None, &figures, now).await
    }

    async fn settlement_inputs(&self, carrier: &str, period: Month) -> Result<SettlementInputs, StoreError> {
        // The period's invoices, each counted once, in full, whatever months its lines fall in.
        let lines = self.invoice_lines_of_period(carrier, period).await?;
        let mut currencies: Vec<Currency> = lines.iter().map(|line| line.currency).collect();
        currencies.sort();
        currencies.dedup();
        let currency = match currencies.as_slice() {
            [currency] => *currency,
            [] => return Err(StoreError::NotFound(format!("invoices of {carrier} for {period}"))),
            several => {
                let codes: Vec<&str> = several.iter().map(Currency::as_str).collect();
                return Err(StoreError::Invalid(format!(
                    "{carrier} billed {period} in several currencies ({}): settle each separately",
                    codes.join(", ")
                )));
            }
        };
        let invoiced: Decimal = lines.iter().map(|line| line.amount).sum();
        let mut accepted_credits = Decimal::ZERO;
        let mut withheld = Decimal::ZERO;
        // A dispute belongs to an invoice version: only those of the versions settled count.
        let current_versions: HashMap<String, i64> = self
            .invoice_versions(carrier)
            .await?
            .into_iter()
            .map(|(invoice_id, version, ..)| (invoice_id, version))
            .collect();
        for dispute in self.disputes_of(carrier, &period.to_string()).await? {
            if current_versions.get(&dispute.invoice_id) != Some(&dispute.invoice_version) {
                continue;
            }
            if dispute.currency != currency.as_str() {
                return Err(StoreError::Invalid(format!(
                    "dispute {} is in {}, the invoices in {currency}",
                    dispute.dispute_id, dispute.currency
                )));
            }
            let share = dispute_share(dispute.state, dispute.claimed_total, dispute.credited_total());
            withheld += share.withheld;
            accepted_credits += share.accepted_credits;
        }
        let select = self.dialect.sql(
            "SELECT CAST(amount AS TEXT) AS amount, currency FROM receivables WHERE carrier = {1} AND period = {2}",
        );
        let mut receivable = Decimal::ZERO;
        for row in sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await? {
            let receivable_currency: String = row.try_get("currency")?;
            if receivable_currency != currency.as_str() {
                return Err(StoreError::Invalid(format!(
                    "a receivable of {carrier} is in {receivable_currency}, the invoices in {currency}"
                )));
            }
            receivable += decimal(&row, "amount")?;
        }
        Ok(SettlementInputs { currency, invoiced, accepted_credits, withheld, receivable })
    }

    async fn store_statement(
        &self,
        carrier: &str,
        period: Month,
        statement: Statement,
        supersedes: Option<String>,
        figures: &[String; 5],
        now: Timestamp,
    ) -> Result<StoredStatement, StoreError> {
        let statement_id = content_hash(
            [carrier, &period.to_string(), supersedes.as_deref().unwrap_or("")]
                .into_iter()
                .chain(figures.iter().map(String::as_str)),
        )[..16]
            .to_owned();
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO statements (statement_id, carrier, period, currency, invoiced, accepted_credits, withheld, receivable, net_exact, net, supersedes, created_at_ns) \
             VALUES ({1}, {2}, {3}, {4}, {5:d}, {6:d}, {7:d}, {8:d}, {9:d}, {10:d}, {11}, {12})",
        );
        sqlx::query(&insert)
            .bind(statement_id.clone())
            .bind(carrier.to_owned())
            .bind(period.to_string())
            .bind(statement.inputs.currency.to_string())
            .bind(statement.inputs.invoiced.normalize().to_string())
            .bind(statement.inputs.accepted_credits.normalize().to_string())
            .bind(statement.inputs.withheld.normalize().to_string())
            .bind(statement.inputs.receivable.normalize().to_string())
            .bind(statement.net_exact.normalize().to_string())
            .bind(statement.net.normalize().to_string())
            .bind(supersedes.clone())
            .bind(nanoseconds(now))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(StoredStatement {
            statement_id,
            carrier: carrier.to_owned(),
            period: period.to_string(),
            statement,
            supersedes,
            created_at: now,
            created: true,
        })
    }

    /// The statement in force for a carrier's period: the one no other supersedes.
    ///
    /// # Errors
    /// A database error.
    pub async fn latest_statement(&self, carrier: &str, period: &str) -> Result<Option<StoredStatement>, StoreError> {
        let select = self.dialect.sql(
            "SELECT statement_id, currency, CAST(invoiced AS TEXT) AS invoiced, CAST(accepted_credits AS TEXT) AS accepted_credits, \
             CAST(withheld AS TEXT) AS withheld, CAST(receivable AS TEXT) AS receivable, CAST(net_exact AS TEXT) AS net_exact, \
             CAST(net AS TEXT) AS net, supersedes, created_at_ns FROM statements s WHERE carrier = {1} AND period = {2} \
             AND NOT EXISTS (SELECT 1 FROM statements t WHERE t.supersedes = s.statement_id)",
        );
        let Some(row) =
            sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_owned()).fetch_optional(&self.pool).await?
        else {
            return Ok(None);
        };
        let currency: String = row.try_get("currency")?;
        let currency = Currency::parse(&currency).ok_or_else(|| StoreError::Corrupt {
            column: "currency",
            value: currency.clone(),
            reason: "not a code".into(),
        })?;
        Ok(Some(StoredStatement {
            statement_id: row.try_get("statement_id")?,
            carrier: carrier.to_owned(),
            period: period.to_owned(),
            statement: Statement {
                inputs: SettlementInputs {
                    currency,
                    invoiced: decimal(&row, "invoiced")?,
                    accepted_credits: decimal(&row, "accepted_credits")?,
                    withheld: decimal(&row, "withheld")?,
                    receivable: decimal(&row, "receivable")?,
                },
                net_exact: decimal(&row, "net_exact")?,
                net: decimal(&row, "net")?,
            },
            supersedes: row.try_get("supersedes")?,
            created_at: instant(&row, "created_at_ns")?,
            created: false,
        }))
    }
}
