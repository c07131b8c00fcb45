-- The temporary QR codes shown on jszg's pages (WX-3, REC-2c): scanning one with WeChat brings
-- its scene to the callback. Only a keyed hash of the scene is kept; single use, minutes long.
CREATE TABLE wechat_scenes (
    scene_hash BYTEA PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX wechat_scenes_expires ON wechat_scenes (expires_at);

-- REC-2c: a reset link sent in the chat to the bound WeChat. Single use, 10 minutes; it works
-- only while the account is still bound to that WeChat.
CREATE TABLE wechat_resets (
    token_hash BYTEA PRIMARY KEY,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    openid_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX wechat_resets_expires ON wechat_resets (expires_at);
