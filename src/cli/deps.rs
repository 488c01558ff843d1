//! `chatfn deps install`: set a runtime's NPM dependencies on a running
//! server, with a progress bar fed by the server's install progress.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Subcommand};
use serde_json::{json, Value};

use super::client::{ApiClient, ServerArgs};

#[derive(Debug, Args)]
pub struct DepsArgs {
    #[command(subcommand)]
    command: DepsCommand,
}

#[derive(Debug, Subcommand)]
enum DepsCommand {
    /// Replace the runtime's dependencies (`name@range`, e.g. `lodash@^4.17.0`; no range: `latest`)
    /// and wait for the install.
    Install(InstallArgs),
}

#[derive(Debug, Args)]
struct InstallArgs {
    /// `name@range` of each dependency.
    #[arg(required = true)]
    packages: Vec<String>,
    #[command(flatten)]
    server: ServerArgs,
}

/// `lodash@^4.17.0` → ("lodash", "^4.17.0"); `@scope/pkg` → ("@scope/pkg", "latest").
fn parse_spec(spec: &str) -> (String, String) {
    match spec.rfind('@') {
        Some(at) if at > 0 => (spec[..at].to_string(), spec[at + 1..].to_string()),
        _ => (spec.to_string(), "latest".to_string()),
    }
}

pub async fn deps(args: DepsArgs) -> ExitCode {
    match args.command {
        DepsCommand::Install(args) => match install(args).await {
            Ok(code) => code,
            Err(message) => {
                eprintln!("chatfn deps install: {message}");
                ExitCode::FAILURE
            }
        },
    }
}

async fn install(args: InstallArgs) -> Result<ExitCode, String> {
    let client = ApiClient::connect(&args.server).await?;
    let answer = install_with_progress(&client, &args.packages).await?;
    println!(
        "{}",
        json!({
            "version": answer["version"],
            "installedDependencies": answer["installedDependencies"],
            "installedPackages": answer["installedPackages"].as_array().map(Vec::len),
        })
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets the runtime's dependencies (`name@range` each) and waits for the
/// install, drawing its progress on standard error; answers the runtime,
/// or the server's refusal (status and message) or why no answer came.
pub(super) async fn install_with_progress(client: &ApiClient, packages: &[String]) -> Result<Value, String> {
    let ApiClient { http, base, token } = client;
    let body: Vec<Value> = packages
        .iter()
        .map(|spec| {
            let (name, version) = parse_spec(spec);
            json!({"name": name, "version": version, "defaultDependency": false})
        })
        .collect();

    let put = {
        let (http, base, token) = (http.clone(), base.clone(), token.clone());
        tokio::spawn(async move {
            http.put(format!("{base}/v1/runtimes/nodejs/dependencies")).bearer_auth(&token).json(&body).send().await
        })
    };
    let tty = std::io::stderr().is_terminal();
    let mut last = String::new();
    while !put.is_finished() {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let progress =
            http.get(format!("{base}/v1/runtimes/nodejs/dependencies/install")).bearer_auth(token).send().await;
        let Ok(progress) = progress else { continue };
        if !progress.status().is_success() {
            continue;
        }
        let Ok(progress) = progress.json::<Value>().await else { continue };
        let line = render(&progress);
        if line != last {
            if tty {
                eprint!("\r\x1b[2K{line}");
            } else {
                eprintln!("{line}");
            }
            let _ = std::io::stderr().flush();
            last = line;
        }
    }
    if tty && !last.is_empty() {
        eprintln!();
    }
    let response = put.await.map_err(|e| e.to_string())?.map_err(|e| format!("the install request failed: {e}"))?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        return Err(format!("{status}: {}", answer["message"].as_str().unwrap_or("the install failed")));
    }
    Ok(answer)
}

/// `[##########----------] 12/25 packages, 1.2 MB`
fn render(progress: &Value) -> String {
    let total = progress["packagesTotal"].as_u64().unwrap_or(0);
    if total == 0 {
        return format!("resolving… {} packages", progress["packagesResolved"].as_u64().unwrap_or(0));
    }
    let done = progress["packagesFetched"].as_u64().unwrap_or(0).min(total);
    let width = 30;
    let filled = (done * width / total) as usize;
    format!(
        "[{}{}] {done}/{total} packages, {:.1} MB",
        "#".repeat(filled),
        "-".repeat(width as usize - filled),
        progress["bytesUnpacked"].as_u64().unwrap_or(0) as f64 / 1e6
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_and_progress_lines() {
        assert_eq!(parse_spec("lodash@^4.17.0"), ("lodash".into(), "^4.17.0".into()));
        assert_eq!(parse_spec("@scope/pkg@>=1 <3"), ("@scope/pkg".into(), ">=1 <3".into()));
        assert_eq!(parse_spec("@scope/pkg"), ("@scope/pkg".into(), "latest".into()));
        assert_eq!(parse_spec("dayjs"), ("dayjs".into(), "latest".into()));
        let line = render(&json!({"packagesTotal": 4, "packagesFetched": 1, "bytesUnpacked": 2_500_000}));
        assert_eq!(line, format!("[{}{}] 1/4 packages, 2.5 MB", "#".repeat(7), "-".repeat(23)));
    }
}
