//! The one error type of the API: each variant is a status and a JSON body `{"error": "..."}`.
//! Ledger refusals carry the CLI's own messages (a conflict, an illegal dispute transition, a
//! missing run); internal errors become a 500 with a generic message, details to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use reckon_store::StoreError;
use serde::Serialize;
use utoipa::ToSchema;

/// The body of every error response.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    /// What was wrong, naming the event, field or rule.
    pub error: String,
}

#[derive(Debug)]
pub enum ApiError {
    /// No or unknown bearer key.
    Unauthorized,
    /// The key lacks the scope.
    Forbidden(&'static str),
    /// The request is malformed: says which event and field.
    BadRequest(String),
    /// What the request names does not exist.
    NotFound(String),
    /// The ledger refuses: other content under the same key, or an illegal transition.
    Conflict(String),
    PayloadTooLarge(String),
    /// The key is over its rate: try again after this long.
    TooManyRequests(std::time::Duration),
    Timeout,
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "a bearer API key is required".to_owned()),
            ApiError::Forbidden(scope) => (StatusCode::FORBIDDEN, format!("this key lacks the {scope} scope")),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, message),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, message),
            ApiError::PayloadTooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, message),
            ApiError::TooManyRequests(wait) => {
                // Whole seconds (RFC 9110 section 10.2.3), rounded up so that a client waiting
                // that long finds a token.
                let seconds = (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1);
                let body = ErrorBody { error: format!("this key is over its rate limit; retry after {seconds} s") };
                let retry_after = [(axum::http::header::RETRY_AFTER, seconds.to_string())];
                return (StatusCode::TOO_MANY_REQUESTS, retry_after, axum::Json(body)).into_response();
            }
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "the request took too long".to_owned()),
            ApiError::Internal(detail) => {
                tracing::error!("internal error: {detail}");
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
        };
        (status, axum::Json(ErrorBody { error: message })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::Conflict(_) | StoreError::IllegalTransition(_) => ApiError::Conflict(error.to_string()),
            StoreError::NotFound(_) => ApiError::NotFound(error.to_string()),
            StoreError::Invalid(_) => ApiError::BadRequest(error.to_string()),
            _ => ApiError::Internal(error.to_string()),
        }
    }
}
