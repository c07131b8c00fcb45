-- 商用密码 (GM-2, GM-3). Written once by the release that adds them; jszg fills
-- both for the rows already there right after this migration runs, and never again:
-- later, a missing tag or an unchained entry is what an intruder left.

-- GM-2: HMAC-SM3 over the account id and its password hash, checked before the password.
ALTER TABLE accounts ADD COLUMN password_tag BLOB;
ALTER TABLE staff ADD COLUMN password_tag BLOB;

-- GM-3: the audit log as a chain. Entry n's link is HMAC-SM3 over link n-1 and the entry's
-- canonical content; the head row serialises writers (one chain across instances) and
-- says where the chain ends, so a removed tail shows too.
CREATE TABLE audit_chain (
    seq BIGINT PRIMARY KEY,
    audit_id BIGINT NOT NULL UNIQUE,
    link BLOB NOT NULL
);
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    link BLOB NOT NULL
);
-- seq -1: the rows already here are not chained yet (jszg does it once at start).
INSERT INTO audit_head (id, seq, link) VALUES (1, -1, X'');
CREATE TRIGGER audit_chain_no_update BEFORE UPDATE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
CREATE TRIGGER audit_chain_no_delete BEFORE DELETE ON audit_chain
BEGIN
    SELECT RAISE(ABORT, 'audit_chain is append-only');
END;
