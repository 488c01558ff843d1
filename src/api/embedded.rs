//! The embedded chat platform (the default): a function's context API call
//! runs the same axum handlers as `/v1/users` & co. over HTTP, in-process
//! (no socket), with the function's application as the only tenant it can
//! act as. The router and the dispatcher need each other at run time (a
//! trigger runs a function, whose context call reaches the router), so the
//! platform holds the router weakly, attached once the API state exists.

use std::sync::{Arc, OnceLock, Weak};

use axum::body::Body;
use axum::http::{header, Request};
use axum::Router;
use tower::ServiceExt;

use super::auth::InProcessTenant;
use crate::dispatch::PlatformBinding;
use crate::engine::context::{PlatformFuture, MAX_PLATFORM_RESPONSE_BYTES as MAX_RESPONSE_BYTES};
use crate::engine::{ChatPlatform, PlatformHandle, PlatformRequest, PlatformResponse};

#[derive(Clone)]
pub struct EmbeddedPlatform {
    /// Set by `AppState::new` (the state holds the dispatcher, which needs
    /// this platform first). Weak: the state owns the router, and the
    /// router's state owns this platform.
    router: Arc<OnceLock<Weak<Router>>>,
    public_url: Arc<str>,
    /// The server's runtime: requests run there, not on the isolate thread.
    runtime: tokio::runtime::Handle,
}

impl EmbeddedPlatform {
    pub fn new(public_url: &str) -> EmbeddedPlatform {
        EmbeddedPlatform {
            router: Arc::default(),
            public_url: public_url.into(),
            runtime: tokio::runtime::Handle::current(),
        }
    }

    /// Connects the platform to the routes it serves (`platform_router`).
    pub(super) fn attach(&self, router: &Arc<Router>) {
        let _ = self.router.set(Arc::downgrade(router));
    }
}

impl PlatformBinding for EmbeddedPlatform {
    fn bind(&self, application_id: i64) -> PlatformHandle {
        PlatformHandle(Arc::new(TenantPlatform { platform: self.clone(), application_id }))
    }

    fn base_url(&self) -> &str {
        &self.public_url
    }

    /// Functions act as their own application.
    fn acting_client_id<'a>(&'a self, application_client_id: &'a str) -> &'a str {
        application_client_id
    }

    fn is_embedded(&self) -> bool {
        true
    }
}

/// The embedded platform as one application sees it.
struct TenantPlatform {
    platform: EmbeddedPlatform,
    application_id: i64,
}

impl ChatPlatform for TenantPlatform {
    fn send(&self, request: PlatformRequest) -> PlatformFuture {
        let router = self.platform.router.get().and_then(Weak::upgrade);
        let runtime = self.platform.runtime.clone();
        let application_id = self.application_id;
        Box::pin(async move {
            let router = router.ok_or("the embedded platform is not ready")?;
            let mut http = Request::builder()
                .method(request.method.as_str())
                .uri(&request.path_and_query)
                .header(header::CONTENT_TYPE, "application/json")
                .body(request.body.map(Body::from).unwrap_or_else(Body::empty))
                .map_err(|e| format!("invalid Platform API request: {e}"))?;
            http.extensions_mut().insert(InProcessTenant(application_id));
            let call = runtime.spawn(async move {
                let response = Router::clone(&router).oneshot(http).await.unwrap_or_else(|never| match never {});
                let status = response.status().as_u16();
                let body = axum::body::to_bytes(response.into_body(), MAX_RESPONSE_BYTES)
                    .await
                    .map_err(|e| format!("the Platform API answer could not be read: {e}"))?;
                Ok(PlatformResponse { status, body: String::from_utf8_lossy(&body).into_owned() })
            });
            call.await.map_err(|e| format!("the Platform API request failed: {e}"))?
        })
    }
}
