-- Single sign-on (SSO-1..3): jszg as OpenID Connect provider of the two entries.

-- RS256 signing keys; the private key (PKCS#1 DER) sealed by the vault. The newest signs;
-- an older one stays published until the tokens it signed have expired.
CREATE TABLE oidc_signing_keys (
    kid TEXT PRIMARY KEY,
    private_enc BLOB NOT NULL,
    n TEXT NOT NULL,
    e TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);

-- An authorization request waiting for login, profile or real name (30 minutes).
CREATE TABLE oidc_pending (
    id_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    min_auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX oidc_pending_expiry ON oidc_pending (expires_at);

-- Authorization codes: keyed hash only, single use (used_at set by one conditional update).
CREATE TABLE oidc_codes (
    code_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    code_challenge TEXT NOT NULL,
    nonce TEXT,
    scope TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    sid TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    replayed_at BIGINT
);
CREATE INDEX oidc_codes_expiry ON oidc_codes (expires_at);

-- Access tokens (keyed hash), revoked with their code on replay or with their session on logout.
CREATE TABLE oidc_access_tokens (
    token_hash BLOB PRIMARY KEY,
    code_hash BLOB NOT NULL,
    client_id TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    scope TEXT NOT NULL,
    sid TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX oidc_access_tokens_code ON oidc_access_tokens (code_hash);
CREATE INDEX oidc_access_tokens_sid ON oidc_access_tokens (sid);
CREATE INDEX oidc_access_tokens_expiry ON oidc_access_tokens (expires_at);

-- Which clients a jszg session signed into, for logout (back-channel tokens).
CREATE TABLE oidc_logins (
    sid TEXT NOT NULL,
    client_id TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    session_hash BLOB NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (sid, client_id)
);
CREATE INDEX oidc_logins_session ON oidc_logins (session_hash);
