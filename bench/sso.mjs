// Load on the OpenID Connect provider (see bench/sso.sh): SSO authorizations
// with a session (each issues a code) and token-endpoint redemptions of those
// codes (client_secret_basic, PKCE check, RS256 ID token signing).
//   node bench/sso.mjs ISSUER SECRET REDIRECT_URI COUNT CONCURRENCY
import { createHash, randomBytes } from 'node:crypto';
import { Browser, applicant, setIssuer } from '../crates/jszg/tests/peers/sso/applicant.mjs';

const [issuer, secret, redirect, countArg, concArg] = process.argv.slice(2);
const count = Number(countArg || 2000);
const conc = Number(concArg || 8);
setIssuer(issuer);
const b64url = (buf) => buf.toString('base64url');

async function pool(n, fn) {
  const lat = [];
  let next = 0; let failed = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      if (!(await fn(i))) failed++;
      lat.push(performance.now() - t);
    }
  }));
  const secs = (performance.now() - started) / 1000;
  lat.sort((a, b) => a - b);
  const q = (p) => lat[Math.min(lat.length - 1, Math.floor(p * lat.length))].toFixed(2);
  return { n, failed, rate: (n / secs).toFixed(0), p50: q(0.5), p99: q(0.99) };
}

const { b } = await applicant(true);
const verifier = b64url(randomBytes(32));
const challenge = b64url(createHash('sha256').update(verifier).digest());
const url = new URL(`${issuer}/oidc/authorize`);
for (const [k, v] of Object.entries({ response_type: 'code', client_id: 'certification', redirect_uri: redirect, scope: 'openid profile identity', state: 'bench', nonce: 'bench', code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(k, v);
const cookie = b.header();
const codes = [];
// Warm-up: the signing key exists, connections are open.
await fetch(url, { redirect: 'manual', headers: { cookie } });

const auth = await pool(count, async () => {
  const res = await fetch(url, { redirect: 'manual', headers: { cookie } });
  const code = new URL(res.headers.get('location') || 'x:/').searchParams.get('code');
  if (code) codes.push(code);
  return res.status === 302 && !!code;
});
console.log(`authorize (SSO, with session): ${auth.n} requests, ${auth.failed} failed, ${auth.rate}/s, p50 ${auth.p50} ms, p99 ${auth.p99} ms, concurrency ${conc}`);

const basic = `Basic ${Buffer.from(`certification:${secret}`).toString('base64')}`;
const token = await pool(codes.length, async (i) => {
  const res = await fetch(`${issuer}/oidc/token`, {
    method: 'POST',
    headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', code: codes[i], redirect_uri: redirect, code_verifier: verifier }),
  });
  await res.arrayBuffer();
  return res.status === 200;
});
console.log(`token (code → ID token): ${token.n} requests, ${token.failed} failed, ${token.rate}/s, p50 ${token.p50} ms, p99 ${token.p99} ms, concurrency ${conc}`);
