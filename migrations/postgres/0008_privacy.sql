-- Personal data life cycle (PRIV-1): photos are deleted a configured time
-- after the decision; the decision stays, and so does the fact that photos existed.

ALTER TABLE reviews ADD COLUMN photos_deleted_at BIGINT;
-- What the retention sweeper looks for: decided items whose photos are still held.
CREATE INDEX reviews_photo_retention ON reviews (decided_at, id) WHERE photos_deleted_at IS NULL AND status <> 'pending';
-- Expiry sweeps of the code and reset tables (captchas and sessions have theirs).
CREATE INDEX verification_codes_expiry ON verification_codes (expires_at);
CREATE INDEX password_resets_expiry ON password_resets (expires_at);
CREATE INDEX staff_sessions_expiry ON staff_sessions (expires_at);
