//! The one error type of the API: each variant is a status and a JSON body; internal errors
//! become a 500 with a generic message, their details going to the log only.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub enum ApiError {
    /// No or unknown bearer key.
    Unauthorized,
    /// The key lacks the scope.
    Forbidden(&'static str),
    /// The request is malformed: says which event and field.
    BadRequest(String),
    PayloadTooLarge(String),
    Timeout,
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => (StatusCode::UNAUTHORIZED, "a bearer API key is required".to_owned()),
            ApiError::Forbidden(scope) => (StatusCode::FORBIDDEN, format!("this key lacks the {scope} scope")),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, message),
            ApiError::PayloadTooLarge(message) => (StatusCode::PAYLOAD_TOO_LARGE, message),
            ApiError::Timeout => (StatusCode::SERVICE_UNAVAILABLE, "the request took too long".to_owned()),
            ApiError::Internal(detail) => {
                let mut stderr = std::io::stderr().lock();
                let _ = std::io::Write::write_fmt(&mut stderr, format_args!("internal error: {detail}\n"));
                (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_owned())
            }
        };
        (status, axum::Json(serde_json::json!({ "error": message }))).into_response()
    }
}

impl From<reckon_store::StoreError> for ApiError {
    fn from(error: reckon_store::StoreError) -> ApiError {
        ApiError::Internal(error.to_string())
    }
}
