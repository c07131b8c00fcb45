// 实名认证 and 人工审核 in a real browser: the confirmation dialog with the
// attempts left and the name, success, the failure guidance with the CTID
// guide and 申请人工审核, and a manual review application with photos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, cli, SCREENSHOTS } from './helpers.mjs';
import { register, login, addIdentity, phoneContext, jpeg } from './applicant.mjs';

const { server, browser } = await withServer();

async function signedIn(who) {
  const { status, cookie } = await login(server.base, who.doc, who.password);
  assert.equal(status, 200);
  return phoneContext(browser, cookie, server.base);
}

test('a name change is verified and saved only with the new name', async () => {
  const who = await register(server.base, { name: '欧阳娜娜' });
  // The authority knows the applicant under a name with the middle dot.
  await addIdentity(server.base, 'resident_id', who.doc, '买买提·艾力');
  const { context, page, errors } = await signedIn(who);

  await page.goto(`${server.base}/me/realname`);
  assert.equal(await page.textContent('#realname-status'), '提示：您还未进行实名认证。');
  assert.equal(await page.inputValue('#name'), '欧阳娜娜');
  for (const n of ['1、不做实名认证', '6、每年1月1日到8月31日']) assert.match(await page.textContent('.notes'), new RegExp(n));

  await page.click('#verify');
  await page.waitForSelector('#confirm-dialog[open]');
  const dialog = await page.textContent('#confirm-dialog');
  assert.match(dialog, /每日您最多可进行三次实名认证，您还剩3次，是否确认提交？/);
  assert.match(dialog, /您使用当前证件号码进行实名认证的姓名为：欧阳娜娜，请确认与证件是否一致。/);
  // 返回检查 closes the dialog and spends nothing.
  await page.click('#confirm-back');
  assert.equal(await page.isVisible('#confirm-dialog'), false);

  // The old name fails: the guidance names the CTID guide and manual review.
  await page.click('#verify');
  await page.click('#confirm-submit');
  await page.waitForSelector('#verify-failed:not([hidden])');
  assert.equal(await page.getAttribute('#ctid-link', 'href'), '/guide/ctid');
  assert.equal(await page.isVisible('#failed-ctid'), true);
  assert.equal(await page.getAttribute('#apply-review', 'href'), '/me/review');
  await page.screenshot({ path: join(SCREENSHOTS, 'realname-failed-360.png'), fullPage: true });

  // The new name, typed with a look-alike dot, passes.
  await page.fill('#name', '买买提•艾力');
  await page.click('#verify');
  await page.waitForSelector('#confirm-dialog[open]');
  assert.match(await page.textContent('#confirm-dialog'), /您还剩2次/);
  await page.click('#confirm-submit');
  await page.waitForSelector('#verify-ok:not([hidden])');
  assert.match(await page.textContent('#verify-ok'), /实名认证成功/);
  assert.equal(await page.textContent('#realname-status'), '提示：实名认证成功。');
  assert.equal(await page.isVisible('#verify-failed'), false);

  const me = await fetch(`${server.base}/api/v1/me`, { headers: { Cookie: (await context.cookies()).map((c) => `${c.name}=${c.value}`).join('; ') } }).then((r) => r.json());
  assert.equal(me.name, '买买提·艾力');
  assert.equal(me.realname.status, 'verified');
  await page.reload();
  assert.equal(await page.textContent('#realname-status'), '提示：实名认证成功。');
  assert.deepEqual(errors, []);
  await context.close();
});

test('after a failed check the applicant files a manual review', async () => {
  const who = await register(server.base, { name: '张三丰' });
  const { context, page, errors } = await signedIn(who);

  await page.goto(`${server.base}/me/realname`);
  await page.click('#verify');
  await page.click('#confirm-submit');
  await page.waitForSelector('#verify-failed:not([hidden])');
  await page.click('#ctid-link');
  await page.waitForURL(/\/guide\/ctid$/);
  assert.match(await page.textContent('h1'), /居民身份证网上功能凭证开通指南/);
  assert.match(await page.textContent('.guide'), /设置八位数字网证口令/);
  await page.click('#apply-review');
  await page.waitForURL(/\/me\/review$/);
  assert.equal(await page.textContent('h1'), '中国教师资格网——人工审核');

  // The end date follows the period and the start date (29 Feb → 28 Feb).
  assert.equal(await page.inputValue('#validity_end'), '2040-05-01');
  await page.check('input[name="validity_period"][value="10y"]');
  await page.fill('#validity_start', '2016-02-29');
  await page.locator('#validity_start').dispatchEvent('change');
  assert.equal(await page.inputValue('#validity_end'), '2026-02-28');
  await page.check('input[name="validity_period"][value="long"]');
  assert.equal(await page.inputValue('#validity_end'), '长期');
  await page.check('input[name="validity_period"][value="20y"]');
  await page.fill('#validity_start', '2020-05-01');
  await page.locator('#validity_start').dispatchEvent('change');

  // Hints before sending: too big, not a JPEG.
  await page.setInputFiles('#front', { name: 'big.jpg', mimeType: 'image/jpeg', buffer: Buffer.alloc(200000, 1) });
  assert.match(await page.textContent('.msg[data-for="front"]'), /应小于190KB/);
  await page.setInputFiles('#back', { name: 'scan.png', mimeType: 'image/png', buffer: Buffer.from('not a jpeg') });
  assert.match(await page.textContent('.msg[data-for="back"]'), /JPG/);

  // The server decides: a file that is not a JPEG is refused by name.
  await page.setInputFiles('#front', await jpeg(page, '身份证A面'));
  await page.setInputFiles('#back', { name: 'fake.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not a jpeg at all') });
  await page.setInputFiles('#handheld', await jpeg(page, '手持身份证'));
  await page.fill('#reason', '实名认证未通过，身份信息近期有变更。');
  await page.click('#submit');
  await page.waitForSelector('#confirm-dialog[open]');
  const dialog = await page.textContent('#confirm-dialog');
  assert.match(dialog, /请确认您上传的图片符合要求，避免因照片不清晰、存在旋转或镜像反转，无法识别，导致审核不通过，进而延误报名。/);
  assert.match(dialog, /1月1日到8月31日，9月1日到12月31日，每个周期您可以进行三次人工审核，您还剩3次机会，是否确认提交？/);
  await page.click('#confirm-submit');
  await page.waitForFunction(() => document.querySelector('.msg[data-for="back"]').textContent.includes('JPG'));
  assert.equal(await page.isVisible('#review-done'), false);

  await page.setInputFiles('#back', await jpeg(page, '身份证B面'));
  await page.waitForFunction(() => ['front', 'back', 'handheld'].every((s) => document.querySelector(`#${s}-preview`).naturalWidth > 0));
  await page.click('#submit');
  await page.waitForSelector('#confirm-dialog[open]');
  await page.click('#confirm-submit');
  await page.waitForSelector('#review-done:not([hidden])');
  assert.match(await page.textContent('#due-date'), /^\d{4}-\d{2}-\d{2}$/);
  assert.match(await page.textContent('#review-done'), /仅能保证7个工作日之内给出结论/);
  await page.screenshot({ path: join(SCREENSHOTS, 'review-submitted-360.png'), fullPage: true });

  // Pending: the tab says so and verification is off.
  await page.click('#review-done a');
  await page.waitForURL(/\/me\/realname$/);
  assert.equal(await page.textContent('#realname-status'), '提示：您已提交人工审核，请耐心等待');
  assert.equal(await page.isDisabled('#verify'), true);
  await page.goto(`${server.base}/me/review`);
  assert.equal(await page.isVisible('#review-form'), false);
  assert.match(await page.textContent('#review-pending'), /您已提交人工审核，请耐心等待/);

  // A reviewer approves it in the staff console…
  const out = await cli(server, ['staff', 'add', '--username', 'journey', '--role', 'reviewer']);
  const password = /^password: (\S+)$/m.exec(out)[1];
  const staffContext = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const desk = await staffContext.newPage();
  await desk.goto(`${server.base}/staff/login`);
  await desk.fill('#username', 'journey');
  await desk.fill('#password', password);
  await desk.click('#submit');
  await desk.waitForURL(`${server.base}/staff`);
  await desk.locator('tr[data-id] a').first().click();
  await desk.waitForURL(/\/staff\/reviews\//);
  assert.match(await desk.textContent('main'), /张三丰/);
  desk.once('dialog', (d) => d.accept());
  await desk.click('#approve');
  await desk.waitForURL(/flash=approved/);
  await staffContext.close();

  // …and the applicant sees 人工审核通过 and may do business.
  await page.goto(`${server.base}/me/realname`);
  assert.equal(await page.textContent('#realname-status'), '提示：人工审核通过，可正常办理业务。如有需要，仍可进行实名认证。');
  const profile = await page.request.put(`${server.base}/api/v1/me/profile`, { data: { ethnicity: '01' } });
  assert.equal(profile.status(), 200);
  await page.goto(`${server.base}/entries/certification`);
  await page.waitForURL(/\/(business|dev\/rp)\/certification$/);
  assert.deepEqual(errors, []);
  await context.close();
});
