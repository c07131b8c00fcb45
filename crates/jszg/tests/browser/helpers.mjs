// Shared fixtures for the browser tests: a jszg server on a free port with a
// fresh SQLite database, and Debian's Chromium driven by playwright-core.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after } from 'node:test';
import { chromium } from 'playwright-core';
import { HARNESS_ENV, freePort } from '../support/harness.mjs';

export { HARNESS_ENV };

const here = new URL('.', import.meta.url).pathname;
export const BIN = process.env.JSZG_BIN || resolve(here, '../../../../target/debug/jszg');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const SCREENSHOTS = join(here, 'screenshots');


export async function startServer(extraEnv = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'jszg-browser-'));
  const port = await freePort();
  const env = {
    PATH: process.env.PATH,
    JSZG_BIND: `127.0.0.1:${port}`,
    JSZG_DATABASE_URL: `sqlite://${join(dir, 'jszg.db')}`,
    JSZG_DEV: '1',
    JSZG_LOG: 'warn',
    ...HARNESS_ENV,
    ...extraEnv,
  };
  const child = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    await sleep(50);
  }
  return {
    base,
    // Where and how the server runs, so `jszg` commands act on its database.
    dir,
    env,
    async stop() { child.kill('SIGTERM'); await new Promise((r) => child.once('exit', r)); rmSync(dir, { recursive: true, force: true }); },
  };
}

/**
 * A server (with `env` on top of the harness settings) and a browser (`launch(options)`) for one
 * test file, at its top level: `const { server, browser } = await withServer();`. Both are
 * stopped after the file's tests.
 */
export async function withServer(env = {}, options = {}) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const server = await startServer(env);
  const browser = await launch(options);
  after(async () => {
    await browser.close();
    await server.stop();
  });
  return { server, browser };
}

/** Run `jszg ARGS…` in the server's directory with its environment; resolves to stdout. */
export function cli(server, args) {
  return new Promise((ok, fail) => {
    const child = spawn(BIN, args, { cwd: server.dir, env: server.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok(out) : fail(new Error(`jszg ${args.join(' ')} exited ${code}: ${err}`))));
  });
}

/** Headless Chromium; `lang` sets its own interface language (its date picker's words, say). */
export async function launch({ lang = null } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // Chromium on Linux takes its interface language from LANGUAGE, not from --lang.
    ...(lang && { env: { ...process.env, LANGUAGE: lang.replace('-', '_') } }),
    args: [...(lang ? [`--lang=${lang}`] : []), '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
}

export const CARE_COOKIE = 'jszg_care';

/**
 * A browser context `width` CSS px wide (and `height`, by default a phone's or a desktop's),
 * at device scale `zoom` (200 % of a 1280 px window is 640 CSS px at 2), with touch when `touch`,
 * in 关怀模式 when `care`, signed in with `cookie` ("name=value"); its page collects script errors
 * and CSP violations in `errors`. `bypassCSP` is for injecting axe-core, in tests only.
 */
export async function sizedContext(browser, base, { width, height, zoom = 1, care = false, cookie = null, touch = false, bypassCSP = false }) {
  const context = await browser.newContext({
    viewport: { width, height: height || (width < 800 ? 740 : 900) },
    deviceScaleFactor: zoom,
    hasTouch: touch,
    locale: 'zh-CN',
    bypassCSP,
  });
  const cookies = [];
  if (care) cookies.push({ name: CARE_COOKIE, value: '1', url: base });
  if (cookie) {
    const at = cookie.indexOf('=');
    cookies.push({ name: cookie.slice(0, at), value: cookie.slice(at + 1), url: base });
  }
  if (cookies.length) await context.addCookies(cookies);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // Refusals the page handles (410, 422 …) are logged by Chromium as failed loads; script errors
  // and CSP violations are not expected.
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  return { context, page, errors };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A valid resident ID number (GB 11643) for someone born on `birth` (YYYYMMDD). */
export function residentId(birth) {
  const seq = String(Math.floor(Math.random() * 1000)).padStart(3, '0');
  const first17 = `110105${birth}${seq}`;
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...first17].reduce((acc, c, i) => acc + Number(c) * weights[i], 0);
  return first17 + '10X98765432'[sum % 11];
}

export function phone() {
  return '158' + String(Math.floor(Math.random() * 1e8)).padStart(8, '0');
}

/** Wait until the captcha under `host` is ready; return the dev solution. */
export async function readyPuzzle(page, host = '#captcha') {
  await page.waitForFunction((sel) => document.querySelector(sel)?.dataset.state === 'ready', host);
  return Number(await page.getAttribute(host, 'data-dev-solution'));
}

/**
 * Drag the slider handle with real pointer events so the piece moves to
 * `targetX` (picture pixels), the way a person does: a short hesitation,
 * fast at first, slowing down at the end, a little vertical wobble.
 */
export async function dragTo(page, targetX, host = '#captcha') {
  const handle = page.locator(`${host} .jszg-captcha__handle`);
  await handle.scrollIntoViewIfNeeded();
  const box = await handle.boundingBox();
  // The handle runs along the bar, which stands for the picture's 320 px at any zoom.
  const scale = await page.evaluate((sel) => {
    const bar = document.querySelector(`${sel} .jszg-captcha__track`);
    return bar.getBoundingClientRect().width / 320;
  }, host);
  const x0 = box.x + box.width / 2;
  const y0 = box.y + box.height / 2;
  await page.mouse.move(x0, y0);
  await page.mouse.down();
  // A press that missed the handle (the page moved under it) would make the
  // caller wait for a verdict that never comes: say so at once instead.
  const state = await page.getAttribute(host, 'data-state');
  if (state !== 'dragging') throw new Error(`dragTo: the press did not grab the handle (state ${state})`);
  await sleep(60);
  const steps = 32;
  for (let i = 1; i <= steps; i++) {
    const p = i / steps;
    const eased = 1 - Math.pow(1 - p, 3);
    const wobble = i === steps ? 0 : Math.round((Math.random() - 0.5) * 4);
    await page.mouse.move(x0 + targetX * scale * eased, y0 + wobble);
    await sleep(25 + Math.round(p * 20));
  }
  await sleep(80);
  await page.mouse.up();
}

export async function outbox(base, to) {
  const res = await fetch(`${base}/api/v1/dev/outbox?to=${encodeURIComponent(to)}`);
  return res.json();
}

export async function lastCode(base, to) {
  for (let i = 0; i < 50; i++) {
    const messages = await outbox(base, to);
    const m = messages[0] && /(?<!\d)(\d{6})(?!\d)/.exec(messages[0].body);
    if (m) return m[1];
    await sleep(100);
  }
  throw new Error(`no code for ${to}`);
}

/** Solve a challenge's proof of work (API.md "Captcha"), as the page's worker does. */
export { powNonce } from '../pow.mjs';

/**
 * Drag the slider handle to `targetX` (picture pixels) in `steps` eased moves, the way quick hands
 * and simple automation do: `gap` ms between moves (a number or [min, max]; 0 is a loop of awaited
 * `page.mouse.move` calls), easing out along `curve`, a pixel or two of wobble; with the mouse or,
 * with `touch`, a finger through CDP (the context needs hasTouch). `hold` ms pass between press
 * and first move, `rest` ms between last move and release.
 *
 * With `stamps` (ms between samples, cycled, e.g. [5, 15]) the events go through CDP with time
 * stamps on that schedule and the pointer is where the curve puts it at each stamp, as from a
 * device that reports at uneven intervals; they are still sent in real time.
 */
export async function dragEased(page, targetX, {
  steps = 20, gap = [0, 6], stamps = null, hold = 120, rest = 180, touch = false,
  curve = (p) => 1 - (1 - p) ** 3, host = '#captcha',
} = {}) {
  const handle = page.locator(`${host} .jszg-captcha__handle`);
  await handle.scrollIntoViewIfNeeded();
  const box = await handle.boundingBox();
  // The handle runs along the bar, which stands for the picture's 320 px at any zoom.
  const scale = await page.evaluate((sel) => {
    const bar = document.querySelector(`${sel} .jszg-captcha__track`);
    return bar.getBoundingClientRect().width / 320;
  }, host);
  const x0 = box.x + box.width / 2;
  const y0 = box.y + box.height / 2;
  const cdp = touch || stamps ? await page.context().newCDPSession(page) : null;
  const t0 = Date.now();
  let at = 0; // ms after the press, on the device's clock
  const send = async (kind, x, y) => {
    const wait = t0 + at - Date.now();
    if (stamps && wait > 0) await sleep(wait);
    const timestamp = stamps ? (t0 + at) / 1000 : undefined;
    if (touch) {
      const type = { down: 'touchStart', move: 'touchMove', up: 'touchEnd' }[kind];
      const touchPoints = kind === 'up' ? [] : [{ x, y, radiusX: 4, radiusY: 4, force: 1, id: 1 }];
      await cdp.send('Input.dispatchTouchEvent', { type, touchPoints, ...(stamps && { timestamp }) });
    } else if (stamps) {
      if (kind === 'down') await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', x, y, timestamp });
      const type = { down: 'mousePressed', move: 'mouseMoved', up: 'mouseReleased' }[kind];
      await cdp.send('Input.dispatchMouseEvent', { type, x, y, button: 'left', buttons: kind === 'up' ? 0 : 1, clickCount: 1, timestamp });
    } else if (kind === 'down') {
      await page.mouse.move(x, y);
      await page.mouse.down();
    } else if (kind === 'move') {
      await page.mouse.move(x, y);
    } else {
      await page.mouse.up();
    }
  };
  await send('down', x0, y0);
  const state = await page.getAttribute(host, 'data-state');
  if (state !== 'dragging') throw new Error(`dragEased: the press did not grab the handle (state ${state})`);
  const times = [0];
  for (let i = 1; i <= steps; i++) times.push(times[i - 1] + (stamps ? stamps[(i - 1) % stamps.length] : 0));
  const pause = () => sleep(Array.isArray(gap) ? gap[0] + Math.random() * (gap[1] - gap[0]) : gap);
  if (!stamps) await sleep(hold);
  let x = x0;
  for (let i = 1; i <= steps; i++) {
    const wobble = i === steps ? 0 : Math.round((Math.random() - 0.5) * 4);
    x = x0 + targetX * scale * curve(stamps ? times[i] / times[steps] : i / steps);
    at = hold + times[i];
    await send('move', x, y0 + wobble);
    if (!stamps && i < steps) await pause();
  }
  if (!stamps) await sleep(rest);
  at = hold + times[steps] + rest;
  await send('up', x, y0);
  await cdp?.detach();
}
