//! Reconciliation runs as jobs across replicas (issue 15): `POST /v1/jobs` queues one job per
//! carrier and period in the ledger, `GET /v1/jobs/{batch_id}` tells where they stand, and every
//! replica runs [`work_jobs`], taking the next job (`Ledger::work_next_run_job`: `SKIP LOCKED`,
//! a lease that lapses when the replica dies) and reconciling it with the service's settings.

use crate::auth;
use crate::{ApiError, AppState};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use reckon_core::period::Month;
use reckon_core::Timestamp;
use reckon_store::{RunJobState, RunSettings};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use utoipa::ToSchema;

type Error = crate::error::ErrorBody;

/// How long an idle worker waits before it looks for a job again.
const JOB_POLL: Duration = Duration::from_millis(500);
/// Most carrier-periods queued by one request.
pub const JOBS_PER_BATCH_MAX: usize = 10_000;

/// Takes and does jobs until the process ends: at once while jobs wait, else every [`JOB_POLL`].
pub async fn work_jobs(state: AppState) {
    let replica = &state.settings.replica;
    loop {
        let settings = run_settings(&state);
        match state.ledger.work_next_run_job(&replica.holder, replica.lease_ttl, settings).await {
            Ok(Some((job, Ok(run)))) => {
                tracing::info!("job {}: run {} of {} {}", job.job_id, run.run_id, job.carrier, job.period);
            }
            Ok(Some((job, Err(error)))) => {
                tracing::warn!("job {}: {} {} failed: {error}", job.job_id, job.carrier, job.period);
            }
            Ok(None) => tokio::time::sleep(JOB_POLL).await,
            Err(error) => {
                tracing::warn!("taking a job: {error}");
                tokio::time::sleep(JOB_POLL).await;
            }
        }
    }
}

fn run_settings(state: &AppState) -> RunSettings<'_> {
    let settings = &state.settings;
    RunSettings {
        config: &settings.reconcile,
        fx: &settings.fx,
        networks: &settings.networks,
        holidays: &settings.holidays,
    }
}

/// One carrier's period to reconcile.
#[derive(Deserialize, ToSchema)]
pub struct JobScope {
    #[schema(example = "borealis")]
    pub carrier: String,
    /// YYYY-MM, 1970-01 to 2199-12.
    #[schema(pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03")]
    pub period: String,
}

/// Carrier-periods to reconcile as jobs.
#[derive(Deserialize, ToSchema)]
pub struct JobsRequest {
    pub runs: Vec<JobScope>,
}

/// A job and where it stands.
#[derive(Serialize, ToSchema)]
pub struct JobView {
    pub job_id: String,
    pub carrier: String,
    pub period: String,
    /// queued, running, done or failed.
    pub state: String,
    pub attempts: i64,
    pub run_id: Option<String>,
    pub error: Option<String>,
}

/// A batch of jobs.
#[derive(Serialize, ToSchema)]
pub struct JobsView {
    pub batch_id: String,
    pub jobs: Vec<JobView>,
}

fn job_view(job: RunJobState) -> JobView {
    JobView {
        job_id: job.job_id,
        carrier: job.carrier,
        period: job.period.to_string(),
        state: job.state,
        attempts: job.attempts,
        run_id: job.run_id,
        error: job.error,
    }
}

/// Queues one reconciliation job per carrier-period; the replicas do them.
#[utoipa::path(
    post,
    path = "/v1/jobs",
    tag = "runs",
    request_body = JobsRequest,
    responses(
        (status = 202, description = "Queued", body = JobsView),
        (status = 400, description = "A bad field", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the admin scope", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_jobs(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Admin>,
    body: Result<Json<JobsRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<JobsView>), ApiError> {
    let Json(body) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    if body.runs.is_empty() || body.runs.len() > JOBS_PER_BATCH_MAX {
        return Err(ApiError::BadRequest(format!("runs: give 1 to {JOBS_PER_BATCH_MAX} carrier-periods")));
    }
    let scopes = body
        .runs
        .into_iter()
        .map(|scope| {
            let period = Month::parse(&scope.period)
                .map_err(|error| ApiError::BadRequest(format!("period: {:?}: {error}", scope.period)))?;
            Ok((scope.carrier, period))
        })
        .collect::<Result<Vec<(String, Month)>, ApiError>>()?;
    let now = Timestamp::now();
    let batch_id = format!("{}-{}", state.settings.replica.holder, now.as_nanosecond()).replace('/', "-");
    state.ledger.queue_run_jobs(&batch_id, &scopes, now).await?;
    let jobs = state.ledger.run_jobs_of(&batch_id).await?;
    Ok((StatusCode::ACCEPTED, Json(JobsView { batch_id, jobs: jobs.into_iter().map(job_view).collect() })))
}

/// The jobs of a batch and where they stand.
#[utoipa::path(
    get,
    path = "/v1/jobs/{batch_id}",
    tag = "runs",
    params(("batch_id" = String, Path, description = "A batch id, as POST /v1/jobs answered")),
    responses(
        (status = 200, description = "The jobs", body = JobsView),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "No such batch", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_jobs(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path(batch_id): Path<String>,
) -> Result<Json<JobsView>, ApiError> {
    let jobs = state.ledger.run_jobs_of(&batch_id).await?;
    if jobs.is_empty() {
        return Err(ApiError::NotFound(format!("batch {batch_id} not found")));
    }
    Ok(Json(JobsView { batch_id, jobs: jobs.into_iter().map(job_view).collect() }))
}
