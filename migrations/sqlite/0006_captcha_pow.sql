-- Proof of work (API.md "Captcha"): the difficulty set when the challenge was issued; its
-- puzzle string is the challenge id, so nothing else is stored.
ALTER TABLE captcha_challenges ADD COLUMN pow_difficulty INTEGER NOT NULL DEFAULT 0;
