//! `/v1/channels`: the embedded chat platform's channels, their members and
//! their messages; `/v1/messages` for messages across channels.

use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::Value;

use super::auth::Tenant;
use super::chat_events;
use super::error::{ApiError, ApiResult};
use super::extract::{Id, JsonBody, Params};
use super::hal::{listing_path, parse_time, refuse_unsupported, repeated, ByCreation, ById, PageQuery};
use super::resources::properties_value;
use super::resources::{
    ApplicationLink, ChannelPage, ChannelResource, MessagePage, MessageResource, UserPage, UserResource,
};
use super::users::{patched_properties, properties_text, resolve_user, validate_name};
use super::AppState;
use crate::store::{
    Channel, ChannelFilter, ChannelPatch, ChannelType, ChatMessage, MessageFilter, NewChannel, NewChatMessage,
};

/// Users in one direct channel, its creator included (ChatKitty: up to 9 others).
pub const MAX_DIRECT_MEMBERS: usize = 10;
/// Longest message body.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

pub(super) async fn channel_or_404(state: &AppState, tenant: Tenant, id: i64) -> ApiResult<Channel> {
    state.store.channel(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("channel", id))
}

pub(super) async fn channel_json(state: &AppState, tenant: Tenant, c: &Channel) -> ApiResult<ChannelResource> {
    Ok(channels_json(state, tenant, std::slice::from_ref(c)).await?.pop().expect("one channel in, one out"))
}

/// Channels with their creators and a direct channel's members, read in
/// two queries for all of them.
pub(super) async fn channels_json(
    state: &AppState,
    tenant: Tenant,
    channels: &[Channel],
) -> ApiResult<Vec<ChannelResource>> {
    let creator_ids: Vec<i64> = channels.iter().filter_map(|c| c.creator_id).collect();
    let creators = state.store.chat_users_by_id(tenant.application_id, &creator_ids).await?;
    let direct: Vec<i64> = channels.iter().filter(|c| c.channel_type == ChannelType::Direct).map(|c| c.id).collect();
    let members = state.store.members_of_channels(tenant.application_id, &direct).await?;
    Ok(channels
        .iter()
        .map(|c| {
            let creator = c.creator_id.and_then(|id| creators.get(&id));
            let members = (c.channel_type == ChannelType::Direct)
                .then(|| members.get(&c.id).map(Vec::as_slice).unwrap_or_default());
            ChannelResource::new(state, c, creator, members)
        })
        .collect())
}

/// Which channels a listing answers (`members` is read apart: it repeats).
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
#[into_params(rename_all = "camelCase")]
pub struct ChannelQuery {
    /// DIRECT, PUBLIC or PRIVATE.
    #[serde(rename = "type")]
    #[param(rename = "type", schema_with = channel_type_schema)]
    channel_type: Option<String>,
    /// Created at or after this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    start_time: Option<String>,
    /// Created at or before this RFC 3339 time.
    #[param(value_type = Option<String>, format = DateTime)]
    end_time: Option<String>,
    // Not built: refused with 400, left out of the document.
    #[param(ignore)]
    properties: Option<String>,
}

impl ChannelQuery {
    fn filter(&self, raw_query: Option<&str>) -> ApiResult<ChannelFilter> {
        refuse_unsupported("properties", &self.properties, "filter the listed channels' properties yourself")?;
        Ok(ChannelFilter {
            channel_type: self.channel_type.as_deref().map(parse_type).transpose()?,
            member_id: None,
            member_names: repeated(raw_query, "members"),
            start_time: parse_time("startTime", &self.start_time)?,
            end_time: parse_time("endTime", &self.end_time)?,
        })
    }
}

#[utoipa::path(get, path = "/v1/channels", tag = "Channels", params(PageQuery, ById, ChannelQuery, ("members" = Option<Vec<String>>, Query, description = "Only channels all these users (usernames; repeat the parameter or separate with commas) are members of")), responses((status = 200, body = ChannelPage, description = "A HAL page of channels"), (status = 400, description = "A bad type, time or paging, or an unsupported filter")), security(("bearer" = [])))]
/// List the application's channels.
pub async fn list_channels(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
    Params(query): Params<ChannelQuery>,
) -> ApiResult<Json<ChannelPage>> {
    let request = paging.request(&order)?;
    let filter = query.filter(raw.as_deref())?;
    let (channels, total) = state.store.list_channels(tenant.application_id, request, &filter).await?;
    let items = channels_json(&state, tenant, &channels).await?;
    let base = listing_path("/v1/channels", raw.as_deref());
    Ok(Json(ChannelPage::new(items, total, request, &state.href(&base))))
}

#[utoipa::path(get, path = "/v1/users/{id}/channels", tag = "Users", params(("id" = i64, Path, description = "User ID"), PageQuery, ById), responses((status = 200, body = ChannelPage, description = "A HAL page of the channels the user is a member of"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// List the channels a user is a member of.
pub async fn list_user_channels(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<ChannelPage>> {
    let request = paging.request(&order)?;
    super::users::user_or_404(&state, tenant, id).await?;
    let filter = ChannelFilter { member_id: Some(id), ..ChannelFilter::default() };
    let (channels, total) = state.store.list_channels(tenant.application_id, request, &filter).await?;
    let items = channels_json(&state, tenant, &channels).await?;
    let base = listing_path(&format!("/v1/users/{id}/channels"), raw.as_deref());
    Ok(Json(ChannelPage::new(items, total, request, &state.href(&base))))
}

fn channel_type_schema() -> utoipa::openapi::Object {
    super::openapi::string_enum(ChannelType::ALL.map(ChannelType::as_str))
}

/// The fields `PATCH /v1/channels/{id}` may change (for the document).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChannelMergePatch {
    /// A named (PUBLIC or PRIVATE) channel's.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: String,
    /// Merged key by key; `null` in it removes a key.
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
}

/// The fields `PATCH /v1/messages/{id}` may change (for the document).
#[allow(dead_code)]
#[derive(utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MessageMergePatch {
    /// A text message's body (at most 64 KiB as UTF-8).
    #[serde(default)]
    #[schema(min_length = 1)]
    body: String,
    /// Merged key by key; `null` in it removes a key.
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
}

fn parse_type(raw: &str) -> ApiResult<ChannelType> {
    ChannelType::parse(raw)
        .ok_or_else(|| ApiError::bad_request(format!("invalid channel type {raw:?}: use DIRECT, PUBLIC or PRIVATE")))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateChannelBody {
    /// DIRECT, PUBLIC or PRIVATE.
    #[serde(rename = "type")]
    #[schema(schema_with = channel_type_schema)]
    channel_type: String,
    /// Unique name of a PUBLIC or PRIVATE channel; a random one when absent.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    name: Option<String>,
    #[serde(default, alias = "display_name")]
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    display_name: Option<String>,
    /// A user reference (`{"id"}` or `{"username"}`).
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    creator: Option<Value>,
    /// User references.
    #[serde(default)]
    #[schema(value_type = Option<Vec<Object>>)]
    members: Option<Vec<Value>>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
}

#[utoipa::path(post, path = "/v1/channels", tag = "Channels", request_body(content = CreateChannelBody, content_type = "application/json"), responses((status = 201, body = ChannelResource, description = "The channel, created"), (status = 200, body = ChannelResource, description = "The equivalent channel that exists"), (status = 400, description = "Invalid field"), (status = 404, description = "A referenced user does not exist"), (status = 409, description = "A channel of another type has this name")), security(("bearer" = [])))]
/// Create a channel, or return the equivalent existing one (the channel of
/// that name, or the direct channel between those users).
pub async fn create_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    JsonBody(body): JsonBody<CreateChannelBody>,
) -> ApiResult<(StatusCode, Json<ChannelResource>)> {
    let channel_type = parse_type(&body.channel_type)?;
    let creator = match &body.creator {
        Some(reference) => Some(resolve_user(&state, tenant, "creator", reference).await?.id),
        None => None,
    };
    let mut member_ids = Vec::new();
    for (i, reference) in body.members.iter().flatten().enumerate() {
        member_ids.push(resolve_user(&state, tenant, &format!("members[{i}]"), reference).await?.id);
    }
    let (name, display_name) = match channel_type {
        ChannelType::Direct => {
            if body.name.is_some() {
                return Err(ApiError::bad_request("invalid field `name`: direct channels have no name"));
            }
            let mut everyone = member_ids.clone();
            everyone.extend(creator);
            everyone.sort_unstable();
            everyone.dedup();
            if everyone.len() < 2 || everyone.len() > MAX_DIRECT_MEMBERS {
                return Err(ApiError::bad_request(format!(
                    "invalid field `members`: a direct channel has 2 to {MAX_DIRECT_MEMBERS} distinct users"
                )));
            }
            (None, None)
        }
        ChannelType::Public | ChannelType::Private => {
            let name = body.name.unwrap_or_else(uuid_like);
            validate_name("name", &name)?;
            if let Some(display) = &body.display_name {
                validate_name("displayName", display)?;
            }
            let display = body.display_name.unwrap_or_else(|| name.clone());
            (Some(name), Some(display))
        }
    };
    let (channel, created) = state
        .store
        .create_channel(
            tenant.application_id,
            NewChannel {
                channel_type,
                name,
                display_name,
                creator_id: creator,
                member_ids,
                properties: properties_text("properties", body.properties)?,
            },
        )
        .await?;
    let status = if created { StatusCode::CREATED } else { StatusCode::OK };
    Ok((status, Json(channel_json(&state, tenant, &channel).await?)))
}

/// A random channel name (ChatKitty names unnamed channels with a UUID).
fn uuid_like() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = hex::encode(bytes);
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

#[utoipa::path(get, path = "/v1/channels/{id}", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), responses((status = 200, body = ChannelResource, description = "The channel"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// Retrieve a channel.
pub async fn get_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<ChannelResource>> {
    let channel = channel_or_404(&state, tenant, id).await?;
    Ok(Json(channel_json(&state, tenant, &channel).await?))
}

#[utoipa::path(patch, path = "/v1/channels/{id}", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), request_body(content = ChannelMergePatch, description = "JSON merge patch of displayName, properties", content_type = "application/merge-patch+json"), responses((status = 200, body = ChannelResource, description = "The channel"), (status = 400, description = "Invalid field"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// Update a channel's `displayName` or `properties` (merged key by key).
pub async fn update_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<serde_json::Map<String, Value>>,
) -> ApiResult<Json<ChannelResource>> {
    let current = channel_or_404(&state, tenant, id).await?;
    let mut patch = ChannelPatch::default();
    for (key, value) in body {
        match (key.as_str(), value) {
            ("displayName" | "display_name", Value::String(name)) if current.name.is_some() => {
                validate_name("displayName", &name)?;
                patch.display_name = Some(name);
            }
            ("properties", value @ (Value::Object(_) | Value::Null)) => {
                patch.properties = Some(patched_properties(&current.properties, value)?);
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid field `{key}`: only displayName (of a named channel) and properties can be changed"
                )))
            }
        }
    }
    let channel = state
        .store
        .update_channel(tenant.application_id, id, patch)
        .await?
        .ok_or_else(|| ApiError::not_found("channel", id))?;
    Ok(Json(channel_json(&state, tenant, &channel).await?))
}

#[utoipa::path(delete, path = "/v1/channels/{id}", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), responses((status = 200, body = ApplicationLink, description = "Deleted with its members and messages"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// Delete a channel with its memberships and messages.
pub async fn delete_channel(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<ApplicationLink>> {
    if !state.store.delete_channel(tenant.application_id, id).await? {
        return Err(ApiError::not_found("channel", id));
    }
    Ok(Json(ApplicationLink::new(&state)))
}

#[utoipa::path(get, path = "/v1/channels/{id}/members", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ById), responses((status = 200, body = UserPage, description = "A HAL page of members"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List a channel's members.
pub async fn list_members(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<UserPage>> {
    let request = paging.request(&order)?;
    channel_or_404(&state, tenant, id).await?;
    let (users, total) = state.store.list_channel_members(tenant.application_id, id, request).await?;
    let items = users.iter().map(|u| UserResource::new(&state, u)).collect();
    Ok(Json(UserPage::new(
        items,
        total,
        request,
        &state.href(&listing_path(&format!("/v1/channels/{id}/members"), raw.as_deref())),
    )))
}

#[utoipa::path(post, path = "/v1/channels/{id}/members", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), request_body(content = Object, description = "A user reference: {\"id\"} or {\"username\"}", content_type = "application/json"), responses((status = 200, body = ChannelResource, description = "The channel (adding an existing member changes nothing)"), (status = 400, description = "A direct channel, or a bad reference"), (status = 404, description = "No such channel or user")), security(("bearer" = [])))]
/// Make a user a member of a group channel.
pub async fn add_member(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(reference): JsonBody<Value>,
) -> ApiResult<Json<ChannelResource>> {
    let channel = channel_or_404(&state, tenant, id).await?;
    if channel.channel_type == ChannelType::Direct {
        return Err(ApiError::bad_request("members cannot be added to a direct channel"));
    }
    let user = resolve_user(&state, tenant, "body", &reference).await?;
    state.store.add_channel_member(tenant.application_id, channel.id, user.id).await?;
    Ok(Json(channel_json(&state, tenant, &channel).await?))
}

#[utoipa::path(delete, path = "/v1/channels/{id}/members/{user_id}", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), ("user_id" = i64, Path, description = "User ID")), responses((status = 200, body = ChannelResource, description = "The channel"), (status = 400, description = "A direct channel"), (status = 404, description = "No such channel, or the user is not a member")), security(("bearer" = [])))]
/// Remove a member from a group channel.
pub async fn remove_member(
    State(state): State<AppState>,
    tenant: Tenant,
    Path((id, user_id)): Path<(String, String)>,
) -> ApiResult<Json<ChannelResource>> {
    let id: i64 = id.parse().map_err(|_| ApiError::not_found("channel", &id))?;
    let user_id: i64 = user_id.parse().map_err(|_| ApiError::not_found("user", &user_id))?;
    let channel = channel_or_404(&state, tenant, id).await?;
    if channel.channel_type == ChannelType::Direct {
        return Err(ApiError::bad_request("members cannot be removed from a direct channel"));
    }
    if !state.store.remove_channel_member(tenant.application_id, id, user_id).await? {
        return Err(ApiError::not_found(&format!("member of channel {id}: user"), user_id));
    }
    Ok(Json(channel_json(&state, tenant, &channel).await?))
}

pub async fn message_json(state: &AppState, tenant: Tenant, m: &ChatMessage) -> ApiResult<MessageResource> {
    Ok(messages_json(state, tenant, std::slice::from_ref(m)).await?.pop().expect("one message in, one out"))
}

/// Messages with their senders, read in one query for all of them.
async fn messages_json(state: &AppState, tenant: Tenant, messages: &[ChatMessage]) -> ApiResult<Vec<MessageResource>> {
    let sender_ids: Vec<i64> = messages.iter().filter_map(|m| m.user_id).collect();
    let senders = state.store.chat_users_by_id(tenant.application_id, &sender_ids).await?;
    Ok(messages.iter().map(|m| MessageResource::new(state, m, m.user_id.and_then(|id| senders.get(&id)))).collect())
}

/// Which messages a listing answers.
#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessageQuery {
    /// Only messages this user (by username) sent.
    username: Option<String>,
    /// Only messages whose body contains this text (literally, any case).
    query: Option<String>,
    // ChatKitty's cursor paging and unread filter: not built, so refused
    // with 400 and left out of the document (which lists what is accepted).
    #[param(ignore)]
    start: Option<String>,
    #[param(ignore)]
    next: Option<String>,
    #[param(ignore)]
    relation: Option<String>,
    #[param(ignore)]
    unread: Option<String>,
}

impl MessageQuery {
    pub(super) fn filter(self) -> ApiResult<MessageFilter> {
        let cursor = "messages are paged by `page` and `size`; follow the page's _links";
        refuse_unsupported("start", &self.start, cursor)?;
        refuse_unsupported("next", &self.next, cursor)?;
        refuse_unsupported("relation", &self.relation, cursor)?;
        refuse_unsupported("unread", &self.unread, "read receipts are not kept yet")?;
        Ok(MessageFilter {
            sender_name: self.username,
            query: self.query.filter(|q| !q.is_empty()),
            ..MessageFilter::default()
        })
    }
}

pub async fn message_page(
    state: &AppState,
    tenant: Tenant,
    filter: &MessageFilter,
    paging: &PageQuery,
    order: &ByCreation,
    base: &str,
) -> ApiResult<Json<MessagePage>> {
    // Newest first unless `sort=id,asc` is asked for.
    let request = paging.newest_first(order)?;
    let (messages, total) = state.store.list_chat_messages(tenant.application_id, filter, request).await?;
    let items = messages_json(state, tenant, &messages).await?;
    Ok(Json(MessagePage::new(items, total, request, &state.href(base))))
}

#[utoipa::path(get, path = "/v1/channels/{id}/messages", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ByCreation, MessageQuery), responses((status = 200, body = MessagePage, description = "A HAL page of messages, newest first"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List a channel's messages, newest first.
pub async fn list_channel_messages(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(query): Params<MessageQuery>,
) -> ApiResult<Json<MessagePage>> {
    channel_or_404(&state, tenant, id).await?;
    let filter = MessageFilter { channel_id: Some(id), top_level: true, ..query.filter()? };
    let base = listing_path(&format!("/v1/channels/{id}/messages"), raw.as_deref());
    message_page(&state, tenant, &filter, &paging, &order, &base).await
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SendMessageBody {
    /// TEXT.
    #[serde(rename = "type")]
    message_type: String,
    body: String,
    /// Sends on behalf of this user (a member); a system message when absent.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    user: Option<Value>,
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    properties: Option<Value>,
    /// Accepted for compatibility; not stored.
    #[allow(dead_code)]
    #[serde(default, alias = "group_tag")]
    group_tag: Option<String>,
}

#[utoipa::path(post, path = "/v1/channels/{id}/messages", tag = "Channels", params(("id" = i64, Path, description = "Channel ID")), request_body(content = SendMessageBody, content_type = "application/json"), responses((status = 201, body = MessageResource, description = "The message"), (status = 400, description = "Invalid field, or the user is not a member"), (status = 404, description = "No such channel or user")), security(("bearer" = [])))]
/// Send a text message: a system message, or one on behalf of a member.
pub async fn send_message(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(body): JsonBody<SendMessageBody>,
) -> ApiResult<(StatusCode, Json<MessageResource>)> {
    let channel = channel_or_404(&state, tenant, id).await?;
    post_message(&state, tenant, &channel, None, body).await
}

/// Sends a message in a channel (in the reply thread of `parent`, if given):
/// the pre-send function, then the message with its events.
pub(super) async fn post_message(
    state: &AppState,
    tenant: Tenant,
    channel: &Channel,
    parent: Option<i64>,
    body: SendMessageBody,
) -> ApiResult<(StatusCode, Json<MessageResource>)> {
    if body.message_type != "TEXT" {
        return Err(ApiError::bad_request(format!(
            "invalid field `type`: {:?} is not supported; send a TEXT message",
            body.message_type
        )));
    }
    if body.body.is_empty() || body.body.len() > MAX_MESSAGE_BYTES {
        return Err(ApiError::bad_request(format!("invalid field `body`: 1 to {MAX_MESSAGE_BYTES} bytes")));
    }
    let sender = match &body.user {
        Some(reference) => {
            let user = resolve_user(state, tenant, "user", reference).await?;
            if !state.store.is_channel_member(tenant.application_id, channel.id, user.id).await? {
                return Err(ApiError::bad_request(format!(
                    "user {} is not a member of channel {}",
                    user.id, channel.id
                )));
            }
            Some(user)
        }
        None => None,
    };
    let properties = properties_value(&properties_text("properties", body.properties)?);
    let channel_resource = channel_json(state, tenant, channel).await?;
    let mut draft = chat_events::Draft { body: body.body, properties };
    // A user's message passes the pre-send function first; a system message does not.
    if let (Some(user), true) = (&sender, state.dispatcher.platform_is_embedded()) {
        draft = chat_events::moderate(state, tenant, user, &channel_resource, draft).await?;
        if draft.body.is_empty() || draft.body.len() > MAX_MESSAGE_BYTES {
            return Err(ApiError::forbidden(
                "MessageRejectedError",
                format!(
                    "the {} function left a body of {} bytes; 1 to {MAX_MESSAGE_BYTES} are allowed",
                    chat_events::SEND_MESSAGE,
                    draft.body.len()
                ),
            ));
        }
    }
    let new = NewChatMessage {
        parent_id: parent,
        channel_id: channel.id,
        user_id: sender.as_ref().map(|u| u.id),
        body: draft.body,
        properties: properties_text("properties", Some(draft.properties))?,
    };
    let message = chat_events::send(state, tenant, &channel_resource, sender.as_ref(), new).await?;
    Ok((StatusCode::CREATED, Json(message_json(state, tenant, &message).await?)))
}

#[utoipa::path(get, path = "/v1/messages", tag = "Messages", params(PageQuery, ByCreation, MessageQuery), responses((status = 200, body = MessagePage, description = "A HAL page of messages, newest first")), security(("bearer" = [])))]
/// List the application's messages, newest first.
pub async fn list_messages(
    State(state): State<AppState>,
    tenant: Tenant,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(query): Params<MessageQuery>,
) -> ApiResult<Json<MessagePage>> {
    let base = listing_path("/v1/messages", raw.as_deref());
    message_page(&state, tenant, &query.filter()?, &paging, &order, &base).await
}

#[utoipa::path(get, path = "/v1/messages/{id}", tag = "Messages", params(("id" = i64, Path, description = "Message ID")), responses((status = 200, body = MessageResource, description = "The message"), (status = 404, description = "No such message")), security(("bearer" = [])))]
/// Retrieve a message.
pub async fn get_message(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<MessageResource>> {
    let message =
        state.store.chat_message(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("message", id))?;
    Ok(Json(message_json(&state, tenant, &message).await?))
}

#[utoipa::path(delete, path = "/v1/messages/{id}", tag = "Messages", params(("id" = i64, Path, description = "Message ID")), responses((status = 200, body = ApplicationLink, description = "Deleted"), (status = 404, description = "No such message")), security(("bearer" = [])))]
/// Delete a message.
pub async fn delete_message(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
) -> ApiResult<Json<ApplicationLink>> {
    if !state.store.delete_chat_message(tenant.application_id, id).await? {
        return Err(ApiError::not_found("message", id));
    }
    Ok(Json(ApplicationLink::new(&state)))
}

#[utoipa::path(get, path = "/v1/users/{id}/messages", tag = "Users", params(("id" = i64, Path, description = "User ID"), PageQuery, ByCreation, MessageQuery), responses((status = 200, body = MessagePage, description = "A HAL page of the messages the user sent, newest first"), (status = 400, description = "A bad or unsupported filter"), (status = 404, description = "No such user")), security(("bearer" = [])))]
/// List the messages a user sent, newest first.
pub async fn list_user_messages(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    RawQuery(raw): RawQuery,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ByCreation>,
    Params(query): Params<MessageQuery>,
) -> ApiResult<Json<MessagePage>> {
    super::users::user_or_404(&state, tenant, id).await?;
    let filter = MessageFilter { sender_id: Some(id), ..query.filter()? };
    let base = listing_path(&format!("/v1/users/{id}/messages"), raw.as_deref());
    message_page(&state, tenant, &filter, &paging, &order, &base).await
}

#[utoipa::path(delete, path = "/v1/messages", tag = "Messages", responses((status = 200, body = ApplicationLink, description = "Every message of the application deleted")), security(("bearer" = [])))]
/// Delete every message of the application.
pub async fn delete_messages(State(state): State<AppState>, tenant: Tenant) -> ApiResult<Json<ApplicationLink>> {
    state.store.delete_all_chat_messages(tenant.application_id).await?;
    Ok(Json(ApplicationLink::new(&state)))
}

#[utoipa::path(patch, path = "/v1/messages/{id}", tag = "Messages", params(("id" = i64, Path, description = "Message ID")), request_body(content = MessageMergePatch, description = "JSON merge patch of body (a TEXT message's) and properties", content_type = "application/merge-patch+json"), responses((status = 200, body = MessageResource, description = "The message"), (status = 400, description = "Invalid field"), (status = 404, description = "No such message")), security(("bearer" = [])))]
/// Update a message with a JSON merge patch: `body` (of a user's or system
/// text message) and `properties` (merged key by key; `null` removes a key).
pub async fn update_message(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    JsonBody(patch): JsonBody<serde_json::Map<String, Value>>,
) -> ApiResult<Json<MessageResource>> {
    let current =
        state.store.chat_message(tenant.application_id, id).await?.ok_or_else(|| ApiError::not_found("message", id))?;
    let (mut body, mut properties) = (None, None);
    for (key, value) in patch {
        match (key.as_str(), value) {
            ("body", Value::String(text)) => {
                if text.is_empty() || text.len() > MAX_MESSAGE_BYTES {
                    return Err(ApiError::bad_request(format!("invalid field `body`: 1 to {MAX_MESSAGE_BYTES} bytes")));
                }
                body = Some(text);
            }
            ("properties", value @ (Value::Object(_) | Value::Null)) => {
                properties = Some(patched_properties(&current.properties, value)?);
            }
            ("body" | "properties", other) => {
                return Err(ApiError::bad_request(format!("invalid field `{key}`: unexpected value {other}")))
            }
            _ => {
                return Err(ApiError::bad_request(format!(
                    "invalid field `{key}`: only body and properties can be changed"
                )))
            }
        }
    }
    let message = state
        .store
        .update_chat_message(tenant.application_id, id, body.as_deref(), properties.as_deref())
        .await?
        .ok_or_else(|| ApiError::not_found("message", id))?;
    Ok(Json(message_json(&state, tenant, &message).await?))
}

#[utoipa::path(get, path = "/v1/channels/{id}/participants", tag = "Channels", params(("id" = i64, Path, description = "Channel ID"), PageQuery, ById), responses((status = 200, body = UserPage, description = "A HAL page of the members with an active user session"), (status = 404, description = "No such channel")), security(("bearer" = [])))]
/// List a channel's participants: its members that are online.
pub async fn list_participants(
    State(state): State<AppState>,
    tenant: Tenant,
    Id(id): Id,
    Params(paging): Params<PageQuery>,
    Params(order): Params<ById>,
) -> ApiResult<Json<UserPage>> {
    let request = paging.request(&order)?;
    channel_or_404(&state, tenant, id).await?;
    let (users, total) = state.store.list_channel_participants(tenant.application_id, id, request).await?;
    let items = users.iter().map(|u| UserResource::new(&state, u)).collect();
    Ok(Json(UserPage::new(items, total, request, &state.href(&format!("/v1/channels/{id}/participants")))))
}
