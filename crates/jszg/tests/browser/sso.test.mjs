// Single sign-on in a real browser through the development stand-in business
// systems (/dev/rp/{entry}): sign in at 认定 through /login/certification,
// complete the profile and real name, land back in the business signed in;
// then open 定期注册 and land signed in without a password.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, readyPuzzle, dragTo, SCREENSHOTS } from './helpers.mjs';
import { register, addIdentity } from './applicant.mjs';

const { server, browser } = await withServer();

test('one login serves both business entries', async () => {
  const who = await register(server.base, { name: '韩梅梅' });
  await addIdentity(server.base, 'resident_id', who.doc, '韩梅梅');
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));

  await page.goto(`${server.base}/dev/rp/certification`);
  assert.equal(await page.textContent('#rp-status'), '未登录');
  await page.click('#rp-login');
  // No session: the entry's login page, as the client decides.
  await page.waitForURL(/\/login\/certification$/);
  assert.equal(await page.textContent('h1'), '认定登录入口');
  await page.fill('#doc_number', who.doc);
  await page.fill('#password', who.password);
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#submit');

  // First login: the profile, then real-name verification, before any code.
  await page.waitForURL(/\/me\/profile/);
  await page.selectOption('#ethnicity', '01');
  await page.click('#profile-form button[type="submit"]');
  await page.waitForURL(/\/me\/realname/);
  await page.click('#verify');
  await page.click('#confirm-submit');
  await page.waitForSelector('#verify-ok:not([hidden])');
  await page.click('#verify-ok a[href="/entries/certification"]');

  // The pending authorization resumes: back in the business, signed in.
  await page.waitForURL(/\/dev\/rp\/certification$/);
  assert.equal(await page.textContent('#rp-status'), '已登录：韩梅梅');
  // In words and with the portal's own mask (pages second pass, item 11).
  assert.equal(await page.textContent('#rp-realname'), '实名认证成功');
  assert.match(await page.textContent('#rp-doc'), /^\w{2}\*{5}\w{2}$/);
  await page.screenshot({ path: join(SCREENSHOTS, 'sso-certification.png') });

  // The renewal business: signed in at once, no password asked (SSO-2).
  await page.click('#rp-other');
  await page.waitForURL(/\/dev\/rp\/renewal$/);
  assert.equal(await page.textContent('#rp-status'), '未登录');
  await page.click('#rp-login');
  // The URL is already /dev/rp/renewal: wait for the page that comes back signed in.
  await page.locator('#rp-status', { hasText: '已登录：韩梅梅' }).waitFor();
  await page.screenshot({ path: join(SCREENSHOTS, 'sso-renewal.png') });

  // Logging out in one business signs out of jszg; the other is told by back channel.
  await page.click('#rp-logout');
  await page.locator('#rp-status', { hasText: '未登录' }).waitFor();
  assert.equal(new URL(page.url()).pathname, '/dev/rp/renewal');
  const me = await page.request.get(`${server.base}/api/v1/me`);
  assert.equal(me.status(), 401);
  let status = '';
  for (let i = 0; i < 50; i++) {
    await page.goto(`${server.base}/dev/rp/certification`);
    status = await page.textContent('#rp-status');
    if (status === '未登录') break;
    await page.waitForTimeout(100);
  }
  assert.equal(status, '未登录', 'back-channel logout ended the certification business session');
  assert.deepEqual(errors, []);
  await context.close();
});
