//! `chatfn run`: the local emulator for handler authors. The handler runs
//! as a test run of a real chatfn server on loopback, over a temporary (or
//! kept, `--store`) SQLite store: the context's Platform APIs reach its
//! embedded chat platform, and `--deps` are installed by its installer
//! into the same cache `chatfn serve` uses.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::EXIT_USAGE;
use crate::engine::{compile, InvocationStatus, ScriptError, ScriptRole};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The handler script (TypeScript or JavaScript).
    handler: PathBuf,
    /// The event, a JSON file ("-" reads standard input). Default: {}.
    #[arg(long)]
    event: Option<PathBuf>,
    /// The chat runtime's initialization script.
    #[arg(long)]
    init: Option<PathBuf>,
    /// An environment variable for the runtime (repeatable).
    #[arg(long = "env", value_name = "KEY=VALUE", value_parser = parse_env_var)]
    env: Vec<(String, String)>,
    /// Wall-clock limit of the invocation.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// The trigger type the handler is run for.
    #[arg(long, default_value = "user.attempted.start_session")]
    trigger: String,
    /// An NPM dependency of the runtime, `name@range` (repeatable, or
    /// comma-separated), installed as `chatfn deps install` would.
    #[arg(long = "deps", value_name = "NAME@RANGE", value_delimiter = ',')]
    deps: Vec<String>,
    /// Keep the local chat platform's data (users, channels, messages, the
    /// invocation log) in this SQLite file across runs [default: a
    /// temporary store, gone after the run].
    #[arg(long, value_name = "FILE")]
    store: Option<PathBuf>,
    #[command(flatten)]
    npm: super::serve::NpmArgs,
}

fn parse_env_var(s: &str) -> Result<(String, String), String> {
    let (key, value) = s.split_once('=').ok_or_else(|| format!("expected KEY=VALUE, got {s:?}"))?;
    crate::validate_env_name(key)?;
    Ok((key.to_string(), value.to_string()))
}

fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("chatfn run: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn read(path: &Path) -> Result<String, String> {
    if path == Path::new("-") {
        return std::io::read_to_string(std::io::stdin()).map_err(|e| format!("cannot read standard input: {e}"));
    }
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Prints a script that does not compile as a failed outcome.
fn print_script_error(path: &Path, role: &str, e: ScriptError) -> ExitCode {
    let outcome = json!({
        "status": "FAILED",
        "error": {
            "name": "SyntaxError",
            "message": format!("{} ({}:{}:{})", e.message, path.display(), e.line, e.column),
            "line": e.line,
            "column": e.column,
            "script": role,
        },
        "logs": [],
        "durationMs": 0.0,
    });
    super::out(format_args!("{outcome}\n"));
    ExitCode::FAILURE
}

pub async fn run(args: RunArgs) -> ExitCode {
    let handler_source = match read(&args.handler) {
        Ok(s) => s,
        Err(e) => return usage_error(e),
    };
    let event = match &args.event {
        Some(path) => match read(path) {
            Ok(s) => s,
            Err(e) => return usage_error(e),
        },
        None => "{}".to_string(),
    };
    if let Err(e) = serde_json::from_str::<serde_json::Value>(&event) {
        return usage_error(format!("the event is not valid JSON: {e}"));
    }
    let init_source = match &args.init {
        Some(path) => match read(path) {
            Ok(s) => Some(s),
            Err(e) => return usage_error(e),
        },
        None => None,
    };

    let handler = match compile(&file_specifier(&args.handler), &handler_source, ScriptRole::Handler) {
        Ok(script) => script,
        Err(e) => return print_script_error(&args.handler, "handler", e),
    };
    // Checked here so that an error names the author's file; the server
    // compiles it again when it is set.
    if let (Some(path), Some(source)) = (&args.init, &init_source) {
        if let Err(e) = compile(&file_specifier(path), source, ScriptRole::Initialization) {
            return print_script_error(path, "initialization", e);
        }
    }

    let Some(trigger) = crate::triggers::trigger_type(&args.trigger) else {
        return usage_error(format!(
            "unknown trigger type {:?}; the types are {}",
            args.trigger,
            crate::triggers::known_names()
        ));
    };
    let name = args.handler.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let setup = Setup {
        environment: args.env.into_iter().collect(),
        initialization: init_source,
        deps: args.deps,
        trigger_type: trigger.name,
        function_name: if name.trim().is_empty() { "handler".into() } else { name },
    };
    let local = match Local::start(args.store.as_deref(), args.npm.config()).await {
        Ok(local) => local,
        Err(e) => {
            eprintln!("chatfn run: the local platform did not start: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = local.run(&setup, handler, event, Duration::from_millis(args.timeout_ms), trigger.blocking).await;
    local.stop().await;
    let outcome = match outcome {
        Ok(outcome) => outcome,
        Err(e) => {
            eprintln!("chatfn run: {e}");
            return ExitCode::FAILURE;
        }
    };
    super::out(format_args!("{}\n", serde_json::to_string(&outcome).expect("outcome serialises")));
    match outcome.status {
        InvocationStatus::Succeeded => ExitCode::SUCCESS,
        InvocationStatus::Failed => ExitCode::FAILURE,
    }
}

/// What the runtime and the function are made of for this run.
struct Setup {
    environment: BTreeMap<String, String>,
    initialization: Option<String>,
    deps: Vec<String>,
    trigger_type: &'static str,
    function_name: String,
}

/// The client id of the application `chatfn run` uses in its store (no
/// secret: nobody signs in as it; the run mints its own token).
const RUN_CLIENT_ID: &str = "chatfn-run";

/// A chatfn server on loopback over the run's store.
struct Local {
    _temporary: Option<tempfile::TempDir>,
    application_id: i64,
    dispatcher: crate::dispatch::Dispatcher,
    client: super::client::ApiClient,
    stop: tokio::sync::oneshot::Sender<()>,
    serving: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Local {
    async fn start(kept: Option<&Path>, npm: crate::npm::NpmConfig) -> anyhow::Result<Local> {
        use crate::api::auth::{random_token, token_hash};
        let (temporary, file) = match kept {
            Some(file) => (None, file.to_path_buf()),
            None => {
                let dir = tempfile::tempdir()?;
                let file = dir.path().join("run.db");
                (Some(dir), file)
            }
        };
        let database_url = format!("sqlite://{}", std::path::absolute(&file)?.display());
        // The run's own application, made before the server starts so that
        // the server makes no default one (and hashes no secret).
        let store = crate::store::Store::connect(&database_url).await?;
        let application = match store.application_by_client_id(RUN_CLIENT_ID).await? {
            Some(application) => application,
            None => store.create_application("chatfn run", RUN_CLIENT_ID, "!").await?,
        };
        let token = random_token(32);
        store.insert_token(&token_hash(&token), application.id, crate::store::now_millis() + 3_600_000).await?;
        store.close().await;

        let config = crate::server::ServerConfig {
            listen: "127.0.0.1:0".parse().expect("an address"),
            database_url,
            public_url: None,
            token_ttl_secs: crate::server::ServerConfig::DEFAULT_TOKEN_TTL_SECS,
            default_client: None,
            dispatch: crate::dispatch::DispatchConfig::default(),
            queue: crate::dispatch::queue::QueueConfig::default(),
            remote_platform: None,
            npm,
            install_timeout: crate::server::ServerConfig::DEFAULT_INSTALL_TIMEOUT,
            session_ttl: crate::server::ServerConfig::DEFAULT_SESSION_TTL,
            rate_limits: crate::api::rate::RateLimits::DEFAULT,
            retention: crate::store::Retention::default(),
            metrics_token: None,
            serving: crate::server::Serving::default(),
        };
        let server = crate::server::Server::build(config).await?;
        let base = format!("http://{}", server.local_addr());
        let dispatcher = server.dispatcher().clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let serving = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        let client = super::client::ApiClient { http: reqwest::Client::new(), base, token };
        Ok(Local { _temporary: temporary, application_id: application.id, dispatcher, client, stop, serving })
    }

    /// Sets the runtime up as asked, then runs `handler` once as a test run
    /// of the trigger's function (created when the store has none).
    async fn run(
        &self,
        setup: &Setup,
        handler: crate::engine::CompiledScript,
        event: String,
        timeout: Duration,
        blocking: bool,
    ) -> Result<crate::engine::InvocationOutcome, String> {
        use reqwest::Method;
        let client = &self.client;
        if !setup.deps.is_empty() {
            super::deps::install_with_progress(client, &setup.deps).await.map_err(|e| format!("--deps: {e}"))?;
        }
        let environment = serde_json::to_value(&setup.environment).expect("a map serialises");
        client
            .call(Method::PUT, "/v1/runtimes/nodejs/environment-variables", Some(&environment))
            .await
            .map_err(|e| format!("--env: {e}"))?;
        let script = json!({ "script": setup.initialization.clone().unwrap_or_default() });
        client
            .call(Method::PUT, "/v1/runtimes/nodejs/initialization-script", Some(&script))
            .await
            .map_err(|e| format!("--init: {e}"))?;
        let functions = client.get("/v1/runtimes/nodejs/functions?size=100").await?;
        let existing = functions["_embedded"]["functions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|f| f["type"] == setup.trigger_type)
            .and_then(|f| f["id"].as_i64());
        let function_id = match existing {
            Some(id) => id,
            None => {
                let body = json!({ "type": setup.trigger_type, "name": setup.function_name });
                let made = client
                    .call(Method::POST, "/v1/runtimes/nodejs/functions", Some(&body))
                    .await
                    .map_err(|e| format!("creating the function: {e}"))?;
                made["id"].as_i64().ok_or("the function's answer has no id")?
            }
        };
        let ready = self
            .dispatcher
            .ready_for_test(self.application_id, function_id, handler, None)
            .await
            .map_err(|e| e.to_string())?;
        let Some(mut ready) = ready else { return Err("the run's function or runtime is missing".into()) };
        ready.timeout_ms = Some(timeout.as_millis() as i64);
        let ran = self
            .dispatcher
            .run(self.application_id, &ready, event.into(), crate::dispatch::Attempt::TEST, blocking)
            .await;
        Ok(ran.outcome)
    }

    /// Stops the server: what it recorded is written and the store closed.
    async fn stop(self) {
        let _ = self.stop.send(());
        match self.serving.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("chatfn run: the local platform stopped with an error: {e:#}"),
            Err(e) => eprintln!("chatfn run: the local platform stopped with an error: {e}"),
        }
    }
}

/// Stack traces name the file as the author knows it.
fn file_specifier(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    deno_core::url::Url::from_file_path(&absolute)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file:///{}", path.display()))
}
