-- Password recovery (REC) and its tokens.

-- Step 1 of 忘记密码 proves type + number + name; steps 2 refer to it.
CREATE TABLE recoveries (
    id TEXT PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX recoveries_expiry ON recoveries (expires_at);

-- Links mailed for a reset: 24 hours, single use; only a keyed hash is kept.
CREATE TABLE password_resets (
    token_hash BLOB PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX password_resets_account ON password_resets (account_id);
