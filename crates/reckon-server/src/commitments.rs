//! `GET /v1/commitments?carrier=C[&period=YYYY-MM]`: a carrier's commitments during their
//! period, from the real-time accruals, as `reckon commitments` (issue 17):
//! `Ledger::commitment_forecasts`.

use crate::auth;
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use reckon_core::period::Month;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type Error = crate::error::ErrorBody;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommitmentsQuery {
    /// The carrier.
    carrier: String,
    /// The month (YYYY-MM) to forecast, as of today (its last day once it is over); default:
    /// today's.
    period: Option<String>,
}

/// One commitment and its forecast (amounts as exact decimals).
#[derive(Serialize, ToSchema)]
pub struct CommitmentView {
    /// The term's code (contract_terms.csv).
    pub code: String,
    pub currency: String,
    /// The period's first and last day (YYYY-MM-DD).
    pub first_day: Option<String>,
    pub last_day: Option<String>,
    pub days_elapsed: Option<i32>,
    pub days_in_period: Option<i32>,
    /// Spend so far in the commitment's scope.
    pub so_far: Option<String>,
    pub minimum: Option<String>,
    /// so far / days elapsed × days in the period.
    pub projected: Option<String>,
    /// The shortfall due on the projection (0 when it meets the minimum).
    pub projected_shortfall: Option<String>,
    /// Whether the projection falls short of the minimum.
    pub at_risk: bool,
    /// Why the accruals cannot forecast it (a volume commitment, one scoped by prefixes).
    pub not_forecast: Option<String>,
}

/// The forecasts of a carrier's commitments on a day.
#[derive(Serialize, ToSchema)]
pub struct CommitmentsView {
    pub carrier: String,
    /// The day of the forecast (YYYY-MM-DD).
    pub as_of: String,
    pub commitments: Vec<CommitmentView>,
}

/// The forecasts of a carrier's commitments on `day`, the accruals of the months a commitment
/// may span (its quarter) made fresh first, as `GET /v1/accruals` makes them (a month never
/// queried, or rated before the last deck import, would read as not made).
///
/// # Errors
/// A database error, or a month that cannot be rated.
pub(crate) async fn forecasts_made_fresh(
    state: &AppState,
    carrier: &str,
    day: jiff::civil::Date,
) -> Result<Vec<reckon_store::CommitmentStatus>, ApiError> {
    let decks = state.decks.get(&state.ledger, &state.settings).await?;
    let rated_with = state.decks.rated_with(&decks, &state.settings);
    let (first, last) = reckon_core::contract_terms::forecast_months(day);
    for (month, stored) in state.ledger.accrual_months(first, last).await? {
        if !reckon_core::accrual::month_is_fresh(stored.as_deref(), &rated_with) {
            crate::accruals::rebuild_month(state, &decks, month, &rated_with).await?;
        }
    }
    Ok(state.ledger.commitment_forecasts(carrier, day).await?)
}

/// A carrier's commitments: spend so far, minimum, projected shortfall.
#[utoipa::path(
    get,
    path = "/v1/commitments",
    tag = "runs",
    params(CommitmentsQuery),
    responses(
        (status = 200, description = "The carrier's commitments in force and their forecasts", body = CommitmentsView),
        (status = 400, description = "No carrier, or a period that is not YYYY-MM", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_commitments(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    parameters: Result<Query<CommitmentsQuery>, QueryRejection>,
) -> Result<Json<CommitmentsView>, ApiError> {
    let Query(parameters) = parameters.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let period = parameters
        .period
        .as_deref()
        .map(|text| Month::parse(text).map_err(|error| ApiError::BadRequest(format!("period {text:?}: {error}"))))
        .transpose()?;
    let today = jiff::Timestamp::now().to_zoned(jiff::tz::TimeZone::UTC).date();
    let day = reckon_core::contract_terms::forecast_day(period, today)
        .ok_or_else(|| ApiError::BadRequest("period: past the last month".to_owned()))?;
    let statuses = forecasts_made_fresh(&state, &parameters.carrier, day).await?;
    let text = |amount: reckon_core::Decimal| amount.normalize().to_string();
    let commitments = statuses
        .into_iter()
        .map(|status| {
            let (code, currency) = (status.term.code.to_string(), status.term.currency.to_string());
            match status.forecast {
                Ok(forecast) => CommitmentView {
                    code,
                    currency,
                    first_day: Some(forecast.first_day.to_string()),
                    last_day: forecast.end_day.yesterday().ok().map(|day| day.to_string()),
                    days_elapsed: Some(forecast.days_elapsed),
                    days_in_period: Some(forecast.days_in_period),
                    so_far: Some(text(forecast.so_far)),
                    minimum: Some(text(forecast.minimum)),
                    projected: Some(text(forecast.projected)),
                    projected_shortfall: Some(text(forecast.projected_shortfall)),
                    at_risk: forecast.at_risk(),
                    not_forecast: None,
                },
                Err(reason) => CommitmentView {
                    code,
                    currency,
                    first_day: None,
                    last_day: None,
                    days_elapsed: None,
                    days_in_period: None,
                    so_far: None,
                    minimum: None,
                    projected: None,
                    projected_shortfall: None,
                    at_risk: false,
                    not_forecast: Some(reason),
                },
            }
        })
        .collect();
    Ok(Json(CommitmentsView { carrier: parameters.carrier, as_of: day.to_string(), commitments }))
}
