-- Codes in the service account's chat (CODE-3) and bindings (WX-3).

-- A chat waiting for the applicant's document number after 取验证码.
CREATE TABLE wechat_chats (
    openid_hash BLOB PRIMARY KEY,
    awaiting TEXT NOT NULL,
    until_at BIGINT NOT NULL
);
CREATE INDEX wechat_chats_until ON wechat_chats (until_at);

-- The WeChat a registration code was given to, per document number, so that the account
-- registered with that code is bound to it. Lives as long as the code.
CREATE TABLE wechat_code_openids (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    doc_hash BLOB NOT NULL UNIQUE,
    openid_hash BLOB NOT NULL,
    openid_enc BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX wechat_code_openids_expires ON wechat_code_openids (expires_at);

-- An account's WeChat. One openid binds at most one account.
CREATE TABLE wechat_bindings (
    account_id BIGINT PRIMARY KEY REFERENCES accounts (id),
    openid_hash BLOB NOT NULL UNIQUE,
    openid_enc BLOB NOT NULL,
    bound_at BIGINT NOT NULL
);
