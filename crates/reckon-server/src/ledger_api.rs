//! The ledger over HTTP: invoice upload (then the reconciliation runs), runs and their
//! discrepancies, disputes and their lifecycle, settlements and journals. Each handler calls the
//! same `reckon-store` operation as the CLI command of the same name, so the semantics and the
//! refusals (with their messages) are the CLI's.

use crate::auth;
use crate::{ApiError, AppState};
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use reckon_core::dispute::{draft_disputes, DisputeAction};
use reckon_core::period::Month;
use reckon_core::{Decimal, InvoiceLine, Timestamp};
use reckon_import::{BadRowPolicy, NoProgress};
use reckon_store::{InvoiceOutcome, RunInputs, StoredRun};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use utoipa::{IntoParams, ToSchema};

type Error = crate::error::ErrorBody;

fn month(name: &str, text: &str) -> Result<Month, ApiError> {
    Month::parse(text).map_err(|error| ApiError::BadRequest(format!("{name}: {text:?}: {error}")))
}

fn decimal(name: &str, text: &str) -> Result<Decimal, ApiError> {
    Decimal::from_str(text.trim()).map_err(|_| ApiError::BadRequest(format!("{name}: {text:?} is not a decimal")))
}

fn json_body<T>(body: Result<Json<T>, JsonRejection>) -> Result<T, ApiError> {
    body.map(|Json(value)| value).map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    query.map(|Query(value)| value).map_err(|rejection| ApiError::BadRequest(rejection.body_text()))
}

fn csv_response(bytes: Vec<u8>) -> Response {
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], bytes).into_response()
}

fn text(amount: Decimal) -> String {
    amount.normalize().to_string()
}

// ---------------------------------------------------------------------------------------------
// Invoices

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UploadQuery {
    /// Store a new version of an invoice stored with other content (needs the admin scope),
    /// instead of refusing it.
    replace: Option<bool>,
    /// The period (YYYY-MM) every uploaded invoice belongs to; default: for each invoice, the
    /// month holding most of its lines (the earliest on a tie).
    #[param(pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03")]
    period: Option<String>,
}

/// What became of an uploaded invoice.
#[derive(Serialize, ToSchema)]
pub struct InvoiceView {
    pub carrier: String,
    pub invoice_id: String,
    /// The period (YYYY-MM) the invoice belongs to.
    pub period: String,
    pub version: i64,
    pub lines: u64,
    /// stored, unchanged or replaced.
    pub outcome: String,
}

/// A recorded reconciliation run.
#[derive(Serialize, ToSchema)]
pub struct RunView {
    pub run_id: String,
    pub carrier: String,
    /// YYYY-MM.
    pub period: String,
    /// False: the same inputs were reconciled before, nothing new was recorded.
    pub created: bool,
    pub discrepancies: u64,
    /// Discrepancies per kind.
    pub kinds: BTreeMap<String, u64>,
}

#[derive(Serialize, ToSchema)]
pub struct UploadReport {
    pub invoices: Vec<InvoiceView>,
    /// The reconciliation of each carrier month the invoices bill.
    pub runs: Vec<RunView>,
}

/// Uploads invoices (`invoice.csv`, all in one transaction), then reconciles the period of each
/// (`?period=`, else the month holding most of its lines) against the stored usage and rates.
#[utoipa::path(
    post,
    path = "/v1/invoices",
    tag = "invoices",
    params(UploadQuery),
    request_body(content = String, content_type = "text/csv", description = "invoice.csv"),
    responses(
        (status = 200, description = "Stored (or unchanged) and reconciled", body = UploadReport),
        (status = 400, description = "A bad row: file, line, column and what was expected", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the ingest scope (admin for replace)", body = Error),
        (status = 409, description = "An invoice is stored with other content", body = Error),
        (status = 413, description = "Body over 8 MiB", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_invoices(
    State(state): State<AppState>,
    key: auth::Key,
    options: Result<Query<UploadQuery>, QueryRejection>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<UploadReport>, ApiError> {
    let options = query(options)?;
    let replace = options.replace.unwrap_or(false);
    let period = options.period.as_deref().map(|text| month("period", text)).transpose()?;
    let caller = key.require(if replace { "admin" } else { "ingest" })?;
    let body = body.map_err(|rejection| ApiError::PayloadTooLarge(format!("the body is refused: {rejection}")))?;
    let name = std::path::Path::new("upload");
    // Usage lines and contract charge lines (issue 17), stored together.
    let (loaded, charges) = reckon_import::invoice::InvoiceReader::from_reader(
        name,
        Box::new(std::io::Cursor::new(body.to_vec())),
        BadRowPolicy::Fail,
    )
    .and_then(|reader| reader.read_all_with_charges(&mut NoProgress))
    .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    let lines = loaded.items;
    if lines.is_empty() && charges.is_empty() {
        return Err(ApiError::BadRequest("the upload holds no invoice lines".into()));
    }
    let now = Timestamp::now();
    let imported = state
        .ledger
        .import_invoices_with_charges(&lines, &charges, period, "http upload", &caller.actor(), replace, now)
        .await?;
    let invoices = imported
        .iter()
        .map(|invoice| InvoiceView {
            carrier: invoice.carrier.clone(),
            invoice_id: invoice.invoice_id.clone(),
            period: invoice.period.to_string(),
            version: invoice.version,
            lines: invoice.lines,
            outcome: match invoice.outcome {
                InvoiceOutcome::Imported => "stored",
                InvoiceOutcome::Unchanged => "unchanged",
                InvoiceOutcome::Replaced => "replaced",
            }
            .to_owned(),
        })
        .collect();
    // The periods the invoices belong to, each reconciled once.
    let months: BTreeSet<(String, Month)> =
        imported.iter().map(|invoice| (invoice.carrier.clone(), invoice.period)).collect();
    let mut runs = Vec::new();
    for (carrier, period) in months {
        let run = reconcile(&state, &carrier, period).await?;
        raise_invoice_alerts(&state, &lines, &run).await?;
        runs.push(run_view(&run, &carrier, period));
    }
    Ok(Json(UploadReport { invoices, runs }))
}

async fn reconcile(state: &AppState, carrier: &str, period: Month) -> Result<StoredRun, ApiError> {
    let settings = &state.settings;
    let inputs = RunInputs {
        carrier,
        period,
        config: &settings.reconcile,
        fx: &settings.fx,
        networks: &settings.networks,
        holidays: &settings.holidays,
    };
    Ok(state.ledger.reconcile_period(&inputs, Timestamp::now()).await?)
}

/// The overbilled share of each invoice of the run, against the rules.
async fn raise_invoice_alerts(state: &AppState, lines: &[InvoiceLine], run: &StoredRun) -> Result<(), ApiError> {
    if state.settings.alerts.rules.is_empty() {
        return Ok(());
    }
    for draft in draft_disputes(&run.discrepancies, Decimal::ZERO) {
        let billed = reckon_core::alert::invoice_billed(lines, &draft.carrier, &draft.invoice_id, draft.currency)
            .ok_or_else(|| {
                ApiError::BadRequest(format!("invoice {}: its total passes the decimal range", draft.invoice_id))
            })?;
        let alerts = reckon_core::alert::invoice_alerts(
            &state.settings.alerts.rules,
            &draft.carrier,
            &draft.invoice_id,
            billed,
            draft.claimed_total(),
            draft.currency,
        );
        state.alerts.raise(&state.ledger, alerts).await?;
    }
    Ok(())
}

fn run_view(run: &StoredRun, carrier: &str, period: Month) -> RunView {
    let mut kinds = BTreeMap::new();
    for discrepancy in &run.discrepancies {
        *kinds.entry(discrepancy.kind.as_str().to_owned()).or_insert(0) += 1;
    }
    RunView {
        run_id: run.run_id.clone(),
        carrier: carrier.to_owned(),
        period: period.to_string(),
        created: run.created,
        discrepancies: run.discrepancies.len() as u64,
        kinds,
    }
}

// ---------------------------------------------------------------------------------------------
// Runs

#[derive(Deserialize, IntoParams, ToSchema)]
#[into_params(parameter_in = Query)]
pub struct CarrierPeriod {
    #[schema(example = "borealis")]
    #[param(example = "borealis")]
    pub carrier: String,
    /// YYYY-MM, 1970-01 to 2199-12.
    #[schema(pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03")]
    #[param(pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03")]
    pub period: String,
}

#[derive(Serialize, ToSchema)]
pub struct RunList {
    pub carrier: String,
    pub period: String,
    /// Run ids, oldest first.
    pub runs: Vec<String>,
}

/// The runs recorded for a carrier's period.
#[utoipa::path(
    get,
    path = "/v1/runs",
    tag = "runs",
    params(CarrierPeriod),
    responses(
        (status = 200, description = "Run ids", body = RunList),
        (status = 400, description = "A bad parameter", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_runs(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    parameters: Result<Query<CarrierPeriod>, QueryRejection>,
) -> Result<Json<RunList>, ApiError> {
    let parameters = query(parameters)?;
    let period = month("period", &parameters.period)?;
    let runs = state.ledger.runs_of(&parameters.carrier, period).await?;
    Ok(Json(RunList { carrier: parameters.carrier, period: period.to_string(), runs }))
}

/// Reconciles a carrier's period from the ledger (as `reckon reconcile --carrier --period`); the
/// same inputs again record nothing new.
#[utoipa::path(
    post,
    path = "/v1/runs",
    tag = "runs",
    request_body = CarrierPeriod,
    responses(
        (status = 200, description = "The run", body = RunView),
        (status = 400, description = "A bad field", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the admin scope", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_run(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Admin>,
    body: Result<Json<CarrierPeriod>, JsonRejection>,
) -> Result<Json<RunView>, ApiError> {
    let body = json_body(body)?;
    let period = month("period", &body.period)?;
    let run = reconcile(&state, &body.carrier, period).await?;
    Ok(Json(run_view(&run, &body.carrier, period)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FormatQuery {
    /// json (default) or csv (`discrepancies.csv`).
    #[param(pattern = r"^(json|csv)$")]
    format: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DiscrepancyList {
    pub run_id: String,
    /// Rows of `discrepancies.csv`: its columns as keys, empty values left out.
    pub discrepancies: Vec<BTreeMap<String, String>>,
}

/// A run's discrepancies, in `discrepancies.csv`'s order.
#[utoipa::path(
    get,
    path = "/v1/runs/{run_id}/discrepancies",
    tag = "runs",
    params(("run_id" = String, Path, description = "A run id"), FormatQuery),
    responses(
        (status = 200, description = "The discrepancies (JSON, or CSV with format=csv)", content(
            (DiscrepancyList = "application/json"),
            (String = "text/csv"),
        )),
        (status = 400, description = "A bad parameter", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "No such run", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_discrepancies(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path(run_id): Path<String>,
    format: Result<Query<FormatQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let format = query(format)?.format.unwrap_or_else(|| "json".to_owned());
    let discrepancies = state
        .ledger
        .run_discrepancies(&run_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("run {run_id} not found")))?;
    match format.as_str() {
        "csv" => {
            let mut bytes = Vec::new();
            reckon_export::discrepancies::write_discrepancies(&mut bytes, &discrepancies)
                .map_err(|error| ApiError::Internal(error.to_string()))?;
            Ok(csv_response(bytes))
        }
        "json" => {
            let rows = discrepancies
                .iter()
                .map(|discrepancy| {
                    reckon_export::discrepancies::COLUMNS
                        .iter()
                        .zip(reckon_export::discrepancies::discrepancy_fields(discrepancy))
                        .filter(|(_, value)| !value.is_empty())
                        .map(|(column, value)| ((*column).to_owned(), value))
                        .collect()
                })
                .collect();
            Ok(Json(DiscrepancyList { run_id, discrepancies: rows }).into_response())
        }
        other => Err(ApiError::BadRequest(format!("format: {other:?} is not json or csv"))),
    }
}

// ---------------------------------------------------------------------------------------------
// Disputes

#[derive(Deserialize, ToSchema)]
pub struct OpenDisputes {
    /// Only overbilled lines whose difference is above this amount (default 0).
    #[schema(pattern = r"^-?[0-9]+(\.[0-9]+)?$", example = "0.001")]
    pub threshold: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct OpenedDispute {
    pub dispute_id: String,
    /// False: the invoice was already in dispute, left as it was.
    pub created: bool,
}

#[derive(Serialize, ToSchema)]
pub struct OpenedDisputes {
    pub disputes: Vec<OpenedDispute>,
}

/// Opens the disputes of a run (as `reckon dispute open`): its overbilled discrepancies, one
/// dispute per invoice and currency.
#[utoipa::path(
    post,
    path = "/v1/runs/{run_id}/disputes",
    tag = "disputes",
    params(("run_id" = String, Path, description = "A run id")),
    request_body = OpenDisputes,
    responses(
        (status = 200, description = "The disputes", body = OpenedDisputes),
        (status = 400, description = "A bad field", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the admin scope", body = Error),
        (status = 404, description = "No such run", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_disputes(
    State(state): State<AppState>,
    caller: auth::Caller<auth::Admin>,
    Path(run_id): Path<String>,
    body: Result<Json<OpenDisputes>, JsonRejection>,
) -> Result<Json<OpenedDisputes>, ApiError> {
    let body = json_body(body)?;
    let threshold = decimal("threshold", body.threshold.as_deref().unwrap_or("0"))?;
    let opened = state.ledger.open_disputes(&run_id, threshold, &caller.actor(), Timestamp::now()).await?;
    Ok(Json(OpenedDisputes {
        disputes: opened.into_iter().map(|(dispute_id, created)| OpenedDispute { dispute_id, created }).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct DisputeLineView {
    pub line_id: String,
    pub record_id: Option<String>,
    pub kind: String,
    pub billed_amount: String,
    pub expected_amount: String,
    pub claimed: String,
    pub credited: String,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeEventView {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub from_state: Option<String>,
    pub to_state: String,
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct DisputeView {
    pub dispute_id: String,
    pub run_id: String,
    pub carrier: String,
    pub invoice_id: String,
    /// The invoice version the dispute claims against (a replaced invoice is disputed anew).
    pub invoice_version: i64,
    pub period: String,
    /// open, submitted, accepted, partially_accepted, rejected or closed.
    pub state: String,
    pub currency: String,
    pub claimed_total: String,
    pub credited_total: String,
    pub lines: Vec<DisputeLineView>,
    /// The append-only history, oldest first.
    pub events: Vec<DisputeEventView>,
}

fn dispute_view(dispute: reckon_store::DisputeRecord) -> DisputeView {
    DisputeView {
        credited_total: text(dispute.credited_total()),
        dispute_id: dispute.dispute_id,
        run_id: dispute.run_id,
        carrier: dispute.carrier,
        invoice_id: dispute.invoice_id,
        invoice_version: dispute.invoice_version,
        period: dispute.period,
        state: dispute.state.as_str().to_owned(),
        currency: dispute.currency,
        claimed_total: text(dispute.claimed_total),
        lines: dispute
            .lines
            .into_iter()
            .map(|(line, credited)| DisputeLineView {
                line_id: line.line_id,
                record_id: line.record_id,
                kind: line.kind.as_str().to_owned(),
                billed_amount: text(line.billed_amount),
                expected_amount: text(line.expected_amount),
                claimed: text(line.claimed),
                credited: text(credited),
            })
            .collect(),
        events: dispute
            .events
            .into_iter()
            .map(|event| DisputeEventView {
                at: event.at.to_string(),
                actor: event.actor,
                action: event.action,
                from_state: event.from_state,
                to_state: event.to_state,
                reason: event.reason,
            })
            .collect(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct DisputeList {
    pub disputes: Vec<DisputeView>,
}

/// The disputes of a carrier's period.
#[utoipa::path(
    get,
    path = "/v1/disputes",
    tag = "disputes",
    params(CarrierPeriod),
    responses(
        (status = 200, description = "The disputes", body = DisputeList),
        (status = 400, description = "A bad parameter", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_disputes(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    parameters: Result<Query<CarrierPeriod>, QueryRejection>,
) -> Result<Json<DisputeList>, ApiError> {
    let parameters = query(parameters)?;
    let period = month("period", &parameters.period)?;
    let disputes = state.ledger.disputes_of(&parameters.carrier, &period.to_string()).await?;
    Ok(Json(DisputeList { disputes: disputes.into_iter().map(dispute_view).collect() }))
}

/// A dispute with its lines and history (as `reckon dispute show`).
#[utoipa::path(
    get,
    path = "/v1/disputes/{dispute_id}",
    tag = "disputes",
    params(("dispute_id" = String, Path, description = "A dispute id")),
    responses(
        (status = 200, description = "The dispute", body = DisputeView),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "No such dispute", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_dispute(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path(dispute_id): Path<String>,
) -> Result<Json<DisputeView>, ApiError> {
    Ok(Json(dispute_view(state.ledger.dispute(&dispute_id).await?)))
}

/// A step of a dispute's lifecycle.
#[derive(Deserialize, ToSchema)]
pub struct DisputeStep {
    /// submit, accept, reject or close (accept with credits: a partial acceptance).
    #[schema(pattern = r"^(submit|accept|reject|close)$", example = "submit")]
    pub action: String,
    /// Why, recorded in the history.
    pub reason: Option<String>,
    /// Credits per line id (decimal strings) for a partial acceptance; each line once.
    #[serde(default, deserialize_with = "credits_once_per_line")]
    pub credits: Option<BTreeMap<String, String>>,
}

/// Reads `credits`, refusing a line named twice: JSON would otherwise keep the last silently.
fn credits_once_per_line<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<BTreeMap<String, String>>, D::Error> {
    struct Credits;
    impl<'de> serde::de::Visitor<'de> for Credits {
        type Value = BTreeMap<String, String>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("an object of line ids to credit amounts")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut credits = BTreeMap::new();
            while let Some((line, amount)) = map.next_entry::<String, String>()? {
                if credits.contains_key(&line) {
                    return Err(serde::de::Error::custom(format!(
                        "credits: line {line} is credited twice; give each line once"
                    )));
                }
                credits.insert(line, amount);
            }
            Ok(credits)
        }
    }
    struct OptionalCredits;
    impl<'de> serde::de::Visitor<'de> for OptionalCredits {
        type Value = Option<BTreeMap<String, String>>;

        fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
            formatter.write_str("an object of line ids to credit amounts, or null")
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }

        fn visit_some<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
            deserializer.deserialize_map(Credits).map(Some)
        }
    }
    deserializer.deserialize_option(OptionalCredits)
}

/// Moves a dispute along its lifecycle (as `reckon dispute submit|accept|reject|close`); an
/// illegal transition is refused with the reason and changes nothing.
#[utoipa::path(
    post,
    path = "/v1/disputes/{dispute_id}/actions",
    tag = "disputes",
    params(("dispute_id" = String, Path, description = "A dispute id")),
    request_body = DisputeStep,
    responses(
        (status = 200, description = "The dispute after the step", body = DisputeView),
        (status = 400, description = "A bad field or credit", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the admin scope", body = Error),
        (status = 404, description = "No such dispute", body = Error),
        (status = 409, description = "Not allowed from the dispute's state", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_dispute_action(
    State(state): State<AppState>,
    caller: auth::Caller<auth::Admin>,
    Path(dispute_id): Path<String>,
    body: Result<Json<DisputeStep>, JsonRejection>,
) -> Result<Json<DisputeView>, ApiError> {
    let step = json_body(body)?;
    let action = match (step.action.as_str(), &step.credits) {
        ("submit", None) => DisputeAction::Submit,
        ("accept", None) => DisputeAction::Accept,
        ("accept", Some(credits)) => {
            let mut parsed = BTreeMap::new();
            for (line, amount) in credits {
                parsed.insert(line.clone(), decimal(&format!("credits.{line}"), amount)?);
            }
            DisputeAction::AcceptPartially { credits: parsed }
        }
        ("reject", None) => DisputeAction::Reject,
        ("close", None) => DisputeAction::Close,
        ("submit" | "reject" | "close", Some(_)) => {
            return Err(ApiError::BadRequest("credits: only an accept grants credits".into()))
        }
        (other, _) => {
            return Err(ApiError::BadRequest(format!("action: {other:?} is not one of submit, accept, reject, close")))
        }
    };
    let reason = step.reason.unwrap_or_default();
    let dispute = state.ledger.act_on_dispute(&dispute_id, &action, &caller.actor(), &reason, Timestamp::now()).await?;
    Ok(Json(dispute_view(dispute)))
}

/// The evidence of a dispute as the carrier receives it (as `reckon dispute export`).
#[utoipa::path(
    get,
    path = "/v1/disputes/{dispute_id}/evidence",
    tag = "disputes",
    params(("dispute_id" = String, Path, description = "A dispute id")),
    responses(
        (status = 200, description = "The disputed lines with both sides", body = String, content_type = "text/csv"),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "No such dispute", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_evidence(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path(dispute_id): Path<String>,
) -> Result<Response, ApiError> {
    let evidence = state.ledger.dispute_evidence(&dispute_id).await?;
    let mut bytes = Vec::new();
    reckon_export::disputes::write_evidence(&mut bytes, &evidence)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(csv_response(bytes))
}

// ---------------------------------------------------------------------------------------------
// Settlements

#[derive(Deserialize, ToSchema)]
pub struct SettleRequest {
    #[schema(example = "borealis")]
    pub carrier: String,
    /// YYYY-MM, 1970-01 to 2199-12.
    #[schema(pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03")]
    pub period: String,
    /// Supersede the stored statement when the figures changed.
    pub correct: Option<bool>,
    /// Settle only this currency: needed when the carrier billed the period in several
    /// (unless its contract names a settlement currency).
    #[schema(pattern = r"^[A-Za-z]{3}$", example = "EUR")]
    pub currency: Option<String>,
}

/// A currency named in a request.
fn currency_field(name: &str, text: &str) -> Result<reckon_core::Currency, ApiError> {
    reckon_core::Currency::parse(text)
        .ok_or_else(|| ApiError::BadRequest(format!("{name}: {text:?} is not an ISO 4217 currency code, like EUR")))
}

#[derive(Serialize, ToSchema)]
pub struct StatementView {
    pub statement_id: String,
    pub carrier: String,
    pub period: String,
    pub currency: String,
    pub invoiced: String,
    pub accepted_credits: String,
    /// Claims still pending, held back.
    pub withheld: String,
    pub receivable: String,
    /// Net exactly.
    pub net_exact: String,
    /// Net rounded to the currency's minor unit (half to even): positive, we pay.
    pub net: String,
    pub supersedes: Option<String>,
    pub created_at: String,
    /// False: the same statement was stored before.
    pub created: bool,
    /// The part of `invoiced` billed by contract charge lines, per charge type (issue 17);
    /// `invoiced` less them is the usage.
    pub charges: Vec<ChargePartView>,
    /// The part of `accepted_credits` granted on charge lines, per charge type.
    pub credited_charges: Vec<ChargePartView>,
    /// The part of `receivable` that is rebates due to us (credited by no invoice line).
    pub rebates_due: String,
    /// Rebates of earlier periods credited on this period's invoices that their own period
    /// netted already: added back to the net.
    pub late_rebates: String,
}

/// One charge type's part of a statement figure.
#[derive(Serialize, ToSchema)]
pub struct ChargePartView {
    /// `recurring`, `one_time`, `commitment_shortfall`, `rebate`, `credit`, `tax` or `adjustment`.
    pub charge_type: String,
    pub amount: String,
}

fn statement_view(stored: reckon_store::StoredStatement) -> StatementView {
    let inputs = &stored.statement.inputs;
    let parts = |parts: &std::collections::BTreeMap<reckon_core::charges::ChargeType, reckon_core::Decimal>| {
        parts
            .iter()
            .map(|(charge_type, amount)| ChargePartView {
                charge_type: charge_type.as_str().to_owned(),
                amount: text(*amount),
            })
            .collect()
    };
    StatementView {
        charges: parts(&inputs.charges),
        credited_charges: parts(&inputs.credited_charges),
        rebates_due: text(inputs.rebates_due),
        late_rebates: text(inputs.rebates_netted_before),
        currency: inputs.currency.to_string(),
        invoiced: text(inputs.invoiced),
        accepted_credits: text(inputs.accepted_credits),
        withheld: text(inputs.withheld),
        receivable: text(inputs.receivable),
        net_exact: text(stored.statement.net_exact),
        net: reckon_core::currency::format_amount(stored.statement.net, inputs.currency),
        statement_id: stored.statement_id,
        carrier: stored.carrier,
        period: stored.period,
        supersedes: stored.supersedes,
        created_at: stored.created_at.to_string(),
        created: stored.created,
    }
}

/// Settles a carrier's period (as `reckon settle`): immutable statements, corrections supersede.
#[utoipa::path(
    post,
    path = "/v1/settlements",
    tag = "settlements",
    request_body = SettleRequest,
    responses(
        (status = 200, description = "The statement", body = StatementView),
        (status = 400, description = "A bad field, or amounts in several currencies", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the admin scope", body = Error),
        (status = 404, description = "No invoices for the period", body = Error),
        (status = 409, description = "The figures changed: correct=true supersedes", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn post_settlement(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Admin>,
    body: Result<Json<SettleRequest>, JsonRejection>,
) -> Result<Json<StatementView>, ApiError> {
    let request = json_body(body)?;
    let period = month("period", &request.period)?;
    let currency = request.currency.as_deref().map(|text| currency_field("currency", text)).transpose()?;
    let settlement_currency = state.settings.reconcile.terms(&request.carrier).settlement_currency;
    let options = reckon_store::SettleOptions {
        correct: request.correct.unwrap_or(false),
        currency,
        settlement_currency: settlement_currency.map(|settlement| (settlement, &state.settings.fx)),
    };
    let mut statements = state.ledger.settle_period_with(&request.carrier, period, &options, Timestamp::now()).await?;
    if statements.len() > 1 {
        let codes: Vec<String> = statements.iter().map(|stored| stored.statement.inputs.currency.to_string()).collect();
        return Err(ApiError::BadRequest(format!(
            "{} billed {period} in several currencies ({}): one statement each was issued; name one with \"currency\" to read it",
            request.carrier,
            codes.join(", ")
        )));
    }
    Ok(Json(statement_view(statements.remove(0))))
}

async fn latest_statement(
    state: &AppState,
    carrier: &str,
    period: &str,
    currency: Option<&str>,
) -> Result<reckon_store::StoredStatement, ApiError> {
    let period = month("period", period)?;
    let stored = match currency {
        Some(text) => {
            let currency = currency_field("currency", text)?;
            state.ledger.latest_statement_in(carrier, &period.to_string(), currency).await?
        }
        None => state.ledger.latest_statement(carrier, &period.to_string()).await?,
    };
    stored.ok_or_else(|| ApiError::NotFound(format!("no statement for {carrier} {period}: settle it first")))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatementQuery {
    /// The statement of this currency, for a carrier settled in several.
    #[param(pattern = r"^[A-Za-z]{3}$")]
    currency: Option<String>,
}

/// The current statement of a carrier's period.
#[utoipa::path(
    get,
    path = "/v1/settlements/{carrier}/{period}",
    tag = "settlements",
    params(
        ("carrier" = String, Path, example = "borealis"),
        ("period" = String, Path, description = "YYYY-MM", pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03"),
        StatementQuery
    ),
    responses(
        (status = 200, description = "The statement", body = StatementView),
        (status = 400, description = "A bad period or currency", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "Not settled yet", body = Error),
        (status = 409, description = "Settled in several currencies: name one", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_settlement(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path((carrier, period)): Path<(String, String)>,
    query: Result<Query<StatementQuery>, QueryRejection>,
) -> Result<Json<StatementView>, ApiError> {
    let query = self::query(query)?;
    Ok(Json(statement_view(latest_statement(&state, &carrier, &period, query.currency.as_deref()).await?)))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct JournalQuery {
    /// csv (default), hledger or beancount.
    #[param(pattern = r"^(csv|hledger|beancount)$")]
    format: Option<String>,
}

/// The journal of a carrier's period (as `reckon journal`): every statement's balanced entries,
/// each superseded statement reversed before its correction.
#[utoipa::path(
    get,
    path = "/v1/settlements/{carrier}/{period}/journal",
    tag = "settlements",
    params(
        ("carrier" = String, Path, example = "borealis"),
        ("period" = String, Path, description = "YYYY-MM", pattern = r"^(19[7-9][0-9]|2[01][0-9]{2})-(0[1-9]|1[0-2])$", example = "2026-03"),
        JournalQuery
    ),
    responses(
        (status = 200, description = "journal.csv, an hledger journal or a beancount ledger", body = String, content_type = "text/csv"),
        (status = 400, description = "A bad period or format", body = Error),
        (status = 401, description = "No or unknown API key", body = Error),
        (status = 403, description = "The key lacks the read scope", body = Error),
        (status = 404, description = "Not settled yet", body = Error),
    ),
    security(("bearer" = []))
)]
pub async fn get_journal(
    State(state): State<AppState>,
    _caller: auth::Caller<auth::Read>,
    Path((carrier, period)): Path<(String, String)>,
    options: Result<Query<JournalQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let options = query(options)?;
    let format = reckon_export::journal::JournalFormat::parse(options.format.as_deref().unwrap_or("csv"))
        .map_err(ApiError::BadRequest)?;
    let period = month("period", &period)?;
    let entries = state.ledger.journal(&carrier, &period.to_string()).await?;
    let mut bytes = Vec::new();
    reckon_export::journal::write_journal(&mut bytes, format, &entries)
        .map_err(|error| ApiError::Internal(error.to_string()))?;
    Ok(([(header::CONTENT_TYPE, format.content_type())], bytes).into_response())
}
