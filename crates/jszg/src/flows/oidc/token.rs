//! The token endpoint (Core 3.1.3): client authentication and the single-use code exchange.

use super::*;

/// A token-endpoint failure: the OAuth error code and a description.
#[derive(Debug)]
pub struct TokenError {
    pub error: &'static str,
    pub description: &'static str,
}

impl TokenError {
    fn new(error: &'static str, description: &'static str) -> Self {
        Self { error, description }
    }
}

/// How the client authenticated at the token endpoint.
pub struct ClientAuth<'a> {
    pub client_id: &'a str,
    pub secret: &'a str,
}

#[derive(Serialize)]
pub struct Tokens {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub id_token: String,
    pub scope: String,
}

#[derive(Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    pub at_hash: String,
    pub sid: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Authenticate a client with the service client secret.
pub async fn authenticate_client(app: &App, auth: &ClientAuth<'_>) -> Result<Entry, TokenError> {
    let invalid = || TokenError::new("invalid_client", "client authentication failed");
    let (entry, _) = client(app, auth.client_id).ok_or_else(invalid)?;
    enrollment::authenticate(app, entry, auth.secret).await.map_err(|_| invalid())?;
    Ok(entry)
}

/// The authorization-code grant (RFC 6749 §4.1.3, RFC 7636 §4.6). `verifier` is required when
/// the authorization carried a challenge, and refused when it did not (no downgrade either way).
pub async fn exchange(app: &App, entry: Entry, code: &str, redirect_uri: &str, verifier: Option<&str>) -> AppResult<Result<Tokens, TokenError>> {
    let grant = |d: &'static str| Ok(Err(TokenError::new("invalid_grant", d)));
    if code.is_empty() || code.len() > 128 {
        return grant("the code is invalid or expired");
    }
    let now = app.clock.unix();
    let hash = code_hash(app, code);
    // Redemption and the token insert commit together: a replay waits for
    // the code's row, then finds the token and revokes it.
    let mut tx = app.db.begin().await?;
    let Some(redeemed) = store::redeem_code(&mut tx, &hash, now).await? else {
        tx.rollback().await?;
        if store::revoke_replayed(&app.db, &hash, now).await? {
            tracing::warn!(client_id = entry.as_str(), "authorization code replayed; its tokens are revoked");
        }
        return grant("the code is invalid, expired or already used");
    };
    let refusal = if redeemed.client_id != entry.as_str() {
        Some("the code was issued to another client")
    } else if redeemed.redirect_uri != redirect_uri {
        Some("redirect_uri does not match the authorization request")
    } else {
        match (redeemed.code_challenge.as_str(), verifier) {
            ("", None) => None,
            ("", Some(_)) => Some("code_verifier without a code_challenge in the authorization request"),
            (_, None) => Some("code_verifier (PKCE) is required"),
            (_, Some(v)) if !pkce_value_ok(v) => Some("code_verifier is malformed"),
            (challenge, Some(v)) if !bool::from(B64URL.encode(Sha256::digest(v.as_bytes())).as_bytes().ct_eq(challenge.as_bytes())) => {
                Some("code_verifier does not match the code_challenge")
            }
            _ => None,
        }
    };
    if let Some(description) = refusal {
        // The code is spent either way: a wrong attempt burns it.
        tx.commit().await?;
        return grant(description);
    }
    let access_token = random_token(32);
    store::insert_token(
        &mut tx,
        &store::NewToken {
            token_hash: &token_hash(app, &access_token),
            code_hash: &hash,
            client_id: &redeemed.client_id,
            account_id: redeemed.account_id,
            scope: &redeemed.scope,
            sid: &redeemed.sid,
            now,
            expires_at: now + TOKEN_LIFETIME,
        },
    )
    .await?;
    // PRIV-2: the applicant's access log names what each business received.
    let detail = format!("{} {}", redeemed.client_id, disclosed(&redeemed.scope).join(","));
    audit::append(&mut tx, &app.vault, audit::Entry { at: now, actor_kind: "business", actor_id: None, account_id: Some(redeemed.account_id), action: "sso_claims_disclosed", detail: &detail },
    )
    .await?;
    tx.commit().await?;
    let Some(account) = accounts::find_by_id(&app.db, redeemed.account_id).await? else {
        return grant("the account no longer exists");
    };
    let applicant = Applicant::open(app, account)?;
    let digest = Sha256::digest(access_token.as_bytes());
    let claims = IdTokenClaims {
        iss: app.config.public_url(),
        sub: subject(app, applicant.id()),
        aud: redeemed.client_id.clone(),
        exp: now + TOKEN_LIFETIME,
        iat: now,
        auth_time: redeemed.auth_time,
        nonce: redeemed.nonce,
        at_hash: B64URL.encode(&digest[..16]),
        sid: redeemed.sid,
        extra: scope_claims(app, &applicant, &redeemed.scope)?,
    };
    let alg = client(app, &redeemed.client_id).map(|(_, c)| c.id_token_signed_response_alg).unwrap_or_default();
    let id_token = keys::sign(app, alg, "JWT", &claims).await?;
    tracing::info!(client_id = %redeemed.client_id, account_id = applicant.id(), "tokens issued");
    Ok(Ok(Tokens { access_token, token_type: "Bearer", expires_in: TOKEN_LIFETIME, id_token, scope: redeemed.scope }))
}
