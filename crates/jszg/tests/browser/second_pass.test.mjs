// The applicant pages' second pass (issue "what a new user tripped over"): each test replays
// what was seen and checks the page now does what it says, at 360 and 1280 px.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, sizedContext, residentId, phone, readyPuzzle, dragTo, lastCode, SCREENSHOTS } from './helpers.mjs';
import { register, login } from './applicant.mjs';

const { server, browser } = await withServer();

function open(width, cookie) {
  return sizedContext(browser, server.base, { width, cookie });
}

for (const width of [360, 1280]) {
  test(`${width}px: a permit number's extra two digits are removed from the field, as the hint says`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register`);
    for (const [type, typed, kept, says] of [
      ['hk_mo_permit', 'H1234567801', 'H12345678', /最后两位换证次数已自动去掉/],
      ['tw_permit', '1234567801', '12345678', /最后两位签发次数已自动去掉/],
    ]) {
      await page.selectOption('#doc_type', type);
      await page.fill('#doc_number', typed);
      await page.waitForFunction((re) => new RegExp(re).test(document.querySelector('.msg[data-for="doc_number"]').textContent), says.source);
      await page.waitForFunction((v) => document.querySelector('#doc_number').value === v, kept);
      assert.equal(await page.inputValue('#doc_number'), kept);
    }
    await page.screenshot({ path: join(SCREENSHOTS, `second-pass-permit-${width}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: an error under the code goes when the code is typed again`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register`);
    const mobile = phone();
    await page.selectOption('#doc_type', 'resident_id');
    await page.fill('#doc_number', residentId('19860412'));
    await page.fill('#name', '王小明');
    await page.check('input[name="period"][value="20y"]');
    await page.fill('#start', '2020-05-01');
    await page.locator('#start').dispatchEvent('change');
    await page.fill('#password', 'Abc#2024x');
    await page.fill('#password_confirm', 'Abc#2024x');
    await page.fill('#email', '123456@qq.com');
    await page.fill('#phone', mobile);
    await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
      (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
    const solution = await readyPuzzle(page);
    await page.locator('#captcha').scrollIntoViewIfNeeded();
    await dragTo(page, solution);
    await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
    let puzzles = 0;
    page.on('request', (r) => { if (r.method() === 'POST' && new URL(r.url()).pathname === '/api/v1/captchas') puzzles += 1; });
    await page.click('#send-code');
    await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
    // Item 11: no new puzzle that nothing needs; the slider rests until the applicant asks again.
    await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'expired');
    assert.match(await page.textContent('#captcha .jszg-captcha__text'), /如需重新获取/);
    await page.waitForTimeout(500);
    assert.equal(puzzles, 0, 'a new puzzle was fetched after the code was sent');
    const code = await lastCode(server.base, mobile);
    const wrong = code === '000000' ? '111111' : '000000';
    await page.fill('#verification_code', wrong);
    await page.check('#agree_terms');
    await page.click('#submit');
    await page.waitForFunction(() => /验证码不正确/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
    // The right code typed: the old error is about another value and goes at once.
    await page.fill('#verification_code', code);
    assert.equal(await page.textContent('.msg[data-for="verification_code"]'), '');
    // Submitted without the agreement: one message, at the agreement.
    await page.uncheck('#agree_terms');
    await page.click('#submit');
    await page.waitForFunction(() => document.querySelector('.msg[data-for="agree_terms"]').textContent.length > 0);
    assert.equal(await page.textContent('.msg[data-for="verification_code"]'), '');
    await page.screenshot({ path: join(SCREENSHOTS, `second-pass-stale-error-${width}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: the claim form keeps its own draft and never hands it to registration`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register/claim`);
    const doc = residentId('19790101');
    await page.selectOption('#doc_type', 'resident_id');
    await page.fill('#doc_number', doc);
    await page.fill('#name', '李四');
    await page.fill('#email', '654321@qq.com');
    await page.fill('#phone', '13912345678');
    await page.fill('#reason', '本人从未注册过，号码被他人占用。');
    await page.reload();
    assert.equal(await page.inputValue('#doc_number'), doc, 'a reload keeps the claim');
    assert.equal(await page.inputValue('#name'), '李四');
    assert.equal(await page.inputValue('#reason'), '本人从未注册过，号码被他人占用。');
    await page.goto(`${server.base}/register`);
    for (const f of ['doc_number', 'name', 'email', 'phone']) {
      assert.equal(await page.inputValue(`#${f}`), '', `registration shows the claim's ${f}`);
    }
    await page.screenshot({ path: join(SCREENSHOTS, `second-pass-drafts-${width}.png`) });
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: the confirmation shows the name as it will be checked`, async () => {
    const who = await register(server.base, { doc: residentId('19880808') });
    const { status, cookie } = await login(server.base, who.doc, who.password);
    assert.equal(status, 200);
    const res = await fetch(`${server.base}/api/v1/me/profile`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Cookie: cookie }, body: JSON.stringify({ ethnicity: '05' }),
    });
    assert.equal(res.status, 200);
    const { context, page, errors } = await open(width, cookie);
    await page.goto(`${server.base}/me/realname`);
    await page.fill('#name', '阿依古丽•买买提');
    await page.click('#verify');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.equal(await page.textContent('#confirm-name'), '阿依古丽·买买提');
    await page.screenshot({ path: join(SCREENSHOTS, `second-pass-confirm-name-${width}.png`) });
    await page.click('#confirm-back');
    assert.deepEqual(errors, []);
    await context.close();
  });
}
