//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatfn::engine::{
    compile, FunctionSpec, InvocationOutcome, InvocationRequest, Limits, RuntimeSpec, ScriptRole,
};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn runtime(app: &str, revision: &str, init: Option<&str>, env: &[(&str, &str)], limits: Limits) -> Arc<RuntimeSpec> {
    Arc::new(RuntimeSpec {
        application_id: app.into(),
        revision: revision.into(),
        initialization_script: init.map(|src| {
            compile(&format!("file:///{app}/init.ts"), src, ScriptRole::Initialization).expect("init compiles")
        }),
        environment: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        limits,
    })
}

pub fn function(app: &str, id: &str, version: i64, source: &str) -> Arc<FunctionSpec> {
    Arc::new(FunctionSpec {
        function_id: id.into(),
        name: id.into(),
        trigger_type: "user.attempted.start_session".into(),
        version_number: version,
        script: compile(&format!("file:///{app}/{id}/v{version}.ts"), source, ScriptRole::Handler)
            .expect("handler compiles"),
    })
}

pub fn request(runtime: &Arc<RuntimeSpec>, function: &Arc<FunctionSpec>, event: &str) -> InvocationRequest {
    InvocationRequest {
        invocation_id: "test".into(),
        runtime: runtime.clone(),
        function: function.clone(),
        event: event.into(),
        timeout: None,
    }
}

pub fn limits(timeout_ms: u64) -> Limits {
    Limits { timeout: Duration::from_millis(timeout_ms), ..Limits::default() }
}

pub fn payload(outcome: &InvocationOutcome) -> serde_json::Value {
    let result = outcome.result.as_ref().unwrap_or_else(|| panic!("no result: {outcome:?}"));
    serde_json::from_str(result.payload.as_ref().expect("a payload").get()).unwrap()
}
