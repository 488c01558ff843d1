//! Which chat platform an application's functions reach: the dispatcher
//! asks this when it readies a function, and knows nothing of what is
//! behind it (the embedded platform in `api`, or a remote Platform API).

use crate::engine::PlatformHandle;

pub trait PlatformBinding: Send + Sync + 'static {
    /// The platform as one application's functions see it.
    fn bind(&self, application_id: i64) -> PlatformHandle;

    /// Where functions find the platform (`CHATKITTY_CHAT_SERVICE_BASE_URL`).
    fn base_url(&self) -> &str;

    /// The client the context APIs act as, given the application's own.
    fn acting_client_id<'a>(&'a self, application_client_id: &'a str) -> &'a str;

    /// Whether chat data (users, channels, messages) lives in this
    /// server's store.
    fn is_embedded(&self) -> bool;

    /// ChatKitty's system environment variables for an application's
    /// functions (alongside the custom ones): where the platform is and
    /// which client the context APIs act as. No secret is among them.
    fn system_environment(&self, application_id: i64, application_client_id: &str) -> [(String, String); 3] {
        [
            ("CHATKITTY_APPLICATION_ID".into(), application_id.to_string()),
            ("CHATKITTY_CLIENT_ID".into(), self.acting_client_id(application_client_id).to_string()),
            ("CHATKITTY_CHAT_SERVICE_BASE_URL".into(), self.base_url().to_string()),
        ]
    }
}
