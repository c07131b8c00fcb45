// 人工审核 end to end: an applicant whose real-name check fails applies for
// manual review with three photos; a reviewer signs in to the staff console,
// sees the item in the queue with its photos, approves it, and the applicant
// sees 人工审核通过. Also: two reviewers on one item, the applicant's cookie
// on staff pages, and the admins-only audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, cli, residentId, phone, lastCode, powNonce, SCREENSHOTS } from './helpers.mjs';

const { server, browser } = await withServer();

/** A drag the way a hand makes it: every ~30 ms, easing out, a pixel of wobble. */
function humanTrack(x) {
  const n = 30;
  const track = [{ t: 0, x: 0, y: 0 }];
  let y = 0;
  for (let i = 1; i < n; i++) {
    const u = i / (n - 1);
    y = Math.max(-3, Math.min(3, y + (i % 3 === 0 ? 1 : i % 3 === 1 ? -1 : 0)));
    const eased = 1 - Math.pow(1 - u, 3);
    track.push({ t: i * 30 + (i % 2), x: i === n - 1 ? x : Math.round(x * eased), y: i === n - 1 ? 0 : y });
  }
  return track;
}

/** Solve a slider captcha through the API (dev mode tells the answer). */
async function captchaToken(request, purpose) {
  const res = await request.post(`${server.base}/api/v1/captchas`, { data: { purpose } });
  assert.equal(res.status(), 201);
  const challenge = await res.json();
  const x = challenge.dev_solution;
  const answer = await request.post(`${server.base}/api/v1/captchas/${challenge.id}/answer`, { data: { x, track: humanTrack(x), pow_nonce: powNonce(challenge) } });
  assert.equal(answer.status(), 200, await answer.text());
  return (await answer.json()).captcha_token;
}

/** Register an applicant through the JSON API; returns the document number and password. */
async function registerApplicant(request, name) {
  const doc = residentId('19850315');
  const mobile = phone();
  const password = 'Abc#2024x';
  const sms = await request.post(`${server.base}/api/v1/verification-codes`, {
    data: { channel: 'sms', phone: mobile, purpose: 'register', captcha_token: await captchaToken(request, 'sms') },
  });
  assert.equal(sms.status(), 202, await sms.text());
  const res = await request.post(`${server.base}/api/v1/accounts`, {
    data: {
      doc_type: 'resident_id', doc_number: doc, name, validity: { period: '20y', start: '2015-05-01' },
      password, password_confirm: password, email: `${mobile}@example.com`, phone: mobile,
      verification_code: await lastCode(server.base, mobile), agree_terms: true, confirm_validity_warning: false,
    },
  });
  assert.equal(res.status(), 201, await res.text());
  return { doc, password };
}

/** A real JPEG drawn on a canvas in the page, as bytes. */
async function jpeg(page, label, hue) {
  const dataUrl = await page.evaluate(([text, h]) => {
    const c = document.createElement('canvas');
    c.width = 300;
    c.height = 200;
    const g = c.getContext('2d');
    g.fillStyle = `hsl(${h}, 45%, 85%)`;
    g.fillRect(0, 0, 300, 200);
    g.fillStyle = '#333';
    g.fillRect(20, 40, 80, 100);
    g.font = '24px sans-serif';
    g.fillText(text, 120, 100);
    return c.toDataURL('image/jpeg', 0.8);
  }, [label, hue]);
  assert.match(dataUrl, /^data:image\/jpeg;base64,/);
  const buffer = Buffer.from(dataUrl.split(',')[1], 'base64');
  assert.ok(buffer.length < 190000 && buffer[0] === 0xff && buffer[1] === 0xd8);
  return buffer;
}

/** Create a staff member with the operator command; returns the initial password. */
async function addStaff(username, role) {
  const out = await cli(server, ['staff', 'add', '--username', username, '--role', role]);
  const m = /^password: (\S+)$/m.exec(out);
  assert.ok(m, `no password in: ${out}`);
  assert.match(out, /^totp: \S+$/m);
  return m[1];
}

/** A desktop browser context watching for script errors and CSP violations. */
async function desktop() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const errors = [];
  context.on('page', (p) => {
    p.on('pageerror', (e) => errors.push(String(e)));
    p.on('console', (m) => { if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(m.text()); });
  });
  return { context, errors };
}

async function staffSignIn(context, username, password) {
  const page = await context.newPage();
  await page.goto(`${server.base}/staff/login`);
  assert.match(await page.textContent('h1'), /审核系统登录/);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(`${server.base}/staff`);
  return page;
}

/**
 * An applicant registered and logged in (in a browser context of their own),
 * profile complete, whose real-name self-check failed and who then applied
 * for manual review with three photos.
 */
async function applicantUnderReview(name, reason) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN' });
  const page = await context.newPage();
  await page.goto(`${server.base}/`);
  const request = page.request;
  const { doc, password } = await registerApplicant(request, name);
  const login = await request.post(`${server.base}/api/v1/sessions`, {
    data: { doc_number: doc, password, captcha_token: await captchaToken(request, 'login'), entry: 'certification' },
  });
  assert.equal(login.status(), 200, await login.text());
  assert.ok((await context.cookies()).some((c) => c.name === 'jszg_session'));
  const profile = await request.put(`${server.base}/api/v1/me/profile`, { data: { ethnicity: '01' } });
  assert.equal(profile.status(), 200, await profile.text());
  // The reference registry does not know this person: the check fails.
  const check = await request.post(`${server.base}/api/v1/me/realname`, { data: {} });
  assert.equal(check.status(), 422);
  assert.equal((await check.json()).error.code, 'realname_failed');

  const photo = async (slot, label, hue) => ({ name: `${slot}.jpg`, mimeType: 'image/jpeg', buffer: await jpeg(page, label, hue) });
  const applied = await request.post(`${server.base}/api/v1/me/reviews`, {
    multipart: {
      validity_period: '20y', validity_start: '2015-05-01', name, reason,
      front: await photo('front', '人像面', 200), back: await photo('back', '国徽面', 30), handheld: await photo('handheld', '手持', 120),
    },
  });
  assert.equal(applied.status(), 201, await applied.text());
  const review = await applied.json();
  assert.equal(review.status, 'pending');
  return { context, page, request, doc, review };
}

test('a failed real-name check goes to manual review and a reviewer approves it', async () => {
  const { context: applicant, page: me, request, doc, review } = await applicantUnderReview('王小明', '本人信息无误，自动核验未通过，申请人工审核。');

  // The applicant's session opens nothing in the staff console.
  await me.goto(`${server.base}/staff`);
  assert.equal(new URL(me.url()).pathname, '/staff/login');
  await me.goto(`${server.base}/staff/reviews/${review.id}`);
  assert.equal(new URL(me.url()).pathname, '/staff/login');
  assert.equal((await request.get(`${server.base}/staff/reviews/${review.id}/photos/front`)).status(), 401);
  assert.equal((await request.get(`${server.base}/api/v1/staff/reviews`)).status(), 401);

  // The reviewer, in a browser of their own.
  const staffPassword = await addStaff('rev1', 'reviewer');
  const { context: staff, errors } = await desktop();
  const queue = await staffSignIn(staff, 'rev1', staffPassword);
  // The initial password: invited, not forced, to change it.
  assert.match(await queue.textContent('#password-banner'), /修改密码/);
  assert.match(await queue.textContent('.tab.active'), /身份核验人工审核/);
  assert.match(await queue.textContent('.filter.active'), /待审核/);
  const row = queue.locator(`tr[data-id="${review.id}"]`);
  assert.equal(await row.count(), 1);
  assert.match(await row.textContent(), /王小明/);
  assert.match(await row.textContent(), new RegExp(`${doc.slice(0, 2)}\\*{5}${doc.slice(-2)}`));
  assert.match(await row.textContent(), new RegExp(review.due_date));
  assert.match(await row.locator('td[data-label="剩余工作日"]').textContent(), /个工作日/);
  await queue.screenshot({ path: join(SCREENSHOTS, 'staff-queue-1280.png') });
  // On a phone the table turns into one card per item, nothing cut off.
  await queue.setViewportSize({ width: 390, height: 844 });
  assert.ok(await queue.evaluate(() => document.documentElement.scrollWidth <= 390));
  // Every kind of item in sight, 账号申诉 too (pages second pass, item 11).
  assert.ok(await queue.locator('.tabs a').evaluateAll((tabs) => tabs.length === 3 && tabs.every((t) => {
    const r = t.getBoundingClientRect();
    return r.left >= 0 && r.right <= window.innerWidth;
  })), 'a kind of item is cut off');
  await queue.screenshot({ path: join(SCREENSHOTS, 'staff-queue-390.png'), fullPage: true });
  await queue.setViewportSize({ width: 1280, height: 900 });

  // A second tab on the same item, to play the colleague who comes too late.
  const late = await staff.newPage();
  await late.goto(`${server.base}/staff/reviews/${review.id}`);

  await row.locator('a').click();
  await queue.waitForURL(`${server.base}/staff/reviews/${review.id}`);
  assert.match(await queue.textContent('#submitted'), /王小明/);
  assert.match(await queue.textContent('#applicant-reason'), /自动核验未通过/);
  assert.match(await queue.textContent('#current'), /汉族/);
  assert.match(await queue.textContent('#current'), /人工审核中/);
  // The three photos load from the staff-only route.
  await queue.waitForFunction(() => {
    const imgs = [...document.querySelectorAll('.photo img')];
    return imgs.length === 3 && imgs.every((i) => i.complete && i.naturalWidth > 0);
  });
  const sizes = await queue.$$eval('.photo img', (imgs) => imgs.map((i) => [new URL(i.src).pathname, i.naturalWidth, i.naturalHeight]));
  assert.deepEqual(sizes.map((s) => s[0]), ['front', 'back', 'handheld'].map((slot) => `/staff/reviews/${review.id}/photos/${slot}`));
  assert.ok(sizes.every((s) => s[1] === 300 && s[2] === 200));
  const photoRes = await staff.request.get(`${server.base}/staff/reviews/${review.id}/photos/front`);
  assert.equal(photoRes.headers()['content-type'], 'image/jpeg');
  assert.equal(photoRes.headers()['cache-control'], 'no-store');
  // One click per common reason.
  assert.equal(await queue.locator('#common-reasons button[name="common_reason"]').count(), 6);
  assert.equal(await queue.getAttribute('#common-reasons button:has-text("民族错误")', 'value'), '民族错误');
  await queue.screenshot({ path: join(SCREENSHOTS, 'staff-review-1280.png'), fullPage: true });

  queue.once('dialog', (d) => d.accept());
  await queue.click('#approve');
  await queue.waitForURL(/\/staff\?kind=identity&flash=approved$/);
  assert.match(await queue.textContent('#flash'), /已通过/);
  assert.equal(await queue.locator(`tr[data-id="${review.id}"]`).count(), 0);
  await queue.click('.filter[data-status="approved"]');
  await queue.waitForURL(/status=approved/);
  assert.equal(await queue.locator(`tr[data-id="${review.id}"]`).count(), 1);

  // The colleague's stale page: 民族错误 now loses the race.
  late.once('dialog', (d) => d.accept());
  await late.click('#common-reasons button[value="民族错误"]');
  await late.waitForSelector('#page-error');
  assert.match(await late.textContent('#page-error'), /该申请已由其他工作人员处理。/);
  assert.match(await late.textContent('#review-status'), /已通过/);
  assert.equal(await late.locator('#decision-form').count(), 0);

  // Reviewers do not read the audit log.
  const audit = await staff.newPage();
  const refused = await audit.goto(`${server.base}/staff/audit`);
  assert.equal(refused.status(), 403);
  assert.match(await audit.textContent('#error-message'), /只有管理员/);
  assert.deepEqual(errors, []);
  await staff.close();

  // The applicant sees the result.
  const after = await (await request.get(`${server.base}/api/v1/me`)).json();
  assert.equal(after.realname.status, 'review_approved');
  await me.goto(`${server.base}/me/realname`);
  assert.match(await me.textContent('main'), /人工审核通过/);
  await me.screenshot({ path: join(SCREENSHOTS, 'realname-approved-390.png') });
  await applicant.close();
});

// Moves the shared dev clock forward: keep it the last test of the file.
test('overdue items are marked; an admin searches the audit log; 退出 ends the session', async () => {
  const reviewerPassword = await addStaff('rev2', 'reviewer');
  const adminPassword = await addStaff('adm1', 'admin');
  const { context: reviewer } = await desktop();
  const rp = await staffSignIn(reviewer, 'rev2', reviewerPassword);
  // 退出 ends the session; the console then asks for a login again.
  await rp.click('#logout');
  await rp.waitForURL(`${server.base}/staff/login`);
  await rp.goto(`${server.base}/staff`);
  assert.equal(new URL(rp.url()).pathname, '/staff/login');
  // A wrong password is answered in Chinese on the login page.
  await rp.fill('#username', 'rev2');
  await rp.fill('#password', 'wrong-password');
  await rp.click('#submit');
  assert.match(await rp.textContent('#login-error'), /用户名、密码或动态口令错误/);
  await reviewer.close();

  // An application nobody decided for 15 days: past its 7 working days.
  const { context: applicant, doc, review } = await applicantUnderReview('李小红', '自动核验未通过，申请人工审核。');
  await applicant.close();
  const moved = await fetch(`${server.base}/api/v1/dev/clock`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ advance_seconds: 15 * 86400 }),
  });
  assert.equal(moved.status, 200);

  const { context: admin, errors } = await desktop();
  const page = await staffSignIn(admin, 'adm1', adminPassword);
  const row = page.locator(`tr[data-id="${review.id}"]`);
  assert.equal(await row.getAttribute('class'), 'overdue');
  assert.match(await row.locator('td[data-label="剩余工作日"]').textContent(), /已超期 \d+ 个工作日/);
  assert.match(await page.textContent('#queue-count'), /1 条已超期/);

  await page.click('a[href="/staff/audit"]');
  await page.waitForURL(`${server.base}/staff/audit`);
  await page.fill('#staff', 'rev2');
  await page.fill('#from', '2000-01-01T00:00');
  await page.click('#audit-form button[type="submit"]');
  await page.waitForSelector('#audit');
  const text = await page.textContent('#audit');
  assert.match(text, /工作人员登录/);
  assert.match(text, /工作人员 rev2/);
  await page.screenshot({ path: join(SCREENSHOTS, 'staff-audit-1280.png'), fullPage: true });
  // By the applicant's document number: their own steps.
  await page.fill('#staff', '');
  await page.fill('#from', '');
  await page.fill('#account', doc);
  await page.click('#audit-form button[type="submit"]');
  await page.waitForSelector('#audit');
  assert.match(await page.textContent('#audit'), /提交人工审核申请/);
  // A time range before any event finds nothing.
  await page.fill('#account', '');
  await page.fill('#from', '2000-01-01T00:00');
  await page.fill('#to', '2000-01-02T00:00');
  await page.click('#audit-form button[type="submit"]');
  await page.waitForSelector('#audit-empty');
  assert.deepEqual(errors, []);
  await admin.close();
});
