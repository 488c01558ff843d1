//! `chatfn run`, as a developer runs it.

use std::process::Command;

use super::support::repo_path;

fn chatfn() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chatfn"));
    cmd.current_dir(repo_path(""));
    cmd
}

#[test]
fn run_prints_the_outcome_and_exits_zero() {
    let out = chatfn()
        .args(["run", "fixtures/hello/handler.ts", "--event", "fixtures/hello/event.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "SUCCEEDED");
    assert_eq!(outcome["result"]["payload"]["greeting"], "Hello, jane!");
    assert_eq!(outcome["logs"][0]["message"], "hello, jane");
    assert!(outcome["durationMs"].as_f64().unwrap() > 0.0);
}

#[test]
fn run_with_init_and_env() {
    let dir = tempfile::tempdir().unwrap();
    let handler = dir.path().join("h.ts");
    let init = dir.path().join("init.ts");
    std::fs::write(&init, "const prefix: string = process.env.PREFIX + ':';").unwrap();
    std::fs::write(&handler, "async function handleEvent(e: { n: number }) { return prefix + e.n }").unwrap();
    let out = chatfn()
        .args(["run", handler.to_str().unwrap(), "--init", init.to_str().unwrap(), "--env", "PREFIX=id", "--event", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child.stdin.take().unwrap().write_all(b"{\"n\": 7}").unwrap();
            child.wait_with_output()
        })
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["result"]["payload"], "id:7");
}

#[test]
fn run_exits_one_on_failure_with_ts_positions() {
    let out = chatfn().args(["run", "fixtures/runtime_error/handler.ts", "--event", "fixtures/runtime_error/event.json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["status"], "FAILED");
    assert!(outcome["error"]["stack"].as_str().unwrap().contains("runtime_error/handler.ts:7:11"));

    let out = chatfn().args(["run", "fixtures/syntax_error/handler.ts"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let outcome: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(outcome["error"]["name"], "SyntaxError");
    assert_eq!((outcome["error"]["line"].as_u64(), outcome["error"]["column"].as_u64()), (Some(4), Some(32)));
}

#[test]
fn run_exits_two_on_bad_usage() {
    let out = chatfn().args(["run", "no/such/handler.ts"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read no/such/handler.ts"));

    let out = chatfn().args(["run", "fixtures/hello/handler.ts", "--event", "Cargo.toml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the event is not valid JSON"));

    let out = chatfn().args(["run", "fixtures/hello/handler.ts", "--env", "1BAD=x"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
