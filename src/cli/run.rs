//! `chatfn run`: the local emulator for handler authors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use serde_json::json;

use super::EXIT_USAGE;
use crate::engine::{
    compile, Engine, EngineConfig, FunctionSpec, InvocationRequest, InvocationStatus, Limits, RuntimeSpec, ScriptError,
    ScriptRole,
};

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
    let init = match (&args.init, init_source) {
        (Some(path), Some(source)) => match compile(&file_specifier(path), &source, ScriptRole::Initialization) {
            Ok(script) => Some(script),
            Err(e) => return print_script_error(path, "initialization", e),
        },
        _ => None,
    };

    let limits = Limits { timeout: Duration::from_millis(args.timeout_ms), ..Limits::default() };
    let runtime = Arc::new(RuntimeSpec {
        application_id: "local".into(),
        revision: "local".into(),
        initialization_script: init,
        environment: args.env.into_iter().collect::<BTreeMap<_, _>>(),
        limits,
        platform: None,
        egress: Default::default(),
        packages: None,
    });
    let function = Arc::new(FunctionSpec {
        function_id: "local".into(),
        name: args.handler.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default().into(),
        trigger_type: args.trigger.into(),
        version_number: 1,
        script: handler,
    });
    let engine = Engine::new(EngineConfig::default());
    let outcome = engine
        .invoke(InvocationRequest {
            invocation_id: "local".into(),
            runtime,
            function,
            event: event.into(),
            timeout: None,
        })
        .await;
    super::out(format_args!("{}\n", serde_json::to_string(&outcome).expect("outcome serialises")));
    match outcome.status {
        InvocationStatus::Succeeded => ExitCode::SUCCESS,
        InvocationStatus::Failed => ExitCode::FAILURE,
    }
}

/// Stack traces name the file as the author knows it.
fn file_specifier(path: &Path) -> String {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    deno_core::url::Url::from_file_path(&absolute)
        .map(|u| u.to_string())
        .unwrap_or_else(|_| format!("file:///{}", path.display()))
}
