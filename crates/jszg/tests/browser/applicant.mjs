// API shortcuts for browser tests: applicants are registered, signed in and
// added to the reference identity registry through the JSON API, so a test
// spends its browser time on the page it is about.
import { lastCode, residentId, phone, powNonce, sizedContext } from './helpers.mjs';

async function json(res) {
  const text = await res.text();
  try { return text ? JSON.parse(text) : {}; } catch { return { raw: text }; }
}

export async function api(base, path, body, cookie) {
  const headers = { 'Content-Type': 'application/json' };
  if (cookie) headers.Cookie = cookie;
  const res = await fetch(`${base}${path}`, { method: 'POST', headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: res.status, body: await json(res), headers: res.headers };
}

/**
 * A drag a person could make: points every 30 ms from the origin, easing
 * out, ±1 px of vertical jitter, ending exactly at `x`.
 */
export function humanTrack(x) {
  const n = 30;
  const track = [];
  for (let i = 0; i < n; i++) {
    const u = i / (n - 1);
    const last = i === n - 1;
    const y = i === 0 || last ? 0 : Math.floor(Math.random() * 3) - 1;
    track.push({ t: i * 30, x: last ? x : Math.round(x * (1 - Math.pow(1 - u, 3))), y });
  }
  if (track.every((p) => p.y === 0)) track[Math.floor(n / 2)].y = 1;
  return track;
}

/** A captcha token for `purpose`, solved with the dev solution. */
export async function captchaToken(base, purpose) {
  const c = await api(base, '/api/v1/captchas', { purpose });
  if (c.status !== 201) throw new Error(`captcha: ${c.status} ${JSON.stringify(c.body)}`);
  const x = c.body.dev_solution;
  const a = await api(base, `/api/v1/captchas/${c.body.id}/answer`, { x, track: humanTrack(x), pow_nonce: powNonce(c.body) });
  if (a.status !== 200) throw new Error(`captcha answer: ${a.status} ${JSON.stringify(a.body)}`);
  return a.body.captcha_token;
}

/** Register an applicant (resident ID unless told) and return its data. */
export async function register(base, over = {}) {
  const who = {
    docType: 'resident_id',
    doc: residentId('19900101'),
    name: '李雷',
    password: 'Abc#2024x',
    email: `${Math.floor(1e8 + Math.random() * 9e8)}@qq.com`,
    phone: phone(),
    period: '20y',
    start: '2020-05-01',
    ...over,
  };
  const token = await captchaToken(base, 'sms');
  const sent = await api(base, '/api/v1/verification-codes', { channel: 'sms', phone: who.phone, purpose: 'register', captcha_token: token });
  if (sent.status !== 202) throw new Error(`sms code: ${sent.status} ${JSON.stringify(sent.body)}`);
  const code = await lastCode(base, who.phone);
  const res = await api(base, '/api/v1/accounts', {
    doc_type: who.docType, doc_number: who.doc, name: who.name,
    validity: { period: who.period, start: who.start },
    password: who.password, password_confirm: who.password,
    email: who.email, phone: who.phone, verification_code: code,
    agree_terms: true, confirm_validity_warning: true,
  });
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return who;
}

/** Sign in through the API; returns { status, cookie, body }. */
export async function login(base, doc, password, entry = 'certification') {
  const token = await captchaToken(base, 'login');
  const res = await api(base, '/api/v1/sessions', { doc_number: doc, password, captcha_token: token, entry });
  const set = res.headers.get('set-cookie') || '';
  const cookie = set.split(';')[0];
  return { status: res.status, cookie, body: res.body };
}

/** Put a person into the reference identity registry (the stand-in authority). */
export async function addIdentity(base, docType, doc, name) {
  const res = await api(base, '/api/v1/dev/identities', { doc_type: docType, doc_number: doc, name });
  if (res.status !== 201) throw new Error(`identity: ${res.status} ${JSON.stringify(res.body)}`);
}

/** A browser context sized like a cheap phone (360 × 740 at device scale 2, touch), collecting script errors. */
export function phoneContext(browser, cookie, base) {
  return sizedContext(browser, base, { width: 360, height: 740, zoom: 2, touch: true, cookie });
}

/** A real JPEG drawn by the page's canvas (decodes server-side, well under 190KB). */
export async function jpeg(page, label = '照片', width = 480, height = 300) {
  const b64 = await page.evaluate(([label, width, height]) => {
    const c = document.createElement('canvas');
    c.width = width;
    c.height = height;
    const g = c.getContext('2d');
    g.fillStyle = '#dfe8f3';
    g.fillRect(0, 0, width, height);
    g.fillStyle = '#0b3c6f';
    g.font = '32px sans-serif';
    g.fillText(label, 24, height / 2);
    return c.toDataURL('image/jpeg', 0.8).split(',')[1];
  }, [label, width, height]);
  return { name: `${label}.jpg`, mimeType: 'image/jpeg', buffer: Buffer.from(b64, 'base64') };
}
