//! The `chatfn serve` process: store, chat platform, dispatch, queue and
//! API wired together. Tests build it on `127.0.0.1:0`.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use serde_json::json;

use crate::api::rate::RateLimits;
use crate::api::{self, auth, ApiConfig, AppState, EmbeddedPlatform};
use crate::dispatch::queue::{Queue, QueueConfig};
use crate::dispatch::{DispatchConfig, Dispatcher, PlatformBinding};
use crate::engine::{Engine, PlatformHandle};
use crate::npm::{Npm, NpmConfig};
use crate::observe::Metrics;
use crate::remote_platform::{RemoteClient, RemoteConfig, RemotePlatform};
use crate::secret::Secret;
use crate::store::{Retention, Store};

#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listen: SocketAddr,
    pub database_url: String,
    /// Base of absolute links; defaults to `http://<listen address>`.
    pub public_url: Option<String>,
    pub token_ttl_secs: i64,
    /// Credentials for the default application created on first start.
    pub default_client: Option<(String, Secret)>,
    pub dispatch: DispatchConfig,
    pub queue: QueueConfig,
    /// The Platform API functions' context APIs reach; `None` is the
    /// embedded platform (this server's own store).
    pub remote_platform: Option<RemoteConfig>,
    /// Where runtime dependencies come from and are kept.
    pub npm: NpmConfig,
    /// How long a dependency install may take before the API gives up.
    pub install_timeout: std::time::Duration,
    /// How long a user session the embedded platform starts stays active.
    pub session_ttl: std::time::Duration,
    /// Requests per second each application may make.
    pub rate_limits: RateLimits,
    /// How long, and how many, invocation records are kept.
    pub retention: Retention,
    /// When set, `GET /metrics` wants it as a bearer token.
    pub metrics_token: Option<Secret>,
}

impl ServerConfig {
    /// Access tokens live 12 hours unless configured otherwise.
    pub const DEFAULT_TOKEN_TTL_SECS: i64 = 43_200;
    pub const DEFAULT_INSTALL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(120);
    /// A user session lasts an hour unless ended first.
    pub const DEFAULT_SESSION_TTL: std::time::Duration = std::time::Duration::from_secs(3_600);
}

/// Credentials of a newly created application.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Credentials {
    pub application_id: i64,
    pub client_id: String,
    pub client_secret: Secret,
}

/// Creates an application with fresh (or given) credentials.
pub async fn create_application(
    store: &Store,
    name: &str,
    given: Option<(String, Secret)>,
) -> anyhow::Result<Credentials> {
    let (client_id, client_secret) =
        given.unwrap_or_else(|| (auth::random_token(16), Secret::new(auth::random_token(32))));
    let secret = client_secret.clone();
    let hash = tokio::task::spawn_blocking(move || auth::hash_secret(secret.expose())).await?;
    let app = store.create_application(name, &client_id, &hash).await?;
    Ok(Credentials { application_id: app.id, client_id, client_secret })
}

pub struct Server {
    listener: tokio::net::TcpListener,
    retention: Retention,
    state: AppState,
    /// The routes the embedded platform calls in-process; it holds them weakly.
    _platform_router: Option<Arc<axum::Router>>,
    /// Credentials of the default application, when this start created it.
    pub created_default: Option<Credentials>,
}

impl Server {
    pub async fn build(config: ServerConfig) -> anyhow::Result<Server> {
        let store = Store::connect(&config.database_url)
            .await
            .with_context(|| format!("cannot open the store at {}", config.database_url))?;
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen))?;
        let addr = listener.local_addr()?;
        let created_default = if store.count_applications().await? == 0 {
            Some(create_application(&store, "default", config.default_client.clone()).await?)
        } else {
            None
        };
        let base_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let (embedded, platforms): (_, Arc<dyn PlatformBinding>) = match config.remote_platform.clone() {
            None => {
                let embedded = EmbeddedPlatform::new(&base_url);
                (Some(embedded.clone()), Arc::new(embedded))
            }
            Some(remote) => (None, Arc::new(RemoteBinding(RemotePlatform::new(remote)?))),
        };
        let npm = Npm::new(config.npm.clone()).map_err(|e| anyhow::anyhow!("{e}"))?;
        let engine = Engine::new(config.dispatch.engine);
        let dispatcher =
            Dispatcher::new(store.clone(), engine, config.dispatch.clone(), platforms, npm.clone(), Metrics::new())
                .await?;
        let queue = Queue::start(store.clone(), dispatcher.clone(), config.queue.clone()).await?;
        let api = ApiConfig {
            base_url,
            token_ttl_secs: config.token_ttl_secs,
            install_timeout: config.install_timeout,
            session_ttl: config.session_ttl,
            rate_limits: config.rate_limits,
            metrics_token: config.metrics_token.clone(),
        };
        let state = AppState::new(store, api, dispatcher, queue, npm);
        let platform_router = embedded.map(|embedded| api::serve_embedded(&state, &embedded));
        Ok(Server { listener, retention: config.retention, state, _platform_router: platform_router, created_default })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("bound listener")
    }

    pub fn store(&self) -> &Store {
        &self.state.store
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.state.dispatcher
    }

    /// Serves until `shutdown` resolves, then finishes in-flight requests.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let store = self.state.store.clone();
        let dispatcher = self.state.dispatcher.clone();
        let queue = self.state.queue.clone();
        let pruning = tokio::spawn(prune(store.clone(), self.retention));
        let app = api::router(self.state);
        axum::serve(self.listener, app).with_graceful_shutdown(shutdown).await?;
        pruning.abort();
        queue.stop(std::time::Duration::from_secs(30)).await;
        // Invocation records still queued are written before the store closes.
        dispatcher.recorder().close().await;
        store.close().await;
        Ok(())
    }
}

/// Prunes the invocation log in the background, every `retention.every`.
async fn prune(store: Store, retention: Retention) {
    loop {
        tokio::time::sleep(retention.every).await;
        match store.prune_invocations(&retention).await {
            Ok(0) => {}
            Ok(deleted) => tracing::info!(deleted, "pruned the invocation log"),
            Err(e) => tracing::error!(error = %e, "pruning the invocation log failed"),
        }
    }
}

/// The remote platform, the same for every application: functions act as
/// the client configured for it.
struct RemoteBinding(Arc<RemotePlatform>);

impl PlatformBinding for RemoteBinding {
    fn bind(&self, _application_id: i64) -> PlatformHandle {
        PlatformHandle(Arc::new(RemoteClient(self.0.clone())))
    }

    fn base_url(&self) -> &str {
        self.0.base_url()
    }

    fn acting_client_id<'a>(&'a self, _application_client_id: &'a str) -> &'a str {
        self.0.client_id()
    }

    fn is_embedded(&self) -> bool {
        false
    }
}

/// SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = terminate => {} }
    tracing::info!("shutting down");
}

pub fn credentials_json(c: &Credentials) -> String {
    json!({ "applicationId": c.application_id, "clientId": c.client_id, "clientSecret": c.client_secret.expose() })
        .to_string()
}
