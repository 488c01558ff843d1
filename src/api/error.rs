//! The API's one error type: a status, a stable error name and a message,
//! rendered as `{"error", "message", "timestamp"}`. Internals are logged,
//! never returned.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::store::StoreError;

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub error: &'static str,
    pub message: String,
    /// Extra fields merged into the body (e.g. a script error's line and column).
    pub details: Option<serde_json::Value>,
    /// Seconds to send as `Retry-After`.
    pub retry_after_secs: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError { status, error, message: message.into(), details: None, retry_after_secs: None }
    }
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequestError", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "UnauthorizedError", message)
    }
    /// 403 with a name of its own (e.g. `MessageRejectedError`).
    pub fn forbidden(error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, error, message)
    }
    pub fn not_found(what: &str, id: impl std::fmt::Display) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, "ResourceNotFoundError", format!("{what} {id} was not found"))
    }
    pub fn conflict(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::CONFLICT, "ConflictError", message)
    }
    pub fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaTypeError", message)
    }
    pub fn payload_too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLargeError", message)
    }
    pub fn method_not_allowed() -> ApiError {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowedError",
            "this method is not allowed on this resource",
        )
    }
    /// 429 with `Retry-After`.
    pub fn too_many_requests(message: impl Into<String>, retry_after_secs: u64) -> ApiError {
        ApiError {
            retry_after_secs: Some(retry_after_secs),
            ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "TooManyRequestsError", message)
        }
    }
    /// 503: a dependency of the request (the store, the registry) is down.
    pub fn unavailable(error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, error, message)
    }
    /// 504: the request's work took longer than it may.
    pub fn timed_out(error: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::GATEWAY_TIMEOUT, error, message)
    }
    pub fn internal() -> ApiError {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "InternalServerError",
            "the server failed to handle the request",
        )
    }
    pub fn with_details(mut self, details: serde_json::Value) -> ApiError {
        self.details = Some(details);
        self
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::Conflict(message) => ApiError::conflict(message),
            StoreError::Unavailable(message) => {
                tracing::error!(%message, "store unavailable");
                ApiError::unavailable("ServiceUnavailableError", "the event could not be stored; retry later")
            }
            other => {
                tracing::error!(error = %other, "store failure");
                ApiError::internal()
            }
        }
    }
}

impl From<crate::dispatch::DispatchError> for ApiError {
    fn from(e: crate::dispatch::DispatchError) -> ApiError {
        match e {
            crate::dispatch::DispatchError::Store(e) => e.into(),
            crate::dispatch::DispatchError::Packages(e) => {
                tracing::error!(error = %e, "a runtime's packages could not be loaded");
                ApiError::unavailable(
                    "DependencyUnavailableError",
                    format!("the runtime's packages could not be loaded: {e}; retry later"),
                )
            }
        }
    }
}

impl From<crate::npm::NpmError> for ApiError {
    fn from(e: crate::npm::NpmError) -> ApiError {
        use crate::npm::NpmError;
        let (status, error) = match &e {
            NpmError::NotFound(_) => (StatusCode::BAD_REQUEST, "DependencyResolutionError"),
            NpmError::TooLarge(_) => (StatusCode::BAD_REQUEST, "DependencyTooLargeError"),
            NpmError::Integrity(_) => (StatusCode::BAD_GATEWAY, "DependencyIntegrityError"),
            NpmError::BadPackage(_) => (StatusCode::BAD_GATEWAY, "DependencyPackageError"),
            NpmError::Registry(_) => (StatusCode::BAD_GATEWAY, "RegistryError"),
            NpmError::Offline(_) => (StatusCode::SERVICE_UNAVAILABLE, "OfflineError"),
            NpmError::Cache(io) => {
                tracing::error!(error = %io, "the package cache failed");
                return ApiError::internal();
            }
        };
        ApiError::new(status, error, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "error": self.error,
            "message": self.message,
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        });
        if let (Some(serde_json::Value::Object(extra)), Some(obj)) = (self.details, body.as_object_mut()) {
            obj.extend(extra);
        }
        let mut response = (self.status, axum::Json(body)).into_response();
        if let Some(secs) = self.retry_after_secs {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, secs.into());
        }
        response
    }
}
