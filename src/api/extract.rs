//! Request extractors with the API's own error messages.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON body. Accepts `application/json`, any `+json` type
/// (`application/vnd.chatkitty+json`) and `application/json+merge-patch`;
/// errors name the offending field.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or("").trim());
        let is = |ct: &str, name: &str| ct.eq_ignore_ascii_case(name);
        let ends_with_json = |ct: &str| ct.len() >= 5 && ct.as_bytes()[ct.len() - 5..].eq_ignore_ascii_case(b"+json");
        match content_type {
            Some(ct) if is(ct, "application/json") || ends_with_json(ct) || is(ct, "application/json+merge-patch") => {}
            Some(ct) => {
                return Err(ApiError::unsupported_media_type(format!(
                    "content type {ct:?} is not supported: send application/json"
                )))
            }
            None => return Err(ApiError::unsupported_media_type("missing Content-Type: send application/json")),
        }
        let bytes = axum::body::Bytes::from_request(req, state).await.map_err(|e| {
            if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::payload_too_large(format!(
                    "the request body is larger than the limit of {} bytes",
                    super::MAX_BODY_BYTES
                ))
            } else {
                ApiError::bad_request(format!("could not read the request body: {e}"))
            }
        })?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(JsonBody).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            if path == "." || path.is_empty() {
                ApiError::bad_request(format!("invalid JSON body: {inner}"))
            } else {
                ApiError::bad_request(format!("invalid field `{path}`: {inner}"))
            }
        })
    }
}

/// A numeric path id; anything else is a 404 like a missing resource.
pub struct Id(pub i64);

impl<S: Send + Sync> FromRequestParts<S> for Id {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) = axum::extract::Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::bad_request("invalid path"))?;
        raw.parse().map(Id).map_err(|_| ApiError::not_found("resource", raw))
    }
}

/// The `Idempotency-Key` header as sent (checked where it is used), taken
/// without copying the request's other headers.
pub struct IdempotencyKey(pub Option<axum::http::HeaderValue>);

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(IdempotencyKey(parts.headers.get("idempotency-key").cloned()))
    }
}

/// Query parameters into `T`; a malformed query string is a 400 naming
/// what is wrong.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(params)| Params(params))
            .map_err(|e| ApiError::bad_request(format!("invalid query string: {}", e.body_text())))
    }
}
