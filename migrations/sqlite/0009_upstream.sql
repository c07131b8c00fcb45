-- 教育部账号登录 (LOGIN-5): jszg as a relying party of an upstream OpenID provider.

-- An authorization request in flight, found again by the callback on any
-- instance. Only keyed hashes of `state` and of the browser-binding cookie
-- are kept; the nonce and PKCE verifier are sealed. Single use, 10 minutes.
CREATE TABLE upstream_attempts (
    state_hash BLOB PRIMARY KEY,
    browser_hash BLOB NOT NULL,
    secrets_enc BLOB NOT NULL,
    entry TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX upstream_attempts_created ON upstream_attempts (created_at);

-- An upstream identity proven at the callback that still needs the
-- account's password (account_id set) or a registration (account_id null).
CREATE TABLE upstream_pending (
    token_hash BLOB PRIMARY KEY,
    subject_hash BLOB NOT NULL,
    doc_type TEXT NOT NULL,
    doc_number_enc BLOB NOT NULL,
    name TEXT NOT NULL,
    entry TEXT NOT NULL,
    account_id BIGINT REFERENCES accounts (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX upstream_pending_created ON upstream_pending (created_at);

-- (issuer, sub) → account, as a keyed hash of the pair. One link per account.
CREATE TABLE upstream_links (
    subject_hash BLOB PRIMARY KEY,
    account_id BIGINT NOT NULL UNIQUE REFERENCES accounts (id),
    linked_at BIGINT NOT NULL
);
