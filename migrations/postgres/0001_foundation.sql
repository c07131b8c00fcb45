-- Foundation: accounts, codes, captchas, outbox, reference registry, settings.
-- Instants are Unix seconds (BIGINT), dates are 'YYYY-MM-DD' text, so one SQL text serves both backends.
-- Document numbers, phones and emails exist only as AEAD envelopes (*_enc) and keyed hashes (*_hash).

CREATE TABLE accounts (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    doc_type TEXT NOT NULL,
    doc_hash BYTEA NOT NULL,
    doc_number_enc BYTEA NOT NULL,
    name TEXT NOT NULL,
    validity_period TEXT,
    validity_start TEXT,
    validity_end TEXT,
    password_hash TEXT,
    email_enc BYTEA,
    email_hash BYTEA,
    phone_enc BYTEA,
    phone_hash BYTEA,
    registered_at BIGINT NOT NULL,
    archived_at BIGINT,
    archived_reason TEXT
);
-- Exactly one live account per document number (REG-4); archived ones stay for audit.
CREATE UNIQUE INDEX accounts_live_doc ON accounts (doc_hash) WHERE archived_at IS NULL;
CREATE INDEX accounts_phone ON accounts (phone_hash);
CREATE INDEX accounts_email ON accounts (email_hash);

CREATE TABLE verification_codes (
    channel TEXT NOT NULL,
    target_hash BYTEA NOT NULL,
    purpose TEXT NOT NULL,
    code_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    failed_attempts BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (channel, target_hash, purpose)
);

-- Daily sending quota per target, counted by one atomic upsert.
CREATE TABLE send_quotas (
    channel TEXT NOT NULL,
    target_hash BYTEA NOT NULL,
    day TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (channel, target_hash, day)
);

CREATE TABLE captcha_challenges (
    id TEXT PRIMARY KEY,
    purpose TEXT NOT NULL,
    answer_x BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX captcha_challenges_expiry ON captcha_challenges (expires_at);

CREATE TABLE captcha_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX captcha_tokens_expiry ON captcha_tokens (expires_at);

-- Fixed-window counters for throttling by source address and similar keys.
CREATE TABLE throttles (
    scope TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (scope, key_hash)
);

CREATE TABLE outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient_hash BYTEA NOT NULL,
    payload_enc BYTEA NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
CREATE INDEX outbox_recipient ON outbox (recipient_hash, id);

-- The reference identity registry: the stand-in authority (RN-4).
CREATE TABLE reference_identities (
    doc_hash BYTEA PRIMARY KEY,
    doc_type TEXT NOT NULL,
    name TEXT NOT NULL,
    added_at BIGINT NOT NULL
);

CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
