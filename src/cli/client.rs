//! The CLI's side of a running server: where it is, the application's
//! credentials, and an access token for them.

use clap::Args;
use serde_json::Value;

use super::profiles;

#[derive(Debug, Args)]
pub struct ServerArgs {
    /// The saved profile (server and credentials) to use: see `chatfn login`.
    #[arg(long, env = "CHATFN_PROFILE", default_value = profiles::DEFAULT_PROFILE)]
    pub profile: String,
    /// The chatfn server [default: the profile's, else http://127.0.0.1:8080].
    #[arg(long, env = "CHATFN_SERVER")]
    pub server: Option<String>,
    /// The application's client id [default: the profile's].
    #[arg(long, env = "CHATFN_CLIENT_ID", allow_hyphen_values = true)]
    pub client_id: Option<String>,
    /// The application's client secret [default: the profile's].
    #[arg(long, env = "CHATFN_CLIENT_SECRET", allow_hyphen_values = true, hide_env_values = true)]
    pub client_secret: Option<crate::secret::Secret>,
}

pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";

impl ServerArgs {
    /// The server and credentials to use: each given flag (or variable)
    /// over the saved profile's; the profile is read only when needed.
    pub fn resolve(&self) -> Result<profiles::Profile, String> {
        let saved = match (&self.client_id, &self.client_secret) {
            (Some(_), Some(_)) => None,
            _ => profiles::load(&self.profile)?,
        };
        let Some(client_id) = self.client_id.clone().or_else(|| saved.as_ref().map(|p| p.client_id.clone())) else {
            return Err(format!(
                "no credentials: run `chatfn login` (profile {:?} is not saved) or pass --client-id and --client-secret",
                self.profile
            ));
        };
        let client_secret = self
            .client_secret
            .clone()
            .or_else(|| saved.as_ref().map(|p| p.client_secret.clone()))
            .ok_or("no client secret: pass --client-secret (or set CHATFN_CLIENT_SECRET)")?;
        let server =
            self.server.clone().or_else(|| saved.map(|p| p.server)).unwrap_or_else(|| DEFAULT_SERVER.to_string());
        Ok(profiles::Profile { server, client_id, client_secret })
    }
}

/// A server, signed in as one application.
pub struct ApiClient {
    pub http: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl ApiClient {
    pub async fn connect(args: &ServerArgs) -> Result<ApiClient, String> {
        let profile = args.resolve()?;
        ApiClient::sign_in(reqwest::Client::new(), &profile.server, &profile.client_id, profile.client_secret.expose())
            .await
    }

    /// Signs in at `server` with an application's client credentials.
    pub async fn sign_in(
        http: reqwest::Client,
        server: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Result<ApiClient, String> {
        let base = server.trim_end_matches('/').to_string();
        let token: Value = http
            .post(format!("{base}/oauth/token"))
            .basic_auth(client_id, Some(client_secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .map_err(|e| format!("{base} could not be reached: {e}"))?
            .json()
            .await
            .map_err(|e| format!("the token answer was not JSON: {e}"))?;
        let token = token["access_token"]
            .as_str()
            .ok_or_else(|| format!("the server refused the client credentials: {token}"))?
            .to_string();
        Ok(ApiClient { http, base, token })
    }

    /// Sends one request; `Err` only when no answer came. The body is JSON
    /// (`null` when the answer had none).
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(reqwest::StatusCode, Value), String> {
        let mut request = self.http.request(method, format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await.map_err(|e| format!("{} could not be reached: {e}", self.base))?;
        let status = response.status();
        Ok((status, response.json().await.unwrap_or(Value::Null)))
    }

    /// GETs `path`; a non-2xx answer is an error with the server's message.
    pub async fn get(&self, path: &str) -> Result<Value, String> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// One request; a non-2xx answer is an error with the status and the
    /// server's message.
    pub async fn call(&self, method: reqwest::Method, path: &str, body: Option<&Value>) -> Result<Value, String> {
        let (status, answer) = self.send(method, path, body).await?;
        if !status.is_success() {
            return Err(format!("{status}: {}", answer["message"].as_str().unwrap_or("the request failed")));
        }
        Ok(answer)
    }
}
