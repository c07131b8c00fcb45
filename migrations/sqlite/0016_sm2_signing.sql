-- GM-4: SM2 signing keys beside the RS256 ones. Each algorithm has its own
-- current key; for an SM2 key, n and e hold the public point's x and y
-- (base64url, 32 bytes each), the JWK's two public values as n and e are RSA's.
ALTER TABLE oidc_signing_keys ADD COLUMN alg TEXT NOT NULL DEFAULT 'RS256';
