//! Reconciliation runs over the ledger: the inputs of a carrier's period read back, reconciled
//! by `reckon-core`, and the run and its discrepancies recorded once.
//!
//! A run's id is a hash of everything that decides its result (usage, deck, invoice versions and
//! periods, settings), so running it again with nothing changed finds the same run and stores
//! nothing.

use crate::dialect::{decimal, instant, nanoseconds, optional_decimal};
use crate::{content_hash, Ledger, StoreError};
use reckon_core::network::NetworkMap;
use reckon_core::period::{usage_window, Month};
use reckon_core::rating::{rate_all, Party};
use reckon_core::reconcile::Reconciler;
use reckon_core::spelling::near_match;
use reckon_core::time_band::HolidayCalendar;
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
    /// Holiday calendars per carrier (`holidays.csv`): the carrier's own rates its holidays.
    pub holidays: &'a HashMap<String, HolidayCalendar>,
}

/// A recorded run.
#[derive(Clone, Debug)]
pub struct StoredRun {
    pub run_id: String,
    /// Whether this call recorded it (false: the same run was recorded before).
    pub created: bool,
    pub discrepancies: Vec<Discrepancy>,
    pub summary: Option<reckon_core::summary::Summary>,
    /// What the run read from the ledger.
    pub read: RunReads,
}

/// How much a run read: the counts its summary shows.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RunReads {
    /// Usage records of the period's window.
    pub usage_records: u64,
    /// Rows of the carrier's rate deck.
    pub rate_rows: u64,
    /// Lines of the period's invoices (those reconciled).
    pub invoice_lines: u64,
}

/// Every setting and reference table that decides a run's result, as text for its id:
/// tolerances, period, contract terms (sorted by carrier), report currency, the FX table, the
/// network map and the carrier's holidays (written only when it has some, so that a run without
/// any keeps the id it had before holidays were read).
fn run_settings_text(config: &ReconcileConfig, inputs: &RunInputs<'_>) -> String {
    let mut contracts: Vec<(&String, &reckon_core::contract::ContractTerms)> = config.contracts.iter().collect();
    contracts.sort_by(|a, b| a.0.cmp(b.0));
    let holidays = match inputs.holidays.get(inputs.carrier).filter(|calendar| !calendar.is_empty()) {
        Some(calendar) => format!("|holidays:{}", calendar.canonical_text()),
        None => String::new(),
    };
    format!(
        "{:?}|{}|{}|{}|{:?}|{:?}|fx:{}|networks:{}{holidays}",
        config.time_tolerance,
        config.quantity_tolerance,
        config.amount_tolerance,
        inputs.period,
        contracts,
        config.report_currency,
        inputs.fx.canonical_text(),
        inputs.networks.canonical_text()
    )
}

impl Ledger {
    /// Every carrier the ledger has usage, invoices or rates of, sorted.
    async fn known_carriers(&self) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT carrier FROM usage_records UNION SELECT carrier FROM invoices UNION SELECT carrier FROM rate_rows ORDER BY carrier",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// Reconciles a carrier's period from the ledger and records the run (once).
    ///
    /// The run reconciles exactly the invoices of the period (see
    /// [`Ledger::import_invoices_in`]) against the usage of the month, stretched to the lines
    /// of those invoices and widened by the time tolerance ([`reckon_core::period::usage_window`]).
    /// Lines of other periods' invoices in that window only take the records they bill, so
    /// those are not reported as unbilled here.
    ///
    /// # Errors
    /// A period with neither usage nor invoices of the carrier (naming a near match of the
    /// carrier when there is one), a stored deck that does not read back, or a database error.
    pub async fn reconcile_period(&self, inputs: &RunInputs<'_>, now: Timestamp) -> Result<StoredRun, StoreError> {
        let config = ReconcileConfig { period: Some(inputs.period), ..inputs.config.clone() };
        let lines = self.invoice_lines_of_period(inputs.carrier, inputs.period).await?;
        let (from, to) = usage_window(inputs.period, lines.iter().map(|line| line.started_at), config.time_tolerance)
            .ok_or_else(|| StoreError::Invalid(format!("{}: past the last month", inputs.period)))?;
        let usage = self.usage_between(inputs.carrier, from, to).await?;
        if usage.is_empty() && lines.is_empty() {
            // Nothing to reconcile is not an all-clear: most often the carrier or the month is
            // mistyped.
            let known = self.known_carriers().await?;
            let hint = match near_match(inputs.carrier, known.iter().map(String::as_str)) {
                Some(carrier) => format!(" (did you mean {carrier}?)"),
                None => String::new(),
            };
            return Err(StoreError::Invalid(format!(
                "no usage and no invoices of carrier {} in {}{hint}",
                inputs.carrier, inputs.period
            )));
        }
        let other_lines = self.invoice_lines_of_other_periods(inputs.carrier, inputs.period, from, to).await?;
        let deck_text = self.rates_csv(inputs.carrier).await?;
        let mut deck = crate::service::deck_of(
            deck_text.clone(),
            reckon_import::rates::DeckKind::CarrierRates,
            &format!("stored rates of {}", inputs.carrier),
        )?;
        // The contract's rounding and the holidays, as every command builds a deck.
        deck.apply_reference(Party::Carrier, &config.contracts, inputs.holidays);
        // The versions of the invoices read, each with its period: what the run reconciled and
        // what it only took records away for.
        let read: std::collections::HashSet<&str> =
            lines.iter().chain(&other_lines).map(|line| &*line.invoice_id).collect();
        let versions: Vec<(String, i64, String, Option<String>)> = self
            .invoice_versions(inputs.carrier)
            .await?
            .into_iter()
            .filter(|(invoice_id, ..)| read.contains(invoice_id.as_str()))
            .collect();
        let fingerprint = run_settings_text(&config, inputs);
        let usage_ids: Vec<String> = usage.iter().map(crate::imports::usage_hash).collect();
        let version_parts: Vec<String> = versions
            .iter()
            .map(|(invoice_id, version, hash, period)| {
                format!("{invoice_id}|{version}|{hash}|{}", period.as_deref().unwrap_or(""))
            })
            .collect();
        let run_id = content_hash(
            [inputs.carrier, fingerprint.as_str(), deck_text.as_str()]
                .into_iter()
                .chain(version_parts.iter().map(String::as_str))
                .chain(usage_ids.iter().map(String::as_str)),
        );
        let read = RunReads {
            usage_records: usage.len() as u64,
            rate_rows: deck.rows().len() as u64,
            invoice_lines: lines.len() as u64,
        };
        if let Some(stored) = self.run_discrepancies(&run_id).await? {
            return Ok(StoredRun { run_id, created: false, discrepancies: stored, summary: None, read });
        }
        let ratings = rate_all(&deck, &usage, Party::Carrier, inputs.networks);
        let mut reconciler = Reconciler::new(&usage, &ratings, inputs.fx, &config);
        for line in &lines {
            reconciler.add_line(line);
        }
        for line in &other_lines {
            reconciler.add_line_of_other_period(line);
        }
        // A total past Decimal's range (inputs beyond the documented bounds) fails the run before
        // anything is recorded, never an incomplete summary.
        let reconciliation = reconciler.finish().checked().map_err(|error| {
            StoreError::Invalid(format!("reconciling {} {}: {error}", inputs.carrier, inputs.period))
        })?;
        let period_text = inputs.period.to_string();
        let reconciled: Vec<(&str, i64)> = versions
            .iter()
            .filter(|(.., period)| period.as_deref() == Some(period_text.as_str()))
            .map(|(invoice_id, version, ..)| (invoice_id.as_str(), *version))
            .collect();
        self.record_run(&run_id, inputs.carrier, inputs.period, &reconciled, &reconciliation.discrepancies, now)
            .await?;
        Ok(StoredRun {
            run_id,
            created: true,
            discrepancies: reconciliation.discrepancies,
            summary: Some(reconciliation.summary),
            read,
        })
    }

    async fn record_run(
        &self,
        run_id: &str,
        carrier: &str,
        period: Month,
        invoice_versions: &[(&str, i64)],
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
        let insert = self
            .dialect
            .sql("INSERT INTO run_invoices (run_id, carrier, invoice_id, version) VALUES ({1}, {2}, {3}, {4})");
        for (invoice_id, version) in invoice_versions {
            sqlx::query(&insert)
                .bind(run_id.to_owned())
                .bind(carrier.to_owned())
                .bind((*invoice_id).to_owned())
                .bind(*version)
                .execute(&mut *transaction)
                .await?;
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
