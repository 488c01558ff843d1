//! The remote chat platform: a ChatKitty-compatible Platform API that the
//! context APIs reach instead of the embedded one. Requests go over HTTP with a
//! bearer token from the client-credentials grant, cached until shortly
//! before it expires and fetched again once when an answer is 401.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use crate::engine::context::{PlatformFuture, MAX_PLATFORM_RESPONSE_BYTES as MAX_RESPONSE_BYTES};
use crate::engine::{ChatPlatform, PlatformRequest, PlatformResponse};

#[derive(Debug, Clone)]
pub struct RemoteConfig {
    /// e.g. `https://api.chatkitty.com` (paths start at `/v1`).
    pub base_url: String,
    pub client_id: String,
    pub client_secret: crate::secret::Secret,
    /// Per request, token requests included.
    pub timeout: Duration,
}

impl RemoteConfig {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
}

/// A token is renewed this long before the expiry its issuer gave.
const TOKEN_MARGIN: Duration = Duration::from_secs(30);

struct Token {
    value: String,
    renew_at: Instant,
}

pub struct RemotePlatform {
    config: RemoteConfig,
    http: reqwest::Client,
    token: tokio::sync::Mutex<Option<Token>>,
    /// The server's runtime: requests run there, not on the isolate thread.
    runtime: tokio::runtime::Handle,
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

impl RemotePlatform {
    pub fn new(mut config: RemoteConfig) -> anyhow::Result<Arc<RemotePlatform>> {
        let parsed = url::Url::parse(&config.base_url)
            .map_err(|e| anyhow::anyhow!("invalid platform URL {:?}: {e}", config.base_url))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("invalid platform URL {:?}: use http:// or https://", config.base_url);
        }
        config.base_url = config.base_url.trim_end_matches('/').to_string();
        let http = reqwest::Client::builder().timeout(config.timeout).build()?;
        Ok(Arc::new(RemotePlatform {
            config,
            http,
            token: tokio::sync::Mutex::new(None),
            runtime: tokio::runtime::Handle::current(),
        }))
    }

    pub fn base_url(&self) -> &str {
        &self.config.base_url
    }

    pub fn client_id(&self) -> &str {
        &self.config.client_id
    }

    /// A valid token: the cached one unless `stale` names it as refused.
    async fn token(&self, stale: Option<&str>) -> Result<String, String> {
        let mut cached = self.token.lock().await;
        if let Some(token) = cached.as_ref() {
            if token.renew_at > Instant::now() && Some(token.value.as_str()) != stale {
                return Ok(token.value.clone());
            }
        }
        let url = format!("{}/oauth/token", self.config.base_url);
        let answer = self
            .http
            .post(&url)
            .basic_auth(&self.config.client_id, Some(self.config.client_secret.expose()))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| format!("the platform's token endpoint {url} could not be reached: {e}"))?;
        let status = answer.status();
        if !status.is_success() {
            return Err(format!("the platform's token endpoint {url} refused the client credentials ({status})"));
        }
        let answer: TokenAnswer =
            answer.json().await.map_err(|e| format!("the platform's token endpoint {url} answered badly: {e}"))?;
        let lifetime = Duration::from_secs(answer.expires_in.unwrap_or(300)).saturating_sub(TOKEN_MARGIN);
        *cached = Some(Token { value: answer.access_token.clone(), renew_at: Instant::now() + lifetime });
        Ok(answer.access_token)
    }

    async fn send_once(&self, request: &PlatformRequest, token: &str) -> Result<PlatformResponse, String> {
        let method = reqwest::Method::from_bytes(request.method.as_bytes()).map_err(|e| e.to_string())?;
        let url = format!("{}{}", self.config.base_url, request.path_and_query);
        let mut builder = self.http.request(method, &url).bearer_auth(token).header("Accept", "application/json");
        if let Some(body) = &request.body {
            builder = builder.header("Content-Type", "application/json").body(body.clone());
        }
        let mut answer = builder
            .send()
            .await
            .map_err(|e| format!("the platform at {} could not be reached: {e}", self.base_url()))?;
        let status = answer.status().as_u16();
        let mut body = Vec::new();
        while let Some(chunk) = answer.chunk().await.map_err(|e| format!("the platform's answer broke off: {e}"))? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(format!("the platform's answer is larger than {MAX_RESPONSE_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(PlatformResponse { status, body: String::from_utf8_lossy(&body).into_owned() })
    }

    async fn send_with_refresh(&self, request: PlatformRequest) -> Result<PlatformResponse, String> {
        let token = self.token(None).await?;
        let response = self.send_once(&request, &token).await?;
        if response.status != 401 {
            return Ok(response);
        }
        // Revoked or expired early: one fresh token, one more try.
        let token = self.token(Some(&token)).await?;
        self.send_once(&request, &token).await
    }
}

/// The remote platform as the runtimes hold it.
#[derive(Clone)]
pub struct RemoteClient(pub Arc<RemotePlatform>);

impl ChatPlatform for RemoteClient {
    fn send(&self, request: PlatformRequest) -> PlatformFuture {
        let platform = self.0.clone();
        let runtime = platform.runtime.clone();
        Box::pin(async move {
            runtime
                .spawn(async move { platform.send_with_refresh(request).await })
                .await
                .map_err(|e| format!("the Platform API request failed: {e}"))?
        })
    }
}
