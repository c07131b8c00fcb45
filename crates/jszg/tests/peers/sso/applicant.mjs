// Applicants for the SSO peer test and bench/sso.mjs, made through the JSON
// API of a development-mode server: register, log in, profile, real name.
import assert from 'node:assert/strict';
import { powNonce } from '../../pow.mjs';

let issuer;
export function setIssuer(url) { issuer = url; }

/** A cookie jar of one browser: only what jszg sets. */
export class Browser {
  constructor() { this.cookies = new Map(); }
  header() { return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '); }
  keep(res) {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i); const value = pair.slice(i + 1);
      if (/Max-Age=0/.test(line) || value === '') this.cookies.delete(name); else this.cookies.set(name, value);
    }
  }
  async fetch(url, init = {}) {
    const res = await fetch(new URL(url, issuer), { redirect: 'manual', ...init, headers: { ...(init.headers || {}), cookie: this.header() } });
    this.keep(res);
    return res;
  }
  async json(path, body, method = 'POST') {
    const res = await this.fetch(path, { method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }
}

// The drag track of a person (a port of jszg_captcha::human_track).
function humanTrack(target) {
  const rnd = (a, b) => a + Math.random() * (b - a);
  const irnd = (a, b) => Math.floor(rnd(a, b + 1));
  const duration = irnd(600, 1200); const power = rnd(2, 3);
  const needed = Math.ceil((power * Math.abs(target)) / 35);
  const n = irnd(Math.min(Math.max(needed, 20), 60), 60);
  const dt = duration / (n - 1);
  const track = []; let t = 0; let y = 0;
  for (let i = 0; i < n; i++) {
    const u = i / (n - 1);
    if (i > 0) {
      const next = Math.trunc(dt * i + rnd(-0.4, 0.4) * dt);
      t = i === n - 1 ? duration : Math.min(Math.max(next, t), duration);
      y = Math.min(Math.max(y + irnd(-1, 1), -4), 4);
    }
    const eased = 1 - (1 - u) ** power;
    const jitter = i > 0 && i < n - 1 ? irnd(-1, 1) : 0;
    const x = i === n - 1 ? target : Math.round(target * eased) + jitter;
    track.push({ t, x, y });
  }
  if (track.every((p) => p.y === 0)) track[n >> 1].y = 1;
  return track;
}

export async function captcha(b, purpose) {
  const c = await b.json('/api/v1/captchas', { purpose });
  assert.equal(c.status, 201);
  const a = await b.json(`/api/v1/captchas/${c.body.id}/answer`, { x: c.body.dev_solution, track: humanTrack(c.body.dev_solution), pow_nonce: powNonce(c.body) });
  assert.equal(a.status, 200, JSON.stringify(a.body));
  return a.body.captcha_token;
}

function residentId() {
  // A random birth date in 1976-1992 (20-year validity from 2020) and sequence: enough numbers for a soak.
  const pad = (n, w) => String(n).padStart(w, '0');
  const r = (n) => Math.floor(Math.random() * n);
  const first17 = `110105${1976 + r(17)}${pad(1 + r(12), 2)}${pad(1 + r(28), 2)}${pad(r(1000), 3)}`;
  const w = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, c, i) => acc + Number(c) * w[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

/**
 * Register, log in through `entry`, fill the profile; `verified` also passes real-name
 * verification, against the development registry unless `registry` is false (a server whose
 * identity authority is an HTTP provider that says "match").
 */
export async function applicant(verified, { entry = 'certification', registry = true } = {}) {
  const b = new Browser();
  const doc = residentId();
  const phone = `158${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
  const sms = await b.json('/api/v1/verification-codes', { channel: 'sms', phone, purpose: 'register', captcha_token: await captcha(b, 'sms') });
  assert.equal(sms.status, 202, JSON.stringify(sms.body));
  const outbox = await (await fetch(`${issuer}/api/v1/dev/outbox?to=${phone}`)).json();
  const code = outbox[0].body.match(/(?<!\d)\d{6}(?!\d)/)[0];
  const reg = await b.json('/api/v1/accounts', {
    doc_type: 'resident_id', doc_number: doc, name: '张三', validity: { period: '20y', start: '2020-05-01' },
    password: 'Abc#2024x', password_confirm: 'Abc#2024x', email: '123456@qq.com', phone, verification_code: code,
    agree_terms: true, confirm_validity_warning: false,
  });
  assert.equal(reg.status, 201, JSON.stringify(reg.body));
  const login = await b.json('/api/v1/sessions', { doc_number: doc, password: 'Abc#2024x', captcha_token: await captcha(b, 'login'), entry });
  assert.equal(login.status, 200, JSON.stringify(login.body));
  assert.equal((await b.json('/api/v1/me/profile', { ethnicity: '01' }, 'PUT')).status, 200);
  if (verified) {
    if (registry) assert.equal((await b.json('/api/v1/dev/identities', { doc_type: 'resident_id', doc_number: doc, name: '张三' })).status, 201);
    const realname = await b.fetch('/api/v1/me/realname', { method: 'POST' });
    assert.equal(realname.status, 200, await realname.text());
  }
  return { b, doc };
}

