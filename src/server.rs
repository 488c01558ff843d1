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
    pub serving: Serving,
}

/// How HTTP is served (by default: a thread per core, each handing its
/// invocations to the runtime threads).
#[derive(Debug, Clone, Copy, Default)]
pub struct Serving {
    /// Threads that serve connections (`0`: one per core).
    pub threads: usize,
    /// Whether each keeps a warm runtime of its own and runs short
    /// invocations of its requests there (see `engine/inline.rs`).
    pub inline_invocations: bool,
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
    serving: Serving,
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
        let threads = match config.serving.threads {
            0 => std::thread::available_parallelism().map_or(2, |n| n.get()),
            n => n,
        };
        let serving = Serving { threads, ..config.serving };
        Ok(Server {
            listener,
            serving,
            retention: config.retention,
            state,
            _platform_router: platform_router,
            created_default,
        })
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
        let addr = self.local_addr();
        let app = api::router(self.state);
        let (stop, stopping) = tokio::sync::watch::channel(false);
        let mut handing = Vec::new();
        let mut ended = Vec::new();
        for n in 0..self.serving.threads {
            let (connections, handed) = tokio::sync::mpsc::unbounded_channel();
            handing.push(connections);
            let engine = self.serving.inline_invocations.then(|| dispatcher.engine().clone());
            ended.push(serving_thread(n, HandedConnections { handed, addr }, app.clone(), engine, stopping.clone())?);
        }
        let accepting = tokio::spawn(hand_out(self.listener, handing, stopping));
        shutdown.await;
        let _ = stop.send(true);
        let _ = accepting.await;
        for thread in ended {
            if thread.await.is_err() {
                tracing::error!("a serving thread ended unexpectedly");
            }
        }
        pruning.abort();
        queue.stop(std::time::Duration::from_secs(30)).await;
        // Invocation records still queued are written before the store closes.
        dispatcher.recorder().close().await;
        store.close().await;
        Ok(())
    }
}

/// Accepts connections and hands them to the serving threads in turn
/// (connections are long-lived: an accept is rare next to a request).
async fn hand_out(
    listener: tokio::net::TcpListener,
    threads: Vec<tokio::sync::mpsc::UnboundedSender<std::net::TcpStream>>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut next = 0;
    loop {
        let accepted = tokio::select! {
            _ = stopping.wait_for(|stop| *stop) => return,
            accepted = listener.accept() => accepted,
        };
        let stream = match accepted.and_then(|(stream, _)| {
            stream.set_nodelay(true)?;
            stream.into_std()
        }) {
            Ok(stream) => stream,
            Err(e) => {
                // Out of file descriptors and the like: pause rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = threads[next % threads.len()].send(stream);
        next += 1;
    }
}

/// One serving thread's share of the connections, as axum's listener.
struct HandedConnections {
    handed: tokio::sync::mpsc::UnboundedReceiver<std::net::TcpStream>,
    addr: SocketAddr,
}

impl axum::serve::Listener for HandedConnections {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            // Once the acceptor is gone, graceful shutdown ends the serving.
            let Some(stream) = self.handed.recv().await else { std::future::pending().await };
            match tokio::net::TcpStream::from_std(stream) {
                Ok(stream) => {
                    let peer = stream.peer_addr().unwrap_or(self.addr);
                    return (stream, peer);
                }
                Err(e) => tracing::warn!(error = %e, "taking over a connection failed"),
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

/// Starts a serving thread: a single-threaded tokio runtime that serves
/// its connections with the whole API and runs their invocations in its
/// own warm runtime when it can, so that a request is served start to end
/// on one thread. The receiver hears when it has finished.
fn serving_thread(
    n: usize,
    connections: HandedConnections,
    app: axum::Router,
    inline_invocations: Option<Engine>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<tokio::sync::oneshot::Receiver<()>> {
    let (done, ended) = tokio::sync::oneshot::channel();
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    crate::engine::spawn_isolate_thread(format!("chatfn-serve-{n}"), move || {
        let tasks = std::rc::Rc::new(tokio::task::LocalSet::new());
        if let Some(engine) = &inline_invocations {
            engine.enter_serving_thread(&tasks);
        }
        let serving = axum::serve(connections, app).with_graceful_shutdown(async move {
            let _ = stopping.wait_for(|stop| *stop).await;
        });
        if let Err(e) = tokio.block_on(tasks.run_until(std::future::IntoFuture::into_future(serving))) {
            tracing::error!(error = %e, "a serving thread failed");
        }
        // An inline invocation whose caller hung up finishes before the
        // runtime goes.
        tokio.block_on(tasks.run_until(Engine::settle_serving_thread()));
        Engine::leave_serving_thread();
        let _ = done.send(());
    });
    Ok(ended)
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
