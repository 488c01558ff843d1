//! The `chatfn` command line.

mod bench;
mod bench_http;
mod client;
mod deps;
mod functions;
mod login;
mod logs;
mod profiles;
mod run;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "chatfn", version, about = "Self-hosted serverless chat-function runtime host")]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines (on standard error) are written: text, or one JSON object per line.
    #[arg(long, env = "CHATFN_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
    /// Export traces (spans carrying each invocation's id) over OTLP/HTTP to
    /// this collector, e.g. http://127.0.0.1:4318 [default: off].
    #[arg(long, env = "CHATFN_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
}

pub use crate::telemetry::LogFormat;

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a handler once against an event, locally, and print the outcome as JSON.
    Run(run::RunArgs),
    /// Measure the engine: warm invocations, cold starts, transpiling.
    Bench(bench::BenchArgs),
    /// Measure the platform's path over loopback HTTP: blocking and non-blocking triggers.
    BenchHttp(bench_http::BenchHttpArgs),
    /// Serve the HTTP API (and, with it, the chat functions).
    Serve(serve::ServeArgs),
    /// Save a server and an application's credentials as a profile (checked by signing in).
    Login(login::LoginArgs),
    /// Forget a saved profile.
    Logout(login::LogoutArgs),
    /// List the saved profiles.
    Profiles,
    /// Manage applications (tenants).
    Apps(serve::AppsArgs),
    /// Set a runtime's NPM dependencies on a running server, with install progress.
    Deps(deps::DepsArgs),
    /// Show a function's invocations on a running server (`--follow` to keep watching).
    Logs(logs::LogsArgs),
    /// Deploy a handler file as a new version of a function (created with --type).
    Deploy(functions::DeployArgs),
    /// Run a function's current version against an event, through its trigger.
    Invoke(functions::InvokeArgs),
    /// List the application's functions.
    Functions(functions::FunctionsArgs),
    /// List a function's versions (* marks the current one).
    Versions(functions::VersionsArgs),
    /// Make an earlier (or later) version of a function current.
    Rollback(functions::RollbackArgs),
    /// List, set or unset the runtime's environment variables.
    Env(functions::EnvArgs),
    /// Set the runtime's initialization script from a file.
    InitScript(functions::InitScriptArgs),
}

/// Writes to standard output. When the reader has gone (`chatfn run … |
/// head`), exits at once and quietly with the status a shell gives a
/// process killed by SIGPIPE, as Unix tools do, instead of panicking.
pub(crate) fn out(text: std::fmt::Arguments) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout.write_fmt(text).and_then(|()| stdout.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(141);
        }
        eprintln!("chatfn: cannot write to standard output: {e}");
        std::process::exit(1);
    }
}

/// Exit status for bad usage or unreadable input files.
pub const EXIT_USAGE: u8 = 2;

pub async fn execute(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Run(args) => run::run(args).await,
        Command::Bench(args) => bench::bench(args).await,
        Command::BenchHttp(args) => bench_http::bench_http(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Login(args) => login::login(args).await,
        Command::Logout(args) => login::logout(args).await,
        Command::Profiles => login::list().await,
        Command::Apps(args) => serve::apps(args).await,
        Command::Deps(args) => deps::deps(args).await,
        Command::Logs(args) => logs::logs(args).await,
        Command::Deploy(args) => functions::deploy(args).await,
        Command::Invoke(args) => functions::invoke(args).await,
        Command::Functions(args) => functions::functions(args).await,
        Command::Versions(args) => functions::versions(args).await,
        Command::Rollback(args) => functions::rollback(args).await,
        Command::Env(args) => functions::env(args).await,
        Command::InitScript(args) => functions::init_script(args).await,
    }
}

pub fn init_tracing() {
    let _ = crate::telemetry::init(LogFormat::Text, None);
}
