// The applicant's pages as a new user finds them (issue 13), at 360 px and
// 1280 px: nothing personal survives 退出登录, 申请人工审核 is never hidden,
// typed registration fields survive a reload, photos are checked before the
// dialog, the agreement keeps its structure, rare characters render, the
// phone layout holds, and a redirect says why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import { withServer, residentId, phone, readyPuzzle, dragTo, lastCode, SCREENSHOTS } from './helpers.mjs';
import { register, login, addIdentity, jpeg } from './applicant.mjs';

const { server, browser } = await withServer();

const WIDTHS = [360, 1280];

/**
 * A birth date of its own per applicant (numbers born the same day share
 * only 1000 sequence values), aged 26–45 in 2020 so a 20-year card fits.
 */
let births = 0;
function uniqueDoc() {
  births += 1;
  const day = new Date(Date.UTC(1976, 0, 1) + (births * 97 + Math.floor(Math.random() * 90)) * 86400000);
  return residentId(day.toISOString().slice(0, 10).replaceAll('-', ''));
}

/** A context at `width` (a phone at 360, a desktop at 1280), signed in with `cookie` if given. */
async function open(width, cookie) {
  const mobile = width < 640;
  const context = await browser.newContext({
    viewport: { width, height: mobile ? 740 : 900 }, deviceScaleFactor: mobile ? 2 : 1, hasTouch: mobile, locale: 'zh-CN',
  });
  if (cookie) {
    const at = cookie.indexOf('=');
    await context.addCookies([{ name: cookie.slice(0, at), value: cookie.slice(at + 1), url: server.base }]);
  }
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  return { context, page, errors };
}

async function signedIn(width, over = {}, profile = true) {
  const who = await register(server.base, { doc: uniqueDoc(), ...over });
  const { status, cookie } = await login(server.base, who.doc, who.password);
  assert.equal(status, 200);
  if (profile) {
    const res = await fetch(`${server.base}/api/v1/me/profile`, {
      method: 'PUT', headers: { 'Content-Type': 'application/json', Cookie: cookie }, body: JSON.stringify({ ethnicity: '01' }),
    });
    assert.equal(res.status, 200);
  }
  return { who, cookie, ...(await open(width, cookie)) };
}

const shot = (page, name, width, fullPage = true) => page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage });

for (const width of WIDTHS) {
  test(`${width}px: after 退出登录 the back button shows the login page, not the centre`, async () => {
    const { context, page, errors } = await signedIn(width, { name: '赵敏' });
    const res = await page.goto(`${server.base}/me/profile`);
    assert.equal(res.headers()['cache-control'], 'no-store');
    assert.match(await page.textContent('.centre-head'), /赵敏/);
    await page.click('.centre-head button:has-text("退出登录")');
    await page.waitForURL(/\/login\/certification$/);
    await page.goBack();
    await page.waitForLoadState('load');
    assert.match(page.url(), /\/login\/certification$/, 'back after logout must not show the personal centre');
    const body = await page.textContent('body');
    assert.doesNotMatch(body, /赵敏/);
    assert.doesNotMatch(body, /个人信息中心/);
    assert.match(await page.textContent('h1'), /登录/);
    // Forward again: still nothing.
    await page.goForward();
    await page.waitForLoadState('load');
    assert.doesNotMatch(await page.textContent('body'), /赵敏/);
    await shot(page, 'logout-back', width, false);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: 申请人工审核 stays reachable after a reload and after the third failure`, async () => {
    const { context, page, errors } = await signedIn(width, { name: '周芷若' });
    await page.goto(`${server.base}/me/realname`);
    assert.match(await page.textContent('#realname-attempts'), /今日还可进行3次/);
    // Not verified, nothing pending, quota left: offered from the start.
    assert.equal(await page.isVisible('#apply-review'), true);
    assert.equal(await page.isVisible('#verify-failed'), false);

    // The registry does not know this person: every check fails.
    for (let n = 1; n <= 3; n++) {
      await page.click('#verify');
      await page.waitForSelector('#confirm-dialog[open]');
      await page.click('#confirm-submit');
      await page.waitForFunction((left) => document.querySelector('#realname-attempts').textContent.includes(left ? `还可进行${left}次` : '已用完'), 3 - n);
      assert.equal(await page.isVisible('#verify-failed'), true);
      assert.equal(await page.textContent('#realname-status'), '提示：实名认证不通过。');
      assert.equal(await page.isVisible('#apply-review'), true);
      // The guidance once: the list, not the server's paragraph repeating it.
      const box = await page.textContent('#verify-failed');
      assert.equal(box.split('开通指南').length - 1, 1, box);
      if (n === 1) {
        assert.match(await page.textContent('#realname-attempts'), /今日已进行1次实名认证，未通过，还可进行2次。次数于每日0点（北京时间）恢复。/);
        // A reload keeps the state.
        await page.reload();
        assert.equal(await page.textContent('#realname-status'), '提示：实名认证不通过。');
        assert.match(await page.textContent('#realname-attempts'), /今日已进行1次实名认证，未通过，还可进行2次/);
        assert.equal(await page.isVisible('#verify-failed'), true);
        assert.equal(await page.isVisible('#apply-review'), true);
      }
    }
    assert.match(await page.textContent('#realname-attempts'), /今日三次实名认证机会已用完，均未通过，请于明日0点（北京时间）后再试。/);
    await shot(page, 'realname-third-failure', width);
    await page.reload();
    assert.match(await page.textContent('#realname-attempts'), /已用完/);
    assert.equal(await page.isVisible('#verify-failed'), true);
    // The manual's tips.
    // No reference to a FAQ that is nowhere: the answer stands where the reference stood.
    assert.match(await page.textContent('#name-tips'), /2\.姓名中不可包含其他特殊符号。如您的姓名中包含生僻字，请按证件上的写法输入该字/);
    assert.doesNotMatch(await page.textContent('#name-tips'), /常见问题/);
    await page.click('#apply-review');
    await page.waitForURL(/\/me\/review$/);
    assert.equal(await page.textContent('h1'), '中国教师资格网——人工审核');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: a reload or the back button keeps the registration fields, never the passwords`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register`);
    const doc = uniqueDoc();
    const mobile = phone();
    await page.selectOption('#doc_type', 'resident_id');
    await page.fill('#doc_number', doc);
    await page.fill('#name', '王𠀀');
    await page.check('input[name="period"][value="20y"]');
    await page.fill('#start', '2020-05-01');
    await page.locator('#start').dispatchEvent('change');
    await page.fill('#password', 'Abc#2024x');
    await page.fill('#password_confirm', 'Abc#2024x');
    await page.fill('#email', '135790@qq.com');
    await page.fill('#phone', mobile);
    const kept = async () => {
      assert.equal(await page.inputValue('#doc_number'), doc);
      assert.equal(await page.inputValue('#name'), '王𠀀');
      assert.equal(await page.isChecked('input[name="period"][value="20y"]'), true);
      assert.equal(await page.inputValue('#start'), '2020-05-01');
      assert.equal(await page.inputValue('#end'), '2040-05-01');
      assert.equal(await page.inputValue('#email'), '135790@qq.com');
      assert.equal(await page.inputValue('#phone'), mobile);
      assert.equal(await page.inputValue('#password'), '');
      assert.equal(await page.inputValue('#password_confirm'), '');
    };
    await page.reload();
    await kept();
    const stored = await page.evaluate(() => sessionStorage.getItem('jszg.register.draft'));
    assert.doesNotMatch(stored, /Abc#2024x/);
    await page.goto(`${server.base}/`);
    await page.goBack();
    await page.waitForLoadState('load');
    await kept();
    // The live checks ran again for the restored fields.
    await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
      (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
    await shot(page, 'register-restored', width);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: a wrong SMS code says so once, beside the field, with the tries left`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register`);
    const mobile = phone();
    await page.fill('#doc_number', uniqueDoc());
    await page.fill('#name', '王小明');
    await page.check('input[name="period"][value="20y"]');
    await page.fill('#start', '2020-05-01');
    await page.locator('#start').dispatchEvent('change');
    await page.fill('#password', 'Abc#2024x');
    await page.fill('#password_confirm', 'Abc#2024x');
    await page.fill('#email', '97531@qq.com');
    await page.fill('#phone', mobile);
    await page.check('#agree_terms');
    await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
      (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
    const solution = await readyPuzzle(page);
    await dragTo(page, solution);
    await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
    await page.click('#send-code');
    await page.waitForFunction(() => /验证码已发送/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
    const code = await lastCode(server.base, mobile);
    await page.fill('#verification_code', code === '000000' ? '111111' : '000000');
    await page.click('#submit');
    await page.waitForFunction(() => /验证码不正确/.test(document.querySelector('.msg[data-for="verification_code"]').textContent));
    const beside = await page.textContent('.msg[data-for="verification_code"]');
    assert.match(beside, /还可输入4次/);
    assert.match(beside, /5分钟内有效/);
    assert.doesNotMatch(beside, /请重新获取/);
    assert.equal(await page.textContent('#form-msg'), '');
    assert.equal((await page.textContent('main')).split('验证码不正确').length - 1, 1, 'the message appears once');
    await page.locator('#verification_code').scrollIntoViewIfNeeded();
    await shot(page, 'register-wrong-code', width, false);
    // The same code still works.
    await page.fill('#verification_code', code);
    await page.click('#submit');
    await page.waitForURL(/\/register\/done/);
    // A finished registration leaves no draft behind.
    assert.equal(await page.evaluate(() => sessionStorage.getItem('jszg.register.draft')), null);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: the review dialog does not open while a photo fails the checks`, async () => {
    const { context, page, errors } = await signedIn(width, { name: '张无忌' });
    await page.goto(`${server.base}/me/review`);
    // Sizes as Windows Explorer counts them (1 KB = 1,024 bytes): 193,614 bytes is 189 KB and fits.
    await page.setInputFiles('#front', { name: 'fits.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(193614, 1) });
    assert.match(await page.textContent('.msg[data-for="front"]'), /已选择：fits\.jpg（189KB）/);
    await page.setInputFiles('#front', { name: 'big.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(316000, 1) });
    await page.setInputFiles('#back', await jpeg(page, '身份证B面'));
    await page.setInputFiles('#handheld', await jpeg(page, '手持身份证'));
    await page.fill('#reason', '实名认证未通过。');
    assert.match(await page.textContent('.msg[data-for="front"]'), /309KB，应小于190KB/);
    await page.click('#submit');
    await page.waitForFunction(() => document.querySelector('#form-msg').textContent.includes('照片不符合要求'));
    assert.equal(await page.isVisible('#confirm-dialog'), false, 'the dialog opened with an oversized photo');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'front');
    // Previews sit next to their inputs.
    await page.waitForFunction(() => ['back', 'handheld'].every((s) => document.querySelector(`#${s}-preview`).naturalWidth > 0));
    for (const slot of ['back', 'handheld']) {
      const input = await page.locator(`#${slot}`).boundingBox();
      const img = await page.locator(`#${slot}-preview`).boundingBox();
      assert.ok(img.y >= input.y + input.height && img.y - (input.y + input.height) < 60, `${slot} preview is far from its input`);
      assert.ok(Math.abs(img.x - input.x) < 40, `${slot} preview is not under its input`);
    }
    await shot(page, 'review-oversized', width);
    await page.setInputFiles('#front', await jpeg(page, '身份证A面'));
    await page.click('#submit');
    await page.waitForSelector('#confirm-dialog[open]');
    assert.match(await page.textContent('#confirm-dialog'), /您还剩3次机会/);
    await page.click('#confirm-back');
    // A PNG renamed .jpg passes the page's look and is refused by the server: one message, at
    // the photo, none above the button (pages second pass, item 4).
    const pngBytes = Buffer.from(await page.evaluate(() => {
      const c = document.createElement('canvas');
      c.width = 64; c.height = 48;
      c.getContext('2d').fillRect(0, 0, 10, 10);
      return c.toDataURL('image/png').split(',')[1];
    }), 'base64');
    await page.setInputFiles('#front', { name: 'front.jpg', mimeType: 'image/jpeg', buffer: pngBytes });
    await page.click('#submit');
    await page.waitForSelector('#confirm-dialog[open]');
    await page.click('#confirm-submit');
    await page.waitForFunction(() => /照片格式应为JPG或JPEG/.test(document.querySelector('.msg[data-for="front"]').textContent));
    assert.equal(await page.textContent('#form-msg'), '');
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: the agreement keeps its headings, clauses and paragraphs`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/register`);
    await page.click('#open-terms');
    await page.waitForSelector('#terms-dialog[open]');
    const headings = await page.locator('.terms-text h3').allTextContents();
    assert.deepEqual(headings, ['一、账号注册', '二、账号安全', '三、个人信息保护', '四、其他']);
    const clauses = await page.locator('.terms-text ol.clauses').count();
    assert.equal(clauses, 4);
    assert.match(await page.locator('.terms-text ol.clauses li').first().textContent(), /^1\. 本网站账号为申请人的有效身份证件号码/);
    assert.match(await page.locator('.terms-text > p').first().textContent(), /^欢迎您注册中国教师资格网账号/);
    await shot(page, 'terms-dialog', width, false);
    assert.deepEqual(errors, []);
    await context.close();
  });
}

/** Binarised ink of a PNG screenshot (8-bit RGB/RGBA, not interlaced: what Chromium writes). */
function ink(png) {
  assert.equal(png.readUInt32BE(12), 0x49484452, 'IHDR first');
  const w = png.readUInt32BE(16);
  const h = png.readUInt32BE(20);
  const channels = { 2: 3, 6: 4 }[png[25]];
  assert.ok(png[24] === 8 && channels && png[28] === 0, 'an 8-bit RGB(A) PNG');
  const parts = [];
  for (let at = 8; at < png.length;) {
    const len = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') parts.push(png.subarray(at + 8, at + 8 + len));
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(parts));
  const stride = w * channels;
  const out = Buffer.alloc(h * stride);
  for (let y = 0; y < h; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const v = raw[y * (stride + 1) + 1 + x];
      const a = x >= channels ? out[y * stride + x - channels] : 0;
      const b = y > 0 ? out[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? out[(y - 1) * stride + x - channels] : 0;
      let p = 0;
      if (filter === 1) p = a;
      else if (filter === 2) p = b;
      else if (filter === 3) p = (a + b) >> 1;
      else if (filter === 4) {
        const q = a + b - c;
        const pa = Math.abs(q - a), pb = Math.abs(q - b), pc = Math.abs(q - c);
        p = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      out[y * stride + x] = (v + p) & 0xff;
    }
  }
  const mask = [];
  for (let i = 0; i < out.length; i += channels) mask.push(out[i] + out[i + 1] + out[i + 2] < 384 ? 1 : 0);
  return { w, h, mask };
}

/** Share of inked pixels that differ, over the area both cells cover (clips may differ by a pixel). */
function difference(a, b) {
  const w = Math.min(a.w, b.w);
  const h = Math.min(a.h, b.h);
  let diff = 0;
  let inked = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = a.mask[y * a.w + x];
      const q = b.mask[y * b.w + x];
      if (p !== q) diff++;
      if (p || q) inked++;
    }
  }
  return inked ? diff / inked : 0;
}

for (const width of WIDTHS) {
  test(`${width}px: an Extension B name (王𠀀) renders as itself in the personal centre, not as a box`, async () => {
    const { context, page, errors } = await signedIn(width, { name: '王𠀀' });
    await page.goto(`${server.base}/me/profile`);
    assert.match(await page.textContent('.centre-head'), /王𠀀/);
    await page.evaluate(() => document.fonts.ready);
    // Three cells in the page's own font stack and size: the name's rare
    // character as the page shows it, a code point no font has (the fallback
    // box), and a common character.
    const clip = async (sel) => page.locator(sel).screenshot();
    await page.evaluate(() => {
      const host = document.querySelector('.centre-head .muted');
      const style = getComputedStyle(host);
      for (const [id, text] of [['cell-rare', '\u{20000}'], ['cell-tofu', '\u{10FFFD}'], ['cell-common', '王']]) {
        const cell = document.createElement('span');
        cell.id = id;
        cell.textContent = text;
        Object.assign(cell.style, { display: 'inline-block', verticalAlign: 'top', width: '64px', height: '48px', lineHeight: '48px', overflow: 'hidden', textAlign: 'center', fontFamily: style.fontFamily, fontSize: '32px', color: '#000', background: '#fff' });
        host.parentNode.appendChild(cell);
      }
    });
    const rare = ink(await clip('#cell-rare'));
    const tofu = ink(await clip('#cell-tofu'));
    const common = ink(await clip('#cell-common'));
    assert.ok(rare.mask.some(Boolean), 'the rare character drew nothing');
    const vsTofu = difference(rare, tofu);
    const commonVsTofu = difference(common, tofu);
    // The method tells a real glyph from the box (王 vs box), and 𠀀 is as far from the box.
    assert.ok(commonVsTofu > 0.5, `a common glyph looks like the box (${commonVsTofu})`);
    assert.ok(vsTofu > 0.5, `𠀀 renders as the fallback box (difference ${vsTofu.toFixed(2)})`);
    await page.evaluate(() => { for (const id of ['cell-rare', 'cell-tofu', 'cell-common']) document.getElementById(id).remove(); });
    await shot(page, 'centre-ext-b', width, false);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: the personal centre holds on a phone: every tab in sight, a skip link, labels on inputs`, async () => {
    const { context, page, errors } = await signedIn(width, { name: '殷素素' }, false);
    // Entering a business before the profile is complete says why.
    await page.goto(`${server.base}/entries/certification`);
    await page.waitForURL(/\/me\/profile\?why=profile_incomplete$/);
    assert.match(await page.textContent('#page-error'), /须先完善个人信息，再办理业务/);
    // Tabs: every one in sight, on one row on a desktop, in a grid on a phone.
    const inSight = () => page.locator('.tabs .tab').evaluateAll((tabs) => tabs.every((t) => {
      const r = t.getBoundingClientRect();
      return r.left >= 0 && r.right <= window.innerWidth && r.width > 0;
    }));
    assert.equal(await inSight(), true, 'a tab is out of sight');
    const tops = await page.locator('.tabs .tab').evaluateAll((tabs) => tabs.map((t) => Math.round(t.getBoundingClientRect().top)));
    if (width >= 1280) assert.equal(new Set(tops).size, 1, `tabs wrap onto ${new Set(tops).size} rows`);
    // Every label points at a form control.
    const dangling = await page.evaluate(() => [...document.querySelectorAll('label[for]')]
      .filter((l) => !document.getElementById(l.htmlFor)?.matches('input, select, textarea')).map((l) => l.htmlFor));
    assert.deepEqual(dangling, []);
    // The first Tab reaches the skip link, which leads to the content.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.className), 'skip-link');
    assert.equal(await page.isVisible('.skip-link'), true);
    await shot(page, 'centre-skip-link', width, false);
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'main');
    await shot(page, 'centre-profile-incomplete', width);
    // The real-name tab at this width.
    // Pages second pass, item 11: on 实名认证 and 我的数据 the first tab stays in sight too.
    for (const path of ['/me/realname', '/me/data']) {
      await page.goto(`${server.base}${path}`);
      assert.equal(await inSight(), true, `${path}: a tab is out of sight`);
    }
    await page.goto(`${server.base}/me/realname`);
    await shot(page, 'centre-realname', width);
    assert.deepEqual(errors, []);
    await context.close();
  });

  test(`${width}px: login page and footer carry the manual's blocks; the business stand-in shows no configuration`, async () => {
    const { context, page, errors } = await open(width);
    await page.goto(`${server.base}/login/certification`);
    assert.match(await page.textContent('#wechat-accounts'), /中国教师资格网公众号[\s\S]*订阅号[\s\S]*服务号/);
    assert.equal(await page.textContent('#police-record'), '京公网安备110402430002号');
    await shot(page, 'login', width);
    await context.close();

    const s = await signedIn(width, { name: '宋远桥' });
    await addIdentity(server.base, 'resident_id', s.who.doc, '宋远桥');
    await s.page.goto(`${server.base}/me/realname`);
    await s.page.click('#verify');
    await s.page.click('#confirm-submit');
    await s.page.waitForSelector('#verify-ok:not([hidden])');
    assert.equal(await s.page.isVisible('#apply-review'), false, 'no manual review once verified');
    await s.page.goto(`${server.base}/entries/certification`);
    await s.page.waitForURL(/\/(business|dev\/rp)\/certification$/);
    const text = await s.page.textContent('main');
    assert.doesNotMatch(text, /\[entries\]|entries|配置/);
    assert.match(text, /教师资格认定/);
    await shot(s.page, 'business-standin', width, false);
    assert.deepEqual(errors, []);
    assert.deepEqual(s.errors, []);
    await s.context.close();
  });
}
