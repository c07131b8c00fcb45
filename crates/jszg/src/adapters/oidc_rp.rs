//! OpenID Connect relying party for 教育部账号登录 (LOGIN-5): discovery,
//! the authorization request (code flow, PKCE S256, state, nonce), the code
//! exchange, ID-token validation (signature RS256/ES256, iss, aud, exp,
//! nonce, at_hash) and userinfo. The protocol is the `openidconnect` crate's;
//! this module adds what it leaves to the caller: a JWKS that follows key
//! rotation (one re-fetch on an unknown `kid`, with a cool-down) and the RFC
//! 9207 `iss` check of the callback.
//!
//! Nothing here logs a token, a code or a secret: errors carry only the
//! kind of failure.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient, CoreClientAuthMethod, CoreGrantType,
    CoreIdToken, CoreIdTokenVerifier, CoreJsonWebKey, CoreJsonWebKeySet, CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm,
    CoreJwsSigningAlgorithm, CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AccessToken, AccessTokenHash, AdditionalProviderMetadata, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret,
    CsrfToken, IssuerUrl, JsonWebKeySet, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata, RedirectUrl,
    RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::UpstreamConfig;

/// Provider metadata is re-read after this long, so a changed endpoint is
/// picked up without a restart.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// At most one JWKS re-fetch for an unknown `kid` in this window: a flood
/// of tokens with made-up key ids must not become a flood of requests upstream.
/// How far ahead of our clock an upstream ID token's `iat` may be.
const MAX_CLOCK_SKEW_SECS: i64 = 300;
const JWKS_COOL_DOWN: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct IssParameter {
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: Option<bool>,
}
impl AdditionalProviderMetadata for IssParameter {}

type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpError {
    /// The provider could not be reached or answered with a server error.
    #[error("upstream unavailable: {0}")]
    Unavailable(&'static str),
    /// The provider refused the code (expired, replayed, wrong verifier).
    #[error("upstream refused the code: {0}")]
    Refused(String),
    /// The ID token or userinfo failed validation.
    #[error("invalid upstream token: {0}")]
    InvalidToken(String),
}

/// What the browser is sent to, and what the callback must find again.
pub struct Authorization {
    pub url: String,
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A validated upstream identity: issuer, subject and every claim of the
/// ID token, completed from userinfo when asked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub claims: Map<String, Value>,
}

struct Discovered {
    metadata: Metadata,
    fetched: Instant,
}

pub struct OidcRp {
    config: UpstreamConfig,
    redirect: RedirectUrl,
    http: reqwest::Client,
    discovered: Mutex<Option<std::sync::Arc<Discovered>>>,
    jwks: Mutex<Option<CoreJsonWebKeySet>>,
    last_refetch: Mutex<Option<Instant>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl OidcRp {
    pub fn new(config: &UpstreamConfig, public_url: &str) -> Result<Self, String> {
        IssuerUrl::new(config.issuer.clone()).map_err(|e| format!("[upstream] issuer: {e}"))?;
        let redirect = RedirectUrl::new(format!("{}/login/upstream/callback", public_url.trim_end_matches('/')))
            .map_err(|e| format!("[upstream] redirect URL: {e}"))?;
        let http = reqwest::Client::builder()
            // The crate's advice: a redirect could send the code elsewhere (SSRF).
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_millis(config.timeout_ms.max(100)))
            .build()
            .map_err(|e| format!("[upstream] HTTP client: {e}"))?;
        Ok(Self {
            config: config.clone(),
            redirect,
            http,
            discovered: Mutex::new(None),
            jwks: Mutex::new(None),
            last_refetch: Mutex::new(None),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    async fn metadata(&self) -> Result<std::sync::Arc<Discovered>, RpError> {
        if let Some(found) = lock(&self.discovered).as_ref().filter(|d| d.fetched.elapsed() < METADATA_TTL) {
            return Ok(found.clone());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|_| RpError::Unavailable("issuer URL"))?;
        let metadata = Metadata::discover_async(issuer, &self.http).await.map_err(|err| {
            tracing::warn!(error = %err, "upstream discovery failed");
            RpError::Unavailable("discovery")
        })?;
        let found = std::sync::Arc::new(Discovered { metadata, fetched: Instant::now() });
        {
            let mut jwks = lock(&self.jwks);
            // Discovery brings a fresh key set; keep a newer one fetched since.
            if jwks.is_none() {
                *jwks = Some(found.metadata.jwks().clone());
            }
        }
        *lock(&self.discovered) = Some(found.clone());
        Ok(found)
    }

    fn client(&self, metadata: &Metadata) -> RpClient {
        CoreClient::from_provider_metadata(
            metadata.clone(),
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Where to send the browser: the authorization endpoint with a fresh
    /// state, nonce and PKCE S256 challenge.
    pub async fn authorize(&self) -> Result<Authorization, RpError> {
        let found = self.metadata().await?;
        let client = self.client(&found.metadata);
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let scopes = self.config.scopes.iter().filter(|s| s.as_str() != "openid").map(|s| Scope::new(s.clone()));
        let (url, state, nonce) = client
            .authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random)
            .add_scopes(scopes)
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.to_string(),
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        })
    }

    /// RFC 9207: an `iss` in the callback must be the issuer, and must be
    /// there when the provider says it sends one (mix-up defence).
    pub async fn check_callback_issuer(&self, iss: Option<&str>) -> Result<(), RpError> {
        let found = self.metadata().await?;
        let announced = found.metadata.additional_metadata().authorization_response_iss_parameter_supported == Some(true);
        match iss {
            Some(iss) if iss == found.metadata.issuer().as_str() => Ok(()),
            Some(_) => Err(RpError::InvalidToken("callback iss differs from the issuer".into())),
            None if announced => Err(RpError::InvalidToken("callback lacks iss".into())),
            None => Ok(()),
        }
    }

    /// Exchange the code (with the PKCE verifier), validate the ID token
    /// against `nonce` at `now` (Unix seconds), and complete the claims.
    pub async fn exchange(&self, code: &str, pkce_verifier: &str, nonce: &str, now: i64) -> Result<Identity, RpError> {
        let found = self.metadata().await?;
        let client = self.client(&found.metadata);
        let request =
            client.exchange_code(AuthorizationCode::new(code.to_owned())).map_err(|_| RpError::Unavailable("no token endpoint"))?;
        let response =
            request.set_pkce_verifier(PkceCodeVerifier::new(pkce_verifier.to_owned())).request_async(&self.http).await.map_err(|err| {
                match err {
                    RequestTokenError::ServerResponse(resp) => RpError::Refused(resp.error().to_string()),
                    RequestTokenError::Request(_) => RpError::Unavailable("token endpoint"),
                    RequestTokenError::Parse(_, _) => RpError::InvalidToken("unreadable token response".into()),
                    RequestTokenError::Other(_) => RpError::Unavailable("token endpoint"),
                }
            })?;
        let id_token = response.id_token().ok_or_else(|| RpError::InvalidToken("no id_token".into()))?;
        let raw = id_token.to_string();
        let issuer = found.metadata.issuer().clone();
        self.verify(id_token, &issuer, &Nonce::new(nonce.to_owned()), response.access_token(), now).await?;

        let mut claims = jwt_payload(&raw).ok_or_else(|| RpError::InvalidToken("unreadable payload".into()))?;
        let subject = claims.get("sub").and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned);
        let subject = subject.ok_or_else(|| RpError::InvalidToken("no sub".into()))?;
        let wanted = [&self.config.doc_number_claim, &self.config.name_claim];
        if wanted.iter().any(|c| !claims.contains_key(c.as_str())) {
            if let Some(endpoint) = found.metadata.userinfo_endpoint() {
                let info = self.userinfo(endpoint.url().as_str(), response.access_token()).await?;
                if info.get("sub").and_then(Value::as_str) != Some(subject.as_str()) {
                    return Err(RpError::InvalidToken("userinfo sub differs".into()));
                }
                for (key, value) in info {
                    claims.entry(key).or_insert(value);
                }
            }
        }
        Ok(Identity { issuer: issuer.as_str().to_owned(), subject, claims })
    }

    fn verifier(&self, issuer: &IssuerUrl, jwks: CoreJsonWebKeySet, now: i64) -> CoreIdTokenVerifier<'static> {
        CoreIdTokenVerifier::new_confidential_client(
            ClientId::new(self.config.client_id.clone()),
            ClientSecret::new(self.config.client_secret.clone()),
            issuer.clone(),
            jwks,
        )
        .set_allowed_algs([CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, CoreJwsSigningAlgorithm::EcdsaP256Sha256])
        .set_time_fn(move || chrono::DateTime::from_timestamp(now, 0).unwrap_or_default())
        // A token issued in the future (beyond clock skew) was not issued for this login: it was
        // minted ahead to be replayed later, or the provider's clock is wrong.
        .set_issue_time_verifier_fn(move |iat| {
            if iat.timestamp() > now + MAX_CLOCK_SKEW_SECS {
                return Err("issued in the future".to_owned());
            }
            Ok(())
        })
    }

    async fn verify(&self, token: &CoreIdToken, issuer: &IssuerUrl, nonce: &Nonce, access: &AccessToken, now: i64) -> Result<(), RpError> {
        let jwks = lock(&self.jwks).clone().unwrap_or_else(|| JsonWebKeySet::new(Vec::new()));
        let first = self.check(token, &self.verifier(issuer, jwks, now), nonce, access);
        match first {
            Err(Failure::UnknownKey) => {
                let jwks = self.refetch_jwks().await?;
                match self.check(token, &self.verifier(issuer, jwks, now), nonce, access) {
                    Ok(()) => Ok(()),
                    Err(Failure::UnknownKey) => Err(RpError::InvalidToken("no matching key".into())),
                    Err(Failure::Invalid(why)) => Err(RpError::InvalidToken(why)),
                }
            }
            Err(Failure::Invalid(why)) => Err(RpError::InvalidToken(why)),
            Ok(()) => Ok(()),
        }
    }

    fn check(&self, token: &CoreIdToken, verifier: &CoreIdTokenVerifier<'_>, nonce: &Nonce, access: &AccessToken) -> Result<(), Failure> {
        let claims = token.claims(verifier, nonce).map_err(|err| match err {
            ClaimsVerificationError::SignatureVerification(SignatureVerificationError::NoMatchingKey) => Failure::UnknownKey,
            // Only the kind: a message could quote claim values.
            other => Failure::Invalid(claims_error_kind(&other).into()),
        })?;
        if let Some(expected) = claims.access_token_hash() {
            let alg = token.signing_alg().map_err(|_| Failure::Invalid("signing alg".into()))?;
            let key = token.signing_key(verifier).map_err(|_| Failure::UnknownKey)?;
            let actual = AccessTokenHash::from_token(access, alg, key).map_err(|_| Failure::Invalid("at_hash".into()))?;
            if &actual != expected {
                return Err(Failure::Invalid("at_hash mismatch".into()));
            }
        }
        Ok(())
    }

    /// Fetch the key set again, at most once per cool-down.
    async fn refetch_jwks(&self) -> Result<CoreJsonWebKeySet, RpError> {
        {
            let mut last = lock(&self.last_refetch);
            if last.is_some_and(|at| at.elapsed() < JWKS_COOL_DOWN) {
                return Err(RpError::InvalidToken("no matching key (JWKS re-fetch cooling down)".into()));
            }
            *last = Some(Instant::now());
        }
        let found = self.metadata().await?;
        let jwks = CoreJsonWebKeySet::fetch_async(found.metadata.jwks_uri(), &self.http).await.map_err(|err| {
            tracing::warn!(error = %err, "upstream JWKS fetch failed");
            RpError::Unavailable("jwks")
        })?;
        tracing::info!(keys = jwks.keys().len(), "upstream JWKS fetched again for an unknown key id");
        *lock(&self.jwks) = Some(jwks.clone());
        Ok(jwks)
    }

    async fn userinfo(&self, endpoint: &str, access: &AccessToken) -> Result<Map<String, Value>, RpError> {
        let response = self
            .http
            .get(endpoint)
            .bearer_auth(access.secret())
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|_| RpError::Unavailable("userinfo"))?;
        if response.status().is_server_error() {
            return Err(RpError::Unavailable("userinfo"));
        }
        if !response.status().is_success() {
            return Err(RpError::InvalidToken(format!("userinfo status {}", response.status().as_u16())));
        }
        let body = response.bytes().await.map_err(|_| RpError::Unavailable("userinfo"))?;
        match serde_json::from_slice::<Value>(&body) {
            Ok(Value::Object(map)) => Ok(map),
            _ => Err(RpError::InvalidToken("userinfo is not a JSON object".into())),
        }
    }
}

type RpClient = openidconnect::Client<
    openidconnect::EmptyAdditionalClaims,
    CoreAuthDisplay,
    openidconnect::core::CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    openidconnect::StandardErrorResponse<openidconnect::core::CoreErrorResponseType>,
    openidconnect::core::CoreTokenResponse,
    openidconnect::core::CoreTokenIntrospectionResponse,
    openidconnect::core::CoreRevocableToken,
    openidconnect::core::CoreRevocationErrorResponse,
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

enum Failure {
    UnknownKey,
    Invalid(String),
}

fn claims_error_kind(err: &ClaimsVerificationError) -> &'static str {
    match err {
        ClaimsVerificationError::Expired(_) => "expired",
        ClaimsVerificationError::InvalidAudience(_) => "audience",
        ClaimsVerificationError::InvalidIssuer(_) => "issuer",
        ClaimsVerificationError::InvalidNonce(_) => "nonce",
        ClaimsVerificationError::InvalidSubject(_) => "subject",
        ClaimsVerificationError::SignatureVerification(_) => "signature",
        ClaimsVerificationError::Unsupported(_) => "unsupported",
        _ => "claims",
    }
}

/// The claims of a compact JWT whose signature has been checked already.
fn jwt_payload(raw: &str) -> Option<Map<String, Value>> {
    let payload = raw.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(map) => Some(map),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_of_garbage_is_none() {
        for raw in ["", ".", "a.b.c", "a.%%%.c", "a.bnVsbA.c"] {
            assert!(jwt_payload(raw).is_none(), "{raw}");
        }
        let ok = format!("h.{}.s", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(br#"{"sub":"x"}"#));
        assert_eq!(jwt_payload(&ok).and_then(|m| m.get("sub").cloned()), Some(Value::from("x")));
    }
}
