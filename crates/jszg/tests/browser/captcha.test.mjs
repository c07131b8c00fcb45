// The slider captcha as a person meets it: at phone and desktop width, drag the piece to the true
// hole (the dev solution) with real pointer events while the page solves the proof of work in its
// Web Worker; and how long that worker takes per difficulty level in this Chromium.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { withServer, readyPuzzle, dragTo, SCREENSHOTS } from './helpers.mjs';

const { server, browser } = await withServer();

for (const width of [360, 1280]) {
  test(`a person's drag to the hole passes at ${width} px, with the proof of work solved by the page`, async () => {
    const context = await browser.newContext({ viewport: { width, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    const answers = [];
    page.on('request', (r) => { if (r.url().endsWith('/answer')) answers.push(r.postDataJSON()); });
    await page.goto(`${server.base}/login/renewal`);
    const solution = await readyPuzzle(page);
    assert.ok(solution > 0);
    await dragTo(page, solution);
    await page.waitForFunction(() => ['success', 'failure'].includes(document.querySelector('#captcha')?.dataset.state), null, { timeout: 20000 });
    assert.equal(await page.getAttribute('#captcha', 'data-state'), 'success');
    assert.ok((await page.getAttribute('#captcha', 'data-captcha-token')).length >= 32);
    assert.equal(answers.length, 1);
    assert.match(answers[0].pow_nonce, /^[0-9]+$/);
    console.log(`captcha ${width}px: proof of work at the base level solved in ${await page.getAttribute('#captcha', 'data-pow-ms')} ms`);
    await context.close();
  });
}

test('the worker solves each difficulty level, and its nonces verify', async () => {
  const page = await browser.newPage();
  await page.goto(`${server.base}/login/renewal`);
  const rows = [];
  // Solve time varies with luck (geometric in the hashes needed), so several samples per level.
  for (const [difficulty, samples] of [[14, 8], [16, 6], [18, 4], [20, 3], [22, 2]]) {
    let ms = 0;
    let hashes = 0;
    for (let k = 0; k < samples; k++) {
      const challenge = `bench-${difficulty}-${k}-${Math.random().toString(36).slice(2)}`;
      const got = await page.evaluate(({ challenge, difficulty }) => new Promise((ok, fail) => {
        const w = new Worker('/static/pow.js');
        w.onmessage = (e) => { w.terminate(); ok(e.data); };
        w.onerror = (e) => fail(new Error(e.message));
        w.postMessage({ challenge, difficulty });
      }), { challenge, difficulty });
      const { createHash } = await import('node:crypto');
      const hash = createHash('sha256').update(challenge + got.nonce).digest();
      let bits = 0;
      for (const b of hash) { if (b) { bits += Math.clz32(b) - 24; break; } bits += 8; }
      assert.ok(bits >= difficulty, `nonce ${got.nonce} has ${bits} zero bits`);
      ms += got.ms;
      hashes += got.hashes;
    }
    const rate = hashes / Math.max(ms, 1) / 1000;
    rows.push(`difficulty ${difficulty}: mean ${Math.round(ms / samples)} ms, ${Math.round(hashes / samples)} hashes `
      + `(expected ${2 ** difficulty}), ${rate.toFixed(2)} M hashes/s, ${samples} samples`);
  }
  console.log(`proof-of-work solve time in headless Chromium:\n  ${rows.join('\n  ')}`);
  await page.close();
});

for (const width of [360, 1280]) {
  test(`放大: the puzzle at twice its size is solved by a drag at ${width} px, and the page does not scroll sideways`, async () => {
    const context = await browser.newContext({ viewport: { width, height: 800 }, locale: 'zh-CN' });
    const page = await context.newPage();
    await page.goto(`${server.base}/login/renewal`);
    const solution = await readyPuzzle(page);
    const before = await page.evaluate(() => document.querySelector('#captcha .jszg-captcha__picture').getBoundingClientRect().width);
    await page.click('#captcha .jszg-captcha__zoom');
    assert.equal(await page.getAttribute('#captcha .jszg-captcha__zoom', 'aria-pressed'), 'true');
    const after = await page.evaluate(() => document.querySelector('#captcha .jszg-captcha__picture').getBoundingClientRect().width);
    assert.equal(Math.round(after), 640);
    assert.ok(after >= 2 * before - 1, `${before} → ${after}`);
    await dragTo(page, solution);
    await page.waitForFunction(() => ['success', 'failure'].includes(document.querySelector('#captcha')?.dataset.state), null, { timeout: 20000 });
    assert.equal(await page.getAttribute('#captcha', 'data-state'), 'success');
    // Where the screen is narrower than the picture, its pane followed the piece to the hole.
    const view = await page.evaluate(() => {
      const v = document.querySelector('#captcha .jszg-captcha__viewport');
      const piece = document.querySelector('#captcha .jszg-captcha__piece').getBoundingClientRect();
      const box = v.getBoundingClientRect();
      return { inView: piece.left >= box.left - 1 && piece.right <= box.right + 1, page: document.documentElement.scrollWidth - document.documentElement.clientWidth };
    });
    assert.deepEqual(view, { inView: true, page: 0 });
    await page.screenshot({ path: join(SCREENSHOTS, `captcha-zoom-${width}.png`) });
    await context.close();
  });
}

test('无障碍验证 by pointer: no picture, announced while it works and when done, then back to the slider', async () => {
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'zh-CN' });
  const page = await context.newPage();
  const created = [];
  page.on('request', (r) => { if (r.url().endsWith('/api/v1/captchas')) created.push(r.postDataJSON()); });
  await page.goto(`${server.base}/login/renewal`);
  await readyPuzzle(page);
  const said = [];
  await page.exposeFunction('heard', (t) => said.push(t));
  await page.evaluate(() => {
    const live = document.querySelector('#captcha .jszg-captcha__text');
    new MutationObserver(() => window.heard(live.textContent)).observe(live, { childList: true, characterData: true, subtree: true });
  });
  assert.equal(await page.getAttribute('#captcha .jszg-captcha__text', 'aria-live'), 'polite');
  await page.click('#captcha .jszg-captcha__accessible');
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success', null, { timeout: 60000 });
  assert.equal(await page.isVisible('#captcha .jszg-captcha__picture'), false);
  assert.equal(await page.isVisible('#captcha .jszg-captcha__handle'), false);
  assert.ok(said.some((t) => /正在进行无障碍验证/.test(t)), said.join(' / '));
  assert.equal(said.at(-1), '无障碍验证通过');
  assert.ok(await page.getAttribute('#captcha', 'data-captcha-token'));
  assert.deepEqual(created.map((b) => b.mode), ['slider', 'accessible']);
  // Pressed again: back to the picture.
  await page.click('#captcha .jszg-captcha__accessible');
  await readyPuzzle(page);
  assert.equal(await page.isVisible('#captcha .jszg-captcha__picture'), true);
  assert.equal(await page.getAttribute('#captcha .jszg-captcha__accessible', 'aria-pressed'), 'false');
  await context.close();
});
