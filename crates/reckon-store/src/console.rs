//! What the web console (`reckon-console`) reads and keeps besides the ledger operations the CLI
//! and the API call: its sign-in sessions, the carrier periods with their latest run, and the
//! two sides of a discrepancy (the invoice line and the usage record) for the line page.
//!
//! Sessions are bound to an API key: every read joins the key, so a revoked or expired key ends
//! its sessions at once, and the key's scopes are the session's.

use crate::dialect::{instant, nanoseconds};
use crate::imports::{invoice_line_from_row, usage_from_row, INVOICE_LINES_FROM, INVOICE_LINE_COLUMNS, USAGE_COLUMNS};
use crate::runs::{discrepancy_from_row, DISCREPANCY_COLUMNS};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::{Discrepancy, DiscrepancyKind, InvoiceLine, Service, Timestamp, UsageRecord};
use sqlx::Row;
use std::collections::HashMap;

/// A signed-in console session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsoleSession {
    /// The id of the API key signed in with (never its secret).
    pub key_id: String,
    /// The key's scopes now.
    pub scopes: Vec<String>,
    /// The token every form of the session must carry back.
    pub csrf_token: String,
}

/// A session just started: the id goes into the cookie, and is stored only as a hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsoleSession {
    pub session_id: String,
    pub session: ConsoleSession,
}

/// A carrier's period with its latest run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeriodRun {
    pub carrier: String,
    /// YYYY-MM.
    pub period: String,
    pub run_id: String,
    pub created_at: Timestamp,
    pub discrepancies: u64,
}

/// The filters of a run page that SQL applies exactly (amount ranges and other orders need the
/// decimals compared as decimals: the console's in-memory rows do those).
#[derive(Clone, Copy, Debug, Default)]
pub struct RunPageFilter<'a> {
    pub kind: Option<DiscrepancyKind>,
    pub service: Option<Service>,
    /// Destinations starting with these digits (empty: all).
    pub destination_prefix: &'a str,
}

/// 256 random bits as lowercase hex, from the operating system's cryptographic generator.
fn random_hex() -> Result<String, StoreError> {
    let mut random = [0u8; 32];
    getrandom::fill(&mut random)
        .map_err(|error| StoreError::Invalid(format!("the system's random generator: {error}")))?;
    Ok(random.iter().map(|byte| format!("{byte:02x}")).collect())
}

impl Ledger {
    /// Signs in with a bearer token (`rk_<id>_<secret>`): a session of `lifetime` for its key,
    /// or `None` when the token is unknown, revoked or expired. Expired sessions are deleted.
    ///
    /// # Errors
    /// The random generator is unavailable, or a database error.
    pub async fn start_console_session(
        &self,
        token: &str,
        lifetime: std::time::Duration,
        now: Timestamp,
    ) -> Result<Option<NewConsoleSession>, StoreError> {
        let Some(scopes) = self.api_key_scopes(token, now).await? else { return Ok(None) };
        // A known token has the form rk_<key id>_<secret>.
        let key_id = token.strip_prefix("rk_").and_then(|rest| rest.split_once('_')).map_or("", |(id, _)| id);
        let (session_id, csrf_token) = (random_hex()?, random_hex()?);
        let now_ns = nanoseconds(now);
        let lifetime_ns = i64::try_from(lifetime.as_nanos()).unwrap_or(i64::MAX);
        let mut transaction = self.begin_write().await?;
        sqlx::query(&self.dialect.sql("DELETE FROM console_sessions WHERE expires_at_ns <= {1}"))
            .bind(now_ns)
            .execute(&mut *transaction)
            .await?;
        let insert = self.dialect.sql(
            "INSERT INTO console_sessions (session_sha256, key_id, csrf_token, created_at_ns, expires_at_ns) \
             VALUES ({1}, {2}, {3}, {4}, {5})",
        );
        sqlx::query(&insert)
            .bind(content_hash([session_id.as_str()]))
            .bind(key_id.to_owned())
            .bind(csrf_token.clone())
            .bind(now_ns)
            .bind(now_ns.saturating_add(lifetime_ns))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(Some(NewConsoleSession {
            session_id,
            session: ConsoleSession { key_id: key_id.to_owned(), scopes, csrf_token },
        }))
    }

    /// The session of a cookie's id at `now`; `None` when unknown, expired, or when its key was
    /// revoked or expired since.
    ///
    /// # Errors
    /// A database error.
    pub async fn console_session(
        &self,
        session_id: &str,
        now: Timestamp,
    ) -> Result<Option<ConsoleSession>, StoreError> {
        let select = self.dialect.sql(
            "SELECT s.key_id, s.csrf_token, k.scopes FROM console_sessions s JOIN api_keys k ON k.key_id = s.key_id \
             WHERE s.session_sha256 = {1} AND s.expires_at_ns > {2} AND k.revoked_at_ns IS NULL \
             AND (k.expires_at_ns IS NULL OR k.expires_at_ns > {2})",
        );
        let found: Option<(String, String, String)> = sqlx::query_as(&select)
            .bind(content_hash([session_id]))
            .bind(nanoseconds(now))
            .fetch_optional(&self.pool)
            .await?;
        Ok(found.map(|(key_id, csrf_token, scopes)| ConsoleSession {
            key_id,
            scopes: scopes.split(',').map(str::to_owned).collect(),
            csrf_token,
        }))
    }

    /// Ends a session (sign-out): its cookie no longer signs in.
    ///
    /// # Errors
    /// A database error.
    pub async fn end_console_session(&self, session_id: &str) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(&self.dialect.sql("DELETE FROM console_sessions WHERE session_sha256 = {1}"))
            .bind(content_hash([session_id]))
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Every carrier period that has a run, with its latest run; by period (newest first), then
    /// carrier.
    ///
    /// # Errors
    /// A database error, or a stored instant out of range.
    pub async fn periods_with_runs(&self) -> Result<Vec<PeriodRun>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.carrier, r.period, r.run_id, r.created_at_ns, r.discrepancies_count FROM runs r \
             WHERE r.run_id = (SELECT q.run_id FROM runs q WHERE q.carrier = r.carrier AND q.period = r.period \
             ORDER BY q.created_at_ns DESC, q.run_id LIMIT 1) ORDER BY r.period DESC, r.carrier",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(period_run_from_row).collect()
    }

    /// A run's carrier, period, time and count; `None` when no such run.
    ///
    /// # Errors
    /// A database error, or a stored instant out of range.
    pub async fn run_header(&self, run_id: &str) -> Result<Option<PeriodRun>, StoreError> {
        let select = self
            .dialect
            .sql("SELECT carrier, period, run_id, created_at_ns, discrepancies_count FROM runs r WHERE run_id = {1}");
        let row = sqlx::query(&select).bind(run_id.to_owned()).fetch_optional(&self.pool).await?;
        row.as_ref().map(period_run_from_row).transpose()
    }

    /// The invoice line a run reconciled (of the invoice version the run read); `None` when the
    /// invoice does not hold it.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_invoice_line(
        &self,
        run_id: &str,
        carrier: &str,
        invoice_id: &str,
        line_id: &str,
    ) -> Result<Option<InvoiceLine>, StoreError> {
        let version = self.run_invoice_version(run_id, carrier, invoice_id).await?;
        let select = self.dialect.sql(&format!(
            "{INVOICE_LINE_COLUMNS} {INVOICE_LINES_FROM} \
             WHERE l.carrier = {{1}} AND l.invoice_id = {{2}} AND l.version = {{3}} AND l.line_id = {{4}} \
             ORDER BY l.line_index LIMIT 1"
        ));
        let row = sqlx::query(&select)
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .bind(version)
            .bind(line_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| invoice_line_from_row(&row, &mut HashMap::new())).transpose()
    }

    /// A stored usage record; `None` when there is none of that id.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn usage_record(&self, record_id: &str) -> Result<Option<UsageRecord>, StoreError> {
        let select = self.dialect.sql(&format!("SELECT {USAGE_COLUMNS} FROM usage_records WHERE record_id = {{1}}"));
        let row = sqlx::query(&select).bind(record_id.to_owned()).fetch_optional(&self.pool).await?;
        row.map(|row| usage_from_row(&row, &mut HashMap::new())).transpose()
    }

    /// One page of a run's discrepancies in report order, and how many the filter keeps: read
    /// through the `(run_id, seq)` key without reading the whole run, for the first look at a
    /// large run. `None` when no such run.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_discrepancy_page(
        &self,
        run_id: &str,
        filter: RunPageFilter<'_>,
        offset: u64,
        limit: u64,
    ) -> Result<Option<(u64, Vec<Discrepancy>)>, StoreError> {
        if self.run_header(run_id).await?.is_none() {
            return Ok(None);
        }
        let mut conditions = "run_id = {1}".to_owned();
        let mut values = vec![run_id.to_owned()];
        if let Some(kind) = filter.kind {
            values.push(kind.as_str().to_owned());
            conditions.push_str(&format!(" AND kind = {{{}}}", values.len()));
        }
        if let Some(service) = filter.service {
            values.push(service.as_str().to_owned());
            conditions.push_str(&format!(" AND service = {{{}}}", values.len()));
        }
        if !filter.destination_prefix.is_empty() {
            // Digits only (checked by the caller's parser): nothing for LIKE to read as a pattern.
            if !filter.destination_prefix.bytes().all(|byte| byte.is_ascii_digit()) {
                return Err(StoreError::Invalid(format!(
                    "destination: {:?} is not a prefix of digits",
                    filter.destination_prefix
                )));
            }
            values.push(format!("{}%", filter.destination_prefix));
            conditions.push_str(&format!(" AND destination LIKE {{{}}}", values.len()));
        }
        let count_sql = self.dialect.sql(&format!("SELECT COUNT(*) FROM run_discrepancies WHERE {conditions}"));
        let mut count = sqlx::query_scalar::<_, i64>(&count_sql);
        for value in &values {
            count = count.bind(value.clone());
        }
        let kept = u64::try_from(count.fetch_one(&self.pool).await?).unwrap_or(0);
        let (limit_at, offset_at) = (values.len() + 1, values.len() + 2);
        let select = self.dialect.sql(&format!(
            "SELECT {DISCREPANCY_COLUMNS} FROM run_discrepancies WHERE {conditions} ORDER BY seq \
             LIMIT {{{limit_at}}} OFFSET {{{offset_at}}}"
        ));
        let mut query = sqlx::query(&select);
        for value in values {
            query = query.bind(value);
        }
        let clamp = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
        let rows = query.bind(clamp(limit)).bind(clamp(offset)).fetch_all(&self.pool).await?;
        let mut names = HashMap::new();
        let page = rows.iter().map(|row| discrepancy_from_row(row, &mut names)).collect::<Result<_, _>>()?;
        Ok(Some((kept, page)))
    }

    /// How many discrepancies of each kind a run has (kinds as stored).
    ///
    /// # Errors
    /// A database error.
    pub async fn run_kind_counts(&self, run_id: &str) -> Result<Vec<(String, u64)>, StoreError> {
        let select = self.dialect.sql("SELECT kind, COUNT(*) FROM run_discrepancies WHERE run_id = {1} GROUP BY kind");
        let rows: Vec<(String, i64)> = sqlx::query_as(&select).bind(run_id.to_owned()).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(kind, count)| (kind, u64::try_from(count).unwrap_or(0))).collect())
    }

    /// The discrepancy stored at `seq` in a run; `None` when there is none.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn run_discrepancy(&self, run_id: &str, seq: u64) -> Result<Option<Discrepancy>, StoreError> {
        let select = self
            .dialect
            .sql(&format!("SELECT {DISCREPANCY_COLUMNS} FROM run_discrepancies WHERE run_id = {{1}} AND seq = {{2}}"));
        let seq = i64::try_from(seq).unwrap_or(i64::MAX);
        let row = sqlx::query(&select).bind(run_id.to_owned()).bind(seq).fetch_optional(&self.pool).await?;
        row.map(|row| discrepancy_from_row(&row, &mut HashMap::new())).transpose()
    }
}

fn period_run_from_row(row: &sqlx::any::AnyRow) -> Result<PeriodRun, StoreError> {
    Ok(PeriodRun {
        carrier: row.try_get("carrier")?,
        period: row.try_get("period")?,
        run_id: row.try_get("run_id")?,
        created_at: instant(row, "created_at_ns")?,
        discrepancies: u64::try_from(row.try_get::<i64, _>("discrepancies_count")?).unwrap_or(0),
    })
}
