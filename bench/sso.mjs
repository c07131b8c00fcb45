// Load on an OpenID Connect provider (see bench/sso.sh): SSO authorizations with a session (each
// issues a code) and token-endpoint redemptions of those codes (client_secret_basic, PKCE check,
// RS256 ID token signing). Run against jszg, and in the same run against npm oidc-provider
// configured alike (code + PKCE, RS256, client_secret_basic, a session), for the ratio.
//   node bench/sso.mjs ISSUER SECRET REDIRECT_URI COUNT CONCURRENCY [PEER_ISSUER PEER_SECRET PEER_REDIRECT_URI]
import { createHash, randomBytes } from 'node:crypto';
import { applicant, setIssuer } from '../crates/jszg/tests/peers/sso/applicant.mjs';

const [issuer, secret, redirect, countArg, concArg, peerIssuer, peerSecret, peerRedirect] = process.argv.slice(2);
const count = Number(countArg || 2000);
const conc = Number(concArg || 8);
setIssuer(issuer);
const b64url = (buf) => buf.toString('base64url');

/** Timings of one kind of request, gathered over several rounds. */
function tally() { return { n: 0, failed: 0, secs: 0, lat: [] }; }

async function pool(into, n, fn) {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: conc }, async () => {
    while (next < n) {
      const i = next++;
      const t = performance.now();
      if (!(await fn(i))) into.failed++;
      into.lat.push(performance.now() - t);
    }
  }));
  into.secs += (performance.now() - started) / 1000;
  into.n += n;
}

function summary(r) {
  r.lat.sort((a, b) => a - b);
  const q = (p) => r.lat[Math.min(r.lat.length - 1, Math.floor(p * r.lat.length))].toFixed(2);
  return { n: r.n, failed: r.failed, rate: r.n / r.secs, p50: q(0.5), p99: q(0.99) };
}

// oidc-provider's development adapter keeps at most 1,000 objects (an LRU): codes issued long
// before their redemption would be evicted. Both providers therefore get the load in rounds of
// ROUND authorizations followed by their redemptions.
const ROUND = 250;

/** The same load on any provider: authorizations with the session `cookie`, then redemptions. */
async function measure(label, { authorize, cookie, tokenEndpoint, clientId, clientSecret, redirectUri, verifier }) {
  // Warm-up: the signing key exists, connections are open.
  await fetch(authorize, { redirect: 'manual', headers: { cookie } });
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
  const authT = tally(); const tokenT = tally();
  let firstFailure;
  for (let done = 0; done < count; done += ROUND) {
    const codes = [];
    await pool(authT, Math.min(ROUND, count - done), async () => {
      const res = await fetch(authorize, { redirect: 'manual', headers: { cookie } });
      const code = new URL(res.headers.get('location') || 'x:/', authorize).searchParams.get('code');
      if (code) codes.push(code);
      return res.status >= 300 && res.status < 400 && !!code;
    });
    await pool(tokenT, codes.length, async (i) => {
      const res = await fetch(tokenEndpoint, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: codes[i], redirect_uri: redirectUri, code_verifier: verifier }),
      });
      const text = await res.text();
      if (res.status !== 200 && !firstFailure) firstFailure = `${res.status} ${text.slice(0, 200)}`;
      return res.status === 200;
    });
  }
  if (firstFailure) console.log(`${label.padEnd(14)} first failed redemption: ${firstFailure}`);
  const auth = summary(authT); const token = summary(tokenT);
  for (const [what, r] of [['authorize (SSO, with session)', auth], ['token (code → ID token)', token]]) {
    console.log(`${label.padEnd(14)} ${what}: ${r.n} requests, ${r.failed} failed, ${r.rate.toFixed(0)}/s, p50 ${r.p50} ms, p99 ${r.p99} ms, concurrency ${conc}`);
  }
  return { auth: auth.rate, token: token.rate };
}

function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash('sha256').update(verifier).digest()) };
}

function authorizeUrl(base, clientId, redirectUri, challenge, scope) {
  const url = new URL(base);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: clientId, redirect_uri: redirectUri, scope, state: 'bench', nonce: 'bench', code_challenge: challenge, code_challenge_method: 'S256' })) url.searchParams.set(k, v);
  return url;
}

// jszg: an applicant signed in through the API.
const { b } = await applicant(true);
const j = pkce();
const jszg = await measure('jszg', {
  authorize: authorizeUrl(`${issuer}/oidc/authorize`, 'certification', redirect, j.challenge, 'openid profile identity'),
  cookie: b.header(), tokenEndpoint: `${issuer}/oidc/token`, clientId: 'certification', clientSecret: secret, redirectUri: redirect, verifier: j.verifier,
});

if (peerIssuer) {
  // oidc-provider: sign in once at its own login form, then its session cookies stand for the
  // applicant's browser, as jszg's session cookie does.
  const d = await (await fetch(`${peerIssuer}/.well-known/openid-configuration`)).json();
  const p = pkce();
  const authorize = authorizeUrl(d.authorization_endpoint, 'jszg', peerRedirect, p.challenge, 'openid profile');
  const jar = new Map();
  const keep = (res) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      if (/expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(pair.slice(0, i)); else jar.set(pair.slice(0, i), pair.slice(i + 1));
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  let url = authorize;
  for (let hop = 0; hop < 10; hop++) {
    let res = await fetch(url, { redirect: 'manual', headers: { cookie: cookie() } });
    keep(res);
    if (/\/interaction\//.test(new URL(url).pathname) && res.status === 200) {
      const html = await res.text();
      const body = html.includes('name="login"') ? 'prompt=login&login=bench&password=any' : 'prompt=consent';
      res = await fetch(url, { method: 'POST', redirect: 'manual', headers: { cookie: cookie(), 'content-type': 'application/x-www-form-urlencoded' }, body });
      keep(res);
    }
    const to = res.headers.get('location');
    if (!to) throw new Error(`oidc-provider answered ${res.status} at ${url}`);
    url = new URL(to, url);
    if (url.toString().startsWith(peerRedirect)) break;
  }
  const peer = await measure('oidc-provider', {
    authorize, cookie: cookie(), tokenEndpoint: d.token_endpoint, clientId: 'jszg', clientSecret: peerSecret, redirectUri: peerRedirect, verifier: p.verifier,
  });
  console.log(`jszg / oidc-provider: authorize ${(jszg.auth / peer.auth).toFixed(2)}×, token ${(jszg.token / peer.token).toFixed(2)}×`);
}
