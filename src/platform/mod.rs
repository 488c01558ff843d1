//! The chat platform behind the context APIs: which [`ChatPlatform`] an
//! application's functions talk to.
//!
//! - **Embedded** (default): chatfn's own store, through the same handlers
//!   that serve `/v1/users`, `/v1/channels` and `/v1/messages` over HTTP,
//!   called in-process with the function's application as the tenant.
//! - **Remote**: any ChatKitty-compatible Platform API over HTTP, with an
//!   OAuth client-credentials token cached and refreshed.

mod embedded;
mod remote;

use std::sync::Arc;

pub use embedded::EmbeddedPlatform;
pub use remote::{RemoteClient, RemoteConfig, RemotePlatform};

use crate::engine::PlatformHandle;

/// Largest Platform API answer a function receives.
pub const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

/// What a server's functions use as their platform.
#[derive(Clone)]
pub enum Platforms {
    Embedded(EmbeddedPlatform),
    Remote(Arc<RemotePlatform>),
}

impl Platforms {
    /// The platform bound to one application.
    pub fn bind(&self, application_id: i64) -> PlatformHandle {
        match self {
            Platforms::Embedded(embedded) => PlatformHandle(Arc::new(embedded.for_application(application_id))),
            Platforms::Remote(remote) => PlatformHandle(Arc::new(RemoteClient(remote.clone()))),
        }
    }

    /// ChatKitty's system environment variables for an application's
    /// functions (alongside the custom ones): where the platform is and
    /// which client the context APIs act as. No secret is among them.
    pub fn system_environment(&self, application_id: i64, client_id: &str) -> [(String, String); 3] {
        let (base_url, client_id) = match self {
            Platforms::Embedded(embedded) => (embedded.public_url().to_string(), client_id.to_string()),
            Platforms::Remote(remote) => (remote.base_url().to_string(), remote.client_id().to_string()),
        };
        [
            ("CHATKITTY_APPLICATION_ID".into(), application_id.to_string()),
            ("CHATKITTY_CLIENT_ID".into(), client_id),
            ("CHATKITTY_CHAT_SERVICE_BASE_URL".into(), base_url),
        ]
    }
}
