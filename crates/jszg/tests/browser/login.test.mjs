// 登录 through the renewal entry and the first-login profile, in a real browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, residentId, phone, readyPuzzle, dragTo, lastCode, powNonce, SCREENSHOTS } from './helpers.mjs';

const { server, browser } = await withServer();

/** Solve a captcha through the API the way the widget would. */
async function apiToken(purpose) {
  const c = await (await fetch(`${server.base}/api/v1/captchas`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ purpose }),
  })).json();
  const x = c.dev_solution;
  const track = [{ t: 0, x: 0, y: 0 }];
  for (let i = 1; i <= 24; i++) {
    const p = i / 24;
    track.push({ t: 40 * i, x: Math.round(x * (1 - Math.pow(1 - p, 3))), y: i % 3 === 0 ? 1 : 0 });
  }
  track[track.length - 1].x = x;
  const res = await (await fetch(`${server.base}/api/v1/captchas/${c.id}/answer`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ x, track, pow_nonce: powNonce(c) }),
  })).json();
  return res.captcha_token;
}

async function registerViaApi() {
  const doc = residentId('19880808');
  const mobile = phone();
  await fetch(`${server.base}/api/v1/verification-codes`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'sms', phone: mobile, purpose: 'register', captcha_token: await apiToken('sms') }),
  });
  const code = await lastCode(server.base, mobile);
  const res = await fetch(`${server.base}/api/v1/accounts`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      doc_type: 'resident_id', doc_number: doc, name: '李明', validity: { period: '20y', start: '2021-03-01' },
      password: 'Abc#2024x', password_confirm: 'Abc#2024x', email: '24680@qq.com', phone: mobile,
      verification_code: code, agree_terms: true,
    }),
  });
  assert.equal(res.status, 201);
  return doc;
}

test('an applicant logs in through the renewal entry and completes the profile', async () => {
  const doc = await registerViaApi();
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${server.base}/login/renewal`);
  assert.equal(await page.textContent('h1'), '定期注册登录入口');
  for (const link of ['返回主页', '忘记密码', '注册', '教育部账号登录']) {
    assert.ok(await page.locator(`a:has-text("${link}")`).count() > 0, link);
  }
  await page.fill('#doc_number', doc.toLowerCase());
  await page.fill('#password', 'Abc#2024x');
  // The eye shows and hides the password.
  await page.click('#toggle-password');
  assert.equal(await page.getAttribute('#password', 'type'), 'text');
  await page.click('#toggle-password');
  assert.equal(await page.getAttribute('#password', 'type'), 'password');

  // Logging in without the slider is refused on the page.
  await page.click('#submit');
  assert.match(await page.textContent('#form-msg'), /滑块/);

  const solution = await readyPuzzle(page);
  await dragTo(page, solution);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#submit');

  // First login goes to 完善个人信息.
  await page.waitForURL(/\/me\/profile/);
  assert.match(await page.textContent('main'), /完善个人信息/);
  assert.match(await page.textContent('main'), /1988-08-08/, 'birth date derived from the number');
  await page.selectOption('#ethnicity', '01');
  await page.click('#profile-form button[type="submit"]');
  await page.waitForURL(/\/me\/realname/);
  await page.screenshot({ path: join(SCREENSHOTS, 'login-profile-done-360.png') });
  const me = await (await page.request.get(`${server.base}/api/v1/me`)).json();
  assert.equal(me.profile_complete, true);
  assert.equal(me.ethnicity, '01');

  // The business entry now asks for real-name verification first.
  await page.goto(`${server.base}/entries/renewal`);
  assert.match(await page.textContent('main'), /您还未进行实名认证，需进入“个人信息中心”完成实名认证，再办理业务！/);
  await page.click('#notice-ok');
  await page.waitForURL(/\/me\/realname/);
  await context.close();
});

test('a wrong password is answered on the page and the slider resets', async () => {
  const doc = await registerViaApi();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${server.base}/login/certification`);
  assert.equal(await page.textContent('h1'), '认定登录入口');
  await page.fill('#doc_number', doc);
  await page.fill('#password', 'Wrong#2024x');
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#submit');
  await page.waitForFunction(() => /账号或密码错误/.test(document.querySelector('#form-msg').textContent));
  // The spent token is replaced by a fresh puzzle.
  await readyPuzzle(page);
  await context.close();
});
