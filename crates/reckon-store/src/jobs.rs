//! Reconciliation runs as jobs across replicas (issue 15): one job per carrier and period in
//! the `run_jobs` table, taken by any worker with `FOR UPDATE SKIP LOCKED` (PostgreSQL; an
//! SQLite ledger has one process) under a lease, as the `leases` of the alert checks: renewed by
//! its worker while it runs, and taken again by another once it lapses, so a killed replica's
//! job is done anyway. A job does [`Ledger::reconcile_period`], whose run is keyed by its
//! content: a job done twice (its first worker died after recording) records its run once.

use crate::dialect::nanoseconds;
use crate::runs::RunInputs;
use crate::{content_hash, Dialect, ExplainSettings, Ledger, StoreError, StoredRun};
use reckon_core::period::Month;
use reckon_core::Timestamp;
use std::time::Duration;

/// A job taken by a worker.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunJob {
    pub job_id: String,
    pub batch_id: String,
    pub carrier: String,
    pub period: Month,
}

/// Where a job stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunJobState {
    pub job_id: String,
    pub carrier: String,
    pub period: Month,
    /// `queued`, `running`, `done` or `failed`.
    pub state: String,
    /// How many times a worker took it (more than 1: a worker died or gave it back).
    pub attempts: i64,
    pub run_id: Option<String>,
    pub error: Option<String>,
}

impl RunJobState {
    /// Whether no worker will take it again.
    pub fn is_finished(&self) -> bool {
        self.state == "done" || self.state == "failed"
    }
}

/// The settings every run is reconciled with (the service's, or the command's flags).
pub type RunSettings<'a> = ExplainSettings<'a>;

impl Ledger {
    /// Queues one job per carrier and period as batch `batch_id` (again: nothing new), and
    /// returns their ids in the order given.
    ///
    /// # Errors
    /// A database error.
    pub async fn queue_run_jobs(
        &self,
        batch_id: &str,
        scopes: &[(String, Month)],
        now: Timestamp,
    ) -> Result<Vec<String>, StoreError> {
        let mut transaction = self.begin_write().await?;
        let insert = self.dialect.sql(
            "INSERT INTO run_jobs (job_id, batch_id, carrier, period, state, attempts, queued_at_ns) \
             VALUES ({1}, {2}, {3}, {4}, 'queued', 0, {5}) ON CONFLICT (job_id) DO NOTHING",
        );
        let mut job_ids = Vec::with_capacity(scopes.len());
        for (index, (carrier, period)) in scopes.iter().enumerate() {
            let period = period.to_string();
            let job_id = content_hash([batch_id, carrier.as_str(), period.as_str()]);
            sqlx::query(&insert)
                .bind(job_id.clone())
                .bind(batch_id.to_owned())
                .bind(carrier.clone())
                .bind(period)
                // Jobs are taken in queue order: the batch's order within one instant.
                .bind(nanoseconds(now).saturating_add(index as i64))
                .execute(&mut *transaction)
                .await?;
            job_ids.push(job_id);
        }
        transaction.commit().await?;
        Ok(job_ids)
    }

    /// Takes the oldest job that is queued or whose worker's lease lapsed, for `holder` until
    /// `now + ttl`; `None` when there is none. Workers asking at once take different jobs.
    ///
    /// # Errors
    /// A database error, or a stored period that does not read back.
    pub async fn take_run_job(
        &self,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<Option<RunJob>, StoreError> {
        // Idle workers ask often: a read first, so that asking takes no write lock (SQLite's
        // writers queue behind each other).
        let waiting = self.dialect.sql(
            "SELECT COUNT(*) FROM run_jobs WHERE state = 'queued' OR (state = 'running' AND expires_at_ns <= {1})",
        );
        let waiting: i64 = sqlx::query_scalar(&waiting).bind(nanoseconds(now)).fetch_one(&self.pool).await?;
        if waiting == 0 {
            return Ok(None);
        }
        // A job another worker is taking is skipped, not waited for.
        let lock = if self.dialect == Dialect::Postgres { "FOR UPDATE SKIP LOCKED" } else { "" };
        let update = self.dialect.sql(&format!(
            "UPDATE run_jobs SET state = 'running', holder = {{1}}, expires_at_ns = {{2}}, attempts = attempts + 1 \
             WHERE job_id = (SELECT job_id FROM run_jobs \
                 WHERE state = 'queued' OR (state = 'running' AND expires_at_ns <= {{3}}) \
                 ORDER BY queued_at_ns, job_id LIMIT 1 {lock}) \
             RETURNING job_id, batch_id, carrier, period"
        ));
        let now_ns = nanoseconds(now);
        let taken: Option<(String, String, String, String)> = sqlx::query_as(&update)
            .bind(holder.to_owned())
            .bind(now_ns.saturating_add(ttl_nanoseconds(ttl)))
            .bind(now_ns)
            .fetch_optional(&self.pool)
            .await?;
        taken
            .map(|(job_id, batch_id, carrier, period)| {
                Ok(RunJob { job_id, batch_id, carrier, period: stored_period(&period)? })
            })
            .transpose()
    }

    /// Renews `holder`'s lease on a job it runs; false when it lost it (another took it after
    /// it lapsed).
    ///
    /// # Errors
    /// A database error.
    pub async fn renew_run_job(
        &self,
        job_id: &str,
        holder: &str,
        ttl: Duration,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let update = self
            .dialect
            .sql("UPDATE run_jobs SET expires_at_ns = {1} WHERE job_id = {2} AND holder = {3} AND state = 'running'");
        let renewed = sqlx::query(&update)
            .bind(nanoseconds(now).saturating_add(ttl_nanoseconds(ttl)))
            .bind(job_id.to_owned())
            .bind(holder.to_owned())
            .execute(&self.pool)
            .await?
            .rows_affected();
        Ok(renewed == 1)
    }

    /// Marks a job `holder` runs done with its run, or failed with the error's message.
    ///
    /// # Errors
    /// A database error.
    pub async fn finish_run_job(
        &self,
        job_id: &str,
        holder: &str,
        outcome: Result<&str, &str>,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        let update = self.dialect.sql(
            "UPDATE run_jobs SET state = {1}, run_id = {2}, error = {3}, finished_at_ns = {4}, expires_at_ns = NULL \
             WHERE job_id = {5} AND holder = {6} AND state = 'running'",
        );
        let (state, run_id, error) = match outcome {
            Ok(run_id) => ("done", Some(run_id.to_owned()), None),
            Err(error) => ("failed", None, Some(error.to_owned())),
        };
        sqlx::query(&update)
            .bind(state)
            .bind(run_id)
            .bind(error)
            .bind(nanoseconds(now))
            .bind(job_id.to_owned())
            .bind(holder.to_owned())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The jobs of a batch, in queue order.
    ///
    /// # Errors
    /// A database error, or a stored period that does not read back.
    pub async fn run_jobs_of(&self, batch_id: &str) -> Result<Vec<RunJobState>, StoreError> {
        let select = self.dialect.sql(
            "SELECT job_id, carrier, period, state, attempts, run_id, error FROM run_jobs \
             WHERE batch_id = {1} ORDER BY queued_at_ns, job_id",
        );
        type Row = (String, String, String, String, i64, Option<String>, Option<String>);
        let rows: Vec<Row> = sqlx::query_as(&select).bind(batch_id.to_owned()).fetch_all(&self.pool).await?;
        rows.into_iter()
            .map(|(job_id, carrier, period, state, attempts, run_id, error)| {
                Ok(RunJobState { job_id, carrier, period: stored_period(&period)?, state, attempts, run_id, error })
            })
            .collect()
    }

    /// The carriers with usage or an invoice in a period, sorted: those `--all-carriers` runs.
    ///
    /// # Errors
    /// A database error.
    pub async fn carriers_of_period(&self, period: Month) -> Result<Vec<String>, StoreError> {
        let (from, to) =
            period.bounds().ok_or_else(|| StoreError::Invalid(format!("{period}: past the last month")))?;
        let select = self.dialect.sql(
            "SELECT carrier FROM usage_records WHERE started_at_ns >= {1} AND started_at_ns < {2} \
             UNION SELECT carrier FROM invoices WHERE period = {3} ORDER BY carrier",
        );
        Ok(sqlx::query_scalar(&select)
            .bind(nanoseconds(from))
            .bind(nanoseconds(to))
            .bind(period.to_string())
            .fetch_all(&self.pool)
            .await?)
    }

    /// Takes the next job (see [`Ledger::take_run_job`]) and does it: reconciles its carrier's
    /// period with `settings`, renewing the lease while it runs, and marks it done or failed.
    /// `None` when no job waits.
    ///
    /// # Errors
    /// A database error taking or finishing the job (the run's own error fails the job).
    pub async fn work_next_run_job(
        &self,
        holder: &str,
        ttl: Duration,
        settings: RunSettings<'_>,
    ) -> Result<Option<(RunJob, Result<StoredRun, StoreError>)>, StoreError> {
        let Some(job) = self.take_run_job(holder, ttl, Timestamp::now()).await? else {
            return Ok(None);
        };
        let outcome = self.run_job(&job, holder, ttl, settings).await;
        let error = outcome.as_ref().err().map(ToString::to_string);
        let finished = match (&outcome, &error) {
            (Ok(run), _) => Ok(run.run_id.as_str()),
            (Err(_), error) => Err(error.as_deref().unwrap_or_default()),
        };
        self.finish_run_job(&job.job_id, holder, finished, Timestamp::now()).await?;
        Ok(Some((job, outcome)))
    }

    /// Reconciles a job's carrier-period, renewing its lease every third of `ttl` meanwhile.
    async fn run_job(
        &self,
        job: &RunJob,
        holder: &str,
        ttl: Duration,
        settings: RunSettings<'_>,
    ) -> Result<StoredRun, StoreError> {
        let inputs = RunInputs {
            carrier: &job.carrier,
            period: job.period,
            config: settings.config,
            fx: settings.fx,
            networks: settings.networks,
            holidays: settings.holidays,
        };
        let run = self.reconcile_period(&inputs, Timestamp::now());
        tokio::pin!(run);
        loop {
            tokio::select! {
                outcome = &mut run => return outcome,
                () = tokio::time::sleep(ttl / 3) => {
                    // A lost lease (this worker stalled past it): another worker records the same
                    // run, keyed by its content, and this one's finish changes nothing.
                    let _ = self.renew_run_job(&job.job_id, holder, ttl, Timestamp::now()).await;
                }
            }
        }
    }
}

fn ttl_nanoseconds(ttl: Duration) -> i64 {
    i64::try_from(ttl.as_nanos()).unwrap_or(i64::MAX)
}

fn stored_period(text: &str) -> Result<Month, StoreError> {
    Month::parse(text).map_err(|error| StoreError::Corrupt {
        column: "run_jobs.period",
        value: text.to_owned(),
        reason: error.to_string(),
    })
}
