//! Summary invoices in the ledger (issue 14): versioned in `invoices` like itemised ones (form
//! `summary`), their lines (totals per destination group of a period) in
//! `invoice_summary_lines`; and what dispute thresholds need to know of an invoice.

use crate::dialect::{decimal, nanoseconds, optional_decimal};
use crate::imports::{audit, record_batch, CURRENT_VERSION};
use crate::{content_hash, InvoiceImport, InvoiceOutcome, Ledger, StoreError};
use reckon_core::dispute::InvoiceFacts;
use reckon_core::period::Month;
use reckon_core::summary_invoice::SummaryLine;
use reckon_core::{CompactString, Currency, Decimal, Service, Timestamp};
use sqlx::any::AnyRow;
use sqlx::Row;
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// The form of an itemised invoice version in `invoices.form`.
const ITEMISED: &str = "itemised";
/// The form of a summary invoice version in `invoices.form`.
const SUMMARY: &str = "summary";

/// The period of a summary invoice: the one given at import, else the UTC month its period
/// starts in (a carrier's summary covers a month, or part of one).
pub fn summary_period(given: Option<Month>, lines: &[&SummaryLine]) -> Option<Month> {
    let start = lines.iter().map(|line| line.period_start).min()?;
    Some(given.unwrap_or(Month { year: start.year(), month: start.month() }))
}

/// A summary line's content, for the invoice's content hash.
fn summary_line_text(line: &SummaryLine) -> String {
    let decimal = |value: Option<Decimal>| value.map(|value| value.normalize().to_string()).unwrap_or_default();
    format!(
        "{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}|{}",
        line.line_id,
        line.invoice_date.map(|date| date.to_string()).unwrap_or_default(),
        line.period_start,
        line.period_end,
        line.service.as_str(),
        line.prefix.as_deref().unwrap_or(""),
        line.destination_name.as_deref().unwrap_or(""),
        line.calls.map(|calls| calls.to_string()).unwrap_or_default(),
        line.quantity.normalize(),
        decimal(line.rate),
        line.amount.normalize(),
        line.currency,
        line.carrier,
        line.invoice_id,
    )
}

impl Ledger {
    /// Stores the summary invoices of a file (lines in file order), all in one transaction,
    /// each as a version of its invoice in one period: `period` when given, else the month its
    /// period starts in. As for itemised invoices, the same content and period is a no-op, and
    /// other content is refused unless `replace` (a new version, with an audit entry). An
    /// invoice id stored as an itemised invoice is refused even with `replace`: a summary is
    /// another document, with its own number.
    ///
    /// # Errors
    /// A conflicting invoice, or a database error.
    pub async fn import_invoice_summaries(
        &self,
        lines: &[SummaryLine],
        period: Option<Month>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<Vec<InvoiceImport>, StoreError> {
        let invoices = crate::imports::lines_by_invoice(lines, |line| (line.carrier.clone(), line.invoice_id.clone()));
        let mut transaction = self.begin_write().await?;
        let mut results = Vec::new();
        for ((carrier, invoice_id), invoice_lines) in &invoices {
            let texts: Vec<String> = invoice_lines.iter().map(|line| summary_line_text(line)).collect();
            let hash = content_hash(std::iter::once(SUMMARY).chain(texts.iter().map(String::as_str)));
            let invoice_period = summary_period(period, invoice_lines).expect("an invoice is grouped from its lines");
            let latest = self.dialect.sql(
                "SELECT version, content_sha256, period, form FROM invoices WHERE carrier = {1} AND invoice_id = {2} ORDER BY version DESC LIMIT 1",
            );
            let stored: Option<(i64, String, Option<String>, String)> = sqlx::query_as(&latest)
                .bind(carrier.to_string())
                .bind(invoice_id.to_string())
                .fetch_optional(&mut *transaction)
                .await?;
            let (version, outcome) = match stored {
                Some((.., form)) if form == ITEMISED => {
                    return Err(StoreError::Conflict(format!(
                        "invoice {invoice_id} of {carrier} is stored as an itemised invoice: a summary invoice needs its own invoice_id"
                    )));
                }
                Some((version, stored_hash, stored_period, _))
                    if stored_hash == hash && stored_period.as_deref() == Some(&*invoice_period.to_string()) =>
                {
                    (version, InvoiceOutcome::Unchanged)
                }
                Some((version, ..)) if replace => (version + 1, InvoiceOutcome::Replaced),
                Some(_) => {
                    return Err(StoreError::Conflict(format!(
                        "summary invoice {invoice_id} of {carrier} is stored with other content or period; import with --replace to supersede it"
                    )));
                }
                None => (1, InvoiceOutcome::Imported),
            };
            if outcome != InvoiceOutcome::Unchanged {
                let insert = self.dialect.sql(
                    "INSERT INTO invoices (carrier, invoice_id, version, content_sha256, lines_count, imported_at_ns, period, form) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8})",
                );
                sqlx::query(&insert)
                    .bind(carrier.to_string())
                    .bind(invoice_id.to_string())
                    .bind(version)
                    .bind(hash.clone())
                    .bind(invoice_lines.len() as i64)
                    .bind(nanoseconds(now))
                    .bind(invoice_period.to_string())
                    .bind(SUMMARY)
                    .execute(&mut *transaction)
                    .await?;
                self.insert_summary_lines(&mut transaction, invoice_lines, version).await?;
                if outcome == InvoiceOutcome::Replaced {
                    let detail = format!(
                        "summary version {version} supersedes version {}, period {invoice_period}, content {hash}",
                        version - 1
                    );
                    let subject = format!("{carrier}/{invoice_id}");
                    audit(&mut transaction, self.dialect, now, actor, "replace_invoice", &subject, &detail).await?;
                }
            }
            results.push(InvoiceImport {
                carrier: carrier.to_string(),
                invoice_id: invoice_id.to_string(),
                period: invoice_period,
                version,
                lines: invoice_lines.len() as u64,
                outcome,
            });
        }
        let batch_id = content_hash(
            std::iter::once("invoice-summary")
                .chain(results.iter().map(|result| result.invoice_id.as_str()))
                .chain([source]),
        );
        record_batch(&mut transaction, self.dialect, &batch_id, "invoice-summary", source, lines.len(), now).await?;
        transaction.commit().await?;
        Ok(results)
    }

    async fn insert_summary_lines(
        &self,
        transaction: &mut sqlx::Transaction<'static, sqlx::Any>,
        lines: &[&SummaryLine],
        version: i64,
    ) -> Result<(), StoreError> {
        let insert = self.dialect.sql(
            "INSERT INTO invoice_summary_lines (carrier, invoice_id, version, line_index, line_id, invoice_date, period_start, \
             period_end, service, prefix, destination_name, calls, quantity, rate, amount, currency) \
             VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7}, {8}, {9}, {10}, {11}, {12}, {13:d}, {14:d}, {15:d}, {16})",
        );
        for (line_index, line) in lines.iter().enumerate() {
            sqlx::query(&insert)
                .bind(line.carrier.to_string())
                .bind(line.invoice_id.to_string())
                .bind(version)
                .bind(line_index as i64)
                .bind(line.line_id.to_string())
                .bind(line.invoice_date.map(|date| date.to_string()))
                .bind(line.period_start.to_string())
                .bind(line.period_end.to_string())
                .bind(line.service.as_str())
                .bind(line.prefix.clone())
                .bind(line.destination_name.clone())
                // Calls are bounded at import (10^12), far inside an i64.
                .bind(line.calls.map(|calls| i64::try_from(calls).unwrap_or(i64::MAX)))
                .bind(line.quantity.normalize().to_string())
                .bind(line.rate.map(|rate| rate.normalize().to_string()))
                .bind(line.amount.normalize().to_string())
                .bind(line.currency.to_string())
                .execute(&mut **transaction)
                .await?;
        }
        Ok(())
    }

    /// The lines of the summary invoices of a carrier's period (current versions), lines in
    /// file order, invoices by id.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn summary_lines_of_period(&self, carrier: &str, period: Month) -> Result<Vec<SummaryLine>, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT l.carrier, l.invoice_id, l.line_id, l.invoice_date, l.period_start, l.period_end, l.service, l.prefix, \
             l.destination_name, l.calls, CAST(l.quantity AS TEXT) AS quantity, CAST(l.rate AS TEXT) AS rate, \
             CAST(l.amount AS TEXT) AS amount, l.currency \
             FROM invoice_summary_lines l JOIN invoices i ON l.carrier = i.carrier AND l.invoice_id = i.invoice_id \
             AND l.version = i.version WHERE i.carrier = {{1}} AND i.period = {{2}} AND {CURRENT_VERSION} \
             ORDER BY l.invoice_id, l.line_index"
        ));
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        rows.iter().map(|row| summary_line_from_row(row, &mut names)).collect()
    }

    /// Whether a carrier's period has a summary invoice (current versions).
    ///
    /// # Errors
    /// A database error.
    pub(crate) async fn has_summary_invoices(&self, carrier: &str, period: Month) -> Result<bool, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT COUNT(*) FROM invoices i WHERE i.carrier = {{1}} AND i.period = {{2}} AND i.form = 'summary' AND {CURRENT_VERSION}"
        ));
        let count: i64 =
            sqlx::query_scalar(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_one(&self.pool).await?;
        Ok(count > 0)
    }

    /// What thresholds need to know of an invoice version, in one currency: its billed amount in
    /// that currency and its date (`invoice_date`, else its latest line's UTC date, or for a
    /// summary its period's last day). `None` for an unknown version.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn invoice_facts(
        &self,
        carrier: &str,
        invoice_id: &str,
        version: i64,
        currency: Currency,
    ) -> Result<Option<InvoiceFacts>, StoreError> {
        let itemised = self.dialect.sql(
            "SELECT CAST(amount AS TEXT) AS amount, currency, invoice_date, started_at_ns AS at_ns, NULL AS period_end \
             FROM invoice_lines WHERE carrier = {1} AND invoice_id = {2} AND version = {3} \
             UNION ALL SELECT CAST(amount AS TEXT) AS amount, currency, invoice_date, NULL AS at_ns, period_end \
             FROM invoice_summary_lines WHERE carrier = {1} AND invoice_id = {2} AND version = {3}",
        );
        let rows = sqlx::query(&itemised)
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .bind(version)
            .fetch_all(&self.pool)
            .await?;
        let mut billed_total = Decimal::ZERO;
        let mut invoice_date: Option<jiff::civil::Date> = None;
        let mut latest_line: Option<jiff::civil::Date> = None;
        for row in &rows {
            let line_currency: String = row.try_get("currency")?;
            if line_currency == currency.as_str() {
                billed_total = billed_total.checked_add(decimal(row, "amount")?).ok_or_else(|| {
                    StoreError::Invalid(format!("invoice {invoice_id} of {carrier}: its total is past Decimal's range"))
                })?;
            }
            if let Some(date) = row.try_get::<Option<String>, _>("invoice_date")? {
                invoice_date = invoice_date.max(Some(parse_date("invoice_date", &date)?));
            }
            let line_date = match row.try_get::<Option<i64>, _>("at_ns")? {
                Some(_) => Some(reckon_core::period::utc_date(crate::dialect::instant(row, "at_ns")?)),
                None => match row.try_get::<Option<String>, _>("period_end")? {
                    Some(date) => Some(parse_date("period_end", &date)?),
                    None => None,
                },
            };
            latest_line = latest_line.max(line_date);
        }
        Ok(invoice_date.or(latest_line).map(|invoice_date| InvoiceFacts { billed_total, invoice_date }))
    }
}

/// A run's usage window `[from, to)` widened to the days the summary invoices bill (UTC).
/// `None` past the last representable instant.
pub(crate) fn widened_to_summaries(
    (mut from, mut to): (Timestamp, Timestamp),
    summaries: &[SummaryLine],
) -> Option<(Timestamp, Timestamp)> {
    let midnight = |date: jiff::civil::Date| date.to_zoned(jiff::tz::TimeZone::UTC).ok().map(|zoned| zoned.timestamp());
    for line in summaries {
        from = from.min(midnight(line.period_start)?);
        to = to.max(midnight(line.period_end.tomorrow().ok()?)?);
    }
    Some((from, to))
}

fn corrupt(column: &'static str, value: &str, reason: &str) -> StoreError {
    StoreError::Corrupt { column, value: value.to_owned(), reason: reason.to_owned() }
}

fn parse_date(column: &'static str, text: &str) -> Result<jiff::civil::Date, StoreError> {
    jiff::civil::Date::from_str(text).map_err(|error| corrupt(column, text, &error.to_string()))
}

fn summary_line_from_row(row: &AnyRow, names: &mut HashMap<String, Arc<str>>) -> Result<SummaryLine, StoreError> {
    let mut intern = |name: String| names.entry(name).or_insert_with_key(|name| Arc::from(name.as_str())).clone();
    let service: String = row.try_get("service")?;
    let currency: String = row.try_get("currency")?;
    let calls: Option<i64> = row.try_get("calls")?;
    Ok(SummaryLine {
        carrier: intern(row.try_get("carrier")?),
        invoice_id: intern(row.try_get("invoice_id")?),
        invoice_date: row
            .try_get::<Option<String>, _>("invoice_date")?
            .map(|date| parse_date("invoice_date", &date))
            .transpose()?,
        line_id: CompactString::from(row.try_get::<String, _>("line_id")?),
        period_start: parse_date("period_start", &row.try_get::<String, _>("period_start")?)?,
        period_end: parse_date("period_end", &row.try_get::<String, _>("period_end")?)?,
        service: Service::parse(&service).ok_or_else(|| corrupt("service", &service, "unknown service"))?,
        prefix: row.try_get("prefix")?,
        destination_name: row.try_get("destination_name")?,
        calls: calls
            .map(|calls| u64::try_from(calls).map_err(|_| corrupt("calls", &calls.to_string(), "negative")))
            .transpose()?,
        quantity: decimal(row, "quantity")?,
        rate: optional_decimal(row, "rate")?,
        amount: decimal(row, "amount")?,
        currency: Currency::parse(&currency).ok_or_else(|| corrupt("currency", &currency, "not a currency code"))?,
    })
}
