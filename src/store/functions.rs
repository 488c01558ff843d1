//! Chat functions, their versions and their invocations.

use super::states::InvocationState;
use sqlx::Row;

use super::page::{contains, contains_pattern, Conditions};
use super::runtimes::{compiled, evaluation_name};
use super::{now_millis, Listing, PageRequest, Param, Store, StoreError, StoreResult};
use crate::engine::script::CompiledScript;

#[derive(Debug, Clone)]
pub struct FunctionRecord {
    pub id: i64,
    pub application_id: i64,
    pub trigger_type: String,
    pub name: String,
    pub description: Option<String>,
    pub enabled: bool,
    pub initialize_asynchronously: bool,
    pub timeout_ms: Option<i64>,
    pub current_version_id: Option<i64>,
    pub current_version_number: Option<i64>,
    pub created_at: i64,
}

pub struct NewFunction {
    pub trigger_type: String,
    pub name: String,
    pub description: Option<String>,
    pub initialize_asynchronously: bool,
}

/// Fields a JSON merge patch may change; `None` leaves a field as it is.
#[derive(Default)]
pub struct FunctionPatch {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub enabled: Option<bool>,
    pub initialize_asynchronously: Option<bool>,
    pub timeout_ms: Option<Option<i64>>,
}

#[derive(Debug, Clone)]
pub struct VersionRecord {
    pub id: i64,
    pub function_id: i64,
    pub version_number: i64,
    pub handler_script: String,
    pub created_at: i64,
    pub script: CompiledScript,
}

#[derive(Debug, Clone)]
pub struct InvocationRecord {
    pub id: i64,
    /// A test run (of a draft or a chosen version).
    pub test: bool,
    pub function_id: i64,
    pub version_id: i64,
    pub version_number: i64,
    pub trigger_type: String,
    pub args: String,
    pub status: InvocationState,
    pub result: Option<String>,
    pub error: Option<String>,
    pub logs: Option<String>,
    pub attempt: i64,
    pub duration_ms: Option<f64>,
    pub created_at: i64,
    pub finished_at: Option<i64>,
}

#[derive(Debug, Default, Clone)]
pub struct InvocationFilter {
    /// Test runs too (hidden otherwise).
    pub include_tests: bool,
    pub status: Option<InvocationState>,
    pub version_number: Option<i64>,
    pub start_time: Option<i64>,
    pub end_time: Option<i64>,
    pub query: Option<String>,
}

const FUNCTION_COLUMNS: &str = "f.id, f.application_id, f.type, f.name, f.description, f.enabled, \
    f.initialize_asynchronously, f.timeout_ms, f.current_version_id, f.created_at, v.version_number AS current_version_number";
const FUNCTION_FROM: &str = "functions f LEFT JOIN function_versions v ON v.id = f.current_version_id";

fn function(row: &sqlx::any::AnyRow) -> StoreResult<FunctionRecord> {
    Ok(FunctionRecord {
        id: row.try_get("id")?,
        application_id: row.try_get("application_id")?,
        trigger_type: row.try_get("type")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        enabled: row.try_get::<i64, _>("enabled")? != 0,
        initialize_asynchronously: row.try_get::<i64, _>("initialize_asynchronously")? != 0,
        timeout_ms: row.try_get("timeout_ms")?,
        current_version_id: row.try_get("current_version_id")?,
        current_version_number: row.try_get("current_version_number")?,
        created_at: row.try_get("created_at")?,
    })
}

const VERSION_COLUMNS: &str =
    "id, application_id, function_id, version_number, handler_script, compiled_code, source_map, evaluation, created_at";

fn version(row: &sqlx::any::AnyRow) -> StoreResult<VersionRecord> {
    let application_id: i64 = row.try_get("application_id")?;
    let function_id: i64 = row.try_get("function_id")?;
    let version_number: i64 = row.try_get("version_number")?;
    let handler_script: String = row.try_get("handler_script")?;
    Ok(VersionRecord {
        id: row.try_get("id")?,
        function_id,
        version_number,
        created_at: row.try_get("created_at")?,
        script: compiled(
            version_specifier(application_id, function_id, version_number),
            handler_script.clone(),
            row.try_get("compiled_code")?,
            row.try_get("source_map")?,
            &row.try_get::<String, _>("evaluation")?,
        ),
        handler_script,
    })
}

/// The name a version runs under; stack traces show it.
pub fn version_specifier(application_id: i64, function_id: i64, version_number: i64) -> String {
    format!("file:///applications/{application_id}/functions/{function_id}/v{version_number}.ts")
}

const INVOCATION_COLUMNS: &str =
    "id, function_id, version_id, version_number, trigger_type, args, status, result, error, \
    logs, attempt, duration_ms, created_at, finished_at, test";

fn invocation(row: &sqlx::any::AnyRow) -> StoreResult<InvocationRecord> {
    Ok(InvocationRecord {
        id: row.try_get("id")?,
        function_id: row.try_get("function_id")?,
        version_id: row.try_get("version_id")?,
        version_number: row.try_get("version_number")?,
        test: row.try_get::<i64, _>("test")? != 0,
        trigger_type: row.try_get("trigger_type")?,
        args: row.try_get("args")?,
        status: {
            let text: String = row.try_get("status")?;
            InvocationState::parse(&text)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown invocation status {text:?}").into()))?
        },
        result: row.try_get("result")?,
        error: row.try_get("error")?,
        logs: row.try_get("logs")?,
        attempt: row.try_get("attempt")?,
        duration_ms: row.try_get("duration_ms")?,
        created_at: row.try_get("created_at")?,
        finished_at: row.try_get("finished_at")?,
    })
}

impl Store {
    pub async fn create_function(&self, application_id: i64, new: NewFunction) -> StoreResult<FunctionRecord> {
        let row = sqlx::query(
            "INSERT INTO functions (application_id, type, name, description, initialize_asynchronously, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(application_id)
        .bind(&new.trigger_type)
        .bind(&new.name)
        .bind(new.description.clone())
        .bind(new.initialize_asynchronously as i64)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            StoreError::from_write(e, || format!("a function for trigger type {:?} already exists", new.trigger_type))
        })?;
        let id: i64 = row.try_get("id")?;
        Ok(self.function(application_id, id).await?.expect("just inserted"))
    }

    pub async fn function(&self, application_id: i64, id: i64) -> StoreResult<Option<FunctionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {FUNCTION_COLUMNS} FROM {FUNCTION_FROM} WHERE f.id = $1 AND f.application_id = $2"
        ))
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(function).transpose()
    }

    pub async fn function_for_trigger(
        &self,
        application_id: i64,
        trigger_type: &str,
    ) -> StoreResult<Option<FunctionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {FUNCTION_COLUMNS} FROM {FUNCTION_FROM} WHERE f.application_id = $1 AND f.type = $2"
        ))
        .bind(application_id)
        .bind(trigger_type)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(function).transpose()
    }

    pub async fn list_functions(
        &self,
        application_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<FunctionRecord>, i64)> {
        let from_where = format!("{FUNCTION_FROM} WHERE f.application_id = $1");
        let listing = Listing {
            columns: FUNCTION_COLUMNS,
            from_where: &from_where,
            order_by: "f.id",
            params: vec![Param::Int(application_id)],
        };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(function).collect::<StoreResult<_>>()?, total))
    }

    pub async fn update_function(
        &self,
        application_id: i64,
        id: i64,
        patch: FunctionPatch,
    ) -> StoreResult<Option<FunctionRecord>> {
        let Some(current) = self.function(application_id, id).await? else { return Ok(None) };
        sqlx::query(
            "UPDATE functions SET name = $1, description = $2, enabled = $3, timeout_ms = $4, \
             initialize_asynchronously = $5 WHERE id = $6 AND application_id = $7",
        )
        .bind(patch.name.unwrap_or(current.name))
        .bind(patch.description.unwrap_or(current.description))
        .bind(patch.enabled.unwrap_or(current.enabled) as i64)
        .bind(patch.timeout_ms.unwrap_or(current.timeout_ms))
        .bind(patch.initialize_asynchronously.unwrap_or(current.initialize_asynchronously) as i64)
        .bind(id)
        .bind(application_id)
        .execute(&self.pool)
        .await?;
        self.function(application_id, id).await
    }

    pub async fn delete_function(&self, application_id: i64, id: i64) -> StoreResult<bool> {
        let mut tx = self.begin_write().await?;
        for table in ["invocations", "function_versions"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE function_id = $1 AND application_id = $2"))
                .bind(id)
                .bind(application_id)
                .execute(&mut *tx)
                .await?;
        }
        let done = sqlx::query("DELETE FROM functions WHERE id = $1 AND application_id = $2")
            .bind(id)
            .bind(application_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    /// Stores a new version and makes it current, numbered after the last
    /// one even under concurrent uploads (the counter is taken with the
    /// function's row locked by the update).
    pub async fn create_version(
        &self,
        application_id: i64,
        function_id: i64,
        script: &CompiledScript,
    ) -> StoreResult<Option<VersionRecord>> {
        let mut tx = self.begin_write().await?;
        let Some(row) = sqlx::query(
            "UPDATE functions SET next_version_number = next_version_number + 1 \
             WHERE id = $1 AND application_id = $2 RETURNING next_version_number",
        )
        .bind(function_id)
        .bind(application_id)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let number: i64 = row.try_get::<i64, _>("next_version_number")? - 1;
        let row = sqlx::query(&format!(
            "INSERT INTO function_versions (application_id, function_id, version_number, handler_script, compiled_code, \
             source_map, evaluation, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {VERSION_COLUMNS}"
        ))
        .bind(application_id)
        .bind(function_id)
        .bind(number)
        .bind(script.source.to_string())
        .bind(script.code.to_string())
        .bind(String::from_utf8_lossy(&script.source_map).into_owned())
        .bind(evaluation_name(script.evaluation))
        .bind(now_millis())
        .fetch_one(&mut *tx)
        .await?;
        let record = version(&row)?;
        sqlx::query("UPDATE functions SET current_version_id = $1 WHERE id = $2")
            .bind(record.id)
            .bind(function_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(Some(record))
    }

    pub async fn version(&self, application_id: i64, id: i64) -> StoreResult<Option<VersionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM function_versions WHERE id = $1 AND application_id = $2"
        ))
        .bind(id)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(version).transpose()
    }

    pub async fn version_by_number(
        &self,
        application_id: i64,
        function_id: i64,
        number: i64,
    ) -> StoreResult<Option<VersionRecord>> {
        let row = sqlx::query(&format!(
            "SELECT {VERSION_COLUMNS} FROM function_versions WHERE function_id = $1 AND version_number = $2 AND application_id = $3"
        ))
        .bind(function_id)
        .bind(number)
        .bind(application_id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(version).transpose()
    }

    pub async fn list_versions(
        &self,
        application_id: i64,
        function_id: i64,
        page: PageRequest,
    ) -> StoreResult<(Vec<VersionRecord>, i64)> {
        let listing = Listing {
            columns: VERSION_COLUMNS,
            from_where: "function_versions WHERE function_id = $1 AND application_id = $2",
            order_by: "version_number",
            params: vec![Param::Int(function_id), Param::Int(application_id)],
        };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(version).collect::<StoreResult<_>>()?, total))
    }

    /// Makes an existing version current again (rollback or roll forward).
    pub async fn set_current_version(
        &self,
        application_id: i64,
        function_id: i64,
        number: i64,
    ) -> StoreResult<Option<VersionRecord>> {
        let Some(record) = self.version_by_number(application_id, function_id, number).await? else {
            return Ok(None);
        };
        sqlx::query("UPDATE functions SET current_version_id = $1 WHERE id = $2 AND application_id = $3")
            .bind(record.id)
            .bind(function_id)
            .bind(application_id)
            .execute(&self.pool)
            .await?;
        Ok(Some(record))
    }

    pub async fn list_invocations(
        &self,
        application_id: i64,
        function_id: i64,
        filter: &InvocationFilter,
        page: PageRequest,
    ) -> StoreResult<(Vec<InvocationRecord>, i64)> {
        let mut conditions = Conditions::new(
            "function_id = $1 AND application_id = $2",
            vec![Param::Int(function_id), Param::Int(application_id)],
        );
        if !filter.include_tests {
            conditions.and_sql("test = 0");
        }
        if let Some(status) = filter.status {
            conditions.and(|p| format!("status = {p}"), Param::Text(status.as_str().to_string()));
        }
        if let Some(version) = filter.version_number {
            conditions.and(|p| format!("version_number = {p}"), Param::Int(version));
        }
        if let Some(t) = filter.start_time {
            conditions.and(|p| format!("created_at >= {p}"), Param::Int(t));
        }
        if let Some(t) = filter.end_time {
            conditions.and(|p| format!("created_at <= {p}"), Param::Int(t));
        }
        if let Some(text) = &filter.query {
            // Text anywhere in the event, result, error or console output.
            conditions.and(
                |p| {
                    let each = ["args", "COALESCE(result, '')", "COALESCE(logs, '')", "COALESCE(error, '')"];
                    format!("({})", each.map(|column| contains(column, p)).join(" OR "))
                },
                Param::Text(contains_pattern(text)),
            );
        }
        let from_where = format!("invocation_log WHERE {}", conditions.sql());
        let listing =
            Listing { columns: INVOCATION_COLUMNS, from_where: &from_where, order_by: "id", params: conditions.params };
        let (rows, total) = self.page(listing, page).await?;
        Ok((rows.iter().map(invocation).collect::<StoreResult<_>>()?, total))
    }

    /// A function's invocations (not test runs) that finished after
    /// `after` = (finished_at, id), in the order they finished: what a live
    /// tail of its log has not shown yet.
    pub async fn invocations_finished_after(
        &self,
        application_id: i64,
        function_id: i64,
        after: (i64, i64),
        limit: i64,
    ) -> StoreResult<Vec<InvocationRecord>> {
        let rows = sqlx::query(&format!(
            "SELECT {INVOCATION_COLUMNS} FROM invocations \
             WHERE function_id = $1 AND application_id = $2 AND test = 0 AND finished_at >= $3 \
             AND (finished_at > $3 OR id > $4) ORDER BY finished_at, id LIMIT $5"
        ))
        .bind(function_id)
        .bind(application_id)
        .bind(after.0)
        .bind(after.1)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(invocation).collect()
    }

    pub async fn invocation(&self, application_id: i64, id: i64) -> StoreResult<Option<InvocationRecord>> {
        // A recorded attempt by its key first; only an id without a row (a
        // first attempt not started) reads the log's arms over the
        // application's active jobs, which have no index by invocation.
        for source in ["invocations", "invocation_log"] {
            let row = sqlx::query(&format!(
                "SELECT {INVOCATION_COLUMNS} FROM {source} WHERE id = $1 AND application_id = $2"
            ))
            .bind(id)
            .bind(application_id)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(row) = row {
                return invocation(&row).map(Some);
            }
        }
        Ok(None)
    }
}
