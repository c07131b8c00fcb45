// 教育部账号登录 in a real browser: click the link on /login/renewal, log in
// at the ministry's platform (npm oidc-provider, tests/peers/upstream), prove
// the account's password once with the slider, and end signed in; the next
// time the same link signs in without the password.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, readyPuzzle, dragTo, SCREENSHOTS } from './helpers.mjs';
import { register } from './applicant.mjs';
import { freePort } from '../support/harness.mjs';

const peer = new URL('../peers/upstream/', import.meta.url).pathname;

let server;
let browser;
let idp;
let who;
// Our own port: the provider's redirect URI must name it before jszg starts
// (startServer's `base` is for the port it picks itself).
let base;
const accounts = {};


before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // The provider's own dependencies live beside it; install them once.
  if (!existsSync(join(peer, 'node_modules', 'oidc-provider'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: peer, stdio: 'inherit', timeout: 300_000 });
  }
  const { startProvider, CLIENT_ID, CLIENT_SECRET } = await import(join(peer, 'provider.mjs'));
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  idp = await startProvider({ redirectUri: `${base}/login/upstream/callback`, accounts });
  server = await startServer({
    JSZG_BIND: `127.0.0.1:${port}`,
    JSZG_PUBLIC_URL: base,
    JSZG_UPSTREAM__ISSUER: idp.issuer,
    JSZG_UPSTREAM__CLIENT_ID: CLIENT_ID,
    JSZG_UPSTREAM__CLIENT_SECRET: CLIENT_SECRET,
  });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) break; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  who = await register(base, { name: '赵敏' });
  accounts['moe-zhaomin'] = { doc_type: 'resident_id', id_number: who.doc, name: who.name };
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  await idp?.stop();
});

async function signInAtProvider(page) {
  await page.goto(`${base}/login/renewal`);
  await page.click('#upstream-login');
  await page.waitForURL((u) => u.origin === idp.issuer);
  await page.fill('input[name="login"]', 'moe-zhaomin');
  await page.fill('input[name="password"]', 'any');
  await page.click('button[type="submit"]');
}

test('教育部账号登录 from the renewal entry: password once, then signed in', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await signInAtProvider(page);
  await page.waitForURL(`${base}/login/upstream/link`);
  assert.match(await page.textContent('#link-intro'), /赵敏/);
  await page.fill('#password', who.password);
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha')?.dataset.state === 'success');
  await page.click('#submit');
  // A new account's profile is incomplete: 完善个人信息 comes first, as after a password login.
  await page.waitForURL(`${base}/me/profile`);
  await page.screenshot({ path: join(SCREENSHOTS, 'upstream-linked.png'), fullPage: true });
  const me = await page.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me.name, '赵敏');
  assert.equal(me.upstream_linked, true);
  assert.ok(await page.isVisible('#upstream-unlink'), 'the personal centre shows the link');
  await context.close();

  // Another browser: the same link now signs in without the password.
  const second = await browser.newContext({ locale: 'zh-CN' });
  const again = await second.newPage();
  await signInAtProvider(again);
  await again.waitForURL(`${base}/me/profile`);
  const me2 = await again.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me2.upstream_linked, true);
  // 解除关联 in the personal centre removes it.
  await again.click('#upstream-unlink');
  await again.waitForURL(`${base}/me/profile?saved=upstream`);
  const me3 = await again.evaluate(async () => (await fetch('/api/v1/me')).json());
  assert.equal(me3.upstream_linked, false);
  await second.close();
});
