-- Login, sessions and the first-login profile (LOGIN-1..4, PROF-1..4).

ALTER TABLE accounts ADD COLUMN sex TEXT;
ALTER TABLE accounts ADD COLUMN birth_date TEXT;
ALTER TABLE accounts ADD COLUMN ethnicity TEXT;
ALTER TABLE accounts ADD COLUMN local_id_enc BYTEA;
ALTER TABLE accounts ADD COLUMN permit_number_enc BYTEA;
ALTER TABLE accounts ADD COLUMN profile_completed_at BIGINT;
ALTER TABLE accounts ADD COLUMN realname_status TEXT NOT NULL DEFAULT 'none';
ALTER TABLE accounts ADD COLUMN password_changed_at BIGINT;

-- Server-side sessions; only a keyed hash of the cookie value is stored.
CREATE TABLE sessions (
    id_hash BYTEA PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    entry TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_account ON sessions (account_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Failed logins per document number, known or not, so that the answer
-- for an unknown number behaves exactly like the one for a wrong password.
CREATE TABLE login_failures (
    doc_hash BYTEA PRIMARY KEY,
    failures BIGINT NOT NULL,
    last_failure_at BIGINT NOT NULL,
    locked_until BIGINT
);

-- Real-name verification attempts per applicant per Beijing day (RN-3).
CREATE TABLE realname_attempts (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    day TEXT NOT NULL,
    used BIGINT NOT NULL,
    PRIMARY KEY (account_id, day)
);

-- Append-only record of changes to identity and contact data and of staff actions (STAFF-5).
CREATE TABLE audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id BIGINT,
    account_id BIGINT,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_account ON audit_log (account_id, at);
CREATE INDEX audit_actor ON audit_log (actor_kind, actor_id, at);
CREATE INDEX audit_at ON audit_log (at);

-- The audit log is append-only: refuse updates and deletes at the database.
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END $$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
