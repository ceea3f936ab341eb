//! Imports: usage records, rate rows and invoices, each file in one transaction, idempotent.
//!
//! Every stored item carries a hash of its content. Importing it again with the same content
//! changes nothing; with different content it is refused unless `replace` is asked for, which
//! supersedes it and appends an audit entry. Invoices are versioned rather than overwritten.

use crate::deck_rows::{self, DeckTable};
use crate::dialect::{decimal, instant, nanoseconds, optional_decimal};
use crate::{content_hash, Dialect, Ledger, StoreError};
use reckon_core::charges::ChargeLine;
use reckon_core::invoice::{check_receivable_amount, invoice_period};
use reckon_core::period::Month;
use reckon_core::usage::DeliveryStatus;
use reckon_core::{CompactString, Currency, Destination, InvoiceLine, RateRow, Service, Timestamp, UsageRecord};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

/// What an import did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportOutcome {
    /// Items stored for the first time.
    pub inserted: u64,
    /// Items already stored with the same content (no-op).
    pub unchanged: u64,
    /// Items whose stored content was superseded (`replace`).
    pub replaced: u64,
}

/// What importing one invoice did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvoiceImport {
    pub carrier: String,
    pub invoice_id: String,
    /// The period the invoice belongs to.
    pub period: Month,
    /// The version now current.
    pub version: i64,
    pub lines: u64,
    pub outcome: InvoiceOutcome,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvoiceOutcome {
    Imported,
    Unchanged,
    Replaced,
}

/// One of our invoices to a carrier: what it owes us, netted at settlement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Receivable<'a> {
    pub carrier: &'a str,
    pub invoice_id: &'a str,
    /// YYYY-MM.
    pub period: &'a str,
    pub amount: reckon_core::Decimal,
    pub currency: Currency,
}

/// `(carrier, invoice_id)`.
type InvoiceKey = (Arc<str>, Arc<str>);

/// Lines grouped by their invoice (carrier, invoice_id), invoices in the order they first
/// appear: itemised and summary invoices alike are stored invoice by invoice.
pub(crate) fn lines_by_invoice<L>(lines: &[L], key_of: impl Fn(&L) -> InvoiceKey) -> Vec<(InvoiceKey, Vec<&L>)> {
    let mut invoices: Vec<(InvoiceKey, Vec<&L>)> = Vec::new();
    for line in lines {
        let key = key_of(line);
        match invoices.iter_mut().find(|(existing, _)| *existing == key) {
            Some((_, invoice_lines)) => invoice_lines.push(line),
            None => invoices.push((key, vec![line])),
        }
    }
    invoices
}

/// Usage rows per INSERT statement (13 parameters each).
pub(crate) const USAGE_ROWS_PER_STATEMENT: usize = 80;

/// A usage record's content hash. The status joins the hashed fields only when given, so a
/// record stored before there was a status keeps its hash.
pub(crate) fn usage_hash(record: &UsageRecord) -> String {
    let quantity = record.quantity.normalize().to_string();
    let started_at_ns = nanoseconds(record.started_at).to_string();
    let fields = [
        record.record_id.as_str(),
        record.service.as_str(),
        &record.carrier,
        record.carrier_ref.as_deref().unwrap_or(""),
        record.customer.as_deref().unwrap_or(""),
        &started_at_ns,
        record.origin.as_ref().map_or("", |origin| origin.digits()),
        record.destination.digits(),
        &quantity,
        record.network.as_deref().unwrap_or(""),
    ];
    content_hash(fields.into_iter().chain(record.status.map(DeliveryStatus::as_str)))
}

impl Ledger {
    /// Stores usage records in one transaction.
    ///
    /// # Errors
    /// A record whose id is stored with other content (unless `replace`), or a database error.
    pub async fn import_usage(
        &self,
        records: &[UsageRecord],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        self.import_usage_rated(records, None, source, actor, replace, now).await
    }

    /// Stores usage records in one transaction, as [`Ledger::import_usage`], and moves the
    /// accrual sums with them in the same transaction: with `accruals`, a new record adds its
    /// contribution and a superseded one takes its old content's away (where the month's sums
    /// can take them, else the month is marked stale); without, every month touched is marked
    /// stale.
    ///
    /// # Errors
    /// A record whose id is stored with other content (unless `replace`), a database error, or
    /// an accrual sum past what it holds.
    pub async fn import_usage_rated(
        &self,
        records: &[UsageRecord],
        accruals: Option<&crate::AccrualUpdate<'_>>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let mut transaction = self.begin_write().await?;
        let hashes: Vec<String> = records.iter().map(usage_hash).collect();
        let batch_id = content_hash(std::iter::once("usage").chain(hashes.iter().map(String::as_str)));
        let mut outcome = ImportOutcome::default();
        let mut conflicts = Vec::new();
        // The indexes of the records whose content is stored now (new or superseding).
        let mut new_content: Vec<usize> = Vec::new();
        for (chunk_index, (chunk, chunk_hashes)) in
            records.chunks(USAGE_ROWS_PER_STATEMENT).zip(hashes.chunks(USAGE_ROWS_PER_STATEMENT)).enumerate()
        {
            // Insert what is new in one statement; only the ids already stored are looked at
            // (a lookup per chunk would scan the table after a large rolled-back import).
            let rows: Vec<(&UsageRecord, &String)> = chunk.iter().zip(chunk_hashes).collect();
            let inserted = insert_usage(&mut transaction, self.dialect, &rows, &batch_id).await?;
            outcome.inserted += inserted.len() as u64;
            new_content.extend(
                (chunk_index * USAGE_ROWS_PER_STATEMENT..)
                    .zip(chunk)
                    .filter(|(_, record)| inserted.contains(record.record_id.as_str()))
                    .map(|(index, _)| index),
            );
            let existing: Vec<(&UsageRecord, &String)> =
                rows.into_iter().filter(|(record, _)| !inserted.contains(record.record_id.as_str())).collect();
            if existing.is_empty() {
                continue;
            }
            let ids = existing.iter().map(|(record, _)| record.record_id.as_str());
            let stored = stored_hashes(&mut transaction, self.dialect, "usage_records", "record_id", ids).await?;
            for (record, hash) in existing {
                match stored.get(record.record_id.as_str()) {
                    Some(stored_hash) if stored_hash == hash => outcome.unchanged += 1,
                    _ => conflicts.push((record, hash)),
                }
            }
        }
        if !conflicts.is_empty() && !replace {
            let ids: Vec<&str> = conflicts.iter().take(5).map(|(record, _)| record.record_id.as_str()).collect();
            return Err(StoreError::Conflict(format!(
                "{} usage records are stored with other content (first: {}); import with --replace to supersede them",
                conflicts.len(),
                ids.join(", ")
            )));
        }
        let superseded = superseded_usage(&mut transaction, self.dialect, &conflicts).await?;
        for (record, hash) in &conflicts {
            // The audit entry keeps the superseded content itself, not only that it changed.
            let old = stored_usage_csv(&mut transaction, self.dialect, record.record_id.as_str()).await?;
            let delete = self.dialect.sql("DELETE FROM usage_records WHERE record_id = {1}");
            sqlx::query(&delete).bind(record.record_id.to_string()).execute(&mut *transaction).await?;
            audit(
                &mut transaction,
                self.dialect,
                now,
                actor,
                "replace_usage",
                record.record_id.as_str(),
                &format!("old: {old}\nnew content sha256: {hash}"),
            )
            .await?;
        }
        let replaced: Vec<(&UsageRecord, &String)> = conflicts.iter().map(|(record, hash)| (*record, *hash)).collect();
        for chunk in replaced.chunks(USAGE_ROWS_PER_STATEMENT) {
            insert_usage(&mut transaction, self.dialect, chunk, &batch_id).await?;
        }
        outcome.replaced = replaced.len() as u64;
        let by_id: HashMap<&str, usize> =
            records.iter().enumerate().rev().map(|(index, record)| (record.record_id.as_str(), index)).collect();
        new_content.extend(conflicts.iter().map(|(record, _)| by_id[record.record_id.as_str()]));
        crate::accruals::add_imported(&mut transaction, self.dialect, records, &new_content, &superseded, accruals)
            .await?;
        record_batch(&mut transaction, self.dialect, &batch_id, "usage", source, records.len(), now).await?;
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Stores rate rows in one transaction.
    ///
    /// # Errors
    /// A row stored with other content under the same key (unless `replace`), or a database
    /// error.
    pub async fn import_rates(
        &self,
        rows: &[RateRow],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        self.import_deck_rows(DeckTable::CarrierRates, rows, source, actor, replace, now).await
    }

    /// Stores customer price plan rows (`prices.csv`; the row's `carrier` is the plan) in one
    /// transaction, like [`Ledger::import_rates`].
    ///
    /// # Errors
    /// As [`Ledger::import_rates`].
    pub async fn import_prices(
        &self,
        rows: &[RateRow],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        self.import_deck_rows(DeckTable::CustomerPrices, rows, source, actor, replace, now).await
    }

    async fn import_deck_rows(
        &self,
        table: DeckTable,
        rows: &[RateRow],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<ImportOutcome, StoreError> {
        let (table_name, kind) = (table.table(), table.kind());
        let mut transaction = self.begin_write().await?;
        let encoded: Vec<(String, deck_rows::EncodedRow)> = rows
            .iter()
            .map(|row| Ok((rate_row_key(row), deck_rows::encode(row)?)))
            .collect::<Result<_, StoreError>>()?;
        let batch_id =
            content_hash(std::iter::once(kind).chain(encoded.iter().map(|(_, encoded)| encoded.hash.as_str())));
        let mut outcome = ImportOutcome::default();
        let stored = stored_hashes(
            &mut transaction,
            self.dialect,
            table_name,
            "row_key",
            encoded.iter().map(|(key, _)| key.as_str()),
        )
        .await?;
        let mut conflicts = Vec::new();
        for ((key, encoded_row), row) in encoded.iter().zip(rows) {
            match stored.get(key.as_str()) {
                Some(existing) if *existing == encoded_row.hash => {
                    outcome.unchanged += 1;
                    continue;
                }
                Some(_) if !replace => {
                    conflicts.push(format!(
                        "{} {} {}",
                        row.carrier,
                        row.service,
                        if row.prefix.is_empty() { "(network)" } else { &row.prefix }
                    ));
                    continue;
                }
                Some(_) => {
                    // The audit entry keeps the superseded row itself, and the new one.
                    let old = deck_rows::stored_row_text(&mut transaction, self.dialect, table, key).await?;
                    let delete = self.dialect.sql(&format!("DELETE FROM {table_name} WHERE row_key = {{1}}"));
                    sqlx::query(&delete).bind(key.clone()).execute(&mut *transaction).await?;
                    deck_rows::insert(&mut transaction, self.dialect, table, key, &row.carrier, encoded_row, &batch_id)
                        .await?;
                    let new = deck_rows::stored_row_text(&mut transaction, self.dialect, table, key).await?;
                    let detail = format!("old: {}\nnew: {}", old.trim_end(), new.trim_end());
                    audit(&mut transaction, self.dialect, now, actor, table.replace_action(), key, &detail).await?;
                    outcome.replaced += 1;
                    continue;
                }
                None => outcome.inserted += 1,
            }
            deck_rows::insert(&mut transaction, self.dialect, table, key, &row.carrier, encoded_row, &batch_id).await?;
        }
        if !conflicts.is_empty() {
            return Err(StoreError::Conflict(format!(
                "{} {kind} rows are stored with other terms (first: {}); import with --replace to supersede them",
                conflicts.len(),
                conflicts[0]
            )));
        }
        record_batch(&mut transaction, self.dialect, &batch_id, kind, source, rows.len(), now).await?;
        if outcome.inserted + outcome.replaced > 0 {
            sqlx::query("UPDATE deck_epoch SET epoch = epoch + 1 WHERE singleton = 1")
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(outcome)
    }

    /// Stores the invoices of a file, each in the period its lines give
    /// ([`reckon_core::invoice::invoice_period`]); see [`Ledger::import_invoices_in`].
    ///
    /// # Errors
    /// As [`Ledger::import_invoices_in`].
    pub async fn import_invoices(
        &self,
        lines: &[InvoiceLine],
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<Vec<InvoiceImport>, StoreError> {
        self.import_invoices_in(lines, None, source, actor, replace, now).await
    }

    /// Stores the invoices of a file (lines in file order), all in one transaction, each in one
    /// period: `period` when given, else the month holding most of its lines. An invoice already
    /// stored with the same content and period is a no-op; with other content or another period
    /// it is refused unless `replace`, which stores a new version and appends an audit entry.
    ///
    /// # Errors
    /// A conflicting invoice without `replace`, or a database error.
    pub async fn import_invoices_in(
        &self,
        lines: &[InvoiceLine],
        period: Option<Month>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<Vec<InvoiceImport>, StoreError> {
        self.import_invoices_with_charges(lines, &[], period, source, actor, replace, now).await
    }

    /// Stores the invoices of a file as [`Ledger::import_invoices_in`] does, with their
    /// contract charge lines (the lines that are not usage, in file order): an invoice's
    /// charge lines are a part of its content (numbered after its usage lines); an invoice of
    /// charge lines only takes the month most of them start in as its period, unless `period`.
    ///
    /// # Errors
    /// As [`Ledger::import_invoices_in`].
    #[allow(clippy::too_many_arguments)]
    pub async fn import_invoices_with_charges(
        &self,
        lines: &[InvoiceLine],
        charges: &[ChargeLine],
        period: Option<Month>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<Vec<InvoiceImport>, StoreError> {
        // Two imports of one invoice at once (PostgreSQL runs them side by side, SQLite queues
        // them): the loser's insert violates the key the winner just committed. Read again, as
        // if it had come second: the same content is then the no-op it would have been.
        match self.import_invoices_once(lines, charges, period, source, actor, replace, now).await {
            Err(error) if error.is_unique_violation() => {
                self.import_invoices_once(lines, charges, period, source, actor, replace, now).await
            }
            result => result,
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn import_invoices_once(
        &self,
        lines: &[InvoiceLine],
        charges: &[ChargeLine],
        period: Option<Month>,
        source: &str,
        actor: &str,
        replace: bool,
        now: Timestamp,
    ) -> Result<Vec<InvoiceImport>, StoreError> {
        let mut invoices = lines_by_invoice(lines, |line| (line.carrier.clone(), line.invoice_id.clone()));
        let charges_by_invoice = lines_by_invoice(charges, |line| (line.carrier.clone(), line.invoice_id.clone()));
        for (key, _) in &charges_by_invoice {
            if !invoices.iter().any(|(existing, _)| existing == key) {
                invoices.push((key.clone(), Vec::new()));
            }
        }
        let mut transaction = self.begin_write().await?;
        let mut results = Vec::new();
        for ((carrier, invoice_id), invoice_lines) in &invoices {
            let invoice_charges: &[&ChargeLine] = charges_by_invoice
                .iter()
                .find(|(key, _)| key.0 == *carrier && key.1 == *invoice_id)
                .map_or(&[][..], |(_, charges)| charges.as_slice());
            let line_hashes: Vec<String> = invoice_lines
                .iter()
                .map(|line| invoice_line_hash(line))
                .chain(invoice_charges.iter().map(|line| crate::contract_charges::charge_line_hash(line)))
                .collect();
            let hash = content_hash(line_hashes.iter().map(String::as_str));
            let invoice_period = invoice_period(period, invoice_lines)
                .or_else(|| reckon_core::period::majority_month(invoice_charges.iter().map(|line| line.started_at)))
                .expect("an invoice is grouped from its lines");
            let lines_count = invoice_lines.len() + invoice_charges.len();
            let latest = self.dialect.sql("SELECT version, content_sha256, period FROM invoices WHERE carrier = {1} AND invoice_id = {2} ORDER BY version DESC LIMIT 1");
            let stored: Option<(i64, String, Option<String>)> = sqlx::query_as(&latest)
                .bind(carrier.to_string())
                .bind(invoice_id.to_string())
                .fetch_optional(&mut *transaction)
                .await?;
            let (version, outcome) = match stored {
                Some((version, stored_hash, stored_period))
                    if stored_hash == hash && stored_period.as_deref() == Some(&*invoice_period.to_string()) =>
                {
                    (version, InvoiceOutcome::Unchanged)
                }
                Some((version, _, _)) if replace => (version + 1, InvoiceOutcome::Replaced),
                Some((_, stored_hash, stored_period)) => {
                    let what = if stored_hash == hash {
                        format!("in period {} (this import: {invoice_period})", stored_period.as_deref().unwrap_or("?"))
                    } else {
                        "with other content".to_owned()
                    };
                    return Err(StoreError::Conflict(format!(
                        "invoice {invoice_id} of {carrier} is stored {what}; import with --replace to supersede it"
                    )));
                }
                None => (1, InvoiceOutcome::Imported),
            };
            if outcome != InvoiceOutcome::Unchanged {
                let insert = self.dialect.sql("INSERT INTO invoices (carrier, invoice_id, version, content_sha256, lines_count, imported_at_ns, period) VALUES ({1}, {2}, {3}, {4}, {5}, {6}, {7})");
                sqlx::query(&insert)
                    .bind(carrier.to_string())
                    .bind(invoice_id.to_string())
                    .bind(version)
                    .bind(hash.clone())
                    .bind(lines_count as i64)
                    .bind(nanoseconds(now))
                    .bind(invoice_period.to_string())
                    .execute(&mut *transaction)
                    .await?;
                insert_invoice_lines(&mut transaction, self.dialect, invoice_lines, version).await?;
                crate::contract_charges::insert_charge_lines(
                    &mut transaction,
                    self.dialect,
                    invoice_charges,
                    version,
                    invoice_lines.len(),
                )
                .await?;
                if outcome == InvoiceOutcome::Replaced {
                    let detail = format!(
                        "version {version} supersedes version {}, period {invoice_period}, content {hash}",
                        version - 1
                    );
                    audit(
                        &mut transaction,
                        self.dialect,
                        now,
                        actor,
                        "replace_invoice",
                        &format!("{carrier}/{invoice_id}"),
                        &detail,
                    )
                    .await?;
                }
            }
            results.push(InvoiceImport {
                carrier: carrier.to_string(),
                invoice_id: invoice_id.to_string(),
                period: invoice_period,
                version,
                lines: lines_count as u64,
                outcome,
            });
        }
        let batch_id = content_hash(
            std::iter::once("invoice").chain(results.iter().map(|result| result.invoice_id.as_str())).chain([source]),
        );
        record_batch(&mut transaction, self.dialect, &batch_id, "invoice", source, lines.len() + charges.len(), now)
            .await?;
        transaction.commit().await?;
        Ok(results)
    }

    /// Stores one of our invoices to a carrier, netted at settlement. Idempotent on the
    /// carrier and invoice id.
    ///
    /// # Errors
    /// A negative amount, the same invoice stored with other figures, or a database error.
    pub async fn import_receivable(
        &self,
        carrier: &str,
        invoice_id: &str,
        period: &str,
        amount: reckon_core::Decimal,
        currency: Currency,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let receivable = Receivable { carrier, invoice_id, period, amount, currency };
        let outcome = self.store_receivable(&receivable, false, "reckon", now).await?;
        Ok(outcome == InvoiceOutcome::Imported)
    }

    /// Stores one of our invoices to a carrier, netted at settlement: a no-op when stored with
    /// the same figures; with other figures refused unless `replace`, which corrects it and
    /// appends an audit entry holding the old figures.
    ///
    /// # Errors
    /// A negative amount, other figures without `replace`, or a database error.
    pub async fn store_receivable(
        &self,
        receivable: &Receivable<'_>,
        replace: bool,
        actor: &str,
        now: Timestamp,
    ) -> Result<InvoiceOutcome, StoreError> {
        let Receivable { carrier, invoice_id, period, amount, currency } = *receivable;
        let amount = check_receivable_amount(amount).map_err(|expected| {
            StoreError::Invalid(format!("receivable {invoice_id} of {carrier}: amount {amount}: expected {expected}"))
        })?;
        let mut transaction = self.begin_write().await?;
        let select = self.dialect.sql("SELECT period, CAST(amount AS TEXT) AS amount, currency FROM receivables WHERE carrier = {1} AND invoice_id = {2}");
        let stored = sqlx::query(&select)
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .fetch_optional(&mut *transaction)
            .await?;
        let outcome = match stored {
            None => {
                let insert = self.dialect.sql("INSERT INTO receivables (carrier, invoice_id, period, amount, currency, imported_at_ns) VALUES ({1}, {2}, {3}, {4:d}, {5}, {6})");
                sqlx::query(&insert)
                    .bind(carrier.to_owned())
                    .bind(invoice_id.to_owned())
                    .bind(period.to_owned())
                    .bind(amount.normalize().to_string())
                    .bind(currency.to_string())
                    .bind(nanoseconds(now))
                    .execute(&mut *transaction)
                    .await?;
                InvoiceOutcome::Imported
            }
            Some(row) => {
                let (stored_period, stored_amount, stored_currency): (String, reckon_core::Decimal, String) =
                    (row.try_get("period")?, decimal(&row, "amount")?, row.try_get("currency")?);
                if stored_period == period
                    && stored_amount == amount.normalize()
                    && stored_currency == currency.as_str()
                {
                    return Ok(InvoiceOutcome::Unchanged);
                }
                if !replace {
                    return Err(StoreError::Conflict(format!(
                        "receivable {invoice_id} of {carrier} is stored with other figures ({stored_period}, {stored_amount} {stored_currency}); import with --replace to correct it"
                    )));
                }
                let update = self.dialect.sql("UPDATE receivables SET period = {1}, amount = {2:d}, currency = {3}, imported_at_ns = {4} WHERE carrier = {5} AND invoice_id = {6}");
                sqlx::query(&update)
                    .bind(period.to_owned())
                    .bind(amount.normalize().to_string())
                    .bind(currency.to_string())
                    .bind(nanoseconds(now))
                    .bind(carrier.to_owned())
                    .bind(invoice_id.to_owned())
                    .execute(&mut *transaction)
                    .await?;
                let detail = format!(
                    "old: {stored_period}, {stored_amount} {stored_currency}; new: {period}, {} {currency}",
                    amount.normalize()
                );
                audit(
                    &mut transaction,
                    self.dialect,
                    now,
                    actor,
                    "replace_receivable",
                    &format!("{carrier}/{invoice_id}"),
                    &detail,
                )
                .await?;
                InvoiceOutcome::Replaced
            }
        };
        transaction.commit().await?;
        Ok(outcome)
    }

    /// The usage of a carrier that started in `[from, to)`, in a stable order (start, then id).
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn usage_between(
        &self,
        carrier: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        self.usage_of(Some(carrier), from, to).await
    }

    /// The usage of one carrier, or of all, that started in `[from, to)`, in a stable order
    /// (start, then id).
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn usage_of(
        &self,
        carrier: Option<&str>,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let columns = USAGE_COLUMNS;
        let rows = match carrier {
            Some(carrier) => {
                let select = self.dialect.sql(&format!(
                    "SELECT {columns} FROM usage_records WHERE carrier = {{1}} AND started_at_ns >= {{2}} AND started_at_ns < {{3}} ORDER BY started_at_ns, record_id"
                ));
                sqlx::query(&select)
                    .bind(carrier.to_owned())
                    .bind(nanoseconds(from))
                    .bind(nanoseconds(to))
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let select = self.dialect.sql(&format!(
                    "SELECT {columns} FROM usage_records WHERE started_at_ns >= {{1}} AND started_at_ns < {{2}} ORDER BY started_at_ns, record_id"
                ));
                sqlx::query(&select).bind(nanoseconds(from)).bind(nanoseconds(to)).fetch_all(&self.pool).await?
            }
        };
        let mut carriers: HashMap<String, Arc<str>> = HashMap::new();
        rows.iter().map(|row| usage_from_row(row, &mut carriers)).collect()
    }

    /// How many usage records the ledger holds.
    ///
    /// # Errors
    /// A database error.
    pub async fn usage_count(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM usage_records").fetch_one(&self.pool).await?)
    }

    /// A carrier's rate rows as `rates.csv` text (header included).
    ///
    /// # Errors
    /// A database error.
    pub async fn rates_csv(&self, carrier: &str) -> Result<String, StoreError> {
        let filter = format!("WHERE carrier = {}", self.dialect.param(1));
        deck_rows::deck_text(&self.pool, self.dialect, DeckTable::CarrierRates, &filter, &[carrier]).await
    }

    /// Every carrier's rate rows as `rates.csv` text (header included).
    ///
    /// # Errors
    /// A database error.
    pub async fn all_rates_csv(&self) -> Result<String, StoreError> {
        deck_rows::deck_text(&self.pool, self.dialect, DeckTable::CarrierRates, "", &[]).await
    }

    /// A number that moves whenever an import changes rates or prices (in the import's own
    /// transaction): decks cached by the service, in any replica, are read again when it moves.
    /// One row read, whatever the number of imports.
    ///
    /// # Errors
    /// A database error.
    pub async fn deck_epoch(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("SELECT epoch FROM deck_epoch WHERE singleton = 1").fetch_one(&self.pool).await?)
    }

    /// Every customer price plan as `prices.csv` text (header included).
    ///
    /// # Errors
    /// A database error.
    pub async fn prices_csv(&self) -> Result<String, StoreError> {
        deck_rows::deck_text(&self.pool, self.dialect, DeckTable::CustomerPrices, "", &[]).await
    }

    /// The lines of the invoices of a carrier's period (each invoice's current version, whatever
    /// months its lines fall in), lines in file order, invoices by id.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn invoice_lines_of_period(&self, carrier: &str, period: Month) -> Result<Vec<InvoiceLine>, StoreError> {
        let select = self.dialect.sql(&format!(
            "{INVOICE_LINE_COLUMNS} {INVOICE_LINES_FROM} WHERE i.carrier = {{1}} AND i.period = {{2}} AND {CURRENT_VERSION} \
             ORDER BY l.invoice_id, l.line_index"
        ));
        let rows = sqlx::query(&select).bind(carrier.to_owned()).bind(period.to_string()).fetch_all(&self.pool).await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        rows.iter().map(|row| invoice_line_from_row(row, &mut names)).collect()
    }

    /// The lines, starting in `[from, to)`, of a carrier's invoices of other periods than
    /// `period` (current versions): they bill records a run of `period` reads, which are then
    /// not unbilled usage of it.
    ///
    /// # Errors
    /// A database error or a stored value that does not read back.
    pub async fn invoice_lines_of_other_periods(
        &self,
        carrier: &str,
        period: Month,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<InvoiceLine>, StoreError> {
        let select = self.dialect.sql(&format!(
            "{INVOICE_LINE_COLUMNS} {INVOICE_LINES_FROM} WHERE i.carrier = {{1}} AND i.period <> {{2}} AND {CURRENT_VERSION} \
             AND l.started_at_ns >= {{3}} AND l.started_at_ns < {{4}} ORDER BY l.invoice_id, l.line_index"
        ));
        let rows = sqlx::query(&select)
            .bind(carrier.to_owned())
            .bind(period.to_string())
            .bind(nanoseconds(from))
            .bind(nanoseconds(to))
            .fetch_all(&self.pool)
            .await?;
        let mut names: HashMap<String, Arc<str>> = HashMap::new();
        rows.iter().map(|row| invoice_line_from_row(row, &mut names)).collect()
    }

    /// The current version of each invoice of a carrier: `(invoice_id, version, content hash,
    /// period)`, by id.
    pub(crate) async fn invoice_versions(
        &self,
        carrier: &str,
    ) -> Result<Vec<(String, i64, String, Option<String>)>, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT i.invoice_id, i.version, i.content_sha256, i.period FROM invoices i WHERE i.carrier = {{1}} \
             AND {CURRENT_VERSION} ORDER BY i.invoice_id"
        ));
        Ok(sqlx::query_as(&select).bind(carrier.to_owned()).fetch_all(&self.pool).await?)
    }
}

/// The columns of a usage record, as [`usage_from_row`] reads them.
pub(crate) const USAGE_COLUMNS: &str = "record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, \
     destination, CAST(quantity AS TEXT) AS quantity, network, status";

/// The columns of an invoice line, read from [`INVOICE_LINES_FROM`].
pub(crate) const INVOICE_LINE_COLUMNS: &str =
    "SELECT l.carrier, l.invoice_id, l.line_id, l.invoice_date, l.carrier_ref, l.service, \
     l.started_at_ns, l.destination, CAST(l.quantity AS TEXT) AS quantity, CAST(l.rate AS TEXT) AS rate, \
     CAST(l.amount AS TEXT) AS amount, l.currency";

/// The invoice lines `l` joined to their versions `i`.
pub(crate) const INVOICE_LINES_FROM: &str =
    "FROM invoice_lines l JOIN invoices i ON l.carrier = i.carrier AND l.invoice_id = i.invoice_id AND l.version = i.version";

/// `invoices i` is the current (latest) version of its invoice.
pub(crate) const CURRENT_VERSION: &str =
    "i.version = (SELECT MAX(j.version) FROM invoices j WHERE j.carrier = i.carrier AND j.invoice_id = i.invoice_id)";

fn intern(names: &mut HashMap<String, Arc<str>>, name: String) -> Arc<str> {
    names.entry(name).or_insert_with_key(|name| Arc::from(name.as_str())).clone()
}

fn corrupt(column: &'static str, value: &str, reason: &str) -> StoreError {
    StoreError::Corrupt { column, value: value.to_owned(), reason: reason.to_owned() }
}

pub(crate) fn usage_from_row(
    row: &AnyRow,
    carriers: &mut HashMap<String, Arc<str>>,
) -> Result<UsageRecord, StoreError> {
    let service: String = row.try_get("service")?;
    let destination: String = row.try_get("destination")?;
    let origin: Option<String> = row.try_get("origin")?;
    Ok(UsageRecord {
        record_id: CompactString::from(row.try_get::<String, _>("record_id")?),
        service: Service::parse(&service).ok_or_else(|| corrupt("service", &service, "unknown service"))?,
        carrier: intern(carriers, row.try_get("carrier")?),
        carrier_ref: row.try_get::<Option<String>, _>("carrier_ref")?.map(CompactString::from),
        customer: row.try_get::<Option<String>, _>("customer")?.map(|customer| intern(carriers, customer)),
        started_at: instant(row, "started_at_ns")?,
        origin: origin
            .map(|origin| Destination::parse(&origin).map_err(|error| corrupt("origin", &origin, &error.to_string())))
            .transpose()?,
        destination: Destination::parse(&destination)
            .map_err(|error| corrupt("destination", &destination, &error.to_string()))?,
        quantity: decimal(row, "quantity")?,
        network: row.try_get::<Option<String>, _>("network")?.map(CompactString::from),
        status: row
            .try_get::<Option<String>, _>("status")?
            .map(|status| {
                DeliveryStatus::parse(&status).ok_or_else(|| corrupt("status", &status, "not a delivery status"))
            })
            .transpose()?,
    })
}

pub(crate) fn invoice_line_from_row(
    row: &AnyRow,
    names: &mut HashMap<String, Arc<str>>,
) -> Result<InvoiceLine, StoreError> {
    let service: String = row.try_get("service")?;
    let destination: String = row.try_get("destination")?;
    let currency: String = row.try_get("currency")?;
    let invoice_date: Option<String> = row.try_get("invoice_date")?;
    Ok(InvoiceLine {
        carrier: intern(names, row.try_get("carrier")?),
        invoice_id: intern(names, row.try_get("invoice_id")?),
        invoice_date: invoice_date
            .map(|date| {
                jiff::civil::Date::from_str(&date).map_err(|error| corrupt("invoice_date", &date, &error.to_string()))
            })
            .transpose()?,
        line_id: CompactString::from(row.try_get::<String, _>("line_id")?),
        carrier_ref: row.try_get::<Option<String>, _>("carrier_ref")?.map(CompactString::from),
        service: Service::parse(&service).ok_or_else(|| corrupt("service", &service, "unknown service"))?,
        started_at: instant(row, "started_at_ns")?,
        destination: Destination::parse(&destination)
            .map_err(|error| corrupt("destination", &destination, &error.to_string()))?,
        quantity: decimal(row, "quantity")?,
        rate: optional_decimal(row, "rate")?,
        amount: decimal(row, "amount")?,
        currency: Currency::parse(&currency).ok_or_else(|| corrupt("currency", &currency, "not a currency code"))?,
    })
}

/// The stored content hashes of some keys.
pub(crate) async fn stored_hashes<'a>(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    table: &str,
    key_column: &str,
    keys: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, String>, StoreError> {
    let keys: Vec<&str> = keys.collect();
    let mut stored = HashMap::new();
    for chunk in keys.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| dialect.param(n)).collect();
        let select = format!(
            "SELECT {key_column}, content_sha256 FROM {table} WHERE {key_column} IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query_as::<_, (String, String)>(&select);
        for key in chunk {
            query = query.bind(key.to_string());
        }
        stored.extend(query.fetch_all(&mut **transaction).await?);
    }
    Ok(stored)
}

/// Inserts one statement's worth of records, skipping ids already stored; returns the ids it
/// inserted.
pub(crate) async fn insert_usage(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    records: &[(&UsageRecord, &String)],
    batch_id: &str,
) -> Result<std::collections::HashSet<String>, StoreError> {
    const COLUMNS: usize = 13;
    assert!(records.len() <= USAGE_ROWS_PER_STATEMENT);
    if records.is_empty() {
        return Ok(std::collections::HashSet::new());
    }
    // Columns 9 (quantity) is an exact decimal.
    let values = dialect.values_rows(records.len(), COLUMNS, &[9]);
    let insert = format!(
        "INSERT INTO usage_records (record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, quantity, network, status, content_sha256, batch_id) \
         VALUES {} ON CONFLICT (record_id) DO NOTHING RETURNING record_id",
        values
    );
    let mut query = sqlx::query_scalar::<_, String>(&insert);
    for (record, hash) in records {
        query = query
            .bind(record.record_id.to_string())
            .bind(record.service.as_str())
            .bind(record.carrier.to_string())
            .bind(record.carrier_ref.as_ref().map(ToString::to_string))
            .bind(record.customer.as_ref().map(ToString::to_string))
            .bind(nanoseconds(record.started_at))
            .bind(record.origin.as_ref().map(|origin| origin.digits().to_owned()))
            .bind(record.destination.digits().to_owned())
            .bind(record.quantity.normalize().to_string())
            .bind(record.network.as_ref().map(ToString::to_string))
            .bind(record.status.map(DeliveryStatus::as_str))
            .bind((*hash).clone())
            .bind(batch_id.to_owned());
    }
    Ok(query.fetch_all(&mut **transaction).await?.into_iter().collect())
}

fn invoice_line_hash(line: &InvoiceLine) -> String {
    content_hash([
        line.line_id.as_str(),
        &line.invoice_date.map(|date| date.to_string()).unwrap_or_default(),
        line.carrier_ref.as_deref().unwrap_or(""),
        line.service.as_str(),
        &nanoseconds(line.started_at).to_string(),
        line.destination.digits(),
        &line.quantity.normalize().to_string(),
        &line.rate.map(|rate| rate.normalize().to_string()).unwrap_or_default(),
        &line.amount.normalize().to_string(),
        line.currency.as_str(),
    ])
}

async fn insert_invoice_lines(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    lines: &[&InvoiceLine],
    version: i64,
) -> Result<(), StoreError> {
    const COLUMNS: usize = 14;
    const ROWS_PER_STATEMENT: usize = 60;
    for (chunk_index, chunk) in lines.chunks(ROWS_PER_STATEMENT).enumerate() {
        // Columns 11 to 13 (quantity, rate, amount) are exact decimals.
        let values = dialect.values_rows(chunk.len(), COLUMNS, &[11, 12, 13]);
        let insert = format!(
            "INSERT INTO invoice_lines (carrier, invoice_id, version, line_index, line_id, invoice_date, carrier_ref, service, started_at_ns, destination, quantity, rate, amount, currency) VALUES {}",
            values
        );
        let mut query = sqlx::query(&insert);
        for (offset, line) in chunk.iter().enumerate() {
            query = query
                .bind(line.carrier.to_string())
                .bind(line.invoice_id.to_string())
                .bind(version)
                .bind((chunk_index * ROWS_PER_STATEMENT + offset) as i64)
                .bind(line.line_id.to_string())
                .bind(line.invoice_date.map(|date| date.to_string()))
                .bind(line.carrier_ref.as_ref().map(ToString::to_string))
                .bind(line.service.as_str())
                .bind(nanoseconds(line.started_at))
                .bind(line.destination.digits().to_owned())
                .bind(line.quantity.normalize().to_string())
                .bind(line.rate.map(|rate| rate.normalize().to_string()))
                .bind(line.amount.normalize().to_string())
                .bind(line.currency.to_string());
        }
        query.execute(&mut **transaction).await?;
    }
    Ok(())
}

/// What identifies a price point: carrier, service, prefix, conditions and start.
fn rate_row_key(row: &RateRow) -> String {
    let band = row.conditions.band.as_ref().map(ToString::to_string).unwrap_or_default();
    content_hash([
        row.carrier.as_str(),
        row.service.as_str(),
        &row.prefix,
        &band,
        row.conditions.origin_prefix.as_deref().unwrap_or(""),
        row.conditions.network.as_deref().unwrap_or(""),
        &row.effective_from.to_string(),
    ])
}

/// The stored content of records about to be superseded.
async fn superseded_usage(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    conflicts: &[(&UsageRecord, &String)],
) -> Result<Vec<UsageRecord>, StoreError> {
    let mut names = HashMap::new();
    let mut superseded = Vec::with_capacity(conflicts.len());
    for chunk in conflicts.chunks(500) {
        let placeholders: Vec<String> = (1..=chunk.len()).map(|n| dialect.param(n)).collect();
        let select =
            format!("SELECT {USAGE_COLUMNS} FROM usage_records WHERE record_id IN ({})", placeholders.join(", "));
        let mut query = sqlx::query(&select);
        for (record, _) in chunk {
            query = query.bind(record.record_id.to_string());
        }
        for row in query.fetch_all(&mut **transaction).await? {
            superseded.push(usage_from_row(&row, &mut names)?);
        }
    }
    Ok(superseded)
}

/// A stored usage record as selected for the audit log: its columns, the quantity as text.
pub(crate) type StoredUsage = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<String>,
    String,
    String,
    Option<String>,
    Option<String>,
);

/// A stored usage record as a `usage.csv` row under its header, for the audit log.
async fn stored_usage_csv(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    record_id: &str,
) -> Result<String, StoreError> {
    let select = dialect.sql(
        "SELECT record_id, service, carrier, carrier_ref, customer, started_at_ns, origin, destination, \
         CAST(quantity AS TEXT) AS quantity, network, status FROM usage_records WHERE record_id = {1}",
    );
    let row: StoredUsage = sqlx::query_as(&select).bind(record_id.to_owned()).fetch_one(&mut **transaction).await?;
    stored_usage_text(row)
}

/// A stored usage record as a `usage.csv` row under its header.
pub(crate) fn stored_usage_text(row: StoredUsage) -> Result<String, StoreError> {
    let (
        record_id,
        service,
        carrier,
        carrier_ref,
        customer,
        started_at_ns,
        origin,
        destination,
        quantity,
        network,
        status,
    ) = row;
    let started_at = Timestamp::from_nanosecond(i128::from(started_at_ns))
        .map_err(|error| corrupt("started_at_ns", &started_at_ns.to_string(), &error.to_string()))?;
    let quantity = reckon_core::Decimal::from_str(&quantity)
        .map_err(|error| corrupt("quantity", &quantity, &error.to_string()))?
        .normalize();
    let values = [
        record_id,
        service,
        carrier,
        carrier_ref.unwrap_or_default(),
        customer.unwrap_or_default(),
        started_at.to_string(),
        origin.unwrap_or_default(),
        destination,
        quantity.to_string(),
        network.unwrap_or_default(),
        status.unwrap_or_default(),
    ];
    let quoted: Vec<String> = values
        .iter()
        .map(|value| {
            if value.contains([',', '"', '\n', '\r']) {
                format!("\"{}\"", value.replace('"', "\"\""))
            } else {
                value.clone()
            }
        })
        .collect();
    Ok(format!("{}\n{}", reckon_import::usage::USAGE_COLUMN_NAMES.join(","), quoted.join(",")))
}

/// An entry of the audit log: at, actor, action, subject, detail.
pub(crate) const AUDIT_INSERT: &str =
    "INSERT INTO audit_log (at_ns, actor, action, subject, detail) VALUES ({1}, {2}, {3}, {4}, {5})";

/// An import batch, once: id, kind, source, rows, at.
pub(crate) const BATCH_INSERT: &str = "INSERT INTO import_batches (batch_id, kind, source, rows_count, imported_at_ns) VALUES ({1}, {2}, {3}, {4}, {5}) ON CONFLICT (batch_id) DO NOTHING";

pub(crate) async fn audit(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    now: Timestamp,
    actor: &str,
    action: &str,
    subject: &str,
    detail: &str,
) -> Result<(), StoreError> {
    let insert = dialect.sql(AUDIT_INSERT);
    sqlx::query(&insert)
        .bind(nanoseconds(now))
        .bind(actor.to_owned())
        .bind(action.to_owned())
        .bind(subject.to_owned())
        .bind(detail.to_owned())
        .execute(&mut **transaction)
        .await?;
    Ok(())
}

pub(crate) async fn record_batch(
    transaction: &mut Transaction<'static, Any>,
    dialect: Dialect,
    batch_id: &str,
    kind: &str,
    source: &str,
    rows: usize,
    now: Timestamp,
) -> Result<(), StoreError> {
    let insert = dialect.sql(BATCH_INSERT);
    sqlx::query(&insert)
        .bind(batch_id.to_owned())
        .bind(kind.to_owned())
        .bind(source.to_owned())
        .bind(rows as i64)
        .bind(nanoseconds(now))
        .execute(&mut **transaction)
        .await?;
    Ok(())
}
