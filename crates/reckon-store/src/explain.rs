//! Explanations over the ledger (`reckon explain --database`, the console's line page): the
//! run of the period that reconciles a record or a line is read as the run reads it
//! ([`Ledger::period_inputs`]) and explained by `reckon_core::explain`.

use crate::imports::CURRENT_VERSION;
use crate::runs::{PeriodInputs, RunInputs};
use crate::{Ledger, StoreError};
use reckon_core::explain::{self, ExplainInputs, Explanation};
use reckon_core::network::NetworkMap;
use reckon_core::period::Month;
use reckon_core::time_band::HolidayCalendar;
use reckon_core::{FxTable, ReconcileConfig, Timestamp};
use std::collections::HashMap;

/// The reference data and settings a run of the explained period is reconciled with: the
/// service's settings, or a command's flags.
#[derive(Clone, Copy, Debug)]
pub struct ExplainSettings<'a> {
    pub config: &'a ReconcileConfig,
    pub fx: &'a FxTable,
    pub networks: &'a NetworkMap,
    pub holidays: &'a HashMap<String, HolidayCalendar>,
}

/// No FX rates, networks, contracts or holidays, and the default tolerances.
#[derive(Default)]
struct DefaultSettings {
    config: ReconcileConfig,
    fx: FxTable,
    networks: NetworkMap,
    holidays: HashMap<String, HolidayCalendar>,
}

impl DefaultSettings {
    fn settings(&self) -> ExplainSettings<'_> {
        ExplainSettings { config: &self.config, fx: &self.fx, networks: &self.networks, holidays: &self.holidays }
    }
}

impl Ledger {
    /// Explains a stored record's expected cost under the default settings (see
    /// [`Ledger::explain_record_with`]).
    ///
    /// # Errors
    /// As [`Ledger::explain_record_with`].
    pub async fn explain_record(&self, record_id: &str) -> Result<Explanation, StoreError> {
        let defaults = DefaultSettings::default();
        self.explain_record_with(record_id, defaults.settings()).await
    }

    /// Explains a stored record as the run of its month (UTC) rates and matches it.
    ///
    /// # Errors
    /// No such record, a stored deck that does not read back, or a database error.
    pub async fn explain_record_with(
        &self,
        record_id: &str,
        settings: ExplainSettings<'_>,
    ) -> Result<Explanation, StoreError> {
        let select = self.dialect.sql("SELECT carrier, started_at_ns FROM usage_records WHERE record_id = {1}");
        let found: Option<(String, i64)> =
            sqlx::query_as(&select).bind(record_id.to_owned()).fetch_optional(&self.pool).await?;
        let (carrier, started_at_ns) =
            found.ok_or_else(|| StoreError::NotFound(format!("usage record {record_id}")))?;
        let started_at = Timestamp::from_nanosecond(i128::from(started_at_ns)).map_err(|error| {
            StoreError::Corrupt { column: "started_at_ns", value: started_at_ns.to_string(), reason: error.to_string() }
        })?;
        let period = Month::of(started_at);
        let read = self.period_inputs(&run_inputs(&carrier, period, settings)).await?;
        let index = explain::find_record(&read.usage, record_id).ok_or_else(|| {
            StoreError::NotFound(format!("usage record {record_id} in the run of {carrier} {period}"))
        })?;
        Ok(explain::explain_record(&explain_inputs(&read, settings), index))
    }

    /// Explains a stored invoice line's expected amount under the default settings (see
    /// [`Ledger::explain_line_with`]).
    ///
    /// # Errors
    /// As [`Ledger::explain_line_with`].
    pub async fn explain_line(
        &self,
        carrier: &str,
        invoice_id: &str,
        line_id: &str,
    ) -> Result<Explanation, StoreError> {
        let defaults = DefaultSettings::default();
        self.explain_line_with(carrier, invoice_id, line_id, defaults.settings()).await
    }

    /// Explains a line of an invoice's current version as the run of the invoice's period
    /// matches and checks it.
    ///
    /// # Errors
    /// No such invoice or line, a stored deck that does not read back, or a database error.
    pub async fn explain_line_with(
        &self,
        carrier: &str,
        invoice_id: &str,
        line_id: &str,
        settings: ExplainSettings<'_>,
    ) -> Result<Explanation, StoreError> {
        let select = self.dialect.sql(&format!(
            "SELECT i.period FROM invoices i WHERE i.carrier = {{1}} AND i.invoice_id = {{2}} AND {CURRENT_VERSION}"
        ));
        let found: Option<(Option<String>,)> = sqlx::query_as(&select)
            .bind(carrier.to_owned())
            .bind(invoice_id.to_owned())
            .fetch_optional(&self.pool)
            .await?;
        let (period_text,) = found.ok_or_else(|| StoreError::NotFound(format!("invoice {invoice_id} of {carrier}")))?;
        let period_text = period_text.unwrap_or_default();
        let period = Month::parse(&period_text).map_err(|error| StoreError::Corrupt {
            column: "invoices.period",
            value: period_text.clone(),
            reason: error.to_string(),
        })?;
        let read = self.period_inputs(&run_inputs(carrier, period, settings)).await?;
        let index = explain::find_line(&read.lines, carrier, invoice_id, line_id)
            .ok_or_else(|| StoreError::NotFound(format!("line {line_id} of invoice {invoice_id} of {carrier}")))?;
        Ok(explain::explain_line(&explain_inputs(&read, settings), index))
    }
}

fn run_inputs<'a>(carrier: &'a str, period: Month, settings: ExplainSettings<'a>) -> RunInputs<'a> {
    RunInputs {
        carrier,
        period,
        config: settings.config,
        fx: settings.fx,
        networks: settings.networks,
        holidays: settings.holidays,
    }
}

fn explain_inputs<'a>(read: &'a PeriodInputs, settings: ExplainSettings<'a>) -> ExplainInputs<'a> {
    ExplainInputs {
        usage: &read.usage,
        deck: &read.deck,
        networks: settings.networks,
        lines: &read.lines,
        other_period_lines: &read.other_lines,
        fx: settings.fx,
        config: &read.config,
    }
}
