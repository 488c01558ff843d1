//! `POST /v1/triggers/{type}`: the chat platform reports an event.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::value::RawValue;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::Id;
use super::extract::{IdempotencyKey, JsonBody};
use super::resources::{AcceptedAnswer, AccessDenied, BlockingAnswer, RetriedAnswer, UserResource};
use super::AppState;
use crate::dispatch::queue::Accepted;
use crate::engine::{Ending, InvocationStatus};
use crate::store::{TimeoutPolicy, Toggle};
use crate::triggers;

fn access_denied(message: impl Into<String>, invocation_id: Option<i64>) -> Response {
    let body = AccessDenied {
        error: "AccessDeniedError",
        message: message.into(),
        timestamp: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        invocation_id,
    };
    (StatusCode::FORBIDDEN, Json(body)).into_response()
}

/// A blocking trigger's answer with only a status (the others `None`).
fn allowed(status: &'static str) -> BlockingAnswer {
    BlockingAnswer {
        invocation_id: None,
        status,
        result: None,
        message: None,
        guest: None,
        user: None,
        session_id: None,
    }
}

/// A trigger type, as the document spells it: one of the known names.
pub fn trigger_type_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(triggers::TRIGGER_TYPES.iter().map(|t| t.name))
}

/// `POST /v1/triggers/{type}`'s path, for the document (the handler reads
/// it as text so that an unknown type is refused naming the known ones).
#[allow(dead_code)]
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
struct TriggerPath {
    /// Trigger type, e.g. user.attempted.start_session.
    #[param(rename = "type", schema_with = trigger_type_schema)]
    trigger_type: String,
}

/// Report an event. A blocking trigger (`user.attempted.start_session`)
/// runs the function now: 200 when it returns, 403 `AccessDeniedError` when
/// it throws. Non-blocking triggers are accepted for later execution.
#[utoipa::path(post, path = "/v1/triggers/{type}", tag = "Triggers",
    params(TriggerPath),
    request_body(content = Object, description = "The event", content_type = "application/json"),
    responses(
        (status = 200, body = BlockingAnswer, description = "Blocking: the function returned (or guest access, or fail-open time-out)"),
        (status = 202, body = AcceptedAnswer, description = "Non-blocking: accepted"),
        (status = 400, description = "Unknown trigger type or invalid event"),
        (status = 403, body = AccessDenied, description = "Blocking: the function threw, timed out (fail closed), or guests are disabled"),
    ),
    security(("bearer" = [])))]
pub async fn trigger(
    State(state): State<AppState>,
    tenant: Tenant,
    Path(trigger_type): Path<String>,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(event): JsonBody<Box<RawValue>>,
) -> ApiResult<Response> {
    let Some(trigger) = triggers::trigger_type(&trigger_type) else {
        return Err(ApiError::bad_request(format!(
            "unknown trigger type {trigger_type:?}; known types are {}",
            triggers::known_names()
        )));
    };
    // RawValue holds valid JSON with surrounding space trimmed.
    if !event.get().starts_with('{') {
        return Err(ApiError::bad_request(format!("the {} event must be a JSON object", trigger.name)));
    }
    let resolved = state.dispatcher.resolve(tenant.application_id, trigger.name).await?;
    if !trigger.blocking {
        let Some(function) = resolved.function else {
            // Nothing would run it: nothing is recorded.
            return Ok((StatusCode::ACCEPTED, Json(AcceptedAnswer { invocation_ids: Vec::new() })).into_response());
        };
        let key = key
            .map(|v| v.to_str().map(str::to_string))
            .transpose()
            .map_err(|_| ApiError::bad_request("the Idempotency-Key header must be text"))?;
        if key.as_ref().is_some_and(|k| k.is_empty() || k.len() > 200) {
            return Err(ApiError::bad_request("the Idempotency-Key header must be 1 to 200 characters"));
        }
        return Ok(match state.queue.accept(tenant.application_id, &function, Arc::from(event.get()), key).await? {
            Accepted::Ids(invocation_ids) => {
                (StatusCode::ACCEPTED, Json(AcceptedAnswer { invocation_ids })).into_response()
            }
            Accepted::Full { retry_after_secs } => ApiError::too_many_requests(
                "this application's queue of non-blocking events is full; retry later",
                retry_after_secs,
            )
            .into_response(),
        });
    }
    let starts_session = trigger.name == START_SESSION;
    let Some(function) = resolved.function else {
        if !starts_session {
            // Nothing to ask (e.g. no pre-send function): the action goes ahead.
            return Ok((StatusCode::OK, Json(allowed("ALLOWED"))).into_response());
        }
        // No enabled function: ChatKitty's guest behaviour.
        return Ok(match resolved.guest_users {
            Toggle::Enabled => {
                let user = guest_user(&state, tenant, &event).await?;
                let session_id = match &user {
                    Some(user) => Some(start_session(&state, tenant, user.id).await?),
                    None => None,
                };
                let body = BlockingAnswer {
                    guest: Some(true),
                    user: user.map(|u| UserResource::new(&state, &u)),
                    session_id,
                    ..allowed("ALLOWED")
                };
                (StatusCode::OK, Json(body)).into_response()
            }
            Toggle::Disabled => {
                access_denied("guest users are disabled and no function authenticates this session", None)
            }
        });
    };
    let username = starts_session.then(|| username(&event)).flatten();
    let event: Arc<str> = Arc::from(event.get());
    let ran =
        state.dispatcher.run(tenant.application_id, &function, event, crate::dispatch::Attempt::FIRST, true).await;
    let id = ran.invocation_id;
    // An allowed session of a user the platform keeps is recorded.
    let session_id = match (&ran.outcome.status, &ran.outcome.ending, resolved.timeout_policy, username) {
        (InvocationStatus::Succeeded, _, _, Some(name))
        | (_, Ending::TimedOut, TimeoutPolicy::FailOpen, Some(name))
            if state.dispatcher.platform_is_embedded() =>
        {
            match state.store.chat_user_by_name(tenant.application_id, &name).await? {
                Some(user) => Some(start_session(&state, tenant, user.id).await?),
                None => None,
            }
        }
        _ => None,
    };
    Ok(match ran.outcome.status {
        InvocationStatus::Succeeded => {
            let body = BlockingAnswer {
                invocation_id: Some(id),
                result: ran.outcome.result,
                session_id,
                ..allowed("SUCCEEDED")
            };
            (StatusCode::OK, Json(body)).into_response()
        }
        InvocationStatus::Failed => {
            let error = ran.outcome.error.unwrap_or_else(|| crate::engine::InvocationError {
                name: "Error".into(),
                message: "the function failed".into(),
                stack: None,
            });
            // Only the invocation's own time-out: a handler that throws an
            // error named TimeoutError (a fetch that timed out) failed.
            match (ran.outcome.ending, resolved.timeout_policy) {
                (Ending::TimedOut, TimeoutPolicy::FailOpen) => {
                    let body = BlockingAnswer {
                        invocation_id: Some(id),
                        message: Some(error.message),
                        session_id,
                        ..allowed("TIMED_OUT_ALLOWED")
                    };
                    (StatusCode::OK, Json(body)).into_response()
                }
                _ => access_denied(error.message, Some(id)),
            }
        }
    })
}

const START_SESSION: &str = "user.attempted.start_session";

/// The `username` of a start_session event, if it has a usable one (read
/// without building the rest of the event).
fn username(event: &RawValue) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Named<'a> {
        #[serde(borrow, default)]
        username: Option<std::borrow::Cow<'a, str>>,
    }
    let name = serde_json::from_str::<Named>(event.get()).ok()?.username?;
    super::users::validate_name("username", &name).ok()?;
    Some(name.into_owned())
}

/// Records a user session on the embedded platform (active until ended or
/// until the server's session lifetime passes).
async fn start_session(state: &AppState, tenant: Tenant, user_id: i64) -> ApiResult<i64> {
    let session = state.store.start_user_session(tenant.application_id, user_id, state.config.session_ttl).await?;
    Ok(session.id)
}

/// As ChatKitty does for a guest session: the user of that name, created as
/// a guest if there is none. Only the embedded platform keeps users here; an
/// event without a usable `username` creates nothing.
async fn guest_user(state: &AppState, tenant: Tenant, event: &RawValue) -> ApiResult<Option<crate::store::ChatUser>> {
    if !state.dispatcher.platform_is_embedded() {
        return Ok(None);
    }
    let Some(name) = username(event) else { return Ok(None) };
    let name = name.as_str();
    if let Some(user) = state.store.chat_user_by_name(tenant.application_id, name).await? {
        return Ok(Some(user));
    }
    let guest = crate::store::NewChatUser {
        name: name.to_string(),
        display_name: name.to_string(),
        is_guest: true,
        properties: "{}".into(),
    };
    match state.store.create_chat_user(tenant.application_id, guest).await {
        Ok(user) => Ok(Some(user)),
        // Two sessions of a new guest at once: the other one created it.
        Err(crate::store::StoreError::Conflict(_)) => {
            Ok(state.store.chat_user_by_name(tenant.application_id, name).await?)
        }
        Err(e) => Err(e.into()),
    }
}

/// Re-drive a non-blocking invocation that failed its last attempt: one
/// more attempt, now.
#[utoipa::path(post, path = "/v1/function-invocations/{id}/retry", tag = "Chat Function Invocations",
    params(("id" = i64, Path, description = "Any attempt's invocation ID")),
    responses(
        (status = 202, body = RetriedAnswer, description = "Queued again"),
        (status = 404, description = "No such queued invocation"),
        (status = 409, description = "Its job has not failed"),
    ),
    security(("bearer" = [])))]
pub async fn retry_invocation(State(state): State<AppState>, tenant: Tenant, Id(id): Id) -> ApiResult<Response> {
    match state.queue.retry(tenant.application_id, id).await? {
        Some(job_id) => Ok((StatusCode::ACCEPTED, Json(RetriedAnswer { job_id, status: "QUEUED" })).into_response()),
        None => Err(ApiError::not_found("non-blocking invocation", id)),
    }
}
