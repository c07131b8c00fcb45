-- The temporary QR codes shown on jszg's pages (WX-3, REC-2c): scanning one with WeChat brings
-- its scene to the callback. Only a keyed hash of the scene is kept; single use, minutes long.
CREATE TABLE wechat_scenes (
    scene_hash BLOB PRIMARY KEY,
    public_id TEXT NOT NULL UNIQUE,
    purpose TEXT NOT NULL,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX wechat_scenes_expires ON wechat_scenes (expires_at);
