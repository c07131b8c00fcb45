// The OpenID Foundation's Basic OP plan (oidcc-basic-certification-test-plan of
// openid-certification/conformance-suite), module by module, against the jszg binary in
// $JSZG_BIN: each test is named after the module's testName, sends what that module sends and
// checks what it checks at FAILURE level (its WARNING-level checks are noted where jszg chose
// otherwise). A module the suite itself would skip asserts the condition that makes it skip.
// docs/sso.md has the table. The suite's configuration is a static client per module class:
// `certification` (client_secret_basic) and `renewal` (client_secret_post), both registered with
// `require_pkce = false`, since the suite sends PKCE only in its PKCE module.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { HARNESS_ENV, freePort } from '../../support/harness.mjs';
import { Browser, applicant, captcha, setIssuer } from './applicant.mjs';

const BIN = process.env.JSZG_BIN;
assert.ok(BIN, 'JSZG_BIN must name the jszg binary');
// The suite's redirect URIs: never fetched, the tests read the Location header.
const CB = 'https://conformance.example/test/a/jszg/callback';
const CB_POST = 'https://conformance.example/test/a/jszg-post/callback';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server; let dir; let issuer; let discovery; let jwks;
const secrets = {};
let person; // an applicant signed in, profile and real name done


before(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  setIssuer(issuer);
  dir = mkdtempSync(join(tmpdir(), 'jszg-conformance-'));
  writeFileSync(join(dir, 'jszg.toml'), `[clients.certification]
redirect_uris = ["${CB}"]
require_pkce = false
[clients.renewal]
redirect_uris = ["${CB_POST}"]
require_pkce = false
`);
  const env = { PATH: process.env.PATH, JSZG_BIND: `127.0.0.1:${port}`, JSZG_DATABASE_URL: `sqlite://${join(dir, 'jszg.db')}`, JSZG_DEV: '1', JSZG_LOG: 'warn', ...HARNESS_ENV };
  for (const id of ['certification', 'renewal']) {
    secrets[id] = execFileSync(BIN, ['clients', 'rotate-secret', id], { cwd: dir, env }).toString().match(/secret: (\S+)/)[1];
  }
  server = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${issuer}/readyz`)).ok) break; } catch { /* not up yet */ }
    await sleep(50);
  }
  // §2.1 configure(): discovery, the JWKS and the checks every module starts with.
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  discovery = await res.json();
  for (const k of ['issuer', 'authorization_endpoint', 'token_endpoint', 'jwks_uri', 'userinfo_endpoint']) {
    assert.ok(new URL(discovery[k]), `${k} is a URL`);
  }
  const keys = await (await fetch(discovery.jwks_uri)).json();
  assert.ok(keys.keys.length > 0);
  for (const k of keys.keys) {
    assert.ok(k.kid, 'every key has a kid');
    assert.ok(!('d' in k) && !('p' in k) && !('k' in k), 'no private or symmetric material');
    assert.ok(!k.use || k.use === 'sig');
  }
  assert.equal(new Set(keys.keys.map((k) => k.kid)).size, keys.keys.length, 'distinct kids');
  assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_basic'));
  jwks = jose.createLocalJWKSet(keys);
  person = await applicant(true);
});

after(async () => {
  server?.kill('SIGTERM');
  if (server) await new Promise((r) => server.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

const alnum = (n) => randomBytes(n * 2).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, n);

/** The suite's authorization request: keys sorted, state and nonce of 10 alphanumerics. */
function request(extra = {}, { client = 'certification', order = 'sorted', omit = [] } = {}) {
  const params = {
    client_id: client, redirect_uri: client === 'renewal' ? CB_POST : CB, response_type: 'code', scope: 'openid',
    state: alnum(10), nonce: alnum(10), ...extra,
  };
  for (const k of omit) delete params[k];
  let keys = Object.keys(params).filter((k) => params[k] !== undefined).sort();
  if (order === 'reverse') keys = keys.reverse();
  const q = new URLSearchParams();
  for (const k of keys) q.set(k, typeof params[k] === 'object' ? JSON.stringify(params[k]) : String(params[k]));
  return { params, query: q.toString(), url: `${discovery.authorization_endpoint}?${q}` };
}

/** Follow jszg's redirects in browser `b` until it sends the browser to the client (or stops). */
async function front(b, first, init = {}) {
  let res = await b.fetch(first, init);
  for (let hop = 0; hop < 6; hop++) {
    const to = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !to) return { res, to: null };
    if (to.startsWith('https://conformance.example/')) return { res, to: new URL(to) };
    res = await b.fetch(new URL(to, issuer));
  }
  throw new Error('too many redirects');
}

/** §2.3: the callback checks; the code. */
function callbackChecks(to, sent) {
  assert.ok(to, 'redirected back to the client');
  const q = to.searchParams;
  if (q.has('iss')) assert.equal(q.get('iss'), discovery.issuer);
  assert.equal(q.get('error'), null, `error=${q.get('error')}: ${q.get('error_description')}`);
  if (sent.state !== undefined) assert.equal(q.get('state'), sent.state);
  const code = q.get('code');
  assert.ok(code, 'a code');
  return code;
}

/** §2.9: an error at the redirect URI. */
function errorChecks(to, sent, allowed) {
  assert.ok(to, 'redirected back with an error');
  const q = to.searchParams;
  if (sent.state !== undefined) assert.equal(q.get('state'), sent.state);
  if (q.has('iss')) assert.equal(q.get('iss'), discovery.issuer);
  assert.ok(allowed.includes(q.get('error')), `error ${q.get('error')} not in ${allowed}`);
  assert.equal(q.get('code'), null);
  const d = q.get('error_description') ?? '';
  assert.ok(/^[\x09\x0a\x0d\x20\x21\x23-\x5b\x5d-\x7e]*$/.test(d), 'error_description characters');
}

/** EnsureMinimumAuthorizationCodeLength / …Entropy: ≥ 128 bits and > 96 bits of Shannon entropy. */
function codeStrength(code) {
  assert.ok(Buffer.byteLength(code) >= 16, 'code length');
  const counts = {};
  for (const c of code) counts[c] = (counts[c] || 0) + 1;
  const perChar = -Object.values(counts).reduce((s, n) => s + (n / code.length) * Math.log2(n / code.length), 0);
  assert.ok(perChar * code.length > 96, `code entropy ${perChar * code.length}`);
}

/** §2.4: the token request, client_secret_basic or client_secret_post. */
async function tokenRequest(code, { client = 'certification', verifier } = {}) {
  const form = new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: client === 'renewal' ? CB_POST : CB });
  if (verifier) form.set('code_verifier', verifier);
  const headers = { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' };
  if (client === 'renewal') {
    form.set('client_id', client);
    form.set('client_secret', secrets[client]);
  } else {
    headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(client)}:${encodeURIComponent(secrets[client])}`).toString('base64')}`;
  }
  const res = await fetch(discovery.token_endpoint, { method: 'POST', headers, body: form.toString() });
  return { status: res.status, type: res.headers.get('content-type'), body: await res.json() };
}

const STANDARD_TYPES = { email_verified: 'boolean', phone_number_verified: 'boolean', updated_at: 'number' };
function standardClaimTypes(claims) {
  for (const [k, v] of Object.entries(claims)) {
    assert.notEqual(v, null, `${k} is null`);
    if (STANDARD_TYPES[k]) assert.equal(typeof v, STANDARD_TYPES[k], k);
    if (['sub', 'name', 'email', 'phone_number'].includes(k)) assert.ok(typeof v === 'string' && v.trim() && v !== 'null', k);
  }
}

/** §2.6: PerformStandardIdTokenChecks. */
async function idTokenChecks(idToken, { client = 'certification', nonce, accessToken }) {
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, { algorithms: discovery.id_token_signing_alg_values_supported });
  assert.ok(protectedHeader.kid);
  const now = Math.floor(Date.now() / 1000);
  assert.equal(payload.iss, discovery.issuer);
  assert.ok(payload.aud === client || (Array.isArray(payload.aud) && payload.aud.includes(client)));
  assert.ok(payload.exp >= now - 300);
  assert.ok(payload.iat <= now + 300 && payload.iat >= now - 300);
  if (payload.auth_time !== undefined) assert.ok(payload.auth_time <= now + 300 && payload.auth_time > now - 365 * 86400);
  if (nonce === undefined) assert.equal(payload.nonce, undefined); else assert.equal(payload.nonce, nonce);
  assert.ok(payload.sub && payload.sub.length <= 255 && /^[\x20-\x7e]+$/.test(payload.sub));
  standardClaimTypes(payload);
  if (payload.at_hash !== undefined && accessToken) {
    const digest = createHash('sha256').update(accessToken).digest();
    assert.equal(payload.at_hash, digest.subarray(0, 16).toString('base64url'));
  }
  return { payload, protectedHeader };
}

async function userinfo(accessToken, how = 'get') {
  const init = {
    get: { method: 'GET', headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } },
    header: { method: 'POST', headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/x-www-form-urlencoded' }, body: '' },
    body: { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ access_token: accessToken }).toString() },
  }[how];
  const res = await fetch(discovery.userinfo_endpoint, init);
  return { status: res.status, type: res.headers.get('content-type'), body: res.status === 200 ? await res.json() : await res.text() };
}

/** The module's whole happy flow: authorization, callback, token, ID token, userinfo GET. */
async function flow(b = person.b, extra = {}, opts = {}) {
  const sent = request(extra, opts);
  const { to } = await front(b, sent.url, opts.init);
  const code = callbackChecks(to, sent.params);
  codeStrength(code);
  const tokens = await tokenRequest(code, { client: opts.client, verifier: opts.verifier });
  assert.equal(tokens.status, 200, JSON.stringify(tokens.body));
  assert.equal(tokens.body.error, undefined);
  assert.ok(tokens.body.access_token && tokens.body.token_type);
  assert.match(tokens.body.token_type, /^bearer$/i);
  if (tokens.body.expires_in !== undefined) assert.ok(typeof tokens.body.expires_in === 'number' && tokens.body.expires_in > 0);
  const id = await idTokenChecks(tokens.body.id_token, { client: opts.client, nonce: sent.params.nonce, accessToken: tokens.body.access_token });
  const info = await userinfo(tokens.body.access_token);
  assert.equal(info.status, 200);
  return { sent, code, tokens: tokens.body, id: id.payload, header: id.protectedHeader, info: info.body };
}

/** §2.11: the scope modules' skip rule and userinfo checks. */
function scopeSupported(scope) {
  return Array.isArray(discovery.scopes_supported) && scope.split(' ').every((s) => discovery.scopes_supported.includes(s));
}

async function scopeModule(scope, expected, opts = {}) {
  assert.ok(scopeSupported(scope), `the suite would skip: scopes_supported lacks part of ${scope}`);
  const f = await flow(person.b, { scope }, opts);
  const again = await userinfo(f.tokens.access_token);
  assert.equal(again.status, 200);
  standardClaimTypes(again.body);
  assert.equal(again.body.sub, f.id.sub);
  for (const claim of expected) assert.ok(claim in again.body, `userinfo has ${claim}`);
  return { ...f, info: again.body };
}

/** Sign `b` in again, as the login page would after a prompt=login or max_age, and resume. */
async function signInAgain(b) {
  const login = await b.json('/api/v1/sessions', { doc_number: person.doc, password: 'Abc#2024x', captcha_token: await captcha(b, 'login'), entry: 'certification' });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  return front(b, '/entries/certification');
}

const unsignedRequestObject = (claims) => `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.`;

test('oidcc-server', async () => {
  const f = await flow();
  assert.equal(typeof f.tokens.expires_in, 'number', 'expires_in (W if missing)');
  // W-level, kept: a scope=openid ID token holds no name and nothing unrequested.
  assert.equal(f.id.name, undefined);
  const allowed = ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'acr', 'amr', 'azp', 'at_hash', 'c_hash', 's_hash', 'nbf', 'jti', 'sid'];
  for (const k of Object.keys(f.id)) assert.ok(allowed.includes(k), `unrequested claim ${k}`);
});

test('oidcc-response-type-missing', async () => {
  const sent = request({}, { omit: ['response_type'] });
  const { to } = await front(person.b, sent.url);
  errorChecks(to, sent.params, ['unsupported_response_type', 'invalid_request']);
});

test('oidcc-idtoken-signature', async () => {
  // The suite runs it with dynamic registration only; its checks hold for the static client.
  const f = await flow();
  assert.ok(f.header.kid);
  assert.equal(f.header.alg, 'RS256');
});

test('oidcc-idtoken-unsigned', () => {
  // Skipped by the suite: discovery does not offer `none` (and the module needs dynamic registration).
  assert.ok(!discovery.id_token_signing_alg_values_supported.includes('none'));
});

for (const [name, how] of [['oidcc-userinfo-get', 'get'], ['oidcc-userinfo-post-header', 'header'], ['oidcc-userinfo-post-body', 'body']]) {
  test(name, async () => {
    const f = await flow();
    const info = await userinfo(f.tokens.access_token, how);
    assert.equal(info.status, 200);
    assert.equal(info.type.split(';')[0], 'application/json');
    standardClaimTypes(info.body);
    assert.equal(info.body.sub, f.id.sub);
  });
}

test('oidcc-ensure-request-without-nonce-succeeds-for-code-flow', async () => {
  const sent = request({ nonce: undefined });
  const { to } = await front(person.b, sent.url);
  callbackChecks(to, sent.params);
});

test('oidcc-scope-profile', async () => {
  await scopeModule('openid profile', ['name']);
});

test('oidcc-scope-email', async () => {
  const f = await scopeModule('openid email', ['email', 'email_verified']);
  assert.equal(f.info.email_verified, true);
  assert.equal(f.id.name, undefined, 'W: no name in the ID token');
});

test('oidcc-scope-address', () => {
  // Skipped by the suite: jszg holds no postal address, so discovery does not list the scope.
  assert.ok(!scopeSupported('openid address'));
});

test('oidcc-scope-phone', async () => {
  const f = await scopeModule('openid phone', ['phone_number', 'phone_number_verified']);
  assert.match(f.info.phone_number, /^1\d{10}$/);
});

test('oidcc-scope-all', () => {
  // Skipped by the suite: it needs all five scopes listed, and `address` is not.
  assert.ok(!scopeSupported('openid email phone address profile'));
});

test('oidcc-alternate-happy-flow', async () => {
  await scopeModule('email openid', ['email', 'email_verified'], { order: 'reverse' });
});

for (const display of ['page', 'popup']) {
  test(`oidcc-display-${display}`, async () => {
    await flow(person.b, { display });
  });
}

test('oidcc-prompt-login', async () => {
  const first = await flow();
  await sleep(1000);
  const sent = request({ prompt: 'login' });
  const res = await person.b.fetch(sent.url);
  assert.equal(res.status, 302);
  assert.equal(res.headers.get('location'), '/login/certification', 'the login page again');
  // auth_time counts seconds: a login in the same second as the request could be older than it,
  // so jszg counts one from the next second on. A person takes longer than that to type.
  await sleep(1100);
  const { to } = await signInAgain(person.b);
  const code = callbackChecks(to, sent.params);
  const tokens = await tokenRequest(code);
  const id = await idTokenChecks(tokens.body.id_token, { nonce: sent.params.nonce, accessToken: tokens.body.access_token });
  assert.ok(id.payload.auth_time > first.id.auth_time, 'a later auth_time');
});

test('oidcc-prompt-none-not-logged-in', async () => {
  const state = alnum(124) + '-._~';
  const sent = request({ prompt: 'none', state });
  const { to } = await front(new Browser(), sent.url);
  errorChecks(to, sent.params, ['interaction_required', 'login_required', 'account_selection_required', 'consent_required']);
});

test('oidcc-prompt-none-logged-in', async () => {
  const first = await flow();
  const second = await flow(person.b, { prompt: 'none' });
  assert.equal(second.id.auth_time, first.id.auth_time);
  assert.equal(second.id.sub, first.id.sub);
});

test('oidcc-max-age-1', async () => {
  const first = await flow();
  await sleep(2000);
  const sent = request({ max_age: 1 });
  const res = await person.b.fetch(sent.url);
  assert.equal(res.headers.get('location'), '/login/certification', 'a fresh login is forced');
  const { to } = await signInAgain(person.b);
  const tokens = await tokenRequest(callbackChecks(to, sent.params));
  const { payload } = await idTokenChecks(tokens.body.id_token, { nonce: sent.params.nonce, accessToken: tokens.body.access_token });
  assert.ok(payload.auth_time !== undefined, 'auth_time with max_age');
  assert.ok(payload.auth_time > first.id.auth_time);
  assert.ok(payload.auth_time >= Math.floor(Date.now() / 1000) - 301);
});

test('oidcc-max-age-10000', async () => {
  const first = await flow(person.b, { max_age: 15000 });
  assert.ok(first.id.auth_time !== undefined);
  const second = await flow(person.b, { max_age: 10000 });
  assert.equal(second.id.auth_time, first.id.auth_time);
  assert.equal(second.id.sub, first.id.sub);
});

test('oidcc-ensure-request-with-unknown-parameter-succeeds', async () => {
  await flow(person.b, { extra: 'foobar' });
});

test('oidcc-id-token-hint', async () => {
  const first = await flow();
  const second = await flow(person.b, { prompt: 'none', id_token_hint: first.tokens.id_token });
  assert.equal(second.id.auth_time, first.id.auth_time);
  assert.equal(second.id.sub, first.id.sub);
});

test('oidcc-login-hint', async () => {
  await flow(person.b, { login_hint: `buffy@${new URL(issuer).hostname}` });
});

test('oidcc-ui-locales', async () => {
  await flow(person.b, { ui_locales: 'se' });
});

test('oidcc-claims-locales', async () => {
  await flow(person.b, { claims_locales: 'se' });
});

test('oidcc-ensure-request-with-acr-values-succeeds', async () => {
  // W-level, not met: jszg asserts no acr (it has one level of authentication).
  await flow(person.b, { acr_values: (discovery.acr_values_supported ?? ['1', '2']).join(' ') });
});

test('oidcc-codereuse', async () => {
  const f = await flow();
  const again = await tokenRequest(f.code);
  assert.equal(again.status, 400);
  assert.equal(again.type.split(';')[0], 'application/json');
  assert.equal(again.body.error, 'invalid_grant');
});

test('oidcc-codereuse-30seconds', async () => {
  const f = await flow();
  // The suite waits 30 s; the development clock moves the server's 30 s at once.
  assert.equal((await person.b.json('/api/v1/dev/clock', { advance_seconds: 30 })).status, 200);
  const again = await tokenRequest(f.code);
  assert.equal(again.status, 400);
  assert.equal(again.type.split(';')[0], 'application/json');
  assert.equal(again.body.error, 'invalid_grant');
  const info = await userinfo(f.tokens.access_token);
  assert.ok(info.status >= 400 && info.status < 500, 'the tokens of a reused code are revoked');
});

test('oidcc-ensure-registered-redirect-uri', async () => {
  const sent = request({ redirect_uri: `${CB}/${alnum(10)}` });
  const res = await person.b.fetch(sent.url);
  assert.equal(res.headers.get('location'), null, 'an error page, no redirect');
  assert.equal(res.status, 400);
  assert.match(await res.text(), /回调地址未登记/);
});

test('oidcc-ensure-post-request-succeeds', async () => {
  const sent = request();
  const { to } = await front(person.b, discovery.authorization_endpoint, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: sent.query,
  });
  const code = callbackChecks(to, sent.params);
  const tokens = await tokenRequest(code);
  assert.equal(tokens.status, 200);
  await idTokenChecks(tokens.body.id_token, { nonce: sent.params.nonce, accessToken: tokens.body.access_token });
});

test('oidcc-server-client-secret-post', async () => {
  assert.ok(discovery.token_endpoint_auth_methods_supported.includes('client_secret_post'));
  await flow(person.b, {}, { client: 'renewal' });
});

test('oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported', async () => {
  // Dynamic registration only in the suite; jszg rejects request_uri as unsupported, which the
  // module accepts (it skips on request_uri_not_supported).
  assert.equal(discovery.request_uri_parameter_supported, false);
  const sent = request({ request_uri: 'https://conformance.example/requesturi/x', state: undefined, nonce: undefined });
  const { to } = await front(person.b, sent.url);
  assert.equal(to.searchParams.get('error'), 'request_uri_not_supported');
  assert.equal(to.searchParams.get('code'), null);
});

test('oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported', async () => {
  // Skipped by the suite on request_not_supported; state and nonce live only in the object.
  assert.equal(discovery.request_parameter_supported, false);
  const object = unsignedRequestObject({ client_id: 'certification', redirect_uri: CB, response_type: 'code', scope: 'openid', state: alnum(10), nonce: alnum(10) });
  const sent = request({ request: object, state: undefined, nonce: undefined });
  const { to } = await front(person.b, sent.url);
  assert.equal(to.searchParams.get('error'), 'request_not_supported');
  assert.equal(to.searchParams.get('code'), null);
});

test('oidcc-claims-essential', async () => {
  // W-level, not met: jszg does not take the claims parameter (claims_parameter_supported: false);
  // a client asks for name with the profile scope.
  const f = await scopeModule('openid', []);
  assert.equal(f.id.name, undefined);
});

test('oidcc-ensure-request-object-with-redirect-uri', async () => {
  const object = unsignedRequestObject({ client_id: 'certification', redirect_uri: CB, response_type: 'code', scope: 'openid', state: alnum(10), nonce: alnum(10) });
  const sent = request({ request: object, redirect_uri: `${CB}_invalid`, state: undefined, nonce: undefined });
  const res = await person.b.fetch(sent.url);
  // An error page for the unregistered query redirect_uri; never request_not_supported at the registered one.
  assert.equal(res.headers.get('location'), null);
  assert.equal(res.status, 400);
});

test('oidcc-refresh-token', () => {
  // Skipped by the suite: jszg issues no refresh tokens and grant_types_supported says so.
  assert.ok(!discovery.grant_types_supported.includes('refresh_token'));
});

test('oidcc-ensure-request-with-valid-pkce-succeeds', async () => {
  const verifier = Array.from(randomBytes(128), (b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~'[b % 66]).join('');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  await flow(person.b, { code_challenge: challenge, code_challenge_method: 'S256' }, { verifier });
});
