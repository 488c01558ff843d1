//! A user's notifications (`/v1/users/{id}/notifications`) and user
//! sessions (`/v1/user-sessions`) on the embedded platform.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;

use super::auth::Tenant;
use super::channels::channels_json;
use super::error::{ApiError, ApiResult};
use super::extract::{Id, Params};
use super::hal::{query_integer, ByCreation, PageQuery, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use super::resources::{
    CursorInfo, CursorLinks, EmbeddedNotifications, Link, NotificationPage, NotificationResource, UserSessionPage,
    UserSessionResource,
};
use super::users::user_or_404;
use super::AppState;
use crate::store::{Cursor, Notification, SessionState, UserSession};

/// A cursor page of notifications, as ChatKitty's pagination engine asks
/// for one: `size`, and the `start`/`next`/`relation` its links carry.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// The size of the page (default 25, at most 100).
    #[param(value_type = Option<i64>, minimum = 1)]
    size: Option<String>,
    /// Start cursor: set by the page's links.
    #[param(value_type = Option<i64>, minimum = 0)]
    start: Option<String>,
    /// Next cursor: set by the page's links (taken over `start` unless
    /// `relation` is PREVIOUS).
    #[param(value_type = Option<i64>, minimum = 0)]
    next: Option<String>,
    /// SELF, PREVIOUS or NEXT: set by the page's links. PREVIOUS pages
    /// after `start`; otherwise `next` pages before it, `start` at or
    /// before it.
    #[param(schema_with = relation_schema)]
    relation: Option<String>,
}

fn relation_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(["SELF", "PREVIOUS", "NEXT"])
}

impl NotificationQuery {
    fn cursor(&self) -> ApiResult<(i64, Cursor)> {
        let size = query_integer("size", &self.size, 1)?.unwrap_or(DEFAULT_PAGE_SIZE).min(MAX_PAGE_SIZE);
        let (start, next) = (query_integer("start", &self.start, 0)?, query_integer("next", &self.next, 0)?);
        let relation = self.relation.as_deref();
        if let Some(other) = relation.filter(|r| !matches!(*r, "SELF" | "PREVIOUS" | "NEXT")) {
            return Err(ApiError::bad_request(format!(
                "query parameter `relation` must be SELF, PREVIOUS or NEXT, got {other:?}"
            )));
        }
        // The links only ever carry one of them; any mix still names a page.
        let cursor = match (relation, start, next) {
            (Some("PREVIOUS"), Some(start), _) => Cursor::After(start),
            (_, _, Some(next)) => Cursor::Before(next),
            (_, Some(start), None) => Cursor::AtOrBefore(start),
            (_, None, None) => Cursor::Newest,
        };
        Ok((size, cursor))
    }
}

/// Notifications with their channels (three queries for a page).
async fn notifications_json(
    state: &AppState,
    tenant: Tenant,
    notifications: &[Notification],
) -> ApiResult<Vec<NotificationResource>> {
    let mut ids: Vec<i64> = notifications.iter().filter_map(|n| n.channel_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let channels = state.store.channels_by_id(tenant.application_id, &ids).await?;
    let resources = channels_json(state, tenant, &channels).await?;
    let by_id: HashMap<i64, _> = resources.into_iter().map(|c| (c.id, c)).collect();
    Ok(notifications
        .iter()
        .map(|n| NotificationResource::new(state, n, n.channel_id.and_then(|id| by_id.get(&id).cloned())))
        .collect())
}

#[utoipa::path(get, path = "/v1/users/{id}/notifications", tag = "Users", params(("id" = i64, Path, description = "User ID"), NotificationQuery), responses((status = 200, body = NotificationPage, description = "A cursor page of the user's notifications, newest first"), (status = 400, description = "A bad size or cursor"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// List a user's notifications, newest first.
pub async fn list_notifications(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    Params(query): Params<NotificationQuery>,
) -> ApiResult<Json<NotificationPage>> {
    let (size, cursor) = query.cursor()?;
    user_or_404(&state, tenant, id).await?;
    let (found, more) = state.store.list_notifications(tenant.application_id, id, size, cursor).await?;
    let base = state.href(&format!("/v1/users/{id}/notifications?size={size}"));
    let this = match cursor {
        Cursor::Newest => base.clone(),
        Cursor::Before(n) => format!("{base}&next={n}&relation=NEXT"),
        Cursor::AtOrBefore(n) => format!("{base}&start={n}&relation=SELF"),
        Cursor::After(n) => format!("{base}&start={n}&relation=PREVIOUS"),
    };
    // Older ones follow the last; newer ones come before the first.
    let older = match cursor {
        Cursor::After(_) => !found.is_empty(),
        _ => more,
    };
    let newer = match cursor {
        Cursor::Newest => false,
        Cursor::After(_) => more,
        _ => !found.is_empty(),
    };
    let links = CursorLinks {
        this: Link { href: this },
        next: found.last().filter(|_| older).map(|n| Link { href: format!("{base}&next={}&relation=NEXT", n.id) }),
        prev: found
            .first()
            .filter(|_| newer)
            .map(|n| Link { href: format!("{base}&start={}&relation=PREVIOUS", n.id) }),
    };
    let notifications = notifications_json(&state, tenant, &found).await?;
    Ok(Json(NotificationPage { embedded: EmbeddedNotifications { notifications }, links, page: CursorInfo { size } }))
}

#[utoipa::path(post, path = "/v1/users/{id}/notifications/{notification_id}/read", tag = "Users", params(("id" = i64, Path, description = "User ID"), ("notification_id" = i64, Path, description = "Notification ID")), responses((status = 200, body = NotificationResource, description = "The notification, read (a second read keeps the first time)"), (status = 404, description = "No such user or notification")), security(("bearer" = [])))]
/// Mark a user's notification read.
pub async fn read_notification(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((id, notification_id)): Path<(String, String)>,
) -> ApiResult<Json<NotificationResource>> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("user", &id))?;
    let notification_id: i64 =
        notification_id.parse().map_err(|_| ApiError::not_found("notification", &notification_id))?;
    user_or_404(&state, tenant, id).await?;
    let read = state
        .store
        .read_notification(tenant.application_id, id, notification_id)
        .await?
        .ok_or_else(|| ApiError::not_found("notification", notification_id))?;
    let mut resources = notifications_json(&state, tenant, std::slice::from_ref(&read)).await?;
    Ok(Json(resources.pop().expect("one notification in, one out")))
}

fn session_state_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(["ACTIVE", "ENDED"])
}

/// Which sessions a listing answers.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    /// ACTIVE or ENDED (ended, or expired).
    #[param(schema_with = session_state_schema)]
    state: Option<String>,
}

/// Sessions with their users (one query for a page).
async fn sessions_json(
    state: &AppState,
    tenant: Tenant,
    sessions: &[UserSession],
) -> ApiResult<Vec<UserSessionResource>> {
    let ids: Vec<i64> = sessions.iter().map(|s| s.user_id).collect();
    let users = state.store.chat_users_by_id(tenant.application_id, &ids).await?;
    Ok(sessions.iter().map(|s| UserSessionResource::new(state, s, users.get(&s.user_id))).collect())
}

#[utoipa::path(get, path = "/v1/user-sessions", tag = "User Sessions", params(PageQuery, ByCreation, SessionFilter), responses((status = 200, body = UserSessionPage, description = "A HAL page of user sessions"), (status = 400, description = "A bad state or paging")), security(("bearer" = [])))]
/// List the application's user sessions (started by allowed
/// `user.attempted.start_session` calls).
pub async fn list_user_sessions(
    State(state): State<AppState>,
    tenant: Tenant,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(filter): Params<SessionFilter>,
) -> ApiResult<Json<UserSessionPage>> {
    let request = paging.request(&order)?;
    let wanted = match filter.state.as_deref() {
        None => None,
        Some("ACTIVE") => Some(SessionState::Active),
        Some("ENDED") => Some(SessionState::Ended),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "query parameter `state` must be ACTIVE or ENDED, got {other:?}"
            )))
        }
    };
    let (sessions, total) = state.store.list_user_sessions(tenant.application_id, wanted, request).await?;
    let base = match filter.state.as_deref() {
        Some(s) => format!("/v1/user-sessions?state={s}"),
        None => "/v1/user-sessions".to_string(),
    };
    let items = sessions_json(&state, tenant, &sessions).await?;
    Ok(Json(UserSessionPage::new(items, total, request, &state.href(&base))))
}

#[utoipa::path(delete, path = "/v1/user-sessions/{id}", tag = "User Sessions", params(("id" = i64, Path, description = "User session ID")), responses((status = 200, body = UserSessionResource, description = "The session, ended"), (status = 404, description = "No such session")), security(("bearer" = [])))]
/// End a user session (the user goes offline unless another is active).
pub async fn end_user_session(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<UserSessionResource>> {
    let ended = state
        .store
        .end_user_session(tenant.application_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("user session", id))?;
    let mut resources = sessions_json(&state, tenant, std::slice::from_ref(&ended)).await?;
    Ok(Json(resources.pop().expect("one session in, one out")))
}

#[utoipa::path(head, path = "/v1/users/{id}/sessions", tag = "User Sessions", params(("id" = i64, Path, description = "User ID")), responses((status = 200, description = "The user has an active session"), (status = 404, description = "No such user, or no active session")), security(("bearer" = [])))]
/// Whether a user has an active session (ChatKitty's `getActiveSessionExists`).
pub async fn check_active_session(State(state): State<AppState>, tenant: Tenant, Id(id): Id) -> ApiResult<StatusCode> {
    let user = user_or_404(&state, tenant, id).await?;
    if state.store.has_active_session(tenant.application_id, user.id).await? {
        Ok(StatusCode::OK)
    } else {
        Err(ApiError::not_found("active session of user", user.id))
    }
}
