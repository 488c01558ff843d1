//! The trigger types chat functions run for. Adding one here adds it
//! everywhere (validation, dispatch, documentation).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TriggerType {
    pub name: &'static str,
    /// The platform waits for the function's answer (e.g. to authenticate).
    pub blocking: bool,
    /// The event's fields, for error messages and docs.
    pub event: &'static str,
}

pub const TRIGGER_TYPES: &[TriggerType] = &[
    TriggerType { name: "user.attempted.start_session", blocking: true, event: "{username, authParams}" },
    TriggerType {
        name: "user.attempted.send_message",
        blocking: true,
        event: "{user, channel, message: {type, body, properties}}",
    },
    TriggerType {
        name: "user.received.notification",
        blocking: false,
        event: "{user, notification, userHasActiveSession}",
    },
    TriggerType { name: "user.sent.message", blocking: false, event: "{user, channel, message}" },
    TriggerType {
        name: "user.started.chat_session",
        blocking: false,
        event: "{user, channel, channelUnread, channelMessagesCount}",
    },
];

pub fn trigger_type(name: &str) -> Option<&'static TriggerType> {
    TRIGGER_TYPES.iter().find(|t| t.name == name)
}

pub fn known_names() -> String {
    TRIGGER_TYPES.iter().map(|t| t.name).collect::<Vec<_>>().join(", ")
}
