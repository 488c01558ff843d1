//! `chatfn logs`: an operator's view of a function's invocation log on a
//! running server — the newest invocations, or a live tail.

use std::collections::HashSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use serde_json::Value;

use super::client::{ApiClient, ServerArgs};

#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The function: its id or its name.
    function: String,
    /// Only invocations with this status (RUNNING, SUCCEEDED, FAILED, QUEUED).
    #[arg(long)]
    status: Option<String>,
    /// How many of the newest invocations to show.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=100))]
    limit: u32,
    /// Keep watching and print each invocation as it finishes.
    #[arg(long, short = 'f')]
    follow: bool,
    /// One JSON object per invocation (as the API gives it) instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

pub async fn logs(args: LogsArgs) -> ExitCode {
    match show(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chatfn logs: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn show(args: LogsArgs) -> Result<(), String> {
    let client = ApiClient::connect(&args.server).await?;
    let function_id = find_function(&client, &args.function).await?;
    let mut path = format!("/v1/functions/{function_id}/invocations?sort=id,desc&size=");
    let filter = args.status.as_ref().map(|s| format!("&status={}", s.to_uppercase())).unwrap_or_default();
    let newest = client.get(&format!("{path}{}{filter}", args.limit)).await?;
    // Following: what starts after the listing (ids grow with time), and
    // what was listed unfinished, each printed once it has finished.
    let mut seen_up_to = 0;
    let mut unfinished = HashSet::new();
    for invocation in oldest_first(&newest) {
        print(&invocation, args.json);
        let id = invocation["id"].as_i64().unwrap_or(0);
        seen_up_to = seen_up_to.max(id);
        if !finished(&invocation) {
            unfinished.insert(id);
        }
    }
    if !args.follow {
        return Ok(());
    }
    path.push_str("100");
    path.push_str(&filter);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let newest = client.get(&path).await?;
        let mut printed_up_to = seen_up_to;
        for invocation in oldest_first(&newest) {
            let id = invocation["id"].as_i64().unwrap_or(0);
            let due = id > seen_up_to || unfinished.contains(&id);
            if !due {
                continue;
            }
            if finished(&invocation) {
                unfinished.remove(&id);
                print(&invocation, args.json);
            } else {
                unfinished.insert(id);
            }
            printed_up_to = printed_up_to.max(id);
        }
        seen_up_to = printed_up_to;
    }
}

/// The id of the function `wanted` names (an id, or a name).
pub(super) async fn find_function(client: &ApiClient, wanted: &str) -> Result<i64, String> {
    if let Ok(id) = wanted.parse::<i64>() {
        client.get(&format!("/v1/functions/{id}")).await?;
        return Ok(id);
    }
    for page in 0.. {
        let functions = client.get(&format!("/v1/runtimes/nodejs/functions?size=100&page={page}")).await?;
        let items = functions["_embedded"]["functions"].as_array().cloned().unwrap_or_default();
        if let Some(found) = items.iter().find(|f| f["name"] == wanted) {
            return found["id"].as_i64().ok_or_else(|| "the server answered a function without an id".into());
        }
        if items.len() < 100 {
            break;
        }
    }
    Err(format!("no function named {wanted:?} in this application"))
}

fn oldest_first(page: &Value) -> Vec<Value> {
    let mut items = page["_embedded"]["invocations"].as_array().cloned().unwrap_or_default();
    items.reverse();
    items
}

fn finished(invocation: &Value) -> bool {
    !matches!(invocation["status"].as_str(), Some("RUNNING" | "QUEUED"))
}

fn print(invocation: &Value, json: bool) {
    if json {
        super::out(format_args!("{invocation}\n"));
    } else {
        super::out(format_args!("{}", render(invocation)));
    }
}

/// An invocation as a few lines of text: a header, its outcome, its console.
fn render(i: &Value) -> String {
    let mut out = format!(
        "{}  {}  {:<9}  v{} attempt {}  {}  {}\n",
        i["createdTime"].as_str().unwrap_or("-"),
        i["id"],
        i["status"].as_str().unwrap_or("?"),
        i["versionNumber"],
        i["attempt"],
        i["durationMs"].as_f64().map_or("-".to_string(), |ms| format!("{ms:.1} ms")),
        i["triggerType"].as_str().unwrap_or(""),
    );
    if let Some(error) = i["error"].as_object() {
        let stack = error.get("stack").and_then(Value::as_str);
        match stack {
            Some(stack) => out.extend(stack.lines().map(|line| format!("  ! {line}\n"))),
            None => out.push_str(&format!(
                "  ! {}: {}\n",
                error.get("name").and_then(Value::as_str).unwrap_or("Error"),
                error.get("message").and_then(Value::as_str).unwrap_or("")
            )),
        }
    } else if let Some(payload) = i["result"].get("payload") {
        out.push_str(&format!("  = {}\n", shorten(&payload.to_string(), 300)));
    }
    for line in i["logs"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  [{}] {}\n",
            line["level"].as_str().unwrap_or("log"),
            shorten(line["message"].as_str().unwrap_or(""), 1_000)
        ));
    }
    out
}

fn shorten(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::render;

    #[test]
    fn an_invocation_reads_as_header_outcome_and_console() {
        let failed = json!({"id": 7, "status": "FAILED", "versionNumber": 2, "attempt": 1, "durationMs": 3.25,
            "createdTime": "2026-11-23T21:00:00.000Z", "triggerType": "user.attempted.start_session",
            "error": {"name": "Error", "message": "no entry", "stack": "Error: no entry\n    at handleEvent (handler.ts:3:9)"},
            "logs": [{"level": "warn", "message": "mallory tried"}]});
        assert_eq!(
            render(&failed),
            "2026-11-23T21:00:00.000Z  7  FAILED     v2 attempt 1  3.2 ms  user.attempted.start_session\n\
             \x20 ! Error: no entry\n  !     at handleEvent (handler.ts:3:9)\n  [warn] mallory tried\n"
        );
        let ok = json!({"id": 8, "status": "SUCCEEDED", "result": {"payload": {"ok": true}}, "logs": []});
        assert!(render(&ok).ends_with("  = {\"ok\":true}\n"), "{}", render(&ok));
    }
}
