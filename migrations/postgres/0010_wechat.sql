-- The WeChat service account's callback (WX-1). The platform retries a message it got no answer
-- to within 5 s; each message or event is acted on once, found by a keyed hash of its MsgId (or
-- FromUserName + CreateTime for events). Rows older than a day are pruned.
CREATE TABLE wechat_deliveries (
    key_hash BYTEA PRIMARY KEY,
    received_at BIGINT NOT NULL
);
CREATE INDEX wechat_deliveries_received ON wechat_deliveries (received_at);
