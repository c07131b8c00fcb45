// 账号被占用 end to end: someone registers with a number another person
// already registered; the register page offers 直接登录, 忘记密码 and
// 申诉找回账号; the claim form arrives filled with what was typed, takes three
// photos and a reason; a reviewer approves it in the console beside the
// holder's data; the claimant logs in with the claim's password and the
// holder's password no longer works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, cli, phone, readyPuzzle, dragTo, lastCode, outbox, SCREENSHOTS } from './helpers.mjs';
import { register, login, jpeg } from './applicant.mjs';

const { server, browser } = await withServer();

async function context(width, height) {
  const ctx = await browser.newContext({ viewport: { width, height }, locale: 'zh-CN' });
  const errors = [];
  ctx.on('page', (p) => {
    p.on('pageerror', (e) => errors.push(String(e)));
    // Refusals the page handles (409 account_exists) are logged as failed loads.
    p.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  });
  return { ctx, errors };
}

test('a taken number is claimed, approved in the console, and the claimant logs in', async () => {
  const holder = await register(server.base, { name: '张三' });
  const mine = { name: '李四', password: 'Own#2025pw', email: '987654@qq.com', phone: phone() };

  // 1. 注册 with the taken number: the page explains the three ways on.
  const { ctx: claimant, errors } = await context(390, 844);
  const page = await claimant.newPage();
  await page.goto(`${server.base}/register`);
  await page.selectOption('#doc_type', 'resident_id');
  await page.fill('#doc_number', holder.doc);
  await page.fill('#name', mine.name);
  await page.check('input[name="period"][value="20y"]');
  await page.fill('#start', '2020-05-01');
  await page.locator('#start').dispatchEvent('change');
  await page.fill('#password', mine.password);
  await page.fill('#password_confirm', mine.password);
  await page.fill('#email', mine.email);
  await page.fill('#phone', mine.phone);
  await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
    (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#send-code');
  await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
  await page.fill('#verification_code', await lastCode(server.base, mine.phone));
  await page.check('#agree_terms');
  await page.click('#submit');
  await page.waitForSelector('#taken:not([hidden])');
  assert.match(await page.textContent('#form-msg'), /该证件号码已注册/);
  const taken = await page.textContent('#taken');
  assert.match(taken, /直接登录/);
  assert.match(taken, /忘记密码/);
  assert.match(taken, /申诉找回账号/);
  assert.match(taken, /从未注册过/);
  assert.equal(await page.getAttribute('#taken-login', 'href'), '/login/certification');
  assert.equal(await page.getAttribute('#taken-recover', 'href'), '/recover?entry=certification');
  await page.screenshot({ path: join(SCREENSHOTS, 'register-taken-390.png'), fullPage: true });

  // 2. The claim form, filled with what was typed (never the passwords).
  await page.click('#taken-claim');
  await page.waitForURL(/\/register\/claim/);
  assert.match(await page.textContent('h1'), /申诉找回账号/);
  assert.equal(await page.inputValue('#doc_number'), holder.doc);
  assert.equal(await page.inputValue('#name'), mine.name);
  assert.equal(await page.inputValue('#phone'), mine.phone);
  assert.equal(await page.inputValue('#end'), '2040-05-01');
  assert.equal(await page.inputValue('#password'), '');
  await page.waitForFunction(() => document.querySelector('.msg[data-for="doc_number"]').textContent.includes('✓'));
  // The same live checks as registration.
  await page.fill('#email', 'alias@qq.com');
  await page.waitForFunction(() => /QQ/.test(document.querySelector('.msg[data-for="email"]').textContent));
  await page.fill('#email', mine.email);
  await page.fill('#password', mine.password);
  await page.fill('#password_confirm', 'Other#2025');
  assert.match(await page.textContent('.msg[data-for="password_confirm"]'), /不一致/);
  await page.fill('#password_confirm', mine.password);
  // Submitting without photos names what is missing, before any request.
  await page.check('#agree_terms');
  await page.click('#submit');
  assert.match(await page.textContent('.msg[data-for="front"]'), /请选择照片/);
  await page.setInputFiles('#front', await jpeg(page, '人像面', 320, 200));
  await page.setInputFiles('#back', await jpeg(page, '国徽面', 320, 200));
  await page.setInputFiles('#handheld', await jpeg(page, '手持证件', 300, 400));
  await page.waitForFunction(() => !document.querySelector('#handheld-preview').hidden);
  await page.fill('#reason', '该身份证号码是本人的，我从未注册过，应是他人误填。');
  await page.click('#submit');
  await page.waitForSelector('#claim-done:not([hidden])');
  const due = await page.textContent('#due-date');
  assert.match(due, /^\d{4}-\d{2}-\d{2}$/);
  await page.screenshot({ path: join(SCREENSHOTS, 'claim-done-390.png'), fullPage: true });
  assert.deepEqual(errors, []);

  // 3. A reviewer approves it in the console, beside the holder's data.
  const out = await cli(server, ['staff', 'add', '--username', 'rev1', '--role', 'reviewer']);
  const staffPassword = /^password: (\S+)$/m.exec(out)[1];
  const { ctx: staff, errors: staffErrors } = await context(1280, 900);
  const desk = await staff.newPage();
  await desk.goto(`${server.base}/staff/login`);
  await desk.fill('#username', 'rev1');
  await desk.fill('#password', staffPassword);
  await desk.click('#submit');
  await desk.waitForURL(`${server.base}/staff`);
  await desk.click('.tab[data-kind="ownership_claim"]');
  await desk.waitForURL(/kind=ownership_claim/);
  const row = desk.locator('#queue tbody tr');
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /李四/);
  assert.match(await row.textContent(), new RegExp(due));
  await row.locator('a').click();
  await desk.waitForURL(/\/staff\/reviews\//);
  assert.match(await desk.textContent('h1'), /账号申诉/);
  assert.match(await desk.textContent('#submitted-title'), /申诉人/);
  assert.match(await desk.textContent('#submitted'), /李四/);
  assert.match(await desk.textContent('#submitted'), new RegExp(holder.doc));
  assert.match(await desk.textContent('#current-title'), /持有人/);
  assert.match(await desk.textContent('#current'), /张三/);
  assert.match(await desk.textContent('#authority-answer'), /不一致/);
  assert.match(await desk.textContent('#holder-history'), /注册时间/);
  assert.match(await desk.textContent('#holder-history'), /未实名认证/);
  await desk.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('.photo img')];
    return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  });
  await desk.screenshot({ path: join(SCREENSHOTS, 'staff-claim-1280.png'), fullPage: true });
  desk.once('dialog', (d) => d.accept());
  await desk.click('#approve');
  await desk.waitForURL(/\/staff\?kind=ownership_claim&flash=approved$/);
  assert.match(await desk.textContent('#flash'), /已通过/);
  assert.deepEqual(staffErrors, []);
  await staff.close();

  // 4. The claimant logs in with the claim's password; the holder's is dead, and the holder was told.
  const mineIn = await login(server.base, holder.doc, mine.password);
  assert.equal(mineIn.status, 200, JSON.stringify(mineIn.body));
  // The holder's old password no longer signs in, and says why (403 account_archived).
  const old = await login(server.base, holder.doc, holder.password);
  assert.equal(old.status, 403);
  assert.equal(old.body.error.code, 'account_archived');
  const notice = await outbox(server.base, holder.phone);
  assert.match(notice[0].body, /已停用/);
  const told = await outbox(server.base, mine.phone);
  assert.match(told[0].body, /审核通过/);
  await claimant.close();
});
