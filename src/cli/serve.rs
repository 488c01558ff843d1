//! `chatfn serve` and `chatfn apps`.

use std::net::SocketAddr;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Args, Subcommand};

use crate::dispatch::queue::QueueConfig;
use crate::dispatch::DispatchConfig;
use crate::engine::{EngineConfig, Limits};
use crate::npm::NpmConfig;
use crate::remote_platform::RemoteConfig;

use crate::api::rate::RateLimits;
use crate::secret::Secret;
use crate::server::{create_application, credentials_json, shutdown_signal, Server, ServerConfig, Serving};
use crate::store::{Retention, Store};

pub const DEFAULT_DATABASE_URL: &str = "sqlite://chatfn.db";

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "CHATFN_LISTEN", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The store: an SQLite file (default, created on first start) or PostgreSQL.
    #[arg(long, env = "CHATFN_DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    database_url: String,
    /// Base URL of links in responses (default: http://<listen address>).
    #[arg(long, env = "CHATFN_PUBLIC_URL")]
    public_url: Option<String>,
    /// Lifetime of access tokens, in seconds.
    #[arg(long, env = "CHATFN_TOKEN_TTL_SECS", default_value_t = ServerConfig::DEFAULT_TOKEN_TTL_SECS, value_parser = clap::value_parser!(i64).range(60..=31_536_000))]
    token_ttl_secs: i64,
    /// Wall-clock limit of a blocking function (e.g. session authentication), unless the function sets its own.
    #[arg(long, env = "CHATFN_BLOCKING_TIMEOUT_MS", default_value_t = DispatchConfig::default().blocking_timeout.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    blocking_timeout_ms: u64,
    /// Wall-clock limit of a non-blocking function, unless the function sets its own.
    #[arg(long, env = "CHATFN_TIMEOUT_MS", default_value_t = DispatchConfig::default().timeout.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    timeout_ms: u64,
    /// Attempts of a non-blocking invocation before it stays FAILED (retried with exponential backoff).
    #[arg(long, env = "CHATFN_MAX_ATTEMPTS", default_value_t = DispatchConfig::default().max_attempts, value_parser = clap::value_parser!(i64).range(1..=100))]
    max_attempts: i64,
    /// Non-blocking events of one application accepted but not finished; more are refused with 429.
    #[arg(long, env = "CHATFN_MAX_PENDING", default_value_t = QueueConfig::default().max_pending_per_application, value_parser = clap::value_parser!(i64).range(1..))]
    max_pending: i64,
    /// How long this host serves a function's resolved version from memory before reading the
    /// store again (changes through any host sharing a PostgreSQL store reach it at once anyway).
    #[arg(long, env = "CHATFN_CACHE_TTL_MS", default_value_t = DispatchConfig::default().cache_ttl.as_millis() as u64, value_parser = clap::value_parser!(u64).range(0..=3_600_000))]
    cache_ttl_ms: u64,
    /// How long a claimed non-blocking job is this host's before another may take it over
    /// (kept alive by a heartbeat every third of it while it runs).
    #[arg(long, env = "CHATFN_LEASE_SECS", default_value_t = QueueConfig::default().lease.as_secs(), value_parser = clap::value_parser!(u64).range(3..=3600))]
    lease_secs: u64,
    /// Non-blocking invocations running at once on this host (all applications).
    #[arg(long, env = "CHATFN_QUEUE_CONCURRENCY", default_value_t = QueueConfig::default().concurrency as u32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    queue_concurrency: u32,
    /// Warm runtimes (each a V8 isolate on its own thread) across all applications.
    #[arg(long, env = "CHATFN_MAX_RUNTIMES", default_value_t = EngineConfig::default().max_runtimes as u32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    max_runtimes: u32,
    /// Invocations of one application running at once; more wait their turn. Default: the number of cores.
    #[arg(long, env = "CHATFN_MAX_CONCURRENCY_PER_APP", value_parser = clap::value_parser!(u32).range(1..=1024))]
    max_concurrency_per_app: Option<u32>,
    /// Threads that serve HTTP. Default: the number of cores.
    #[arg(long, env = "CHATFN_SERVING_THREADS", default_value_t = 0, hide_default_value = true, value_parser = clap::value_parser!(u32).range(0..=256))]
    serving_threads: u32,
    /// Whether serving threads run short invocations of their own requests in a warm runtime of their own (on), or hand every invocation to the runtime threads (off; on a 2-core virtual machine this measured faster).
    #[arg(long, env = "CHATFN_INLINE_INVOCATIONS", default_value = "off", value_parser = ["on", "off"])]
    inline_invocations: String,
    /// Largest result (as JSON) an invocation may answer; over it the invocation fails with ResultTooLargeError and nothing of it is kept.
    #[arg(long, env = "CHATFN_MAX_RESULT_BYTES", default_value_t = Limits::DEFAULT_RESULT_BYTES as u64, value_parser = clap::value_parser!(u64).range(1..=64 * 1024 * 1024))]
    max_result_bytes: u64,
    /// V8 heap limit of each application's runtime, in MiB.
    #[arg(long, env = "CHATFN_HEAP_MB", default_value_t = (Limits::default().heap_bytes >> 20) as u64, value_parser = clap::value_parser!(u64).range(16..=4096))]
    heap_mb: u64,
    /// A remote ChatKitty-compatible Platform API for the functions' context
    /// APIs (base URL, paths start at /v1); default: this server's embedded platform.
    #[arg(long, env = "CHATFN_PLATFORM_URL", requires_all = ["platform_client_id", "platform_client_secret"])]
    platform_url: Option<String>,
    /// Client id on the remote platform.
    #[arg(long, env = "CHATFN_PLATFORM_CLIENT_ID", allow_hyphen_values = true, requires = "platform_url")]
    platform_client_id: Option<String>,
    /// Client secret on the remote platform.
    #[arg(
        long,
        env = "CHATFN_PLATFORM_CLIENT_SECRET",
        allow_hyphen_values = true,
        requires = "platform_url",
        hide_env_values = true
    )]
    platform_client_secret: Option<Secret>,
    /// Time limit of one request to the remote platform, in milliseconds.
    #[arg(long, env = "CHATFN_PLATFORM_TIMEOUT_MS", default_value_t = RemoteConfig::DEFAULT_TIMEOUT.as_millis() as u64, value_parser = clap::value_parser!(u64).range(1..=300_000))]
    platform_timeout_ms: u64,
    #[command(flatten)]
    npm: NpmArgs,
    /// How long one dependency install may take, in seconds.
    #[arg(long, env = "CHATFN_INSTALL_TIMEOUT_SECS", default_value_t = ServerConfig::DEFAULT_INSTALL_TIMEOUT.as_secs(), value_parser = clap::value_parser!(u64).range(1..=3600))]
    install_timeout_secs: u64,
    /// How long a user session the embedded platform starts (an allowed
    /// user.attempted.start_session) stays active unless ended, in seconds.
    #[arg(long, env = "CHATFN_SESSION_TTL_SECS", default_value_t = ServerConfig::DEFAULT_SESSION_TTL.as_secs(), value_parser = clap::value_parser!(u64).range(1..=2_592_000))]
    session_ttl_secs: u64,
    /// Trigger requests per second each application may make (0: unlimited); over it, 429 with Retry-After.
    #[arg(long, env = "CHATFN_TRIGGER_RATE", default_value_t = RateLimits::DEFAULT.triggers_per_second)]
    trigger_rate: u32,
    /// Other API requests per second each application may make (0: unlimited).
    #[arg(long, env = "CHATFN_API_RATE", default_value_t = RateLimits::DEFAULT.api_per_second)]
    api_rate: u32,
    /// Days finished invocations stay in the log.
    #[arg(long, env = "CHATFN_RETENTION_DAYS", default_value_t = Retention::default().max_age.as_secs() / 86_400, value_parser = clap::value_parser!(u64).range(1..=3650))]
    retention_days: u64,
    /// Finished invocations kept per application (the newest).
    #[arg(long, env = "CHATFN_RETENTION_MAX_INVOCATIONS", default_value_t = Retention::default().max_per_application, value_parser = clap::value_parser!(i64).range(1..))]
    retention_max_invocations: i64,
    /// A bearer token GET /metrics then wants (default: /metrics is open, as Prometheus expects).
    #[arg(long, env = "CHATFN_METRICS_TOKEN", hide_env_values = true)]
    metrics_token: Option<Secret>,
    /// Client id of the default application created on first start.
    #[arg(long, env = "CHATFN_CLIENT_ID", allow_hyphen_values = true, requires = "client_secret")]
    client_id: Option<String>,
    /// Client secret of the default application created on first start.
    #[arg(
        long,
        env = "CHATFN_CLIENT_SECRET",
        allow_hyphen_values = true,
        requires = "client_id",
        hide_env_values = true
    )]
    client_secret: Option<Secret>,
}

/// Where runtime dependencies come from and are kept: the same flags for
/// `serve` and `run`, so that both use one installer and one cache.
#[derive(Debug, Args)]
pub struct NpmArgs {
    /// The npm registry runtime dependencies are resolved against.
    #[arg(long, env = "CHATFN_NPM_REGISTRY", default_value = NpmConfig::DEFAULT_REGISTRY)]
    npm_registry: String,
    /// The content-addressed cache of installed packages, shared by all applications.
    #[arg(long, env = "CHATFN_NPM_CACHE_DIR", default_value = "chatfn-packages")]
    npm_cache_dir: std::path::PathBuf,
    /// A directory laid out like the registry (<name>/index.json, <name>/-/<file>.tgz), tried first.
    #[arg(long, env = "CHATFN_NPM_MIRROR_DIR")]
    npm_mirror_dir: Option<std::path::PathBuf>,
    /// Never ask the registry: installs use only the cache and the mirror directory.
    #[arg(long, env = "CHATFN_NPM_OFFLINE")]
    npm_offline: bool,
}

impl NpmArgs {
    pub fn config(self) -> NpmConfig {
        NpmConfig {
            offline: self.npm_offline,
            mirror_dir: self.npm_mirror_dir,
            ..NpmConfig::new(&self.npm_registry, self.npm_cache_dir)
        }
    }
}

pub async fn serve(args: ServeArgs) -> ExitCode {
    let given = args.client_id.clone().zip(args.client_secret.clone());
    let config = ServerConfig {
        listen: args.listen,
        database_url: args.database_url,
        public_url: args.public_url,
        token_ttl_secs: args.token_ttl_secs,
        default_client: given.clone(),
        dispatch: DispatchConfig {
            blocking_timeout: Duration::from_millis(args.blocking_timeout_ms),
            timeout: Duration::from_millis(args.timeout_ms),
            limits: Limits {
                heap_bytes: (args.heap_mb as usize) << 20,
                result_bytes: args.max_result_bytes as usize,
                ..Limits::default()
            },
            max_attempts: args.max_attempts,
            cache_ttl: Duration::from_millis(args.cache_ttl_ms),
            engine: EngineConfig {
                max_runtimes: args.max_runtimes as usize,
                max_concurrency_per_application: args
                    .max_concurrency_per_app
                    .map_or(EngineConfig::default().max_concurrency_per_application, |n| n as usize),
            },
        },
        queue: QueueConfig {
            max_pending_per_application: args.max_pending,
            concurrency: args.queue_concurrency as usize,
            lease: Duration::from_secs(args.lease_secs),
            ..QueueConfig::default()
        },
        remote_platform: args.platform_url.map(|base_url| RemoteConfig {
            base_url,
            client_id: args.platform_client_id.unwrap_or_default(),
            client_secret: args.platform_client_secret.unwrap_or_default(),
            timeout: Duration::from_millis(args.platform_timeout_ms),
        }),
        npm: args.npm.config(),
        install_timeout: Duration::from_secs(args.install_timeout_secs),
        session_ttl: Duration::from_secs(args.session_ttl_secs),
        rate_limits: RateLimits { triggers_per_second: args.trigger_rate, api_per_second: args.api_rate },
        metrics_token: args.metrics_token,
        serving: Serving {
            threads: args.serving_threads as usize,
            inline_invocations: args.inline_invocations == "on",
        },
        retention: Retention {
            max_age: Duration::from_secs(args.retention_days * 86_400),
            max_per_application: args.retention_max_invocations,
            ..Retention::default()
        },
    };
    let server = match Server::build(config).await {
        Ok(server) => server,
        Err(e) => {
            eprintln!("chatfn serve: {e:#}");
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    if let Some(credentials) = &server.created_default {
        if given.is_none() {
            eprintln!("chatfn: created the default application; its credentials are shown once:");
            println!("{}", credentials_json(credentials));
        }
    }
    eprintln!("chatfn: listening on http://{}", server.local_addr());
    match server.run(shutdown_signal()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("chatfn serve: {e:#}");
            ExitCode::FAILURE
        }
    }
}

#[derive(Debug, Args)]
pub struct AppsArgs {
    #[command(subcommand)]
    command: AppsCommand,
    /// The store to act on.
    #[arg(long, env = "CHATFN_DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
}

#[derive(Debug, Subcommand)]
enum AppsCommand {
    /// Create an application and print its credentials as JSON.
    Create { name: String },
}

pub async fn apps(args: AppsArgs) -> ExitCode {
    let store = match Store::connect(&args.database_url).await {
        Ok(store) => store,
        Err(e) => {
            eprintln!("chatfn apps: cannot open the store at {}: {e}", args.database_url);
            return ExitCode::from(super::EXIT_USAGE);
        }
    };
    match args.command {
        AppsCommand::Create { name } => match create_application(&store, &name, None).await {
            Ok(credentials) => {
                println!("{}", credentials_json(&credentials));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("chatfn apps create: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}
