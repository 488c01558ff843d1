//! Chat functions, their versions and their invocation logs.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::{Id, JsonBody, Params};
use super::hal::{listing_path, parse_time, ByCreation, ById, ByVersion, PageQuery};
use super::resources::{
    FunctionPage, FunctionResource, InvocationPage, InvocationResource, VersionPage, VersionResource,
};
use super::runtime::script_error;
use super::users::validate_name;
use super::AppState;
use crate::engine::script::{compile, ScriptRole};
use crate::store::{FunctionPatch, FunctionRecord, InvocationFilter, InvocationState, NewFunction};
use crate::triggers;

/// The fields `PATCH /v1/functions/{id}` may change (JSON merge patch).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[serde(deny_unknown_fields)]
pub struct FunctionMergePatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// `null` clears it.
    description: Option<String>,
    #[serde(default)]
    enabled: bool,
    /// Warm the function (its runtime built, its module loaded) whenever a
    /// version goes live, so that its first invocation is not a cold start.
    #[serde(default)]
    initialize_asynchronously: bool,
    /// Per-function time limit in ms; `null` falls back to the server's.
    #[schema(minimum = 1, maximum = 300000)]
    timeout_ms: Option<i64>,
}

/// Longest per-function time limit that may be set.
pub const MAX_FUNCTION_TIMEOUT_MS: i64 = 300_000;

pub(super) async fn function_or_404(state: &AppState, tenant: Tenant, id: i64) -> ApiResult<FunctionRecord> {
    state.store.function(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("function", id))
}

async fn function_json(state: &AppState, f: &FunctionRecord) -> ApiResult<FunctionResource> {
    let runtime_version = state.store.runtime(f.application_id).await?.map(|r| r.version).unwrap_or_default();
    Ok(FunctionResource::new(state, f, &runtime_version))
}

#[utoipa::path(get, path = "/v1/runtimes/nodejs/functions", tag = "Chat Runtime", params(PageQuery, ById), responses((status = 200, body = FunctionPage, description = "A HAL page of functions"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// List the runtime's functions.
pub async fn list_functions(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<FunctionPage>> {
    let request = paging.request(&order)?;
    let (functions, total) = state.store.list_functions(tenant.application_id, request).await?;
    let runtime_version = state.store.runtime(tenant.application_id).await?.map(|r| r.version).unwrap_or_default();
    let items = functions.iter().map(|f| FunctionResource::new(&state, f, &runtime_version)).collect();
    Ok(Json(FunctionPage::new(
        items,
        total,
        request,
        &state.href(&listing_path("/v1/runtimes/nodejs/functions", raw.as_deref())),
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateFunctionBody {
    #[serde(rename = "type")]
    #[schema(schema_with = super::triggers::trigger_type_schema)]
    trigger_type: String,
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default, alias = "initialize_asynchronously")]
    initialize_asynchronously: bool,
}

#[utoipa::path(post, path = "/v1/runtimes/nodejs/functions", tag = "Chat Runtime", request_body(content = CreateFunctionBody, content_type = "application/json"), responses((status = 201, body = FunctionResource, description = "The function"), (status = 400, description = "Unknown trigger type or invalid field"), (status = 409, description = "A function for this trigger type exists")), security(("bearer" = [])))]
/// Create a function for a trigger type (one per type per application).
pub async fn create_function(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<CreateFunctionBody>,
) -> ApiResult<(StatusCode, Json<FunctionResource>)> {
    if triggers::trigger_type(&body.trigger_type).is_none() {
        return Err(ApiError::bad_request(format!(
            "invalid field `type`: unknown trigger type {:?}; known types are {}",
            body.trigger_type,
            triggers::known_names()
        )));
    }
    validate_name("name", &body.name)?;
    let f = state
        .store
        .create_function(
            tenant.application_id,
            NewFunction {
                trigger_type: body.trigger_type,
                name: body.name,
                description: body.description,
                initialize_asynchronously: body.initialize_asynchronously,
            },
        )
        .await?;
    state.changed(tenant.application_id);
    Ok((StatusCode::CREATED, Json(function_json(&state, &f).await?)))
}

#[utoipa::path(get, path = "/v1/functions/{id}", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), responses((status = 200, body = FunctionResource, description = "The function"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// Retrieve a function.
pub async fn get_function(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<FunctionResource>> {
    let f = function_or_404(&state, tenant, id).await?;
    Ok(Json(function_json(&state, &f).await?))
}

#[utoipa::path(patch, path = "/v1/functions/{id}", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), request_body(content = FunctionMergePatch, content_type = "application/merge-patch+json"), responses((status = 200, body = FunctionResource, description = "The function"), (status = 400, description = "Invalid field"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// Update a function with a JSON merge patch: `name`, `description`,
/// `enabled`, `initializeAsynchronously`, `timeoutMs` (`null` clears
/// `description` and `timeoutMs`).
pub async fn update_function(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> ApiResult<Json<FunctionResource>> {
    let mut patch = FunctionPatch::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("name", Value::String(name)) => {
                validate_name("name", &name)?;
                patch.name = Some(name);
            }
            ("description", Value::String(d)) => patch.description = Some(Some(d)),
            ("description", Value::Null) => patch.description = Some(None),
            ("enabled", Value::Bool(b)) => patch.enabled = Some(b),
            ("initializeAsynchronously" | "initialize_asynchronously", Value::Bool(b)) => {
                patch.initialize_asynchronously = Some(b)
            }
            ("timeoutMs" | "timeout_ms", Value::Null) => patch.timeout_ms = Some(None),
            ("timeoutMs" | "timeout_ms", Value::Number(n)) => match crate::whole_number::of(&n) {
                Some(ms) if (1..=MAX_FUNCTION_TIMEOUT_MS).contains(&ms) => patch.timeout_ms = Some(Some(ms)),
                _ => {
                    return Err(ApiError::bad_request(format!(
                        "invalid field `timeoutMs`: an integer from 1 to {MAX_FUNCTION_TIMEOUT_MS}"
                    )))
                }
            },
            (
                "name" | "description" | "enabled" | "initializeAsynchronously" | "initialize_asynchronously"
                | "timeoutMs" | "timeout_ms",
                other,
            ) => {
                return Err(ApiError::bad_request(format!("invalid field `{key}`: unexpected value {other}")))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid field `{key}`: only name, description, enabled, initializeAsynchronously and timeoutMs can be changed"
                )))
            }
        }
    }
    let f = state
        .store
        .update_function(tenant.application_id, id, patch)
        .await?
        .ok_or_else(|| ApiError::not_found("function", id))?;
    state.deployed(&f);
    Ok(Json(function_json(&state, &f).await?))
}

#[utoipa::path(delete, path = "/v1/functions/{id}", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), responses((status = 204, description = "Deleted with its versions and invocations"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// Delete a function with its versions and invocation log.
pub async fn delete_function(State(state): State<AppState>, tenant: Tenant, Id(id): Id) -> ApiResult<StatusCode> {
    if state.store.delete_function(tenant.application_id, id).await? {
        state.changed(tenant.application_id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("function", id))
    }
}

#[utoipa::path(get, path = "/v1/functions/{id}/current-version", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), responses((status = 200, body = VersionResource, description = "The version"), (status = 404, description = "No such function or no version")), security(("bearer" = [])))]
/// Retrieve the version currently deployed.
pub async fn get_current_version(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<VersionResource>> {
    let f = function_or_404(&state, tenant, id).await?;
    let version_id = f.current_version_id.ok_or_else(|| ApiError::not_found("current version of function", id))?;
    let v = state
        .store
        .version(tenant.application_id, version_id)
        .await?
        .ok_or_else(|| ApiError::not_found("function version", version_id))?;
    Ok(Json(VersionResource::new(&state, &v)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CurrentVersionBody {
    #[serde(alias = "version_number", deserialize_with = "crate::whole_number::deserialize")]
    #[schema(minimum = 1)]
    version_number: i64,
}

#[utoipa::path(put, path = "/v1/functions/{id}/current-version", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), request_body(content = CurrentVersionBody, content_type = "application/json"), responses((status = 200, body = VersionResource, description = "The version"), (status = 404, description = "No such function or version")), security(("bearer" = [])))]
/// Make an earlier (or later) version current again: rollback.
pub async fn set_current_version(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<CurrentVersionBody>,
) -> ApiResult<Json<VersionResource>> {
    let function = function_or_404(&state, tenant, id).await?;
    let v = state
        .store
        .set_current_version(tenant.application_id, id, body.version_number)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("version of function {id}"), body.version_number))?;
    state.deployed(&function);
    Ok(Json(VersionResource::new(&state, &v)))
}

#[utoipa::path(get, path = "/v1/functions/{id}/versions", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID"), PageQuery, ByVersion), responses((status = 200, body = VersionPage, description = "A HAL page of versions"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// List a function's versions.
pub async fn list_versions(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByVersion>,
) -> ApiResult<Json<VersionPage>> {
    function_or_404(&state, tenant, id).await?;
    let request = paging.request(&order)?;
    let (versions, total) = state.store.list_versions(tenant.application_id, id, request).await?;
    let items = versions.iter().map(|v| VersionResource::new(&state, v)).collect();
    Ok(Json(VersionPage::new(
        items,
        total,
        request,
        &state.href(&listing_path(&format!("/v1/functions/{id}/versions"), raw.as_deref())),
    )))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateVersionBody {
    #[serde(alias = "handler_script")]
    handler_script: String,
}

#[utoipa::path(post, path = "/v1/functions/{id}/versions", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), request_body(content = CreateVersionBody, content_type = "application/json"), responses((status = 201, body = VersionResource, description = "The version, deployed as current"), (status = 400, description = "The script does not compile (line, column); nothing stored"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// Create a version: transpiled and checked, then stored and deployed as
/// current. A script that does not compile is a 400 and nothing is stored.
pub async fn create_version(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<CreateVersionBody>,
) -> ApiResult<(StatusCode, Json<VersionResource>)> {
    let function = function_or_404(&state, tenant, id).await?;
    let specifier = format!("file:///applications/{}/functions/{id}/handler.ts", tenant.application_id);
    let source = body.handler_script;
    let script = tokio::task::spawn_blocking(move || compile(&specifier, &source, ScriptRole::Handler))
        .await
        .map_err(|_| ApiError::internal())?
        .map_err(script_error)?;
    let v = state
        .store
        .create_version(tenant.application_id, id, &script)
        .await?
        .ok_or_else(|| ApiError::not_found("function", id))?;
    state.deployed(&function);
    Ok((StatusCode::CREATED, Json(VersionResource::new(&state, &v))))
}

#[utoipa::path(get, path = "/v1/function-versions/{id}", tag = "Chat Function Versions", params(("id" = i64, Path, description = "Resource ID")), responses((status = 200, body = VersionResource, description = "The version"), (status = 404, description = "No such version")), security(("bearer" = [])))]
/// Retrieve a function version.
pub async fn get_version(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<VersionResource>> {
    let v = state
        .store
        .version(tenant.application_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("function version", id))?;
    Ok(Json(VersionResource::new(&state, &v)))
}

fn invocation_status_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(InvocationState::ALL.map(InvocationState::as_str))
}

/// Which invocations a listing answers. Values arrive as text so that a
/// bad one is refused with a message naming it.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[into_params(rename_all = "camelCase")]
pub struct InvocationQuery {
    /// RUNNING, SUCCEEDED, FAILED or QUEUED.
    #[param(schema_with = invocation_status_schema)]
    status: Option<String>,
    #[param(value_type = Option<i64>)]
    version_number: Option<String>,
    /// RFC 3339.
    #[param(value_type = Option<String>, format = DateTime)]
    start_time: Option<String>,
    /// RFC 3339.
    #[param(value_type = Option<String>, format = DateTime)]
    end_time: Option<String>,
    /// Text in args, result, error or logs.
    query: Option<String>,
    /// `true`: test runs too (hidden otherwise).
    #[param(value_type = Option<bool>)]
    include_tests: Option<String>,
}

#[utoipa::path(get, path = "/v1/functions/{id}/invocations", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID"), PageQuery, ByCreation, InvocationQuery), responses((status = 200, body = InvocationPage, description = "A HAL page of invocations, newest first"), (status = 400, description = "Invalid filter"), (status = 404, description = "No such function")), security(("bearer" = [])))]
/// List a function's invocations, newest first unless sorted otherwise;
/// filters: `status`, `versionNumber`, `startTime`, `endTime`, `query`.
pub async fn list_invocations(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(query): Params<InvocationQuery>,
) -> ApiResult<Json<InvocationPage>> {
    function_or_404(&state, tenant, id).await?;
    let request = paging.newest_first(&order)?;
    let status = match query.status.as_deref() {
        None => None,
        Some(s) if InvocationState::parse(s).is_some() => InvocationState::parse(s),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter `status` must be RUNNING, SUCCEEDED, FAILED or QUEUED, got {other:?}"
            )))
        }
    };
    let version_number = query
        .version_number
        .as_ref()
        .map(|raw| {
            raw.parse::<i64>().map_err(|_| {
                ApiError::bad_request(format!("query parameter `versionNumber` must be an integer, got {raw:?}"))
            })
        })
        .transpose()?;
    let include_tests = match query.include_tests.as_deref() {
        None | Some("false") => false,
        Some("true") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter `includeTests` must be true or false, got {other:?}"
            )))
        }
    };
    let filter = InvocationFilter {
        include_tests,
        status,
        version_number,
        start_time: parse_time("startTime", &query.start_time)?,
        end_time: parse_time("endTime", &query.end_time)?,
        query: query.query.filter(|q| !q.is_empty()),
    };
    let (invocations, total) = state.store.list_invocations(tenant.application_id, id, &filter, request).await?;
    let items = invocations.iter().map(|i| InvocationResource::new(&state, i)).collect();
    Ok(Json(InvocationPage::new(
        items,
        total,
        request,
        &state.href(&listing_path(&format!("/v1/functions/{id}/invocations"), raw.as_deref())),
    )))
}

#[utoipa::path(get, path = "/v1/function-invocations/{id}", tag = "Chat Function Invocations", params(("id" = i64, Path, description = "Resource ID")), responses((status = 200, body = InvocationResource, description = "The invocation with its logs, error and timings"), (status = 404, description = "No such invocation")), security(("bearer" = [])))]
/// Retrieve one invocation with its console output, error and timings.
pub async fn get_invocation(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<InvocationResource>> {
    let i = state
        .store
        .invocation(tenant.application_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("invocation", id))?;
    Ok(Json(InvocationResource::new(&state, &i)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct TestBody {
    /// The event to run the function with.
    #[schema(value_type = Object)]
    event: Value,
    /// A draft to run instead of a deployed version (nothing is stored of it).
    #[serde(default, alias = "handler_script")]
    handler_script: Option<String>,
    /// A deployed version to run instead of the current one.
    #[serde(default, alias = "version_number")]
    version_number: Option<i64>,
}

/// What a test run did.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TestAnswer {
    invocation_id: i64,
    /// SUCCEEDED or FAILED.
    status: &'static str,
    /// The version run; absent for a draft.
    #[serde(skip_serializing_if = "Option::is_none")]
    version_number: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    result: Option<Value>,
    /// `{name, message, stack}`, the stack in the TypeScript's lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    error: Option<Value>,
    #[schema(value_type = Vec<Object>)]
    logs: Value,
    duration_ms: f64,
}

#[utoipa::path(post, path = "/v1/functions/{id}/test", tag = "Chat Functions", params(("id" = i64, Path, description = "Resource ID")), request_body(content = TestBody, content_type = "application/json"), responses((status = 200, body = TestAnswer, description = "The run: its result, or its error with the TypeScript stack, console lines and duration (a failed run is a 200 too)"), (status = 400, description = "The draft does not compile (line, column), or both a draft and a version were given"), (status = 404, description = "No such function, version or runtime")), security(("bearer" = [])))]
/// Run a draft, or a chosen version, of a function against an event without
/// deploying anything, enabled or not. Recorded as a test invocation: the
/// log shows it only with `includeTests=true`.
pub async fn test_function(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<TestBody>,
) -> ApiResult<Json<TestAnswer>> {
    let function = function_or_404(&state, tenant, id).await?;
    let (script, version) = match (body.handler_script, body.version_number) {
        (Some(_), Some(_)) => {
            return Err(ApiError::bad_request("give either `handlerScript` (a draft) or `versionNumber`, not both"))
        }
        (Some(source), None) => {
            let specifier = format!("file:///applications/{}/functions/{id}/draft.ts", tenant.application_id);
            let script = tokio::task::spawn_blocking(move || compile(&specifier, &source, ScriptRole::Handler))
                .await
                .map_err(|_| ApiError::internal())?
                .map_err(script_error)?;
            (script, None)
        }
        (None, number) => {
            let version = match number {
                Some(n) => state.store.version_by_number(tenant.application_id, id, n).await?,
                None => match function.current_version_id {
                    Some(current) => state.store.version(tenant.application_id, current).await?,
                    None => None,
                },
            };
            let version = version.ok_or_else(|| ApiError::not_found("version of function", id))?;
            (version.script, Some((version.id, version.version_number)))
        }
    };
    let ready = state
        .dispatcher
        .ready_for_test(tenant.application_id, id, script, version)
        .await?
        .ok_or_else(|| ApiError::not_found("runtime of application", tenant.application_id))?;
    let event: std::sync::Arc<str> = body.event.to_string().into();
    let ran = state.dispatcher.run(tenant.application_id, &ready, event, crate::dispatch::Attempt::TEST, true).await;
    let outcome = ran.outcome;
    Ok(Json(TestAnswer {
        invocation_id: ran.invocation_id,
        status: match outcome.status {
            crate::engine::InvocationStatus::Succeeded => "SUCCEEDED",
            crate::engine::InvocationStatus::Failed => "FAILED",
        },
        version_number: version.map(|(_, n)| n),
        result: outcome.result.map(|r| serde_json::to_value(r).expect("a result serialises")),
        error: outcome.error.map(|e| serde_json::to_value(e).expect("an error serialises")),
        logs: serde_json::to_value(&outcome.logs).expect("logs serialise"),
        duration_ms: outcome.duration_ms,
    }))
}
