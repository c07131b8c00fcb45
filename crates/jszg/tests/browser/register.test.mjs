// 注册 end to end in a real browser: the slider, the SMS code from the dev
// outbox, the agreement and validity-warning dialogs, the success page.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, residentId, phone, readyPuzzle, dragTo, lastCode, SCREENSHOTS } from './helpers.mjs';

const { server, browser } = await withServer();

async function phonePage() {
  const context = await browser.newContext({ viewport: { width: 360, height: 740 }, deviceScaleFactor: 2, hasTouch: true, locale: 'zh-CN' });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  // HTTP refusals the page handles (the 409 validity warning) are logged by
  // Chromium as failed loads; script errors and CSP violations are not expected.
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  return { page, context, errors };
}

test('an applicant registers on a phone-sized screen', async () => {
  const { page, context, errors } = await phonePage();
  await page.goto(`${server.base}/register?entry=renewal`);
  const doc = residentId('19850315');
  const mobile = phone();

  await page.selectOption('#doc_type', 'resident_id');
  await page.fill('#doc_number', doc);
  await page.fill('#name', '王小明');
  // 10年 although a 35-year-old's card runs 20 years: the page must warn.
  await page.check('input[name="period"][value="10y"]');
  await page.fill('#start', '2020-05-01');
  await page.locator('#start').dispatchEvent('change');
  await assert.doesNotReject(page.waitForFunction(() => document.querySelector('#end').value === '2030-05-01'));
  await page.fill('#password', 'Abc#2024x');
  await page.fill('#password_confirm', 'Abc#2024x');
  await page.fill('#email', '123456@qq.com');
  await page.fill('#phone', mobile);
  // Live checks answer as the applicant types. Wait for all of them: their
  // messages move the slider down the page when they appear.
  await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
    (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));

  const solution = await readyPuzzle(page);
  await page.locator('#captcha').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SCREENSHOTS, 'register-puzzle-360.png'), fullPage: false });
  await dragTo(page, solution);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  assert.match(await page.textContent('#captcha .jszg-captcha__text'), /验证通过/);
  await page.locator('#captcha').screenshot({ path: join(SCREENSHOTS, 'register-solved-360.png') });

  await page.click('#send-code');
  await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
  const code = await lastCode(server.base, mobile);
  await page.fill('#verification_code', code);

  // The agreement opens in a dialog; 我同意遵守协议 ticks the box.
  await page.click('#open-terms');
  await page.waitForSelector('#terms-dialog[open]');
  assert.match(await page.textContent('#terms-dialog'), /注册协议/);
  await page.click('#terms-agree');
  assert.equal(await page.isChecked('#agree_terms'), true);

  await page.click('#submit');
  await page.waitForSelector('#warning-dialog[open]');
  assert.match(await page.textContent('#warning-text'), /20年/);
  await page.click('#warning-confirm');

  await page.waitForURL(/\/register\/done/);
  assert.match(await page.textContent('h1'), /注册成功/);
  assert.match(await page.textContent('#done-account'), new RegExp(`${doc.slice(0, 2)}\\*{5}${doc.slice(-2)}`));
  assert.equal(await page.getAttribute('.done a.btn-primary', 'href'), '/login/renewal');
  await page.screenshot({ path: join(SCREENSHOTS, 'register-done-360.png') });
  assert.deepEqual(errors, []);
  await context.close();
});

test('a wrong drag shows the failure state and a new puzzle', async () => {
  const { page, context } = await phonePage();
  await page.goto(`${server.base}/register`);
  const solution = await readyPuzzle(page);
  const before = await page.getAttribute('#captcha .jszg-captcha__background', 'src');
  const wrong = solution > 160 ? solution - 80 : solution + 80;
  await dragTo(page, wrong);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'failure');
  assert.match(await page.textContent('#captcha .jszg-captcha__text'), /验证失败/);
  // The handle has slid home and does not cover the words.
  await page.waitForTimeout(350);
  const overlap = await page.evaluate(() => {
    const handle = document.querySelector('#captcha .jszg-captcha__handle').getBoundingClientRect();
    const range = document.createRange();
    range.selectNodeContents(document.querySelector('#captcha .jszg-captcha__text'));
    const text = range.getBoundingClientRect();
    return Math.max(0, Math.min(handle.right, text.right) - Math.max(handle.left, text.left));
  });
  assert.equal(overlap, 0, 'the slider handle covers 验证失败');
  await page.locator('#captcha').screenshot({ path: join(SCREENSHOTS, 'register-failed-drag-360.png') });
  // A fresh puzzle replaces the spent one.
  await readyPuzzle(page);
  const after = await page.getAttribute('#captcha .jszg-captcha__background', 'src');
  assert.notEqual(after, before);
  assert.equal(await page.isDisabled('#send-code'), true);
  await context.close();
});

test('the agreement dialog closes without agreeing', async () => {
  const { page, context } = await phonePage();
  await page.goto(`${server.base}/register`);
  await page.click('#open-terms');
  await page.waitForSelector('#terms-dialog[open]');
  await page.click('#terms-close');
  assert.equal(await page.isChecked('#agree_terms'), false);
  // Submitting without agreeing names the problem (checked server-side too).
  await page.click('#submit');
  // Once, next to the field it is about.
  await page.waitForFunction(() => document.querySelector('.msg.bad')?.textContent.length > 0);
  assert.equal(await page.textContent('#form-msg'), '');
  await context.close();
});
