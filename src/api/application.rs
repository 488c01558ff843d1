//! `/v1/application`: the authenticated application and its settings.

use axum::extract::State;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::JsonBody;
use super::hal::{link, time};
use super::AppState;
use crate::store::{Application, TimeoutPolicy, Toggle};

async fn load(state: &AppState, tenant: Tenant) -> ApiResult<Application> {
    state
        .store
        .application(tenant.application_id)
        .await?
        .ok_or_else(|| ApiError::not_found("application", tenant.application_id))
}

#[utoipa::path(get, path = "/v1/application", tag = "Application", responses((status = 200, description = "The application"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the authenticated application.
pub async fn get_application(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<Value>> {
    let app = load(&state, tenant).await?;
    Ok(Json(json!({
        "id": app.id,
        "name": app.name,
        "key": app.client_id,
        "createdTime": time(app.created_at),
        "properties": {},
        "_links": { "self": link(state.href("/v1/application")), "settings": link(state.href("/v1/application/settings")) },
    })))
}

fn settings(state: &AppState, app: &Application) -> Value {
    json!({
        "guestUsers": app.guest_users,
        "userCreatedChannels": app.user_created_channels,
        "blockingTimeoutPolicy": app.blocking_timeout_policy,
        "features": { "guestUsers": app.guest_users, "userCreatedChannels": app.user_created_channels },
        "_links": { "self": link(state.href("/v1/application/settings")) },
    })
}

#[utoipa::path(get, path = "/v1/application/settings", tag = "Application", responses((status = 200, description = "The settings"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Retrieve the authenticated application's settings.
pub async fn get_settings(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<Value>> {
    let app = load(&state, tenant).await?;
    Ok(Json(settings(&state, &app)))
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

#[utoipa::path(put, path = "/v1/application/settings", tag = "Application", request_body(content = SettingsBody, content_type = "application/json"), responses((status = 200, description = "The settings"), (status = 400, description = "Invalid body"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// Update the authenticated application's settings.
pub async fn update_settings(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<SettingsBody>,
) -> ApiResult<Json<Value>> {
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
    Ok(Json(settings(&state, &app)))
}
