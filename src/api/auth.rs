//! OAuth 2.0 client-credentials tokens and the bearer check on `/v1`.
//!
//! Tokens are 32 random bytes; only their SHA-256 is stored, so a leaked
//! store does not leak usable tokens. Client secrets are argon2 hashes,
//! verified only when a token is issued.

use std::collections::HashMap;

use super::resources::TokenAnswer;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::request::Parts;
use axum::Json;
use base64::Engine as _;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::error::{ApiError, ApiResult};
use super::rate::RequestKind;
use super::AppState;

pub fn hash_secret(secret: &str) -> String {
    Argon2::default()
        .hash_password(secret.as_bytes(), &SaltString::generate(&mut OsRng))
        .expect("argon2 hashing")
        .to_string()
}

fn verify_secret(secret: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(secret.as_bytes(), &parsed).is_ok())
}

pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// How the store keeps an access token: its SHA-256, in hex.
pub fn token_hash(token: &str) -> String {
    hex::encode(token_digest(token))
}

/// A token's SHA-256 (the in-memory cache's key; `token_hash` is its hex).
fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn basic_credentials(parts: &axum::http::HeaderMap) -> Option<(String, String)> {
    let header = parts.get(AUTHORIZATION)?.to_str().ok()?;
    let encoded = header.strip_prefix("Basic ").or_else(|| header.strip_prefix("basic "))?;
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((id.to_string(), secret.to_string()))
}

/// `POST /oauth/token`: client credentials by HTTP Basic (or `client_id` /
/// `client_secret` fields), `grant_type=client_credentials` as a form or
/// multipart body.
pub async fn issue_token(State(state): State<AppState>, request: Request) -> ApiResult<Json<TokenAnswer>> {
    let basic = basic_credentials(request.headers());
    let content_type =
        request.headers().get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_ascii_lowercase();
    let fields: HashMap<String, String> = if content_type.starts_with("multipart/form-data") {
        let mut multipart = Multipart::from_request(request, &state)
            .await
            .map_err(|e| ApiError::bad_request(format!("invalid multipart body: {e}")))?;
        let mut fields = HashMap::new();
        while let Some(field) = multipart.next_field().await.map_err(|e| ApiError::bad_request(e.to_string()))? {
            let name = field.name().unwrap_or_default().to_string();
            let value = field.text().await.map_err(|e| ApiError::bad_request(e.to_string()))?;
            fields.insert(name, value);
        }
        fields
    } else if content_type.starts_with("application/x-www-form-urlencoded") || content_type.is_empty() {
        let bytes =
            axum::body::Bytes::from_request(request, &state).await.map_err(|e| ApiError::bad_request(e.to_string()))?;
        url::form_urlencoded::parse(&bytes).into_owned().collect()
    } else {
        return Err(ApiError::unsupported_media_type(format!(
            "content type {content_type:?} is not supported: send application/x-www-form-urlencoded or multipart/form-data"
        )));
    };
    match fields.get("grant_type").map(String::as_str) {
        Some("client_credentials") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!("unsupported grant_type {other:?}: use client_credentials")))
        }
        None => return Err(ApiError::bad_request("missing grant_type: use grant_type=client_credentials")),
    }
    let (client_id, secret) = basic
        .or_else(|| Some((fields.get("client_id")?.clone(), fields.get("client_secret")?.clone())))
        .ok_or_else(|| ApiError::unauthorized("client credentials are required (HTTP Basic)"))?;
    let application = state.store.application_by_client_id(&client_id).await?;
    let hash = application.as_ref().map(|a| a.client_secret_hash.clone()).unwrap_or_default();
    let valid = tokio::task::spawn_blocking(move || verify_secret(&secret, &hash)).await.unwrap_or(false);
    let application = match (application, valid) {
        (Some(app), true) => app,
        _ => return Err(ApiError::unauthorized("bad client credentials")),
    };
    let token = random_token(32);
    let ttl = state.config.token_ttl_secs;
    state.store.insert_token(&token_hash(&token), application.id, crate::store::now_millis() + ttl * 1000).await?;
    Ok(Json(TokenAnswer {
        access_token: token,
        token_type: "bearer",
        expires_in: ttl,
        scope: format!("app:{}", application.id),
    }))
}

/// Marks a request a chat function made through its context APIs to the
/// embedded platform: it acts as the function's application. Only code in
/// this process can set a request extension, never a network client.
#[derive(Debug, Clone, Copy)]
pub struct InProcessTenant(pub i64);

/// The application a request acts as, from its bearer token (or the
/// function's application for in-process platform calls).
#[derive(Debug, Clone, Copy)]
pub struct Tenant {
    pub application_id: i64,
}

impl FromRequestParts<AppState> for Tenant {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(&InProcessTenant(application_id)) = parts.extensions.get() {
            return Ok(Tenant { application_id });
        }
        let header = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| ApiError::unauthorized("missing Authorization: Bearer token"))?;
        let token = header
            .strip_prefix("Bearer ")
            .or_else(|| header.strip_prefix("bearer "))
            .ok_or_else(|| ApiError::unauthorized("the Authorization header must be a Bearer token"))?
            .trim();
        let tenant = bearer_tenant(token, state).await?;
        let kind = if parts.uri.path().starts_with("/v1/triggers/") { RequestKind::Trigger } else { RequestKind::Api };
        state.limiter.admit(tenant.application_id, kind).map_err(|(rate, retry_after)| {
            let what = match kind {
                RequestKind::Trigger => "trigger",
                RequestKind::Api => "API",
            };
            ApiError::too_many_requests(
                format!("this application made more than {rate} {what} request(s) in a second; retry later"),
                retry_after,
            )
        })?;
        Ok(tenant)
    }
}

/// The application a bearer token stands for (cached by its digest until it
/// expires).
async fn bearer_tenant(token: &str, state: &AppState) -> Result<Tenant, ApiError> {
    let digest = token_digest(token);
    let now = crate::store::now_millis();
    if let Some(&(application_id, expires_at)) = state.tokens.read().get(&digest) {
        if expires_at > now {
            return Ok(Tenant { application_id });
        }
    }
    match state.store.token(&token_hash(token)).await? {
        Some((application_id, expires_at)) => {
            let mut cache = state.tokens.write();
            if cache.len() > 100_000 {
                cache.retain(|_, (_, exp)| *exp > now);
            }
            cache.insert(digest, (application_id, expires_at));
            Ok(Tenant { application_id })
        }
        None => Err(ApiError::unauthorized("the access token is invalid or expired")),
    }
}
