//! `/v1/application`: the authenticated application and its settings.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::resources::{ApplicationResource, EgressPolicyResource, SettingsResource};
use super::AppState;
use crate::engine::EgressPolicy;
use crate::store::{Application, TimeoutPolicy, Toggle};

async fn load(state: &AppState, tenant: Tenant) -> ApiResult<Application> {
    state
        .store
        .application(tenant.application_id)
        .await?
        .ok_or_else(|| ApiError::not_found("application", tenant.application_id))
}

#[utoipa::path(get, path = "/v1/application", tag = "Application", responses((status = 200, body = ApplicationResource, description = "The application"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the authenticated application.
pub async fn get_application(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<ApplicationResource>> {
    let app = load(&state, tenant).await?;
    Ok(Json(ApplicationResource::new(&state, &app)))
}

#[utoipa::path(get, path = "/v1/application/settings", tag = "Application", responses((status = 200, body = SettingsResource, description = "The settings"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the authenticated application's settings.
pub async fn get_settings(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<SettingsResource>> {
    let app = load(&state, tenant).await?;
    Ok(Json(SettingsResource::new(&state, &app)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SettingsBody {
    #[serde(alias = "guest_users")]
    guest_users: Toggle,
    #[serde(alias = "user_created_channels")]
    user_created_channels: Toggle,
    /// What a blocking trigger answers when its function times out (chatfn's own setting).
    #[serde(default, alias = "blocking_timeout_policy")]
    blocking_timeout_policy: Option<TimeoutPolicy>,
}

#[utoipa::path(put, path = "/v1/application/settings", tag = "Application", request_body(content = SettingsBody, content_type = "application/json"), responses((status = 200, body = SettingsResource, description = "The settings"), (status = 400, description = "Invalid body"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Update the authenticated application's settings.
pub async fn update_settings(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<SettingsBody>,
) -> ApiResult<Json<SettingsResource>> {
    let app = state
        .store
        .update_settings(
            tenant.application_id,
            body.guest_users,
            body.user_created_channels,
            body.blocking_timeout_policy,
        )
        .await?
        .ok_or_else(|| ApiError::not_found("application", tenant.application_id))?;
    state.changed(tenant.application_id);
    Ok(Json(SettingsResource::new(&state, &app)))
}

#[utoipa::path(get, path = "/v1/application/egress-policy", tag = "Application", responses((status = 200, body = EgressPolicyResource, description = "What the functions' fetch may reach"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the outbound HTTP policy of the application's functions.
pub async fn get_egress_policy(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<EgressPolicyResource>> {
    let app = load(&state, tenant).await?;
    Ok(Json(EgressPolicyResource::new(&state, &app)))
}

#[utoipa::path(put, path = "/v1/application/egress-policy", tag = "Application", request_body(content = EgressPolicy, content_type = "application/json"), responses((status = 200, body = EgressPolicyResource, description = "The policy"), (status = 400, description = "Invalid policy"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Replace the outbound HTTP policy: hosts `fetch` may reach (exact,
/// `*.domain`, `host:port`; private addresses only when named literally),
/// requests per invocation, time limit and answer size per request.
pub async fn update_egress_policy(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(policy): JsonBody<EgressPolicy>,
) -> ApiResult<Json<EgressPolicyResource>> {
    policy.validate().map_err(|e| ApiError::bad_request(format!("invalid field `{e}")))?;
    let app = state
        .store
        .update_egress_policy(tenant.application_id, &policy)
        .await?
        .ok_or_else(|| ApiError::not_found("application", tenant.application_id))?;
    state.changed(tenant.application_id);
    Ok(Json(EgressPolicyResource::new(&state, &app)))
}
