//! Helpers shared by the integration tests.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chatfn::engine::{compile, FunctionSpec, InvocationOutcome, InvocationRequest, Limits, RuntimeSpec, ScriptRole};

pub fn repo_path(relative: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(relative)
}

pub fn runtime(
    app: &str,
    revision: &str,
    init: Option<&str>,
    env: &[(&str, &str)],
    limits: Limits,
) -> Arc<RuntimeSpec> {
    Arc::new(RuntimeSpec {
        application_id: app.into(),
        revision: revision.into(),
        initialization_script: init.map(|src| {
            compile(&format!("file:///{app}/init.ts"), src, ScriptRole::Initialization).expect("init compiles")
        }),
        environment: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<BTreeMap<_, _>>(),
        limits,
        platform: None,
        egress: Default::default(),
        packages: None,
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

// ---------------------------------------------------------------------------
// A real server on loopback, over a real store.
// ---------------------------------------------------------------------------

use chatfn::server::{create_application, Server, ServerConfig};
use chatfn::store::Store;
use reqwest::StatusCode;
use serde_json::Value;

#[derive(Clone)]
pub struct TestApp {
    pub http: reqwest::Client,
    pub base: String,
    pub database_url: String,
    pub application_id: i64,
    pub client_id: String,
    pub client_secret: String,
    pub token: String,
    stop: Arc<parking_lot::Mutex<Option<(tokio::sync::oneshot::Sender<()>, tokio::task::JoinHandle<()>)>>>,
    _keep: Arc<dyn std::any::Any + Send + Sync>,
}

impl TestApp {
    pub async fn spawn(database_url: String, keep: Arc<dyn std::any::Any + Send + Sync>) -> TestApp {
        Self::spawn_with(database_url, keep, |_| {}).await
    }

    /// A server whose configuration the test adjusts first.
    pub async fn spawn_with(
        database_url: String,
        keep: Arc<dyn std::any::Any + Send + Sync>,
        configure: impl FnOnce(&mut ServerConfig),
    ) -> TestApp {
        chatfn::cli::init_tracing();
        let mut config = ServerConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            database_url: database_url.clone(),
            public_url: None,
            token_ttl_secs: 3600,
            default_client: Some(("test-client".into(), "test-secret".into())),
            dispatch: chatfn::dispatch::DispatchConfig {
                blocking_timeout: std::time::Duration::from_millis(1_500),
                ..Default::default()
            },
            queue: chatfn::dispatch::queue::QueueConfig {
                backoff_base: std::time::Duration::from_millis(50),
                poll: std::time::Duration::from_millis(50),
                max_pending_per_application: 2_000,
                ..Default::default()
            },
            remote_platform: None,
            npm: super::npm_registry::config(),
            install_timeout: std::time::Duration::from_secs(60),
            session_ttl: ServerConfig::DEFAULT_SESSION_TTL,
            rate_limits: chatfn::api::rate::RateLimits::DEFAULT,
            retention: chatfn::store::Retention::default(),
            metrics_token: None,
            serving: chatfn::server::Serving::default(),
        };
        configure(&mut config);
        let server = Server::build(config).await.expect("server builds");
        let application_id = match &server.created_default {
            Some(created) => created.application_id,
            // A restart on an existing store: the default application is there.
            None => server.store().application_by_client_id("test-client").await.unwrap().expect("default app").id,
        };
        let base = format!("http://{}", server.local_addr());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let running = tokio::spawn(async move {
            server
                .run(async move {
                    let _ = stopped.await;
                })
                .await
                .expect("server runs");
        });
        let mut app = TestApp {
            http: reqwest::Client::new(),
            base,
            database_url,
            application_id,
            client_id: "test-client".into(),
            client_secret: "test-secret".into(),
            token: String::new(),
            stop: Arc::new(parking_lot::Mutex::new(Some((stop, running)))),
            _keep: keep,
        };
        app.token = app.fetch_token().await;
        app
    }

    /// Stops the server (graceful) and waits for it.
    pub async fn shutdown(&self) {
        let taken = self.stop.lock().take();
        if let Some((stop, running)) = taken {
            let _ = stop.send(());
            let _ = running.await;
        }
    }

    pub async fn fetch_token(&self) -> String {
        let res = self
            .http
            .post(self.url("/oauth/token"))
            .basic_auth(&self.client_id, Some(&self.client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        res.json::<Value>().await.unwrap()["access_token"].as_str().unwrap().to_string()
    }

    /// A connection pool of the test's own to the server's database, for
    /// writing what a crashed host would have left behind.
    pub async fn raw_pool(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.database_url).await.expect("the test database connects")
    }

    /// Another tenant on the same server.
    pub async fn second_application(&self, name: &str) -> TestApp {
        let store = Store::connect(&self.database_url).await.unwrap();
        let credentials = create_application(&store, name, None).await.unwrap();
        store.close().await;
        let mut other = self.clone();
        other.application_id = credentials.application_id;
        other.client_id = credentials.client_id;
        other.client_secret = credentials.client_secret.expose().to_string();
        other.token = other.fetch_token().await;
        other
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let res = req.bearer_auth(&self.token).send().await.unwrap();
        let status = res.status();
        let text = res.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.get(self.url(path))).await
    }
    pub async fn head(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.head(self.url(path))).await
    }
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.send(self.http.delete(self.url(path))).await
    }
    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .post(self.url(path))
                .header("Content-Type", "application/vnd.chatkitty+json")
                .body(body.to_string()),
        )
        .await
    }
    pub async fn put(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(self.http.put(self.url(path)).header("Content-Type", "application/json").body(body.to_string())).await
    }
    pub async fn patch(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.send(
            self.http
                .patch(self.url(path))
                .header("Content-Type", "application/json+merge-patch")
                .body(body.to_string()),
        )
        .await
    }
}

/// A PostgreSQL database made for one test and dropped after it.
pub struct PgDatabase {
    pub admin_url: String,
    pub name: String,
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A fresh thread: Drop may run inside a runtime that is shutting down.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async move {
                use sqlx::Connection;
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url).await {
                    let _ = sqlx::Executor::execute(
                        &mut conn,
                        format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str(),
                    )
                    .await;
                }
            })
        })
        .join();
    }
}

/// Runs `test` against a server on a fresh SQLite file, and again on a
/// fresh PostgreSQL database when `CHATFN_TEST_DATABASE_URL` is set.
pub async fn each_store<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}", dir.path().join("chatfn.db").display());
    // each_store owns the store until the test and its server are over.
    let app = TestApp::spawn(url, dir.clone()).await;
    test(app.clone()).await;
    app.shutdown().await;
    drop(dir);

    if let Ok(admin_url) = std::env::var("CHATFN_TEST_DATABASE_URL") {
        use sqlx::Connection;
        let name =
            format!("chatfn_test_{}", chatfn::api::auth::random_token(8).to_lowercase().replace(['-', '_'], "x"));
        let mut conn = sqlx::PgConnection::connect(&admin_url).await.expect("CHATFN_TEST_DATABASE_URL connects");
        sqlx::Executor::execute(&mut conn, format!("CREATE DATABASE {name}").as_str()).await.unwrap();
        conn.close().await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        let db = Arc::new(PgDatabase { admin_url, name });
        let app = TestApp::spawn(url.to_string(), db.clone()).await;
        test(app.clone()).await;
        app.shutdown().await;
        drop(db);
    }
}

/// Deploys `script` as a new version of the application's login function
/// (`user.attempted.start_session`), creating the function the first time.
pub async fn deploy_login_handler(app: &TestApp, script: &str) -> serde_json::Value {
    let trigger = "user.attempted.start_session";
    let (status, function) =
        app.post("/v1/runtimes/nodejs/functions", serde_json::json!({"type": trigger, "name": "login"})).await;
    let id = if status == StatusCode::CREATED {
        function["id"].as_i64().unwrap()
    } else {
        let (_, list) = app.get("/v1/runtimes/nodejs/functions").await;
        list["_embedded"]["functions"][0]["id"].as_i64().unwrap()
    };
    let (status, version) =
        app.post(&format!("/v1/functions/{id}/versions"), serde_json::json!({ "handlerScript": script })).await;
    assert_eq!(status, StatusCode::CREATED, "{version}");
    version
}
