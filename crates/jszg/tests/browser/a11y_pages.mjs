// The pages the accessibility checks walk (SPEC A11Y-1, A11Y-6): every page an applicant can
// reach, and the staff console's login, queue and review pages, with the people and links they
// need. docs/applicant-pages.md ("Accessibility") lists the same pages: a new page goes into both.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cli, outbox, readyPuzzle, dragTo, sizedContext, SCREENSHOTS } from './helpers.mjs';
import { register, login, addIdentity, api, captchaToken, jpeg } from './applicant.mjs';
import { axeViolations, horizontalOverflow } from './a11y.mjs';

let server;
let browser;
let applicant;      // signed in, real-name verified
let unverified;     // signed in, under manual review
let staff;          // a reviewer's session cookie
let reviewId;
let resetLink;
let recoverer;

/** Register the applicants, the review, the reviewer and a live reset link the pages need. */
export async function prepare(theServer, theBrowser) {
  server = theServer;
  browser = theBrowser;

  const base = server.base;

  const who = await register(base);
  await addIdentity(base, who.docType, who.doc, who.name);
  applicant = (await login(base, who.doc, who.password)).cookie;
  await api(base, '/api/v1/me/realname', {}, applicant);

  // A second applicant the registry does not know, who applied for manual review.
  const other = await register(base, { name: '王芳' });
  unverified = (await login(base, other.doc, other.password)).cookie;
  const put = await fetch(`${base}/api/v1/me/profile`, { method: 'PUT', headers: { 'Content-Type': 'application/json', Cookie: unverified }, body: JSON.stringify({ ethnicity: '01' }) });
  assert.equal(put.status, 200);
  assert.equal((await api(base, '/api/v1/me/realname', {}, unverified)).status, 422);
  const { context, page } = await sizedContext(browser, base, { width: 360 });
  await page.goto(`${base}/`);
  const form = new FormData();
  for (const [k, v] of Object.entries({ validity_period: '20y', validity_start: '2020-05-01', name: other.name, reason: '本人信息无误，申请人工审核。' })) form.append(k, v);
  for (const slot of ['front', 'back', 'handheld']) {
    const photo = await jpeg(page, slot);
    form.append(slot, new Blob([photo.buffer], { type: 'image/jpeg' }), photo.name);
  }
  await context.close();
  const applied = await fetch(`${base}/api/v1/me/reviews`, { method: 'POST', headers: { Cookie: unverified }, body: form });
  const body = await applied.text();
  assert.equal(applied.status, 201, body);
  reviewId = JSON.parse(body).id;

  const out = await cli(server, ['staff', 'add', '--username', 'a11y', '--role', 'reviewer']);
  const password = /^password: (\S+)$/m.exec(out)[1];
  const signIn = await api(base, '/api/v1/staff/sessions', { username: 'a11y', password });
  assert.equal(signIn.status, 200, JSON.stringify(signIn.body));
  staff = signIn.headers.get('set-cookie').split(';')[0];

  // A live password-reset link, as the mail carries it.
  const started = await api(base, '/api/v1/recoveries', { doc_type: who.docType, doc_number: who.doc, name: who.name, captcha_token: await captchaToken(base, 'recovery') });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  assert.equal((await api(base, `/api/v1/recoveries/${started.body.id}/email`, {})).status, 202);
  const mail = (await outbox(base, who.email)).find((m) => m.channel === 'email');
  resetLink = /https?:\/\/\S+\/reset\/[A-Za-z0-9_-]+/.exec(mail.body)[0];
  recoverer = who;

}

/**
 * The pages, each as [name, who is signed in, path, steps to take on the page before checking].
 * Steps bring up the parts a page shows later (recovery's step 2 and its panels, the terms).
 */
export const PAGES = [
  ['首页', null, '/'],
  ['注册', null, '/register'],
  ['注册协议', null, '/register', async (page) => { await page.click('#open-terms'); await page.waitForSelector('#terms-dialog[open]'); }],
  ['注册成功', null, '/register/done'],
  ['教师资格认定登录', null, '/login/certification'],
  ['定期注册登录', null, '/login/renewal'],
  ['忘记密码 第一步', null, '/recover'],
  ['忘记密码 第二步（邮箱）', null, '/recover', async (page) => { await recoverStep2(page); }],
  ['忘记密码 第二步（短信）', null, '/recover', async (page) => { await recoverStep2(page); await page.click('label[data-method="sms"]'); }],
  ['忘记密码 第二步（微信）', null, '/recover', async (page) => { await recoverStep2(page); await page.click('label[data-method="wechat"]'); }],
  ['修改联系方式申请', null, '/recover', async (page) => {
    await recoverStep2(page);
    await page.click('#change-email');
    await page.waitForSelector('#change:not([hidden])');
  }],
  ['重置密码', null, () => resetLink],
  ['重置链接已失效', null, '/reset/not-a-live-token'],
  ['撤销联系方式修改', null, '/contact-changes/cancel?token=not-a-live-token'],
  ['证件号码被占用申诉', null, '/register/claim'],
  ['CTID 指南', null, '/guide/ctid'],
  ['页面不存在', null, '/no-such-page'],
  ['个人中心 基本信息', 'applicant', '/me/profile'],
  ['个人中心 修改密码', 'applicant', '/me/password'],
  ['个人中心 修改手机', 'applicant', '/me/phone'],
  ['个人中心 修改邮箱', 'applicant', '/me/email'],
  ['个人中心 我的数据', 'applicant', '/me/data'],
  ['个人中心 实名核验（已通过）', 'applicant', '/me/realname'],
  ['个人中心 实名核验（未通过）', 'unverified', '/me/realname'],
  ['个人中心 人工审核', 'unverified', '/me/review'],
  ['审核系统登录', null, '/staff/login'],
  ['审核队列', 'staff', '/staff'],
  ['审核详情', 'staff', () => `/staff/reviews/${reviewId}`],
];

async function recoverStep2(page) {
  await page.selectOption('#doc_type', recoverer.docType);
  await page.fill('#doc_number', recoverer.doc);
  await page.fill('#name', recoverer.name);
  // Pages are checked side by side on two cores: a drag whose pointer events arrive bunched is
  // refused as a script's would be, and the page offers a new puzzle; drag again, as a person does.
  for (let attempt = 1; ; attempt++) {
    await dragTo(page, await readyPuzzle(page));
    await page.waitForFunction(() => ['success', 'failure'].includes(document.querySelector('#captcha').dataset.state));
    if ((await page.getAttribute('#captcha', 'data-state')) === 'success') break;
    assert.ok(attempt < 3, 'the drag was refused three times');
  }
  await page.click('#next');
  await page.waitForSelector('#step2:not([hidden])');
}

const cookieOf = (who) => ({ applicant, unverified, staff }[who] ?? null);

/**
 * The sizes every page is checked at, in order, in one window at device scale 2 (so 640 CSS px is
 * 200 % zoom of a 1280 px window): 320 px and 640 px for reflow (A11Y-6), 360 and 1280 px with
 * axe-core too (A11Y-1). The page is opened once and its window resized, as a person turning a
 * phone or widening a window does; every size must hold without a reload.
 */
export const SIZES = [
  { width: 320, axe: false },
  { width: 360, axe: true },
  { width: 640, axe: false },
  { width: 1280, axe: true },
];

/** Walk every page in one mode at every size; returns what failed, page by page. */
export async function walk({ care, sizes = SIZES }) {
  // Much of a page's time is waiting (loads, the slider's drag): two at once keep two cores busy
  // without bunching the drags' pointer events.
  const found = await pool(PAGES, 2, (entry) => checkPage(entry, { care, sizes }));
  return found.flat();
}

async function pool(items, size, run) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => { while (next < items.length) { const i = next++; out[i] = await run(items[i]); } };
  await Promise.all(Array.from({ length: size }, worker));
  return out;
}

async function checkPage([name, who, path, steps], { care, sizes }) {
  const failures = [];
  const { context, page, errors } = await sizedContext(browser, server.base, { width: sizes[0].width, zoom: 2, care, cookie: cookieOf(who), bypassCSP: true });
  try {
    const at = typeof path === 'function' ? path() : path;
    await page.goto(at.startsWith('http') ? at : `${server.base}${at}`);
    await page.waitForLoadState('load');
    if (steps) await steps(page);
    // The slider's picture arrives by fetch: check the page with it.
    if (await page.$('#captcha')) await page.waitForFunction(() => ['ready', 'success'].includes(document.querySelector('#captcha').dataset.state) || document.querySelector('#step1')?.hidden);
    // 关怀模式 is the applicant pages' promise; the staff console is held to AA in both.
    const applicantPage = !at.includes('/staff');
    if (care && applicantPage) {
      assert.equal(await page.getAttribute('html', 'class'), 'care', `${name}: 关怀模式 from the cookie`);
    }
    for (const { width, axe } of sizes) {
      await page.setViewportSize({ width, height: 740 });
      if (axe) {
        const v = await axeViolations(page, { care: care && applicantPage });
        if (v.length) failures.push(`${name} ${path} at ${width}px: ${v.join(' | ')}`);
      }
      const over = await horizontalOverflow(page);
      if (over > 0) failures.push(`${name}: scrolls sideways by ${over}px at ${width}px`);
      if (axe && (name === '注册' || name === '忘记密码 第二步（短信）' || name === '个人中心 基本信息')) {
        await page.screenshot({ path: join(SCREENSHOTS, `a11y-${name.replace(/\s+/g, '-')}-${width}${care ? '-care' : ''}.png`), fullPage: true });
      }
    }
    if (errors.length) failures.push(`${name}: script errors ${errors.join(' | ')}`);
  } catch (e) {
    failures.push(`${name}: ${e.message.split('\n')[0]}`);
  } finally {
    await context.close();
  }
  return failures;
}
