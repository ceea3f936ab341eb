//! `GET /v1/explain`: why a stored record (`?record=ID`) or invoice line
//! (`?carrier=&invoice=&line=`) is expected at its amount, step by step, under the service's
//! settings: `Ledger::explain_record_with` / `explain_line_with`, as `reckon explain`.

use crate::auth;
use crate::{ApiError, AppState};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::Json;
use reckon_core::explain::Explanation;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

type Error = crate::error::ErrorBody;

/// A record, or a line by carrier, invoice and line id.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExplainQuery {
    /// A usage record id.
    record: Option<String>,
    /// With `invoice` and `line`: the carrier of the invoice.
    carrier: Option<String>,
    /// The carrier's invoice number.
    invoice: Option<String>,
    /// The line id within the invoice.
    line: Option<String>,
}

/// One step of an explanation.
#[derive(Serialize, ToSchema)]
pub struct ExplanationStepView {
    pub title: String,
    pub detail: String,
}

/// An explanation: its steps, the expected amount and the discrepancy, if any.
#[derive(Serialize, ToSchema)]
pub struct ExplanationView {
    pub subject: String,
    pub steps: Vec<ExplanationStepView>,
    /// Exact decimal; absent without a rate or a conversion.
    pub expected_amount: Option<String>,
    pub currency: Option<String>,
    pub expected_quantity: Option<String>,
    /// The discrepancy kind (FORMATS.md); absent when the line agrees.
    pub discrepancy: Option<String>,
    /// billed - expected (positive: overbilled).
    pub difference: Option<String>,
    /// The explanation in plain words, as `reckon explain` prints it.
    pub text: String,
}

impl From<&Explanation> for ExplanationView {
    fn from(explanation: &Explanation) -> ExplanationView {
        let text = |amount: reckon_core::Decimal| amount.normalize().to_string();
        ExplanationView {
            subject: explanation.subject.clone(),
            steps: explanation
                .steps
                .iter()
                .map(|step| ExplanationStepView { title: step.title.clone(), detail: step.detail.clone() })
                .collect(),
            expected_amount: explanation.expected_amount.map(text),
            currency: explanation.currency.map(|currency| currency.to_string()),
            expected_quantity: explanation.expected_quantity.map(text),
            discrepancy: explanation.discrepancy.map(|kind| kind.as_str().to_owned()),
            difference: explanation.difference.map(text),
            text: explanation.to_string(),
        }
    }
}

/// Explains a stored record or invoice line.
#[utoipa::path(
    get,
    path = "/v1/explain",
    tag = "runs",
    params(ExplainQuery),
    responses(
        (status = 200, description = "The explanation", body = ExplanationView),
        (status = 400, description = "Neither a record nor a whole line given", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "No such record, invoice or line", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_explain(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    parameters: Result<Query<ExplainQuery>, QueryRejection>,
) -> Result<Json<ExplanationView>, ApiError> {
    let Query(parameters) = parameters.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let settings = state.settings.reference();
    let explanation = match parameters {
        ExplainQuery { record: Some(record), carrier: None, invoice: None, line: None } => {
            state.ledger.explain_record_with(&record, settings).await?
        }
        ExplainQuery { record: None, carrier: Some(carrier), invoice: Some(invoice), line: Some(line) } => {
            state.ledger.explain_line_with(&carrier, &invoice, &line, settings).await?
        }
        _ => return Err(ApiError::BadRequest("give record, or carrier, invoice and line".to_owned())),
    };
    Ok(Json(ExplanationView::from(&explanation)))
}
