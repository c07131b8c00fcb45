// 教育部账号登录 (LOGIN-5) against a real, independent OpenID provider:
// npm oidc-provider plays the ministry, the jszg binary ($JSZG_BIN) is the
// relying party. No browser: a small cookie-keeping agent drives the
// provider's own login form and follows the redirects as a browser would.
//
// JSZG_PEER_DATABASE_URL picks the database (a fresh PostgreSQL database
// from .ci/upstream.sh); a temporary SQLite file otherwise.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { powNonce } from '../../pow.mjs';
import { HARNESS_ENV, freePort } from '../../support/harness.mjs';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';

import { CLIENT_ID, CLIENT_SECRET, startProvider } from './provider.mjs';

const here = new URL('.', import.meta.url).pathname;
const BIN = process.env.JSZG_BIN || resolve(here, '../../../../../target/debug/jszg');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


function residentId(birth) {
  const seq = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
  const first17 = `110105${birth}${seq}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, c, i) => acc + Number(c) * weights[i], 0);
  return first17 + '10X98765432'[sum % 11];
}
const phone = () => '158' + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');

/** A browser stand-in: one cookie jar for host 127.0.0.1 (cookies ignore ports), manual redirects. */
class Agent {
  constructor() { this.jar = new Map(); }
  cookieHeader() { return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; '); }
  keep(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const gone = value === '' || attrs.some((a) => /^\s*max-age=0\s*$/i.test(a));
      if (gone) this.jar.delete(name); else this.jar.set(name, value);
    }
  }
  async request(url, { method = 'GET', body, type } = {}) {
    const headers = { cookie: this.cookieHeader() };
    if (type) headers['content-type'] = type;
    const res = await fetch(url, { method, body, headers, redirect: 'manual' });
    this.keep(res);
    return res;
  }
  get(url) { return this.request(url); }
  json(url, payload, method = 'POST') {
    return this.request(url, { method, body: JSON.stringify(payload), type: 'application/json' });
  }
}

let jszg; let base; let idp; let logs = '';
let dir;
const people = {};

async function api(path, payload) {
  const res = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(payload) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

function humanTrack(x) {
  const n = 30; const track = [];
  for (let i = 0; i < n; i++) {
    const u = i / (n - 1); const last = i === n - 1;
    const y = i === 0 || last ? 0 : Math.floor(Math.random() * 3) - 1;
    track.push({ t: i * 30, x: last ? x : Math.round(x * (1 - Math.pow(1 - u, 3))), y });
  }
  if (track.every((p) => p.y === 0)) track[Math.floor(n / 2)].y = 1;
  return track;
}

async function captchaToken(purpose) {
  const c = await api('/api/v1/captchas', { purpose });
  assert.equal(c.status, 201);
  const a = await api(`/api/v1/captchas/${c.body.id}/answer`, { x: c.body.dev_solution, track: humanTrack(c.body.dev_solution), pow_nonce: powNonce(c.body) });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body.captcha_token;
}

async function smsCode(to) {
  for (let i = 0; i < 50; i++) {
    const list = await (await fetch(`${base}/api/v1/dev/outbox?to=${to}`)).json();
    const m = list[0] && /(?<!\d)(\d{6})(?!\d)/.exec(list[0].body);
    if (m) return m[1];
    await sleep(100);
  }
  throw new Error('no code');
}

/** The registration form's JSON for `who`, sending the SMS code first. */
async function registration(who) {
  const sent = await api('/api/v1/verification-codes', { channel: 'sms', phone: who.phone, purpose: 'register', captcha_token: await captchaToken('sms') });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  return {
    doc_type: 'resident_id', doc_number: who.doc, name: who.name, validity: { period: '20y', start: '2020-05-01' },
    password: who.password, password_confirm: who.password, email: `${Math.floor(1e8 + Math.random() * 9e8)}@qq.com`,
    phone: who.phone, verification_code: await smsCode(who.phone), agree_terms: true, confirm_validity_warning: true,
  };
}

function person(name) {
  return { doc: residentId('19900101'), name, password: 'Abc#2024x', phone: phone() };
}

/**
 * Start 教育部账号登录 on jszg, log in at the provider's own form as `sub`,
 * and return the callback URL the provider sends the browser to (not yet
 * followed, so tests can replay or tamper with it).
 */
async function throughProvider(agent, sub, entry = 'certification', { abort = false } = {}) {
  const start = await agent.get(`${base}/login/upstream?entry=${entry}`);
  assert.equal(start.status, 303, 'sent to the provider');
  let url = new URL(start.headers.get('location'));
  assert.equal(url.origin, idp.issuer, 'sent to the provider');
  assert.equal(url.searchParams.get('code_challenge_method'), 'S256');
  assert.ok(url.searchParams.get('code_challenge') && url.searchParams.get('state') && url.searchParams.get('nonce'));
  for (let hop = 0; hop < 12; hop++) {
    if (url.origin === base) return url.toString();
    let res;
    const m = /^\/interaction\/([^/]+)$/.exec(url.pathname);
    if (m) {
      const page = await agent.get(url.toString());
      assert.equal(page.status, 200);
      const html = await page.text();
      if (abort) {
        res = await agent.get(`${idp.issuer}/interaction/${m[1]}/abort`);
      } else if (html.includes('name="login"')) {
        res = await agent.request(url.toString(), { method: 'POST', type: 'application/x-www-form-urlencoded', body: new URLSearchParams({ prompt: 'login', login: sub, password: 'any' }).toString() });
      } else {
        res = await agent.request(url.toString(), { method: 'POST', type: 'application/x-www-form-urlencoded', body: 'prompt=consent' });
      }
    } else {
      res = await agent.get(url.toString());
    }
    assert.ok(res.status >= 300 && res.status < 400, `provider answered ${res.status} at ${url.pathname}: ${await res.text()}`);
    url = new URL(res.headers.get('location'), url);
  }
  throw new Error('too many redirects at the provider');
}

async function me(agent) {
  const res = await agent.get(`${base}/api/v1/me`);
  return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  people.existing = person('李雷');
  people.wrongpw = person('王芳');
  people.fresh = person('韩梅梅');
  idp = await startProvider({
    redirectUri: `${base}/login/upstream/callback`,
    accounts: {
      'moe-existing': { doc_type: 'resident_id', id_number: people.existing.doc, name: people.existing.name },
      'moe-wrongpw': { doc_type: 'resident_id', id_number: people.wrongpw.doc, name: people.wrongpw.name },
      // No doc_type claim: a resident ID by default.
      'moe-fresh': { id_number: people.fresh.doc, name: people.fresh.name },
      'moe-bad': { doc_type: 'resident_id', id_number: '110105199001011234', name: '张三' },
    },
  });
  dir = mkdtempSync(join(tmpdir(), 'jszg-upstream-'));
  const env = {
    PATH: process.env.PATH,
    JSZG_BIND: `127.0.0.1:${port}`,
    JSZG_PUBLIC_URL: base,
    JSZG_DATABASE_URL: process.env.JSZG_PEER_DATABASE_URL || `sqlite://${join(dir, 'jszg.db')}`,
    JSZG_DEV: '1',
    JSZG_LOG: 'info,jszg=debug',
    JSZG_UPSTREAM__ISSUER: idp.issuer,
    JSZG_UPSTREAM__CLIENT_ID: CLIENT_ID,
    JSZG_UPSTREAM__CLIENT_SECRET: CLIENT_SECRET,
    JSZG_UPSTREAM__DOC_NUMBER_CLAIM: 'id_number',
    ...HARNESS_ENV,
  };
  jszg = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  jszg.stdout.on('data', (d) => { logs += d; });
  jszg.stderr.on('data', (d) => { logs += d; });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    await sleep(50);
  }
  for (const who of [people.existing, people.wrongpw]) {
    const res = await api('/api/v1/accounts', await registration(who));
    assert.equal(res.status, 201, JSON.stringify(res.body));
  }
});

after(async () => {
  if (jszg) { jszg.kill('SIGTERM'); await new Promise((r) => jszg.once('exit', r)); }
  if (idp) await idp.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('a wrong password at the link step is refused with 401 and links nothing', async () => {
  const agent = new Agent();
  const back = await agent.get(await throughProvider(agent, 'moe-wrongpw'));
  assert.equal(back.status, 303);
  assert.equal(back.headers.get('location'), '/login/upstream/link');
  const page = await agent.get(`${base}/login/upstream/link`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /关联教育部账号/);
  const res = await agent.json(`${base}/api/v1/sessions/upstream-link`, { password: 'Wrong#2024x', captcha_token: await captchaToken('login') });
  assert.equal(res.status, 401);
  assert.equal((await res.json()).error.code, 'invalid_credentials');
  assert.equal((await me(agent)).status, 401, 'not signed in');
  // Still unlinked: the next upstream login asks for the password again.
  const again = new Agent();
  const second = await again.get(await throughProvider(again, 'moe-wrongpw'));
  assert.equal(second.headers.get('location'), '/login/upstream/link');
});

let replayable;

test('first login with an existing account proves the password once and links', async () => {
  const agent = new Agent();
  const back = await agent.get(await throughProvider(agent, 'moe-existing', 'renewal'));
  assert.equal(back.headers.get('location'), '/login/upstream/link');
  const res = await agent.json(`${base}/api/v1/sessions/upstream-link`, { password: people.existing.password, captcha_token: await captchaToken('login') });
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.entry, 'renewal');
  assert.equal(body.account.name, people.existing.name);
  const who = await me(agent);
  assert.equal(who.status, 200);
  assert.equal(who.body.upstream_linked, true);
});

test('a linked identity signs in at once, without a password', async () => {
  const agent = new Agent();
  const callback = await throughProvider(agent, 'moe-existing');
  const back = await agent.get(callback);
  assert.equal(back.status, 303);
  assert.match(back.headers.get('location'), /^\/(me\/profile|entries\/certification)$/);
  const who = await me(agent);
  assert.equal(who.status, 200);
  assert.equal(who.body.name, people.existing.name);
  replayable = { agent, callback };
});

test('a replayed callback is refused and signs nobody in', async () => {
  const { callback } = replayable;
  const thief = new Agent();
  for (const agent of [replayable.agent, thief]) {
    const res = await agent.get(callback);
    assert.equal(res.status, 400);
    assert.match(await res.text(), /登录请求无效或已使用过/);
  }
  assert.equal((await me(thief)).status, 401);
});

test('a wrong state is refused; the real one still works', async () => {
  const agent = new Agent();
  const callback = new URL(await throughProvider(agent, 'moe-existing'));
  const forged = new URL(callback);
  forged.searchParams.set('state', 'forged-' + callback.searchParams.get('state'));
  const bad = await agent.get(forged.toString());
  assert.equal(bad.status, 400);
  const html = await bad.text();
  assert.match(html, /登录请求无效/);
  assert.match(html, /href="\/login\/certification"/, 'the way back to the password login');
  assert.equal((await me(agent)).status, 401);
  // A callback opened in another browser (no binding cookie) is refused too.
  const other = new Agent();
  const stolen = await other.get(callback.toString());
  assert.equal(stolen.status, 400);
  assert.equal((await me(other)).status, 401);
});

test('a new number goes to the registration with type, number and name locked, then links', async () => {
  const agent = new Agent();
  const back = await agent.get(await throughProvider(agent, 'moe-fresh', 'renewal'));
  assert.equal(back.status, 303);
  assert.equal(back.headers.get('location'), '/register?entry=renewal');
  const page = await (await agent.get(`${base}/register?entry=renewal`)).text();
  assert.match(page, new RegExp(`id="doc_number"[^>]*value="${people.fresh.doc}" readonly`));
  assert.match(page, new RegExp(`id="name"[^>]*value="${people.fresh.name}" readonly`));
  // The server holds the lock too: another number is refused for this identity.
  const form = await registration(people.fresh);
  const other = await agent.json(`${base}/api/v1/accounts`, { ...form, doc_number: residentId('19910202') });
  assert.equal(other.status, 422);
  const renamed = await agent.json(`${base}/api/v1/accounts`, { ...form, name: '韩梅' });
  assert.equal(renamed.status, 422);
  const ok = await agent.json(`${base}/api/v1/accounts`, form);
  assert.equal(ok.status, 201, await ok.text());
  // Linked by the registration: the next upstream login signs in at once.
  const next = new Agent();
  const signed = await next.get(await throughProvider(next, 'moe-fresh'));
  assert.equal(signed.status, 303);
  assert.match(signed.headers.get('location'), /^\/(me\/profile|entries\/certification)$/);
  assert.equal((await me(next)).body.upstream_linked, true);
});

test('a number that fails the document rules gets a clear page', async () => {
  const agent = new Agent();
  const res = await agent.get(await throughProvider(agent, 'moe-bad'));
  assert.equal(res.status, 422);
  assert.match(await res.text(), /证件号码不符合本系统的证件规则/);
});

test('denied consent at the provider explains itself', async () => {
  const agent = new Agent();
  const callback = new URL(await throughProvider(agent, 'moe-existing', 'certification', { abort: true }));
  assert.equal(callback.searchParams.get('error'), 'access_denied');
  const res = await agent.get(callback.toString());
  assert.equal(res.status, 403);
  assert.match(await res.text(), /取消了授权/);
});

test('the provider rotates its signing key mid-test (RS256 → ES256, new kid): logins go on', async () => {
  const before = idp.kid();
  idp.rotate();
  assert.notEqual(idp.kid(), before);
  assert.equal(idp.alg(), 'ES256');
  const agent = new Agent();
  const res = await agent.get(await throughProvider(agent, 'moe-existing'));
  assert.equal(res.status, 303, await res.text());
  assert.equal((await me(agent)).status, 200);
  assert.match(logs, /JWKS fetched again/);
  // And back to RS256 under yet another kid, within the cool-down: the
  // unknown kid is refused rather than fetched again at once.
  idp.rotate();
  const soon = new Agent();
  const refused = await soon.get(await throughProvider(soon, 'moe-existing'));
  assert.equal(refused.status, 502);
  assert.match(await refused.text(), /返回登录/);
});

test('an attempt older than 10 minutes is refused', async () => {
  const agent = new Agent();
  const callback = await throughProvider(agent, 'moe-existing');
  const moved = await api('/api/v1/dev/clock', { advance_seconds: 11 * 60 });
  assert.equal(moved.status, 200);
  const res = await agent.get(callback);
  assert.equal(res.status, 410);
  assert.match(await res.text(), /已超时/);
});

test('an ID token issued 24 hours ahead is refused (hardening round 2)', async () => {
  // The provider's clock runs a day ahead for this login: its ID token says iat = now + 24 h.
  const realNow = Date.now;
  Date.now = () => realNow() + 24 * 3600 * 1000;
  let res;
  const agent = new Agent();
  try {
    res = await agent.get(await throughProvider(agent, 'moe-existing'));
  } finally {
    Date.now = realNow;
  }
  assert.equal(res.status, 502);
  assert.match(await res.text(), /返回登录/);
  assert.equal((await me(agent)).status, 401, 'nobody signed in');
});

test('no secret, code or token reaches the log', async () => {
  assert.ok(logs.length > 0);
  assert.ok(!logs.includes(CLIENT_SECRET), 'client secret in the log');
  assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(logs), 'a JWT in the log');
  assert.ok(!logs.includes(replayable.callback.split('code=')[1]?.split('&')[0] ?? 'never'), 'an authorization code in the log');
  for (const who of Object.values(people)) assert.ok(!logs.includes(who.doc), 'a document number in the log');
});
