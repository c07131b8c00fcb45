-- The signed query of a callback (timestamp, nonce) seen within the freshness window, with a
-- keyed hash of the body it came with: the URL signature does not cover the body, so a captured
-- triple must not carry another body (hardening round 2). A platform retry (same body) is fine.
CREATE TABLE wechat_nonces (
    key_hash BYTEA PRIMARY KEY,
    body_hash BYTEA NOT NULL,
    received_at BIGINT NOT NULL
);
CREATE INDEX wechat_nonces_received ON wechat_nonces (received_at);
