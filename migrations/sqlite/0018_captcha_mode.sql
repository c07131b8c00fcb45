-- 无障碍验证 (A11Y-2): a challenge is a slider puzzle or a proof of work alone.
ALTER TABLE captcha_challenges ADD COLUMN mode TEXT NOT NULL DEFAULT 'slider';
