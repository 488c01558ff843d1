//! The developer's commands against a running server: `deploy`, `invoke`,
//! `functions`, `versions`, `rollback`, `env` and `init-script`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use reqwest::Method;
use serde_json::{json, Value};

use super::client::{ApiClient, ServerArgs};
use super::logs::find_function;

/// A refusal from the server, or no answer at all.
struct Failure(String);

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure(message)
    }
}

/// One request; a non-2xx answer is a `Failure` naming the server's error.
async fn call(client: &ApiClient, method: Method, path: &str, body: Option<&Value>) -> Result<Value, Failure> {
    Ok(client.call(method, path, body).await?)
}

fn finish(command: &str, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("chatfn {command}: {message}");
            ExitCode::FAILURE
        }
    }
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure(format!("cannot read {}: {e}", path.display())))
}

#[derive(Debug, Args)]
pub struct DeployArgs {
    /// The handler script (TypeScript or JavaScript).
    file: PathBuf,
    /// The function to deploy to, by id or name (default: the file's name without extension).
    #[arg(long)]
    function: Option<String>,
    /// Create the function with this trigger type when there is none of that name.
    #[arg(long = "type")]
    trigger_type: Option<String>,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn deploy(args: DeployArgs) -> ExitCode {
    finish("deploy", deploy_file(args).await)
}

async fn deploy_file(args: DeployArgs) -> Result<(), Failure> {
    let script = read(&args.file)?;
    let client = ApiClient::connect(&args.server).await?;
    let wanted = match &args.function {
        Some(function) => function.clone(),
        None => args.file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default(),
    };
    let function_id = match find_function(&client, &wanted).await {
        Ok(id) => id,
        Err(_) => {
            let Some(trigger_type) = &args.trigger_type else {
                return Err(Failure(format!("no function named {wanted:?}: pass --type TRIGGER_TYPE to create it")));
            };
            let body = json!({"type": trigger_type, "name": wanted});
            let created = call(&client, Method::POST, "/v1/runtimes/nodejs/functions", Some(&body)).await?;
            eprintln!("created function {wanted:?} ({trigger_type}), id {}", created["id"]);
            created["id"].as_i64().ok_or_else(|| Failure("the server answered a function without an id".into()))?
        }
    };
    let body = json!({ "handlerScript": script });
    let (status, answer) =
        client.send(Method::POST, &format!("/v1/functions/{function_id}/versions"), Some(&body)).await?;
    if !status.is_success() {
        let message = answer["message"].as_str().unwrap_or("the deploy failed");
        let (line, column) = (answer["line"].as_u64().unwrap_or(0), answer["column"].as_u64().unwrap_or(0));
        if line > 0 {
            // The source line and a caret under the column, as compilers show it.
            let source = script.lines().nth(line as usize - 1).unwrap_or("");
            let caret = format!("{}^", " ".repeat(column.saturating_sub(1) as usize));
            return Err(Failure(format!("{}:{line}:{column}: {message}\n{source}\n{caret}", args.file.display())));
        }
        return Err(Failure(format!("{status}: {message}")));
    }
    super::out(format_args!(
        "deployed {} as version {} of function {wanted:?} (id {function_id})\n",
        args.file.display(),
        answer["versionNumber"]
    ));
    Ok(())
}

#[derive(Debug, Args)]
pub struct InvokeArgs {
    /// The function, by id or name: its trigger runs its current version.
    function: String,
    /// The event, as a JSON file (`-` reads standard input).
    #[arg(long)]
    event: PathBuf,
    /// Run this deployed version instead (a test run: nothing is deployed).
    #[arg(long, conflicts_with = "draft")]
    version: Option<i64>,
    /// Run this file as a draft instead (a test run: nothing is stored of it).
    #[arg(long)]
    draft: Option<PathBuf>,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn invoke(args: InvokeArgs) -> ExitCode {
    finish("invoke", invoke_function(args).await)
}

async fn invoke_function(args: InvokeArgs) -> Result<(), Failure> {
    let text = if args.event.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin()).map_err(|e| Failure(format!("cannot read the event: {e}")))?
    } else {
        read(&args.event)?
    };
    let event: Value =
        serde_json::from_str(&text).map_err(|e| Failure(format!("{} is not JSON: {e}", args.event.display())))?;
    let client = ApiClient::connect(&args.server).await?;
    let function_id = find_function(&client, &args.function).await?;
    if args.version.is_some() || args.draft.is_some() {
        let mut body = json!({ "event": event });
        if let Some(n) = args.version {
            body["versionNumber"] = json!(n);
        }
        if let Some(draft) = &args.draft {
            body["handlerScript"] = json!(read(draft)?);
        }
        let ran = call(&client, Method::POST, &format!("/v1/functions/{function_id}/test"), Some(&body)).await?;
        super::out(format_args!("{ran}\n"));
        return if ran["status"] == "SUCCEEDED" { Ok(()) } else { Err(Failure("the test run failed".into())) };
    }
    let function = call(&client, Method::GET, &format!("/v1/functions/{function_id}"), None).await?;
    let trigger_type = function["type"].as_str().unwrap_or_default().to_string();
    let (status, answer) = client.send(Method::POST, &format!("/v1/triggers/{trigger_type}"), Some(&event)).await?;
    if status == reqwest::StatusCode::ACCEPTED {
        // Non-blocking: wait for the queued invocation to finish.
        let Some(id) = answer["invocationIds"][0].as_i64() else {
            return Err(Failure(format!("the function {} is not enabled: nothing ran", args.function)));
        };
        // Past a second, say so on a terminal: a spinner with the state.
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        for tick in 0..600usize {
            let invocation = call(&client, Method::GET, &format!("/v1/function-invocations/{id}"), None).await?;
            let state = invocation["status"].as_str().unwrap_or_default().to_string();
            if !matches!(state.as_str(), "QUEUED" | "RUNNING") {
                if tty && tick >= 10 {
                    eprint!("\r\x1b[2K");
                }
                super::out(format_args!("{invocation}\n"));
                return Ok(());
            }
            if tty && tick >= 10 {
                let spinner = ['|', '/', '-', '\\'][tick % 4];
                eprint!("\r\x1b[2K{spinner} invocation {id} {state} ({:.1} s)", tick as f64 / 10.0);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        return Err(Failure(format!("invocation {id} did not finish within a minute")));
    }
    super::out(format_args!("{answer}\n"));
    if status.is_success() {
        Ok(())
    } else {
        Err(Failure(format!("{status}: {}", answer["message"].as_str().unwrap_or("refused"))))
    }
}

#[derive(Debug, Args)]
pub struct FunctionsArgs {
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn functions(args: FunctionsArgs) -> ExitCode {
    finish("functions", list_functions(args).await)
}

async fn list_functions(args: FunctionsArgs) -> Result<(), Failure> {
    let client = ApiClient::connect(&args.server).await?;
    super::out(format_args!("{:>6}  {:<30}  {:<24}  {:<8}  {}\n", "ID", "TYPE", "NAME", "ENABLED", "VERSION"));
    for page in 0.. {
        let listing =
            call(&client, Method::GET, &format!("/v1/runtimes/nodejs/functions?size=100&page={page}"), None).await?;
        let items = listing["_embedded"]["functions"].as_array().cloned().unwrap_or_default();
        for f in &items {
            super::out(format_args!(
                "{:>6}  {:<30}  {:<24}  {:<8}  {}\n",
                f["id"].as_i64().unwrap_or(0),
                f["type"].as_str().unwrap_or(""),
                f["name"].as_str().unwrap_or(""),
                f["enabled"].as_bool().unwrap_or(false),
                f["currentVersionNumber"].as_i64().map_or("-".to_string(), |n| n.to_string())
            ));
        }
        if items.len() < 100 {
            break;
        }
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct VersionsArgs {
    /// The function, by id or name.
    function: String,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn versions(args: VersionsArgs) -> ExitCode {
    finish("versions", list_versions(args).await)
}

async fn list_versions(args: VersionsArgs) -> Result<(), Failure> {
    let client = ApiClient::connect(&args.server).await?;
    let id = find_function(&client, &args.function).await?;
    let function = call(&client, Method::GET, &format!("/v1/functions/{id}"), None).await?;
    let current = function["currentVersionNumber"].as_i64();
    let listing =
        call(&client, Method::GET, &format!("/v1/functions/{id}/versions?size=100&sort=versionNumber,desc"), None)
            .await?;
    for v in listing["_embedded"]["versions"].as_array().cloned().unwrap_or_default() {
        let number = v["versionNumber"].as_i64();
        let marker = if number == current { "*" } else { " " };
        let first_line = v["handlerScript"].as_str().unwrap_or("").lines().next().unwrap_or("").to_string();
        super::out(format_args!(
            "{marker} {:>4}  {}  {first_line}\n",
            number.unwrap_or(0),
            v["createdTime"].as_str().unwrap_or("")
        ));
    }
    Ok(())
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The function, by id or name.
    function: String,
    /// The version number to make current again.
    version: i64,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn rollback(args: RollbackArgs) -> ExitCode {
    finish("rollback", roll_back(args).await)
}

async fn roll_back(args: RollbackArgs) -> Result<(), Failure> {
    let client = ApiClient::connect(&args.server).await?;
    let id = find_function(&client, &args.function).await?;
    let body = json!({ "versionNumber": args.version });
    let version = call(&client, Method::PUT, &format!("/v1/functions/{id}/current-version"), Some(&body)).await?;
    super::out(format_args!("function {:?} now runs version {}\n", args.function, version["versionNumber"]));
    Ok(())
}

#[derive(Debug, Args)]
pub struct EnvArgs {
    #[command(subcommand)]
    command: EnvCommand,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Debug, Subcommand)]
enum EnvCommand {
    /// The runtime's environment variables (values masked unless --show).
    List {
        #[arg(long)]
        show: bool,
    },
    /// Set variables: NAME=VALUE ...
    Set { assignments: Vec<String> },
    /// Remove variables: NAME ...
    Unset { names: Vec<String> },
}

pub async fn env(args: EnvArgs) -> ExitCode {
    finish("env", change_env(args).await)
}

async fn change_env(args: EnvArgs) -> Result<(), Failure> {
    let client = ApiClient::connect(&args.server).await?;
    let runtime = call(&client, Method::GET, "/v1/runtimes/nodejs", None).await?;
    let mut vars = runtime["environmentVariables"].as_object().cloned().unwrap_or_default();
    match args.command {
        EnvCommand::List { show } => {
            for (name, value) in &vars {
                let value = value.as_str().unwrap_or("");
                let shown = if show { value.to_string() } else { "*".repeat(value.chars().count().min(8)) };
                super::out(format_args!("{name}={shown}\n"));
            }
            return Ok(());
        }
        EnvCommand::Set { assignments } => {
            for assignment in assignments {
                let (name, value) =
                    assignment.split_once('=').ok_or_else(|| Failure(format!("{assignment:?} is not NAME=VALUE")))?;
                vars.insert(name.to_string(), Value::String(value.to_string()));
            }
        }
        EnvCommand::Unset { names } => {
            for name in names {
                if vars.remove(&name).is_none() {
                    return Err(Failure(format!("no environment variable {name:?}")));
                }
            }
        }
    }
    let body = Value::Object(vars);
    let runtime = call(&client, Method::PUT, "/v1/runtimes/nodejs/environment-variables", Some(&body)).await?;
    super::out(format_args!("runtime version {}\n", runtime["version"]));
    Ok(())
}

#[derive(Debug, Args)]
pub struct InitScriptArgs {
    /// The initialization script (runs once per warm runtime, before any function).
    file: PathBuf,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn init_script(args: InitScriptArgs) -> ExitCode {
    finish("init-script", set_init_script(args).await)
}

async fn set_init_script(args: InitScriptArgs) -> Result<(), Failure> {
    let script = read(&args.file)?;
    let client = ApiClient::connect(&args.server).await?;
    let body = json!({ "script": script });
    let runtime = call(&client, Method::PUT, "/v1/runtimes/nodejs/initialization-script", Some(&body)).await?;
    super::out(format_args!("runtime version {}\n", runtime["version"]));
    Ok(())
}
