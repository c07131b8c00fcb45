-- A contact change is announced at once to the account's current phone and email, each with a
-- link that withdraws it while it is pending (hardening round 2). Only a keyed hash of each
-- link's token is kept; a withdrawn request is status 'withdrawn' with who withdrew it.
CREATE TABLE contact_change_cancels (
    token_hash BYTEA PRIMARY KEY,
    review_id TEXT NOT NULL REFERENCES reviews (id),
    channel TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX contact_change_cancels_expires ON contact_change_cancels (expires_at);
CREATE INDEX contact_change_cancels_review ON contact_change_cancels (review_id);
