//! What happens when chat happens on the embedded platform: a message a
//! user sends first passes the application's `user.attempted.send_message`
//! function (which may refuse or rewrite it); once stored, with it in one
//! transaction, each other member of the channel gets a notification, and
//! the jobs of the `user.sent.message` and `user.received.notification`
//! functions are queued.

use std::sync::Arc;

use serde_json::{json, Value};

use super::auth::Tenant;
use super::error::{ApiError, ApiResult};
use super::resources::{ChannelResource, MessageResource, NotificationResource, UserResource};
use super::AppState;
use crate::dispatch::{Attempt, ReadyFunction};
use crate::engine::{Ending, InvocationStatus};
use crate::store::{ChatMessage, ChatUser, Fanout, NewChatMessage, NewJob, NewNotification, Recipient, TimeoutPolicy};

pub const SEND_MESSAGE: &str = "user.attempted.send_message";
const SENT_MESSAGE: &str = "user.sent.message";
const RECEIVED_NOTIFICATION: &str = "user.received.notification";

/// A message as its sender asked for it, before the pre-send function.
pub struct Draft {
    pub body: String,
    /// A JSON object.
    pub properties: Value,
}

/// Runs the application's `user.attempted.send_message` function, if it
/// has one enabled, on a user's draft: the draft to store (rewritten or
/// not), or a 403 `MessageRejectedError` naming why.
pub async fn moderate(
    state: &AppState,
    tenant: Tenant,
    sender: &ChatUser,
    channel: &ChannelResource,
    draft: Draft,
) -> ApiResult<Draft> {
    let resolved = state.dispatcher.resolve(tenant.application_id, SEND_MESSAGE).await?;
    let Some(function) = resolved.function else { return Ok(draft) };
    let event = json!({
        "user": UserResource::new(state, sender),
        "channel": channel,
        "message": { "type": "TEXT", "body": draft.body, "properties": draft.properties },
    });
    let ran = state
        .dispatcher
        .run(tenant.application_id, &function, Arc::from(event.to_string()), Attempt::FIRST, true)
        .await;
    let rejected = |message: String| {
        ApiError::forbidden("MessageRejectedError", message).with_details(json!({ "invocationId": ran.invocation_id }))
    };
    match ran.outcome.status {
        InvocationStatus::Succeeded => {
            let payload = ran.outcome.result.as_ref().and_then(|r| r.payload.as_ref());
            let rewrite: Value =
                payload.map(|p| serde_json::from_str(p.get()).unwrap_or(Value::Null)).unwrap_or_default();
            apply_rewrite(draft, rewrite).map_err(rejected)
        }
        InvocationStatus::Failed => {
            let error = ran.outcome.error.clone();
            match (ran.outcome.ending, resolved.timeout_policy) {
                (Ending::TimedOut, TimeoutPolicy::FailOpen) => Ok(draft),
                _ => Err(rejected(error.map_or_else(|| "the message was refused".into(), |e| e.message))),
            }
        }
    }
}

/// What the pre-send function returned: nothing keeps the draft;
/// `{body?, properties?}` replaces those fields.
fn apply_rewrite(mut draft: Draft, rewrite: Value) -> Result<Draft, String> {
    let fields = match rewrite {
        Value::Null => return Ok(draft),
        Value::Object(fields) => fields,
        other => {
            return Err(format!(
                "the {SEND_MESSAGE} function returned {other}; return nothing to send the message as it is, \
                 or {{body?, properties?}} to change it"
            ))
        }
    };
    for (key, value) in fields {
        match (key.as_str(), value) {
            ("body", Value::String(body)) => draft.body = body,
            ("properties", properties @ Value::Object(_)) => draft.properties = properties,
            ("body" | "properties", Value::Null) => {}
            (key @ ("body" | "properties"), other) => {
                return Err(format!("the {SEND_MESSAGE} function returned an invalid `{key}`: {other}"))
            }
            // Other fields (a status, a reason) are the function's own.
            _ => {}
        }
    }
    Ok(draft)
}

/// The notifications and jobs of a sent message.
struct MessageFanout<'a> {
    state: &'a AppState,
    sender: Option<&'a ChatUser>,
    channel: &'a ChannelResource,
    sent_message: Option<ReadyFunction>,
    received_notification: Option<ReadyFunction>,
    max_attempts: i64,
}

impl MessageFanout<'_> {
    fn message(&self, message: &ChatMessage) -> MessageResource {
        MessageResource::new(self.state, message, self.sender)
    }

    fn job(&self, function: &ReadyFunction, trigger_type: &'static str, event: Value) -> NewJob {
        let recorder = self.state.dispatcher.recorder();
        NewJob {
            job_id: recorder.next_id(),
            invocation_id: recorder.next_id(),
            function_id: function.function_id,
            version_id: function.version_id,
            version_number: function.version_number,
            trigger_type,
            event: event.to_string(),
            max_attempts: self.max_attempts,
        }
    }
}

impl Fanout for MessageFanout<'_> {
    fn notification(&self, message: &ChatMessage, _recipient: &ChatUser) -> NewNotification {
        let (kind, title) = match self.sender {
            Some(sender) => ("USER:SENT:MESSAGE", format!("{} sent a message", sender.display_name)),
            None => (
                "SYSTEM:SENT:MESSAGE",
                match &self.channel.display_name {
                    Some(name) => format!("New message in {name}"),
                    None => "New message".to_string(),
                },
            ),
        };
        let data = json!({ "type": kind, "message": self.message(message), "channelId": message.channel_id });
        NewNotification { title, body: message.body.clone(), data: data.to_string() }
    }

    fn jobs(&self, message: &ChatMessage, recipients: &[Recipient]) -> Vec<NewJob> {
        let mut jobs = Vec::new();
        if let (Some(function), Some(sender)) = (&self.sent_message, self.sender) {
            let event = json!({
                "user": UserResource::new(self.state, sender),
                "channel": self.channel,
                "message": self.message(message),
            });
            jobs.push(self.job(function, SENT_MESSAGE, event));
        }
        if let Some(function) = &self.received_notification {
            for recipient in recipients {
                let notification =
                    NotificationResource::new(self.state, &recipient.notification, Some(self.channel.clone()));
                let event = json!({
                    "user": UserResource::new(self.state, &recipient.user),
                    "notification": notification,
                    "userHasActiveSession": recipient.has_active_session,
                });
                jobs.push(self.job(function, RECEIVED_NOTIFICATION, event));
            }
        }
        jobs
    }
}

/// Stores a message with its notifications and jobs (those only on the
/// embedded platform: with a remote one, functions do not act on this
/// server's chat data).
pub async fn send(
    state: &AppState,
    tenant: Tenant,
    channel: &ChannelResource,
    sender: Option<&ChatUser>,
    new: NewChatMessage,
) -> ApiResult<ChatMessage> {
    let application_id = tenant.application_id;
    let (mut sent_message, mut received_notification) = (None, None);
    if state.dispatcher.platform_is_embedded() {
        if sender.is_some() {
            sent_message = state.dispatcher.resolve(application_id, SENT_MESSAGE).await?.function;
        }
        received_notification = state.dispatcher.resolve(application_id, RECEIVED_NOTIFICATION).await?.function;
        if (sent_message.is_some() || received_notification.is_some()) && !state.queue.has_room(application_id).await? {
            return Err(ApiError::too_many_requests(
                "this application's queue of non-blocking events is full; the message was not sent, retry later",
                1,
            ));
        }
    }
    let fanout = MessageFanout {
        state,
        sender,
        channel,
        sent_message,
        received_notification,
        max_attempts: state.dispatcher.config().max_attempts,
    };
    let sent = state.store.send_chat_message(application_id, new, &fanout).await?;
    state.queue.accepted_elsewhere(application_id, sent.jobs);
    Ok(sent.message)
}
