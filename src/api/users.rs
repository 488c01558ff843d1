//! `/v1/users`: the embedded chat platform's users.

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::extract::{Id, JsonBody, Params};
use super::hal::{listing_path, refuse_unsupported, ById, PageQuery};
use super::resources::{ApplicationLink, UserPage, UserResource};
use super::AppState;
use crate::store::{ChatUser, ChatUserPatch, NewChatUser};

/// Largest `properties` object, as JSON text.
pub const MAX_PROPERTIES_BYTES: usize = 64 * 1024;

pub use super::resources::properties_value;

/// A `properties` field: an object (or absent), bounded in size.
pub fn properties_text(field: &str, value: Option<Value>) -> ApiResult<String> {
    let value = match value {
        None | Some(Value::Null) => json!({}),
        Some(object @ Value::Object(_)) => object,
        Some(other) => {
            return Err(ApiError::bad_request(format!("invalid field `{field}`: expected an object, got {other}")))
        }
    };
    let text = value.to_string();
    if text.len() > MAX_PROPERTIES_BYTES {
        return Err(ApiError::bad_request(format!(
            "invalid field `{field}`: at most {MAX_PROPERTIES_BYTES} bytes of JSON"
        )));
    }
    Ok(text)
}

/// A display or unique name: 1 to 200 characters, not blank.
pub fn validate_name(field: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 200 {
        return Err(ApiError::bad_request(format!("invalid field `{field}`: must be 1 to 200 characters")));
    }
    Ok(())
}

/// RFC 7396 JSON merge patch of `patch` onto `target`.
fn merge_patch(target: &mut Value, patch: Value) {
    match patch {
        Value::Object(fields) => {
            if !target.is_object() {
                *target = json!({});
            }
            let object = target.as_object_mut().expect("an object");
            for (key, value) in fields {
                if value.is_null() {
                    object.remove(&key);
                } else {
                    merge_patch(object.entry(key).or_insert(Value::Null), value);
                }
            }
        }
        other => *target = other,
    }
}

/// Stored `properties` with a merge patch applied key by key (`null` keeps them).
pub fn patched_properties(current: &str, patch: Value) -> ApiResult<String> {
    let mut merged = properties_value(current);
    merge_patch(&mut merged, if patch.is_null() { json!({}) } else { patch });
    properties_text("properties", Some(merged))
}

/// A ChatKitty user reference: `{"id": 1}` or `{"username": "jane"}`.
pub async fn resolve_user(state: &AppState, tenant: Tenant, field: &str, reference: &Value) -> ApiResult<ChatUser> {
    let store = &state.store;
    let found = match (reference.get("id"), reference.get("username").or_else(|| reference.get("name"))) {
        (Some(Value::Number(id)), _) => match id.as_i64() {
            Some(id) => {
                store.chat_user(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("user", id))
            }
            None => Err(ApiError::bad_request(format!("invalid field `{field}.id`: expected an integer"))),
        },
        (_, Some(Value::String(name))) => store
            .chat_user_by_name(tenant.application_id, name)
            .await?
            .ok_or_else(|| ApiError::not_found("user", format!("{name:?}"))),
        _ => Err(ApiError::bad_request(format!(
            "invalid field `{field}`: a user reference is {{\"id\": number}} or {{\"username\": string}}"
        ))),
    };
    found
}

pub async fn user_or_404(state: &AppState, tenant: Tenant, id: i64) -> ApiResult<ChatUser> {
    state.store.chat_user(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("user", id))
}

/// Which users a listing answers.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserFilter {
    /// Only the user with this name.
    name: Option<String>,
    // Not built: refused with 400, left out of the document.
    #[param(ignore)]
    properties: Option<String>,
}

#[utoipa::path(get, path = "/v1/users", tag = "Users", params(PageQuery, ById, UserFilter), responses((status = 200, body = UserPage, description = "A HAL page of users"), (status = 401, description = "Missing or bad token")), security(("bearer" = [])))]
/// List the application's users.
pub async fn list_users(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
    Params(filter): Params<UserFilter>,
) -> ApiResult<Json<UserPage>> {
    let request = paging.request(&order)?;
    refuse_unsupported("properties", &filter.properties, "filter the listed users' properties yourself")?;
    let name = filter.name.as_deref();
    let (users, total) = state.store.list_chat_users(tenant.application_id, request, name).await?;
    let items = users.iter().map(|u| UserResource::new(&state, u)).collect();
    let base = listing_path("/v1/users", raw.as_deref());
    Ok(Json(UserPage::new(items, total, request, &state.href(&base))))
}

#[utoipa::path(head, path = "/v1/users", tag = "Users", params(("name" = String, Query, description = "The user's unique name")), responses((status = 200, description = "A user with this name exists"), (status = 404, description = "No user has this name")), security(("bearer" = [])))]
/// Check whether a user exists (ChatKitty's `getUserExists`).
pub async fn check_user_exists(
    State(state): State<AppState>,
    tenant: Tenant,
    Params(filter): Params<UserFilter>,
) -> ApiResult<StatusCode> {
    let name = filter.name.as_ref().ok_or_else(|| ApiError::bad_request("query parameter `name` is required"))?;
    match state.store.chat_user_by_name(tenant.application_id, name).await? {
        Some(_) => Ok(StatusCode::OK),
        None => Err(ApiError::not_found("user", format!("{name:?}"))),
    }
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateUserBody {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: String,
    /// Defaults to `name`.
    #[serde(default, alias = "display_name")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: Option<String>,
    #[serde(default, alias = "is_guest")]
    is_guest: bool,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
}

#[utoipa::path(post, path = "/v1/users", tag = "Users", request_body(content = CreateUserBody, content_type = "application/json"), responses((status = 201, body = UserResource, description = "The user"), (status = 400, description = "Invalid field"), (status = 409, description = "A user with this name exists")), security(("bearer" = [])))]
/// Create a user.
pub async fn create_user(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<CreateUserBody>,
) -> ApiResult<(StatusCode, Json<UserResource>)> {
    validate_name("name", &body.name)?;
    let display_name = body.display_name.unwrap_or_else(|| body.name.clone());
    validate_name("displayName", &display_name)?;
    let user = state
        .store
        .create_chat_user(
            tenant.application_id,
            NewChatUser {
                name: body.name,
                display_name,
                is_guest: body.is_guest,
                properties: properties_text("properties", body.properties)?,
            },
        )
        .await?;
    Ok((StatusCode::CREATED, Json(UserResource::new(&state, &user))))
}

#[utoipa::path(get, path = "/v1/users/{id}", tag = "Users", params(("id" = i64, Path, description = "User ID")), responses((status = 200, body = UserResource, description = "The user"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// Retrieve a user.
pub async fn get_user(State(state): State<AppState>, tenant: Tenant, Id(id): Id) -> ApiResult<Json<UserResource>> {
    let user = user_or_404(&state, tenant, id).await?;
    Ok(Json(UserResource::new(&state, &user)))
}

/// The fields `PATCH /v1/users/{id}` may change (for the document: the
/// handler reads the patch key by key).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UserMergePatch {
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: String,
    #[serde(default)]
    is_guest: bool,
    /// Merged key by key; `null` in it removes a key, `null` for it keeps them.
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
}

#[utoipa::path(patch, path = "/v1/users/{id}", tag = "Users", params(("id" = i64, Path, description = "User ID")), request_body(content = UserMergePatch, description = "JSON merge patch of displayName, isGuest, properties", content_type = "application/merge-patch+json"), responses((status = 200, body = UserResource, description = "The user"), (status = 400, description = "Invalid field"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// Update a user with a JSON merge patch: `displayName`, `isGuest`,
/// `properties` (merged key by key; `null` removes a key).
pub async fn update_user(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> ApiResult<Json<UserResource>> {
    let current = user_or_404(&state, tenant, id).await?;
    let mut patch = ChatUserPatch::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("displayName" | "display_name", Value::String(name)) => {
                validate_name("displayName", &name)?;
                patch.display_name = Some(name);
            }
            ("isGuest" | "is_guest", Value::Bool(b)) => patch.is_guest = Some(b),
            ("properties", value @ (Value::Object(_) | Value::Null)) => {
                patch.properties = Some(patched_properties(&current.properties, value)?);
            }
            ("displayName" | "display_name" | "isGuest" | "is_guest" | "properties", other) => {
                return Err(ApiError::bad_request(format!("invalid field `{key}`: unexpected value {other}")))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid field `{key}`: only displayName, isGuest and properties can be changed"
                )))
            }
        }
    }
    let user = state
        .store
        .update_chat_user(tenant.application_id, id, patch)
        .await?
        .ok_or_else(|| ApiError::not_found("user", id))?;
    Ok(Json(UserResource::new(&state, &user)))
}

#[utoipa::path(delete, path = "/v1/users/{id}", tag = "Users", params(("id" = i64, Path, description = "User ID")), responses((status = 200, body = ApplicationLink, description = "Deleted; a link to the application"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// Delete a user and their channel memberships.
pub async fn delete_user(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<ApplicationLink>> {
    if !state.store.delete_chat_user(tenant.application_id, id).await? {
        return Err(ApiError::not_found("user", id));
    }
    Ok(Json(ApplicationLink::new(&state)))
}
