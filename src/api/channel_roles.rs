//! A channel's memberships, moderators and invites; messages' read
//! receipts; reply threads.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Tenant;
use super::channels::{channel_json, channel_or_404, message_page, post_message, MessageQuery, SendMessageBody};
use super::error::{ApiError, ApiResult};
use super::extract::{Id, JsonBody, Params};
use super::hal::{listing_path, ByCreation, ById, PageQuery};
use super::resources::{
    ChannelResource, InvitePage, MembershipPage, MessagePage, MessageResource, ReadReceiptPage, ThreadResource,
    UserPage, UserResource, UserSinceResource,
};
use super::users::resolve_user;
use super::AppState;
use crate::store::{Channel, ChannelType, ChatMessage, MessageFilter, UserSince};

fn since(state: &AppState, entries: &[UserSince], of: &str) -> Vec<UserSinceResource> {
    entries.iter().map(|e| UserSinceResource::new(state, e, of)).collect()
}

/// Moderators and invites are for group channels.
fn group(channel: &Channel, what: &str) -> ApiResult<()> {
    if channel.channel_type == ChannelType::Direct {
        return Err(ApiError::bad_request(format!("a direct channel has no {what}")));
    }
    Ok(())
}

#[utoipa::path(get, path = "/v1/channels/{id}/memberships", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ById), responses((status = 200, body = MembershipPage, description = "A HAL page of the channel's members and when they joined"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List a channel's memberships.
pub async fn list_memberships(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<MembershipPage>> {
    let request = paging.request(&order)?;
    channel_or_404(&state, tenant, id).await?;
    let (entries, total) = state.store.list_memberships(tenant.application_id, id, request).await?;
    let base = state.href(&listing_path(&format!("/v1/channels/{id}/memberships"), raw.as_deref()));
    Ok(Json(MembershipPage::new(since(&state, &entries, &format!("/v1/channels/{id}")), total, request, &base)))
}

#[utoipa::path(get, path = "/v1/channels/{id}/moderators", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ById), responses((status = 200, body = UserPage, description = "A HAL page of the channel's moderators"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List a channel's moderators.
pub async fn list_moderators(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<UserPage>> {
    let request = paging.request(&order)?;
    channel_or_404(&state, tenant, id).await?;
    let (entries, total) = state.store.list_moderators(tenant.application_id, id, request).await?;
    let items = entries.iter().map(|e| UserResource::new(&state, &e.user)).collect();
    let base = state.href(&listing_path(&format!("/v1/channels/{id}/moderators"), raw.as_deref()));
    Ok(Json(UserPage::new(items, total, request, &base)))
}

#[utoipa::path(post, path = "/v1/channels/{id}/moderators", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), request_body(content = Object, description = "A user reference: {\"id\"} or {\"username\"} of a member", content_type = "application/json"), responses((status = 200, body = UserResource, description = "The moderator (making one again changes nothing)"), (status = 400, description = "A direct channel, a bad reference, or not a member"), (status = 404, description = "No such channel or user")), security(("bearer" = [])))]
/// Make a member a moderator of a group channel.
pub async fn add_moderator(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(reference): JsonBody<Value>,
) -> ApiResult<Json<UserResource>> {
    let channel = channel_or_404(&state, tenant, id).await?;
    group(&channel, "moderators")?;
    let user = resolve_user(&state, tenant, "user", &reference).await?;
    if !state.store.is_channel_member(tenant.application_id, id, user.id).await? {
        return Err(ApiError::bad_request(format!("user {} is not a member of channel {id}", user.id)));
    }
    state.store.add_moderator(tenant.application_id, id, user.id).await?;
    Ok(Json(UserResource::new(&state, &user)))
}

#[utoipa::path(delete, path = "/v1/channels/{id}/moderators/{user_id}", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), ("user_id" = i64, Path, description = "User ID of the moderator")), responses((status = 200, body = ChannelResource, description = "The channel"), (status = 404, description = "No such channel, or the user is not a moderator")), security(("bearer" = [])))]
/// Remove a moderator from a group channel (they stay a member).
pub async fn remove_moderator(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<ChannelResource>> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("channel", &id))?;
    let user_id: i64 = user_id.parse().map_err(|_| ApiError::not_found("moderator", &user_id))?;
    let channel = channel_or_404(&state, tenant, id).await?;
    if !state.store.remove_moderator(tenant.application_id, id, user_id).await? {
        return Err(ApiError::not_found("moderator", format!("{user_id} of channel {id}")));
    }
    Ok(Json(channel_json(&state, tenant, &channel).await?))
}

#[utoipa::path(get, path = "/v1/channels/{id}/invites", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ById), responses((status = 200, body = InvitePage, description = "A HAL page of the invites sent to join the channel"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List the invites sent to join a channel.
pub async fn list_invites(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<InvitePage>> {
    let request = paging.request(&order)?;
    channel_or_404(&state, tenant, id).await?;
    let (entries, total) = state.store.list_invites(tenant.application_id, id, request).await?;
    let base = state.href(&listing_path(&format!("/v1/channels/{id}/invites"), raw.as_deref()));
    Ok(Json(InvitePage::new(since(&state, &entries, &format!("/v1/channels/{id}")), total, request, &base)))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InviteBody {
    /// A user reference: `{"id"}` or `{"username"}`.
    #[schema(value_type = Object)]
    user: Value,
}

#[utoipa::path(post, path = "/v1/channels/{id}/invites", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), request_body(content = InviteBody, content_type = "application/json"), responses((status = 201, body = UserSinceResource, description = "The invite"), (status = 200, body = UserSinceResource, description = "The invite sent before"), (status = 400, description = "A direct channel, a bad reference, or already a member"), (status = 404, description = "No such channel or user")), security(("bearer" = [])))]
/// Invite a user to join a group channel.
pub async fn send_invite(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<InviteBody>,
) -> ApiResult<(StatusCode, Json<UserSinceResource>)> {
    let channel = channel_or_404(&state, tenant, id).await?;
    group(&channel, "invites")?;
    let user = resolve_user(&state, tenant, "user", &body.user).await?;
    if state.store.is_channel_member(tenant.application_id, id, user.id).await? {
        return Err(ApiError::bad_request(format!("user {} is already a member of channel {id}", user.id)));
    }
    let (invite_id, created_at, new) = state.store.invite(tenant.application_id, id, user.id).await?;
    let entry = UserSince { id: Some(invite_id), user, created_at };
    let status = if new { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(UserSinceResource::new(&state, &entry, &format!("/v1/channels/{id}")))))
}

async fn message_or_404(state: &AppState, tenant: Tenant, id: i64) -> ApiResult<ChatMessage> {
    state.store.chat_message(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("message", id))
}

#[utoipa::path(get, path = "/v1/messages/{id}/read-receipts", tag = "Messages", params(("id" = i64, Path, description = "Message ID"), PageQuery, ById), responses((status = 200, body = ReadReceiptPage, description = "A HAL page of who read the message, and when"), (status = 404, description = "No such message")), security(("bearer" = [])))]
/// List a message's read receipts.
pub async fn list_read_receipts(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<ReadReceiptPage>> {
    let request = paging.request(&order)?;
    message_or_404(&state, tenant, id).await?;
    let (entries, total) = state.store.list_read_receipts(tenant.application_id, id, request).await?;
    let base = state.href(&listing_path(&format!("/v1/messages/{id}/read-receipts"), raw.as_deref()));
    Ok(Json(ReadReceiptPage::new(since(&state, &entries, &format!("/v1/messages/{id}")), total, request, &base)))
}

#[utoipa::path(post, path = "/v1/messages/{id}/read-receipts", tag = "Messages", params(("id" = i64, Path, description = "Message ID")), request_body(content = InviteBody, description = "The reader: {\"user\": {\"id\"} or {\"username\"}}, a member of the message's channel", content_type = "application/json"), responses((status = 201, body = UserSinceResource, description = "The receipt (reading again keeps the first time)"), (status = 400, description = "A bad reference, or not a member"), (status = 404, description = "No such message or user")), security(("bearer" = [])))]
/// Record that a member read a message (chatfn's own: ChatKitty's clients
/// read through their chat sessions).
pub async fn read_message(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<InviteBody>,
) -> ApiResult<(StatusCode, Json<UserSinceResource>)> {
    let message = message_or_404(&state, tenant, id).await?;
    let user = resolve_user(&state, tenant, "user", &body.user).await?;
    if !state.store.is_channel_member(tenant.application_id, message.channel_id, user.id).await? {
        return Err(ApiError::bad_request(format!(
            "user {} is not a member of channel {}",
            user.id, message.channel_id
        )));
    }
    let created_at = state.store.read_message(tenant.application_id, id, user.id).await?;
    let entry = UserSince { id: None, user, created_at };
    Ok((StatusCode::CREATED, Json(UserSinceResource::new(&state, &entry, &format!("/v1/messages/{id}")))))
}

#[utoipa::path(get, path = "/v1/threads/{id}", tag = "Threads", params(("id" = i64, Path, description = "Reply thread ID: the id of the message it answers")), responses((status = 200, body = ThreadResource, description = "The thread"), (status = 404, description = "No such message")), security(("bearer" = [])))]
/// Retrieve a message's reply thread.
pub async fn get_thread(State(state): State<AppState>, tenant: Tenant, Id(id): Id) -> ApiResult<Json<ThreadResource>> {
    let parent = message_or_404(&state, tenant, id).await?;
    Ok(Json(ThreadResource::new(&state, &parent)))
}

#[utoipa::path(get, path = "/v1/threads/{id}/messages", tag = "Threads", params(("id" = i64, Path, description = "Reply thread ID"), PageQuery, ByCreation, MessageQuery), responses((status = 200, body = MessagePage, description = "A HAL page of the replies, newest first"), (status = 400, description = "A bad or unsupported filter"), (status = 404, description = "No such thread")), security(("bearer" = [])))]
/// List the replies in a thread, newest first.
pub async fn list_thread_messages(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(query): Params<MessageQuery>,
) -> ApiResult<Json<MessagePage>> {
    message_or_404(&state, tenant, id).await?;
    let filter = MessageFilter { thread_of: Some(id), ..query.filter()? };
    let base = listing_path(&format!("/v1/threads/{id}/messages"), raw.as_deref());
    message_page(&state, tenant, &filter, &paging, &order, &base).await
}

#[utoipa::path(post, path = "/v1/threads/{id}/messages", tag = "Threads", params(("id" = i64, Path, description = "Reply thread ID")), request_body(content = SendMessageBody, content_type = "application/json"), responses((status = 201, body = MessageResource, description = "The reply"), (status = 400, description = "Invalid field, or the user is not a member"), (status = 403, description = "The pre-send function refused it"), (status = 404, description = "No such thread or user")), security(("bearer" = [])))]
/// Reply in a message's thread (chatfn's own; the reply is a message of the
/// same channel, with its notifications and functions).
pub async fn reply(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<SendMessageBody>,
) -> ApiResult<(StatusCode, Json<MessageResource>)> {
    let parent = message_or_404(&state, tenant, id).await?;
    if parent.parent_id.is_some() {
        return Err(ApiError::bad_request("a reply has no thread of its own: reply to the message it answers"));
    }
    let channel = channel_or_404(&state, tenant, parent.channel_id).await?;
    post_message(&state, tenant, &channel, Some(parent.id), body).await
}
