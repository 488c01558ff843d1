//! `/v1/runtimes/nodejs`: the application's chat runtime.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::resources::{InstallProgressResource, RuntimeResource};
use super::AppState;
use crate::engine::script::{compile, ScriptRole};
use crate::npm::Dependency;
use crate::store::{RuntimeChange, RuntimeRecord};

pub const MAX_ENV_VARS: usize = 200;
/// Longest value, in characters (what JSON Schema's maxLength counts): at
/// most 32 KiB as UTF-8.
pub const MAX_ENV_VALUE_CHARS: usize = 8 * 1024;
pub const MAX_DEPENDENCIES: usize = 100;

fn respond(state: &AppState, tenant: Tenant, runtime: Option<RuntimeRecord>) -> ApiResult<Json<RuntimeResource>> {
    let runtime = runtime.ok_or_else(|| ApiError::not_found("runtime of application", tenant.application_id))?;
    Ok(Json(RuntimeResource::new(state, &runtime)))
}

#[utoipa::path(get, path = "/v1/runtimes/nodejs", tag = "Chat Runtime", responses((status = 200, body = RuntimeResource, description = "The runtime"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the NodeJS chat runtime.
pub async fn get_runtime(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<RuntimeResource>> {
    let runtime = state.store.runtime(tenant.application_id).await?;
    respond(&state, tenant, runtime)
}

/// A change to the runtime: the dispatcher stops using what it resolved
/// (and warms the functions that ask for it).
fn respond_changed(
    state: &AppState,
    tenant: Tenant,
    runtime: Option<RuntimeRecord>,
) -> ApiResult<Json<RuntimeResource>> {
    state.runtime_changed(tenant.application_id);
    respond(state, tenant, runtime)
}

/// npm's package name rules: at most 214 characters, lowercase, URL-safe,
/// optionally scoped (`@scope/name`), not starting with `.` or `_`.
fn validate_package_name(name: &str) -> Result<(), String> {
    let bare = match name.strip_prefix('@') {
        Some(scoped) => {
            let (scope, rest) = scoped.split_once('/').ok_or("a scoped name is @scope/name")?;
            if scope.is_empty() {
                return Err("the scope is empty".into());
            }
            if !scope.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c)) {
                return Err("the scope has characters npm does not allow".into());
            }
            rest
        }
        None => name,
    };
    if name.len() > 214 || bare.is_empty() {
        return Err("must be 1 to 214 characters".into());
    }
    if bare.starts_with('.') || bare.starts_with('_') {
        return Err("must not start with . or _".into());
    }
    if !bare.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._~".contains(c)) {
        return Err("use lowercase letters, digits and - . _ ~".into());
    }
    Ok(())
}

#[utoipa::path(put, path = "/v1/runtimes/nodejs/dependencies", tag = "Chat Runtime", request_body(content = Vec<Dependency>, content_type = "application/json"), responses((status = 200, body = RuntimeResource, description = "The runtime, with the tree installed"), (status = 400, description = "A name or npm range is invalid, no version matches, or the tree is over a limit"), (status = 401, description = "Missing or bad token"), (status = 502, description = "The registry failed or served a tarball that fails its integrity check"), (status = 503, description = "Offline and not in the cache"), (status = 504, description = "The install took longer than allowed")), security(("bearer" = [])))]
/// Update the runtime's NPM dependencies: resolves them (npm ranges and
/// dist-tags) with their whole tree, fetches and verifies every tarball,
/// and records the lockfile with the new runtime version. Synchronous,
/// bounded in time; on any failure the runtime is unchanged.
pub async fn update_dependencies(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(deps): JsonBody<Vec<Dependency>>,
) -> ApiResult<Json<RuntimeResource>> {
    if deps.len() > MAX_DEPENDENCIES {
        return Err(ApiError::bad_request(format!("at most {MAX_DEPENDENCIES} dependencies")));
    }
    let mut seen = std::collections::HashSet::new();
    for (i, dep) in deps.iter().enumerate() {
        validate_package_name(&dep.name).map_err(|e| {
            ApiError::bad_request(format!("invalid field `[{i}].name`: {:?} is not an npm package name: {e}", dep.name))
        })?;
        deno_semver::VersionReq::parse_from_npm(&dep.version).map_err(|e| {
            ApiError::bad_request(format!(
                "invalid field `[{i}].version`: {:?} is not an npm version, range or tag: {e}",
                dep.version
            ))
        })?;
        if !seen.insert(dep.name.as_str()) {
            return Err(ApiError::bad_request(format!("invalid field `[{i}].name`: {:?} is listed twice", dep.name)));
        }
    }
    let progress = Arc::new(crate::npm::InstallProgress::default());
    {
        let mut installs = state.installs.lock();
        if installs.contains_key(&tenant.application_id) {
            return Err(ApiError::conflict("an install of this runtime's dependencies is already running"));
        }
        installs.insert(tenant.application_id, progress.clone());
    }
    // Removed however this handler ends (the client may go away mid-install).
    let _running = InstallGuard { state: &state, application_id: tenant.application_id };
    let started = std::time::Instant::now();
    let install = tokio::time::timeout(state.config.install_timeout, state.npm.install(&deps, &progress)).await;
    let outcome = match &install {
        Ok(Ok(_)) => "installed",
        Ok(Err(_)) => "failed",
        Err(_) => "timed_out",
    };
    state.dispatcher.metrics().npm_install(outcome, started.elapsed());
    let lockfile = match install {
        Ok(result) => result?,
        Err(_) => {
            return Err(ApiError::timed_out(
                "InstallTimeoutError",
                format!(
                    "installing the dependencies took longer than {} s; nothing was changed",
                    state.config.install_timeout.as_secs()
                ),
            ))
        }
    };
    let runtime =
        state.store.update_runtime(tenant.application_id, RuntimeChange::Dependencies(deps, lockfile)).await?;
    respond_changed(&state, tenant, runtime)
}

struct InstallGuard<'a> {
    state: &'a AppState,
    application_id: i64,
}

impl Drop for InstallGuard<'_> {
    fn drop(&mut self) {
        self.state.installs.lock().remove(&self.application_id);
    }
}

#[utoipa::path(get, path = "/v1/runtimes/nodejs/dependencies/install", tag = "Chat Runtime", responses((status = 200, body = InstallProgressResource, description = "The install in progress"), (status = 404, description = "No install is running")), security(("bearer" = [])))]
/// Progress of the dependency install running for this runtime (a
/// `PUT /v1/runtimes/nodejs/dependencies` that has not answered yet).
pub async fn get_install_progress(
    State(state): State<AppState>,
    tenant: Tenant,
) -> ApiResult<Json<InstallProgressResource>> {
    let progress = state.installs.lock().get(&tenant.application_id).cloned();
    match progress {
        Some(progress) => Ok(Json(InstallProgressResource::new(&progress))),
        None => Err(ApiError::not_found("running install of the runtime of application", tenant.application_id)),
    }
}

/// `PUT .../environment-variables`' body, for the document: names as
/// `validate_env_name` allows them, string values.
pub struct EnvironmentVariablesBody;

impl utoipa::PartialSchema for EnvironmentVariablesBody {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        let name = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[A-Za-z_][A-Za-z0-9_]*$"))
            .max_length(Some(crate::MAX_ENV_NAME_LEN));
        let value = ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_ENV_VALUE_CHARS));
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .property_names(Some(name))
            .additional_properties(Some(value))
            .max_properties(Some(MAX_ENV_VARS))
            .into()
    }
}

impl utoipa::ToSchema for EnvironmentVariablesBody {}

#[utoipa::path(put, path = "/v1/runtimes/nodejs/environment-variables", tag = "Chat Runtime", request_body(content = EnvironmentVariablesBody, content_type = "application/json"), responses((status = 200, body = RuntimeResource, description = "The runtime"), (status = 400, description = "A name or value is invalid"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Update the runtime's environment variables.
pub async fn update_environment_variables(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(vars): JsonBody<BTreeMap<String, Value>>,
) -> ApiResult<Json<RuntimeResource>> {
    if vars.len() > MAX_ENV_VARS {
        return Err(ApiError::bad_request(format!("at most {MAX_ENV_VARS} environment variables")));
    }
    let mut env = BTreeMap::new();
    for (name, value) in vars {
        crate::validate_env_name(&name).map_err(|e| ApiError::bad_request(format!("invalid field `{name}`: {e}")))?;
        let value = match value {
            Value::String(s) => s,
            other => {
                return Err(ApiError::bad_request(format!(
                    "invalid field `{name}`: environment variable values are strings, got {other}"
                )))
            }
        };
        if value.chars().count() > MAX_ENV_VALUE_CHARS {
            return Err(ApiError::bad_request(format!(
                "invalid field `{name}`: longer than {MAX_ENV_VALUE_CHARS} characters"
            )));
        }
        env.insert(name, value);
    }
    let runtime = state.store.update_runtime(tenant.application_id, RuntimeChange::EnvironmentVariables(env)).await?;
    respond_changed(&state, tenant, runtime)
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptBody {
    script: String,
}

#[utoipa::path(put, path = "/v1/runtimes/nodejs/initialization-script", tag = "Chat Runtime", request_body(content = ScriptBody, content_type = "application/json"), responses((status = 200, body = RuntimeResource, description = "The runtime"), (status = 400, description = "The script does not compile (line, column)"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Update the runtime's initialization script: transpiled and checked now;
/// a script that does not compile is refused and nothing changes.
pub async fn update_initialization_script(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<ScriptBody>,
) -> ApiResult<Json<RuntimeResource>> {
    let compiled = if body.script.trim().is_empty() {
        None
    } else {
        let specifier = format!("file:///applications/{}/runtime/init.ts", tenant.application_id);
        Some(compile(&specifier, &body.script, ScriptRole::Initialization).map_err(script_error)?)
    };
    let runtime = state
        .store
        .update_runtime(tenant.application_id, RuntimeChange::InitializationScript(body.script, compiled))
        .await?;
    respond_changed(&state, tenant, runtime)
}

/// A script that does not compile: 400 with the position in the author's source.
pub fn script_error(e: crate::engine::ScriptError) -> ApiError {
    let message = if e.line > 0 {
        format!("the script does not compile: {} at line {}, column {}", e.message, e.line, e.column)
    } else {
        format!("the script was refused: {}", e.message)
    };
    ApiError::bad_request(message).with_details(json!({ "line": e.line, "column": e.column }))
}
