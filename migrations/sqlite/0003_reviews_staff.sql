-- Manual review, staff, business clients and enrollments (MR, STAFF, SSO-3).

-- Identity reviews (MR) and contact change requests (CC) share one queue.
CREATE TABLE reviews (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    status TEXT NOT NULL DEFAULT 'pending',
    submitted_at BIGINT NOT NULL,
    due_date TEXT NOT NULL,
    period_key TEXT,
    -- The submitted data as sealed JSON: it holds personal data.
    payload_enc BLOB NOT NULL,
    reason TEXT NOT NULL,
    decision_reason TEXT,
    decided_by BIGINT,
    decided_at BIGINT
);
-- One pending item of each kind per applicant.
CREATE UNIQUE INDEX reviews_one_pending ON reviews (account_id, kind) WHERE status = 'pending';
CREATE INDEX reviews_queue ON reviews (kind, status, due_date, submitted_at);
CREATE INDEX reviews_account ON reviews (account_id, submitted_at);

CREATE TABLE review_photos (
    review_id TEXT NOT NULL REFERENCES reviews (id),
    slot TEXT NOT NULL,
    data_enc BLOB NOT NULL,
    PRIMARY KEY (review_id, slot)
);

-- Applications per review period (MR-2), taken by one atomic upsert.
CREATE TABLE review_quotas (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    period_key TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (account_id, period_key)
);

CREATE TABLE staff (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    totp_secret_enc BLOB NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT TRUE,
    last_totp_step BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE staff_sessions (
    id_hash BLOB PRIMARY KEY,
    staff_id BIGINT NOT NULL REFERENCES staff (id),
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX staff_sessions_staff ON staff_sessions (staff_id);

-- The business systems as clients (SSO-3); secrets stored hashed.
CREATE TABLE clients (
    entry TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    rotated_at BIGINT NOT NULL
);

CREATE TABLE enrollments (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    entry TEXT NOT NULL,
    enrolled_at BIGINT NOT NULL,
    PRIMARY KEY (account_id, entry)
);
