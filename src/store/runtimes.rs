//! The chat runtime of each application: dependencies, environment
//! variables, initialization script. Every change bumps its revision, and
//! its semver version with it (`1.0.<revision - 1>`).

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::Row;

use super::{now_millis, Store, StoreResult};
use crate::engine::script::{CompiledScript, Evaluation};
use crate::npm::{Dependency, Lockfile};

#[derive(Debug, Clone)]
pub struct RuntimeRecord {
    pub application_id: i64,
    pub version: String,
    pub revision: i64,
    pub dependencies: Vec<Dependency>,
    pub environment_variables: BTreeMap<String, String>,
    pub initialization_script: String,
    /// The compiled initialization script, if there is one.
    pub initialization: Option<CompiledScript>,
    /// The installed dependency tree (recorded with the dependencies).
    pub lockfile: Option<Lockfile>,
    pub updated_at: i64,
}

pub enum RuntimeChange {
    /// The dependencies with the tree installed for them.
    Dependencies(Vec<Dependency>, Lockfile),
    EnvironmentVariables(BTreeMap<String, String>),
    InitializationScript(String, Option<CompiledScript>),
}

pub(crate) fn evaluation_name(e: Evaluation) -> &'static str {
    match e {
        Evaluation::Global => "global",
        Evaluation::FunctionBody => "function",
        Evaluation::EsModule => "module",
    }
}

pub(crate) fn evaluation_from(s: &str) -> Evaluation {
    match s {
        "global" => Evaluation::Global,
        "module" => Evaluation::EsModule,
        _ => Evaluation::FunctionBody,
    }
}

pub(crate) fn compiled(
    specifier: String,
    source: String,
    code: String,
    map: String,
    evaluation: &str,
) -> CompiledScript {
    CompiledScript {
        specifier: specifier.into(),
        evaluation: evaluation_from(evaluation),
        source: source.into(),
        code: code.into(),
        source_map: Arc::from(map.into_bytes().into_boxed_slice()),
    }
}

const COLUMNS: &str = "application_id, version, revision, dependencies, environment_variables, initialization_script, \
    initialization_code, initialization_source_map, initialization_evaluation, lockfile, updated_at";

fn runtime(row: &sqlx::any::AnyRow) -> StoreResult<RuntimeRecord> {
    let application_id: i64 = row.try_get("application_id")?;
    let revision: i64 = row.try_get("revision")?;
    let script: String = row.try_get("initialization_script")?;
    let code: Option<String> = row.try_get("initialization_code")?;
    let initialization = match code {
        Some(code) => Some(compiled(
            format!("file:///applications/{application_id}/runtime/r{revision}/init.ts"),
            script.clone(),
            code,
            row.try_get::<Option<String>, _>("initialization_source_map")?.unwrap_or_default(),
            &row.try_get::<Option<String>, _>("initialization_evaluation")?.unwrap_or_default(),
        )),
        None => None,
    };
    Ok(RuntimeRecord {
        application_id,
        version: row.try_get("version")?,
        revision,
        dependencies: serde_json::from_str(&row.try_get::<String, _>("dependencies")?).unwrap_or_default(),
        environment_variables: serde_json::from_str(&row.try_get::<String, _>("environment_variables")?)
            .unwrap_or_default(),
        initialization_script: script,
        initialization,
        lockfile: row.try_get::<Option<String>, _>("lockfile")?.and_then(|json| serde_json::from_str(&json).ok()),
        updated_at: row.try_get("updated_at")?,
    })
}

impl Store {
    pub async fn runtime(&self, application_id: i64) -> StoreResult<Option<RuntimeRecord>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM runtimes WHERE application_id = $1"))
            .bind(application_id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(runtime).transpose()
    }

    /// Applies one change atomically; concurrent changes each get their own
    /// revision.
    pub async fn update_runtime(
        &self,
        application_id: i64,
        change: RuntimeChange,
    ) -> StoreResult<Option<RuntimeRecord>> {
        let now = now_millis();
        // The version follows the revision in the same statement, so two
        // writers can never produce the same version.
        let bump = "revision = revision + 1, version = '1.0.' || CAST(revision AS TEXT), updated_at = $2";
        let query = match &change {
            RuntimeChange::Dependencies(..) => format!(
                "UPDATE runtimes SET dependencies = $3, lockfile = $4, {bump} WHERE application_id = $1 RETURNING {COLUMNS}"
            ),
            RuntimeChange::EnvironmentVariables(_) => format!(
                "UPDATE runtimes SET environment_variables = $3, {bump} WHERE application_id = $1 RETURNING {COLUMNS}"
            ),
            RuntimeChange::InitializationScript(..) => format!(
                "UPDATE runtimes SET initialization_script = $3, initialization_code = $4, initialization_source_map = $5, \
                 initialization_evaluation = $6, {bump} WHERE application_id = $1 RETURNING {COLUMNS}"
            ),
        };
        let q = sqlx::query(&query).bind(application_id).bind(now);
        let q = match change {
            RuntimeChange::Dependencies(deps, lockfile) => q
                .bind(serde_json::to_string(&deps).expect("serialises"))
                .bind(serde_json::to_string(&lockfile).expect("serialises")),
            RuntimeChange::EnvironmentVariables(env) => q.bind(serde_json::to_string(&env).expect("serialises")),
            RuntimeChange::InitializationScript(source, compiled) => match compiled {
                Some(c) => q
                    .bind(source)
                    .bind(Some(c.code.to_string()))
                    .bind(Some(String::from_utf8_lossy(&c.source_map).into_owned()))
                    .bind(Some(evaluation_name(c.evaluation).to_string())),
                None => q.bind(source).bind(None::<String>).bind(None::<String>).bind(None::<String>),
            },
        };
        let row = q.fetch_optional(&self.pool).await?;
        row.as_ref().map(runtime).transpose()
    }
}
