// Soak load for bench/soak.sh: CONC loops for SECONDS against a development-mode jszg at BASE,
// mixing what applicants do at peak: GET /api/v1/me (60 %), a new captcha challenge (15 %), a
// login with a solved captcha (15 %) and a whole registration (10 %). Every 30 s it prints one
// line per window: requests, errors, p50/p99 per kind and the server's RSS (from /proc/PID).
//   node bench/soak.mjs BASE PID SECONDS CONC CSV
import { readFileSync, writeFileSync } from 'node:fs';
import { applicant, captcha, setIssuer, Browser } from '../crates/jszg/tests/peers/sso/applicant.mjs';

const [base, pid, seconds = '600', conc = '16', csv = '/tmp/soak.csv'] = process.argv.slice(2);
setIssuer(base);
const rss = () => Number((readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+)/) || [])[1] || 0) / 1024;

// A pool of signed-in applicants for /me and logins.
const people = [];
for (let i = 0; i < Math.min(Number(conc), 16); i++) people.push(await applicant(false));
const pick = () => people[Math.floor(Math.random() * people.length)];

let window = { start: Date.now(), lat: { me: [], captcha: [], login: [], register: [] }, errors: 0 };
const seenErrors = new Map();
const rows = ['t_s,kind,requests,errors,p50_ms,p99_ms,rss_mb'];
const t0 = Date.now();
const q = (xs, p) => { if (!xs.length) return 0; const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor(p * s.length))]; };

function flush() {
  const t = Math.round((Date.now() - t0) / 1000);
  const mem = rss().toFixed(1);
  const parts = [];
  for (const [kind, xs] of Object.entries(window.lat)) {
    rows.push(`${t},${kind},${xs.length},${kind === 'me' ? window.errors : ''},${q(xs, 0.5).toFixed(1)},${q(xs, 0.99).toFixed(1)},${mem}`);
    parts.push(`${kind} ${xs.length} p50 ${q(xs, 0.5).toFixed(1)} p99 ${q(xs, 0.99).toFixed(1)} ms`);
  }
  console.log(`t=${t}s errors ${window.errors} rss ${mem} MB | ${parts.join(' | ')}`);
  window = { start: Date.now(), lat: { me: [], captcha: [], login: [], register: [] }, errors: 0 };
}

async function timed(kind, f) {
  const s = performance.now();
  try { await f(); window.lat[kind].push(performance.now() - s); } catch (e) {
    window.errors++;
    const key = `${kind}: ${String(e.message).slice(0, 160)}`;
    seenErrors.set(key, (seenErrors.get(key) || 0) + 1);
  }
}

const end = t0 + Number(seconds) * 1000;
const timer = setInterval(flush, 30000);
await Promise.all(Array.from({ length: Number(conc) }, async () => {
  while (Date.now() < end) {
    const r = Math.random();
    if (r < 0.6) {
      await timed('me', async () => { const res = await pick().b.fetch('/api/v1/me'); await res.text(); if (res.status !== 200) throw new Error(String(res.status)); });
    } else if (r < 0.75) {
      await timed('captcha', async () => { const res = await new Browser().json('/api/v1/captchas', { purpose: 'login' }); if (res.status !== 201) throw new Error(String(res.status)); });
    } else if (r < 0.9) {
      await timed('login', async () => {
        const who = pick(); const b = new Browser();
        const res = await b.json('/api/v1/sessions', { doc_number: who.doc, password: 'Abc#2024x', captcha_token: await captcha(b, 'login'), entry: 'certification' });
        if (res.status !== 200) throw new Error(String(res.status));
      });
    } else {
      await timed('register', () => applicant(false));
    }
  }
}));
clearInterval(timer);
flush();
writeFileSync(csv, rows.join('\n') + '\n');
for (const [k, n] of seenErrors) console.log(`error ×${n}: ${k}`);
console.log(`soak: ${seconds}s at ${conc} concurrent; CSV in ${csv}`);
