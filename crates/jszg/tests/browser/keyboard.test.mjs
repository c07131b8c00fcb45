// SPEC A11Y-2, A11Y-3, A11Y-5: the applicant's journeys with the keyboard alone (no mouse or touch
// call anywhere in this file), through the slider, 放大 and 无障碍验证, with the focus visible at
// every stop; what a screen reader is told (Chromium's accessibility tree: every control named in
// Chinese, every error tied to its field); and 关怀模式 through whole flows, with screenshots.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, sizedContext, residentId, phone, lastCode, outbox, sleep, SCREENSHOTS } from './helpers.mjs';
import { register, login, addIdentity } from './applicant.mjs';
import { tabTo, type, controls, focused } from './a11y.mjs';

// A Chinese Chromium, as applicants run it: the browser's own parts of a control (the date
// field's 年/月/日 and its picker button) are named in Chinese too (Debian's chromium-l10n).
const { server, browser } = await withServer({}, { lang: 'zh-CN' });

const shot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `keyboard-${name}.png`), fullPage: true });

/** Every control a screen reader reaches has a name, in Chinese; none is left unlabelled. */
async function assertNamed(page, where) {
  const unnamed = (await controls(page)).filter((c) => c.focusable && !c.hidden && !/[\u4e00-\u9fff]/.test(c.name));
  assert.deepEqual(unnamed, [], `${where}: controls without a Chinese name`);
}

/**
 * The captcha under `host` solved from the keyboard: focus the handle, arrows, Enter. Keys sent
 * through CDP to a busy renderer can arrive in a burst faster than any auto-repeat, which the
 * server refuses as it should; the page then shows a new puzzle and, like a person, the test
 * tries again (at most three times).
 */
async function sliderByKeyboard(page, host = '#captcha') {
  for (let attempt = 1; ; attempt++) {
    await page.waitForFunction((h) => document.querySelector(h)?.dataset.state === 'ready', host);
    const target = Number(await page.getAttribute(host, 'data-dev-solution'));
    await tabTo(page, `${host} .jszg-captcha__handle`, { back: attempt > 1 });
    // Keys at a hand's pace: Shift+→ moves 10 px, → 4 px.
    let x = 0;
    while (target - x >= 10) { await page.keyboard.press('Shift+ArrowRight'); x += 10; await sleep(30); }
    while (target - x >= 2) { await page.keyboard.press('ArrowRight'); x += 4; await sleep(30); }
    await page.keyboard.press('Enter');
    await page.waitForFunction((h) => ['success', 'failure'].includes(document.querySelector(h).dataset.state), host);
    if ((await page.getAttribute(host, 'data-state')) === 'success') return attempt;
    assert.ok(attempt < 3, 'the keyboard answer was refused three times');
  }
}

/** 无障碍验证 from the keyboard: Tab to the button, Enter, wait for it to say it passed. */
async function accessibleByKeyboard(page, host = '#captcha') {
  await tabTo(page, `${host} .jszg-captcha__accessible`);
  await page.keyboard.press('Enter');
  await page.waitForFunction((h) => document.querySelector(h).dataset.state === 'success', host, { timeout: 60000 });
  const said = await page.locator(`${host} .jszg-captcha__text`).textContent();
  assert.equal(said, '无障碍验证通过');
}

/** Move a closed <select> with arrow keys until it shows `value`. */
async function chooseByKeys(page, selector, value) {
  await tabTo(page, selector);
  for (let i = 0; i < 10 && (await page.inputValue(selector)) !== value; i++) await page.keyboard.press('ArrowDown');
  assert.equal(await page.inputValue(selector), value);
}

test('registration with the keyboard alone, slider by arrow keys, errors read with their fields (关怀模式, 360px)', async () => {
  const { context, page, errors } = await sizedContext(browser, server.base, { width: 360, care: true, touch: false });
  await page.goto(`${server.base}/register`);
  assert.equal(await page.getAttribute('html', 'class'), 'care');
  await assertNamed(page, '/register');
  const doc = residentId('19750412');
  const mobile = phone();
  await chooseByKeys(page, '#doc_type', 'resident_id');
  await tabTo(page, '#doc_number');
  await type(page, doc);
  await tabTo(page, '#name');
  await type(page, '张老师');
  // The validity period: into the radio group, then arrows until 20年 is checked.
  await tabTo(page, 'input[name="period"]');
  await page.keyboard.press('Space');
  for (let i = 0; i < 6 && !(await page.isChecked('input[name="period"][value="20y"]')); i++) await page.keyboard.press('ArrowRight');
  assert.equal(await page.isChecked('input[name="period"][value="20y"]'), true);
  // The date field's parts (年/月/日) move on by themselves once each is complete.
  await tabTo(page, '#start');
  await type(page, '20200501');
  assert.equal(await page.inputValue('#start'), '2020-05-01');
  await tabTo(page, '#password');
  await type(page, 'Abc#2024x');
  await tabTo(page, '#password_confirm');
  await type(page, 'Abc#2024x');
  await tabTo(page, '#email');
  await type(page, `${mobile}@qq.com`);
  // A wrong phone first: the error is said and tied to the field.
  await tabTo(page, '#phone');
  await type(page, '12345');
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => document.querySelector('.msg[data-for="phone"]').classList.contains('bad'));
  const said = (await page.textContent('.msg[data-for="phone"]')).trim();
  const phoneField = (await controls(page)).find((c) => c.role === 'textbox' && c.name.includes('手机'));
  assert.ok(phoneField, 'the phone field is in the accessibility tree');
  assert.equal(phoneField.invalid, 'true');
  assert.ok(phoneField.description.includes(said), `description "${phoneField.description}" carries "${said}"`);
  await shot(page, 'register-error-care-360');
  await tabTo(page, '#phone', { back: true });
  await page.keyboard.press('Control+A');
  await type(page, mobile);
  await page.keyboard.press('Tab');
  await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
    (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
  assert.notEqual((await controls(page)).find((c) => c.role === 'textbox' && c.name.includes('手机')).invalid, 'true');

  await sliderByKeyboard(page);
  await tabTo(page, '#send-code');
  await page.keyboard.press('Enter');
  const code = await lastCode(server.base, mobile);
  await tabTo(page, '#verification_code', { back: true });
  await type(page, code);
  await tabTo(page, '#agree_terms');
  await page.keyboard.press('Space');
  await tabTo(page, '#submit');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/register\/done/);
  await shot(page, 'register-done-care-360');
  assert.deepEqual(errors, []);
  await context.close();
});

test('login with the keyboard alone through 无障碍验证, and what a screen reader hears (1280px)', async () => {
  const who = await register(server.base);
  const { context, page, errors } = await sizedContext(browser, server.base, { width: 1280 });
  await page.goto(`${server.base}/login/certification`);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'ready');
  await assertNamed(page, '/login/certification');
  const snapshot = await page.locator('#captcha').ariaSnapshot();
  assert.match(snapshot, /slider "拼图滑块：用左右方向键移动拼图/);
  assert.match(snapshot, /button "放大"/);
  assert.match(snapshot, /button "无障碍验证"/);
  const described = (await controls(page)).find((c) => c.role === 'button' && c.name === '无障碍验证');
  assert.match(described.description, /不看图片、不拖动滑块/);

  await tabTo(page, '#doc_number');
  await type(page, who.doc);
  await tabTo(page, '#password');
  await type(page, who.password);
  await accessibleByKeyboard(page);
  assert.match(await page.locator('#captcha').ariaSnapshot(), /button "无障碍验证" \[pressed\]/);
  assert.ok(Number(await page.getAttribute('#captcha', 'data-pow-ms')) >= 0);
  await shot(page, 'login-accessible-1280');
  await tabTo(page, '#submit');
  await page.keyboard.press('Enter');
  await page.waitForURL((u) => !u.pathname.startsWith('/login'));
  assert.deepEqual(errors, []);
  await context.close();
});

test('password recovery with the keyboard alone, the slider solved at 放大 (360px)', async () => {
  const who = await register(server.base);
  const { context, page, errors } = await sizedContext(browser, server.base, { width: 360 });
  await page.goto(`${server.base}/recover`);
  await chooseByKeys(page, '#doc_type', who.docType);
  await tabTo(page, '#doc_number');
  await type(page, who.doc);
  await tabTo(page, '#name');
  await type(page, who.name);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'ready');
  await tabTo(page, '#captcha .jszg-captcha__zoom');
  await page.keyboard.press('Space');
  assert.equal(await page.getAttribute('#captcha .jszg-captcha__zoom', 'aria-pressed'), 'true');
  const width = await page.evaluate(() => document.querySelector('#captcha .jszg-captcha__picture').getBoundingClientRect().width);
  assert.equal(Math.round(width), 640);
  await tabTo(page, '#captcha .jszg-captcha__handle', { back: true });
  await sliderByKeyboard(page);
  await shot(page, 'recover-zoomed-360');
  assert.equal(await page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth), true);
  await tabTo(page, '#next');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#step2:not([hidden])');
  await assertNamed(page, '/recover step 2');
  await tabTo(page, '#email-confirm');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /重置邮件已发送至/.test(document.querySelector('#email-msg').textContent));
  const mail = (await outbox(server.base, who.email)).find((m) => m.channel === 'email');
  const link = /https?:\/\/\S+\/reset\/[A-Za-z0-9_-]+/.exec(mail.body)[0];
  await page.goto(link);
  await tabTo(page, '#new_password');
  await type(page, 'short');
  await tabTo(page, '#reset-submit');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('#form-msg').textContent.length > 0 || document.querySelector('.msg.bad'));
  await tabTo(page, '#new_password', { back: true });
  await page.keyboard.press('Control+A');
  await type(page, 'New#2025pw');
  await tabTo(page, '#new_password_confirm');
  await type(page, 'New#2025pw');
  await tabTo(page, '#reset-submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#reset-ok:not([hidden])');
  assert.equal((await login(server.base, who.doc, 'New#2025pw')).status, 200);
  assert.deepEqual(errors, []);
  await context.close();
});

test('real-name verification with the keyboard alone, in 关怀模式 (1280px)', async () => {
  const who = await register(server.base);
  await addIdentity(server.base, who.docType, who.doc, who.name);
  const { cookie } = await login(server.base, who.doc, who.password);
  const { context, page, errors } = await sizedContext(browser, server.base, { width: 1280, care: true, cookie });
  await page.goto(`${server.base}/me/realname`);
  await assertNamed(page, '/me/realname');
  await tabTo(page, '#verify');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#confirm-dialog[open]');
  // The dialog takes the focus; its confirm button is reached from there.
  await tabTo(page, '#confirm-submit');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#verify-ok:not([hidden])');
  await shot(page, 'realname-care-1280');
  assert.deepEqual(errors, []);
  await context.close();
});

test('关怀模式: the header toggle switches at once, holds across pages and visits, sizes as promised', async () => {
  const { context, page, errors } = await sizedContext(browser, server.base, { width: 360 });
  await page.goto(`${server.base}/login/renewal`);
  assert.equal(await page.getAttribute('#care-toggle', 'aria-pressed'), 'false');
  await tabTo(page, '#care-toggle');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('html', 'class'), 'care');
  assert.equal(await page.getAttribute('#care-toggle', 'aria-pressed'), 'true');
  const sizes = await page.evaluate(() => {
    const px = (sel, prop) => parseFloat(getComputedStyle(document.querySelector(sel))[prop]);
    return { body: px('body', 'fontSize'), input: px('#doc_number', 'height'), button: px('#submit', 'height') };
  });
  assert.ok(sizes.body >= 18, `body ${sizes.body}px`);
  // The site's name stays white on the darker header (axe skips text whose colour equals its
  // background, which is what a care rule for links once made of it).
  assert.equal(await page.evaluate(() => getComputedStyle(document.querySelector('.brand')).color), 'rgb(255, 255, 255)');
  assert.ok(sizes.input >= 48 && sizes.button >= 48, JSON.stringify(sizes));
  const cookie = (await context.cookies()).find((c) => c.name === 'jszg_care');
  assert.equal(cookie?.value, '1');
  assert.ok(cookie.expires > Date.now() / 1000 + 300 * 24 * 3600, 'kept for a year');
  // Another page, rendered by the server in the mode, and the next visit.
  await page.goto(`${server.base}/register`);
  assert.equal(await page.getAttribute('html', 'class'), 'care');
  await shot(page, 'care-register-360');
  const next = await browser.newContext({ viewport: { width: 360, height: 740 }, locale: 'zh-CN', storageState: await context.storageState() });
  const again = await next.newPage();
  await again.goto(`${server.base}/`);
  assert.equal(await again.getAttribute('html', 'class'), 'care');
  await next.close();
  // Off again.
  await tabTo(page, '#care-toggle');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('html', 'class'), '');
  assert.equal((await context.cookies()).find((c) => c.name === 'jszg_care'), undefined);
  assert.deepEqual(errors, []);
  await context.close();
});

test('the focus ring is drawn on every stop of the login page', async () => {
  const { context, page } = await sizedContext(browser, server.base, { width: 1280 });
  await page.goto(`${server.base}/login/certification`);
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'ready');
  const seen = [];
  for (let i = 0; i < 25; i++) {
    await page.keyboard.press('Tab');
    const f = await focused(page);
    if (!f) continue;
    seen.push(f);
  }
  assert.ok(seen.length >= 10, `${seen.length} stops`);
  assert.deepEqual(seen.filter((f) => !f.visible), []);
  await context.close();
});
