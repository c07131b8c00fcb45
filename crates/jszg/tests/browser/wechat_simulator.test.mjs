// WeChat in development, with nothing configured (WX-4): the /dev/wechat simulator plays the
// applicant's phone in a second tab. Its taps and messages reach /wechat/callback signed and
// sealed as the platform sends them, so these are the same flows production runs:
// registering with 微信扫码验证, binding in the personal centre, and 微信验证重置密码.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, residentId, phone, SCREENSHOTS } from './helpers.mjs';
import { register, login, phoneContext } from './applicant.mjs';
import { fillRegistration, submitRegistration, recoveryStep1 } from './pages.mjs';

// No [wechat]: development plays the account itself.
const { server, browser } = await withServer({ JSZG_OUTBOX__POLL_MS: '200' });

/** The simulator in a tab of `context`, as a given WeChat user. */
async function openPhone(context, openid) {
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  await page.goto(`${server.base}/dev/wechat?openid=${openid}`);
  await page.waitForFunction((id) => document.querySelector('#openid').textContent === id, openid);
  return { page, errors };
}

/** The text of the chat's last line from the account, once it matches `pattern`. */
async function replyMatching(page, pattern) {
  const handle = await page.waitForFunction((source) => {
    const lines = [...document.querySelectorAll('#chat .chat-line.from-account')];
    const last = lines.at(-1)?.textContent || '';
    return new RegExp(source).test(last) ? last : null;
  }, pattern.source, { timeout: 10000 });
  return handle.jsonValue();
}

/** 扫一扫: the newest QR code shown on a page. */
async function scanNewest(page) {
  await page.click('#scan');
  await page.waitForSelector('#scan-list:not([hidden]) #qr-list button');
  const ticket = await page.getAttribute('#qr-list li:first-child button', 'data-ticket');
  const scansBefore = await page.locator('#chat li', { hasText: '扫描' }).count();
  await page.click('#qr-list li:first-child button');
  await page.waitForFunction((n) => [...document.querySelectorAll('#chat li')].filter((li) => li.textContent.includes('扫描')).length > n, scansBefore);
  // A scanned code leaves the 扫一扫 list (pages second pass, item 11).
  await page.click('#scan');
  await page.waitForSelector('#scan-list:not([hidden])');
  assert.equal(await page.locator(`#qr-list button[data-ticket="${ticket}"]`).count(), 0, 'a used QR code is still listed');
  await page.click('#scan-close');
}

test('an applicant registers choosing 微信扫码验证, getting the code from the simulator', async () => {
  const { context, page, errors } = await phoneContext(browser);
  await page.goto(`${server.base}/register`);
  const doc = residentId('19890312');
  await fillRegistration(page, { doc, name: '王小明', email: '778899@qq.com', mobile: phone() });
  await page.check('input[name="verification_channel"][value="wechat"]');
  // The account's own QR code is the simulator's picture, and the page points at the simulator.
  await page.waitForSelector('#wechat-follow-qr');
  assert.equal(await page.getAttribute('#wechat-follow-qr', 'src'), '/dev/wechat/follow.svg');
  assert.ok(await page.evaluate(() => document.querySelector('#wechat-follow-qr').naturalWidth > 0), 'the QR picture loads');
  assert.equal(await page.isVisible('#wechat-simulator-link'), true);

  // The phone, in another tab: follow, 取验证码, the number.
  const { page: wechat, errors: phoneErrors } = await openPhone(context, 'o_sim_register');
  assert.equal(await wechat.isDisabled('#menu-get-code'), true, 'the menu needs a follow first');
  await wechat.click('#follow');
  await replyMatching(wechat, /感谢关注/);
  await wechat.click('#menu-get-code');
  await replyMatching(wechat, /请输入您注册时填写的证件号码/);
  await wechat.fill('#text', doc);
  await wechat.press('#text', 'Enter');
  const reply = await replyMatching(wechat, /验证码为\d{6}/);
  assert.ok(!reply.includes(doc), 'the reply masks the number');
  await wechat.screenshot({ path: join(SCREENSHOTS, 'dev-wechat-code-360.png') });
  const code = /验证码为(\d{6})/.exec(reply)[1];

  await page.bringToFront();
  await page.fill('#verification_code', code);
  await submitRegistration(page);
  const { cookie } = await login(server.base, doc, 'Abc#2024x');
  const me = await (await fetch(`${server.base}/api/v1/me`, { headers: { cookie } })).json();
  assert.equal(me.wechat_bound, true, 'registered with a WeChat code, bound to that WeChat');
  assert.deepEqual([...errors, ...phoneErrors], []);
  await context.close();
});

test('a password is reset through WeChat with the simulator: bind, scan, the link, 重置成功', async () => {
  const who = await register(server.base);
  const { cookie } = await login(server.base, who.doc, who.password);
  const { context, page, errors } = await phoneContext(browser, cookie, server.base);
  const { page: wechat, errors: phoneErrors } = await openPhone(context, 'o_sim_owner');

  // 绑定微信 in the personal centre: the simulator scans the page's QR code.
  await page.goto(`${server.base}/me/profile`);
  await page.click('#wechat-bind-start');
  await page.waitForSelector('#wechat-bind-qr:not([hidden])');
  assert.match(await page.getAttribute('#wechat-bind-img', 'src'), /^\/dev\/wechat\/qrcode\.svg\?ticket=/);
  assert.equal(await page.isVisible('#wechat-bind-qr [data-dev-wechat]'), true);
  await scanNewest(wechat);
  await replyMatching(wechat, /绑定成功/);
  await page.waitForFunction(() => /已绑定/.test(document.querySelector('#wechat-status')?.textContent || ''), null, { timeout: 10000 });

  // Forgot the password, on another device: the recovery page shows a QR code for WeChat.
  const recovering = await context.newPage();
  await context.clearCookies();
  await recoveryStep1(recovering, server.base, who);
  await recovering.waitForSelector('#step2:not([hidden])');
  await recovering.click('label[data-method="wechat"]');
  await recovering.waitForSelector('#wechat-qr-box:not([hidden])');
  assert.match(await recovering.getAttribute('#wechat-qr', 'src'), /^\/dev\/wechat\/qrcode\.svg\?ticket=/);

  // Another WeChat scanning it is turned away.
  const { page: stranger } = await openPhone(context, 'o_sim_stranger');
  await scanNewest(stranger);
  await replyMatching(stranger, /不是该账号绑定的微信/);
  await stranger.close();

  // The bound WeChat gets the link; tapping it opens the H5 reset page.
  await wechat.bringToFront();
  await scanNewest(wechat);
  await replyMatching(wechat, /重置密码：/);
  const [reset] = await Promise.all([context.waitForEvent('page'), wechat.click('#chat .chat-line.from-account:last-child a[href*="/wechat/reset?token="]')]);
  await reset.waitForLoadState();
  await reset.fill('#new_password', 'Xyz#2025ab');
  await reset.fill('#new_password_confirm', 'Xyz#2025ab');
  await reset.click('#reset-submit');
  await reset.waitForSelector('#reset-ok:not([hidden])');
  // 重置成功 arrives in the chat as a customer-service message (the page polls).
  await replyMatching(wechat, /重置成功/);
  await wechat.screenshot({ path: join(SCREENSHOTS, 'dev-wechat-reset-360.png') });
  assert.equal((await login(server.base, who.doc, 'Xyz#2025ab')).status, 200);
  assert.equal((await login(server.base, who.doc, who.password)).status, 401);
  assert.deepEqual([...errors, ...phoneErrors], []);
  await context.close();
});
