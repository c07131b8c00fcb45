// 忘记密码 end to end in a real browser: step 1 with the slider, step 2 by
// the emailed link and by SMS code, the expired-link page, and a contact
// change request (修改邮箱地址) with its code, photo and confirmation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, readyPuzzle, dragTo, lastCode, outbox, SCREENSHOTS } from './helpers.mjs';
import { register, login, phoneContext, jpeg } from './applicant.mjs';
import { recoveryStep1 } from './pages.mjs';

const { server, browser } = await withServer();

const maskEmail = (e) => `${e[0]}*****${e.slice(e.indexOf('@'))}`;
const maskPhone = (p) => `${p.slice(0, 3)}*****${p.slice(-2)}`;

/** Step 1 of 忘记密码 in the page, up to the methods of step 2. */
function step1(page, who, name = who.name) {
  return recoveryStep1(page, server.base, who, { name, entry: 'renewal' });
}

test('a password is reset through the emailed link', async () => {
  const who = await register(server.base);
  const { context, page, errors } = await phoneContext(browser);

  await step1(page, who);
  await page.waitForSelector('#step2:not([hidden])');
  assert.equal(await page.isChecked('input[name="method"][value="email"]'), true);
  // As in the manual, all three methods; WeChat says why it cannot be used yet, and shows no QR.
  assert.equal(await page.isVisible('label[data-method="wechat"]'), true);
  await page.click('label[data-method="wechat"]');
  assert.match(await page.textContent('#wechat-unbound'), /尚未关联微信服务号.*绑定微信/);
  assert.equal(await page.isVisible('#wechat-qr-box'), false);
  assert.equal(await page.isVisible('#wechat-refresh'), false);
  await page.screenshot({ path: join(SCREENSHOTS, 'recover-wechat-unbound-360.png') });
  await page.click('label[data-method="email"]');
  assert.equal(await page.textContent('#email-target'), maskEmail(who.email));
  await page.screenshot({ path: join(SCREENSHOTS, 'recover-step2-360.png') });
  await page.click('#email-confirm');
  await page.waitForFunction(() => /重置邮件已发送至/.test(document.querySelector('#email-msg').textContent));
  assert.equal(await page.textContent('#email-msg').then((t) => t.split('。')[0]), `重置邮件已发送至 ${maskEmail(who.email)}，链接24小时内有效`);

  const mail = (await outbox(server.base, who.email)).find((m) => m.channel === 'email');
  assert.ok(mail, 'a reset mail in the outbox');
  const link = /https?:\/\/\S+\/reset\/[A-Za-z0-9_-]+/.exec(mail.body)[0];
  const token = link.split('/').pop();

  await page.goto(link);
  assert.equal(await page.textContent('h1'), '忘记密码');
  assert.equal((await page.content()).includes(token), false, 'the page does not repeat the token');
  await page.fill('#new_password', 'short');
  await page.fill('#new_password_confirm', 'short');
  await page.click('#reset-submit');
  await page.waitForFunction(() => document.querySelector('#form-msg').textContent.length > 0);
  assert.equal(await page.isVisible('#reset-ok'), false);

  await page.fill('#new_password', 'New#2025pw');
  await page.fill('#new_password_confirm', 'New#2025pw');
  await page.click('#reset-submit');
  await page.waitForSelector('#reset-ok:not([hidden])');
  assert.match(await page.textContent('#reset-ok'), /密码重置成功/);
  assert.equal(await page.getAttribute('#to-login', 'href'), '/login/certification');
  await page.screenshot({ path: join(SCREENSHOTS, 'reset-done-360.png') });

  assert.equal((await login(server.base, who.doc, 'New#2025pw')).status, 200);
  assert.equal((await login(server.base, who.doc, who.password)).status, 401);

  // The link is single use: opening it again shows the expired page.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  assert.match(await page.textContent('#reset-expired'), /链接已失效/);
  assert.match(await page.textContent('#reset-expired'), /请重新使用“忘记密码”的“邮箱重置密码”功能发送邮件/);
  assert.equal(await page.getAttribute('#to-recover', 'href'), '/recover');
  assert.deepEqual(errors, []);
  await context.close();
});

test('a password is reset by SMS code after one neutral refusal', async () => {
  const who = await register(server.base);
  const { context, page, errors } = await phoneContext(browser);

  await step1(page, who, '韩梅梅');
  await page.waitForFunction(() => document.querySelector('#form-msg').textContent.length > 0);
  assert.match(await page.textContent('#form-msg'), /不一致/);
  assert.equal(await page.isVisible('#step2'), false);

  await page.fill('#name', who.name);
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#next');
  await page.waitForSelector('#step2:not([hidden])');
  await page.check('input[name="method"][value="sms"]');
  assert.equal(await page.textContent('#sms-target'), maskPhone(who.phone));
  await page.click('#sms-send');
  await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('#panel-sms .msg[data-for="code"]').textContent));
  const code = await lastCode(server.base, who.phone);
  // A wrong code: one message, at the code, none above 确认 (pages second pass, item 4).
  await page.fill('#sms_code', code === '000000' ? '111111' : '000000');
  await page.fill('#sms_password', 'Sms#2025pw');
  await page.fill('#sms_password_confirm', 'Sms#2025pw');
  await page.click('#sms-confirm');
  await page.waitForFunction(() => /验证码不正确/.test(document.querySelector('#panel-sms .msg[data-for="code"]').textContent));
  assert.equal(await page.textContent('#sms-msg'), '');
  await page.fill('#sms_code', code);
  await page.click('#sms-confirm');
  await page.waitForSelector('#reset-done:not([hidden])');
  assert.match(await page.textContent('#reset-done'), /密码重置成功，请使用新密码登录/);
  assert.equal(await page.getAttribute('#reset-done a', 'href'), '/login/renewal');
  assert.equal((await login(server.base, who.doc, 'Sms#2025pw')).status, 200);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a contact change request for a new email address', async () => {
  const who = await register(server.base);
  const newEmail = `${Math.floor(1e8 + Math.random() * 9e8)}@163.com`;
  const { context, page, errors } = await phoneContext(browser);

  await step1(page, who);
  await page.waitForSelector('#step2:not([hidden])');
  await page.click('#change-email');
  await page.waitForSelector('#change:not([hidden])');
  assert.equal(await page.textContent('#change-title'), '修改邮箱地址');
  assert.equal(await page.textContent('#change-state'), '待提交');
  assert.match(await page.textContent('#change-note'), /1个工作日内完成.*新的邮箱地址/);

  // A QQ alias is refused as it is typed, before the slider and the code (item 11).
  await page.fill('#new_value', 'alias@qq.com');
  await page.waitForFunction(() => document.querySelector('#change-form .msg[data-for="new_value"]').textContent.length > 0);
  await page.fill('#new_value', newEmail);
  assert.equal(await page.textContent('#change-form .msg[data-for="new_value"]'), '');
  await dragTo(page, await readyPuzzle(page, '#change-captcha'), '#change-captcha');
  await page.waitForFunction(() => !document.querySelector('#change-send').disabled);
  assert.equal(await page.textContent('#change-send'), '邮箱获取验证码');
  await page.click('#change-send');
  await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('#change-form .msg[data-for="verification_code"]').textContent));
  await page.fill('#verification_code', await lastCode(server.base, newEmail));
  await page.setInputFiles('#handheld', await jpeg(page, '手持证件'));
  await page.waitForFunction(() => document.querySelector('#handheld-preview').naturalWidth > 0);
  await page.fill('#reason', '原邮箱已停用，无法接收重置邮件。');
  await page.click('#change-submit');
  await page.waitForSelector('#change-dialog[open]');
  assert.equal(await page.textContent('#change-dialog-text'), '提交成功! 请耐心等待工作人员审核，1个工作日内将审核结果发送至新的邮箱中，请及时查收!');
  await page.screenshot({ path: join(SCREENSHOTS, 'contact-change-submitted-360.png') });
  await page.click('#change-dialog-ok');
  assert.equal(await page.textContent('#change-state'), '待审核');
  assert.equal(await page.isDisabled('#change-submit'), true);

  // While it is pending, another request is refused at once, before any slider, code or photo
  // (pages second pass, item 11; the server refuses it too, tests/api).
  await page.click('#change-back');
  await page.check('input[name="method"][value="sms"]');
  await page.click('#change-phone');
  assert.equal(await page.textContent('#change-title'), '修改手机号码');
  assert.match(await page.textContent('#change-msg'), /不可反复提交/);
  assert.equal(await page.isDisabled('#new_value'), true);
  assert.equal(await page.isDisabled('#change-submit'), true);
  // The same after starting over: 忘记密码 says so as soon as the form opens.
  await step1(page, who);
  await page.waitForSelector('#step2:not([hidden])');
  await page.check('input[name="method"][value="sms"]');
  await page.click('#change-phone');
  assert.match(await page.textContent('#change-msg'), /不可反复提交/);
  await page.screenshot({ path: join(SCREENSHOTS, 'contact-change-pending-at-once-360.png') });
  assert.deepEqual(errors, []);
  await context.close();
});
