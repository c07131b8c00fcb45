// The slider captcha at every hole position (ABUSE-4): drags that end on the hole pass at phone and
// desktop width whatever the hole's x, including the far right where a fast drag's steps are
// longest; and the page's proof of work at the base level stays under a second on a phone-class CPU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, readyPuzzle, dragEased, sleep } from './helpers.mjs';

// Holes lie between about 55 and 276 picture pixels; the issue was above 225.
const BANDS = { low: [0, 149], middle: [150, 225], high: [226, 320] };
const PLAN = { low: 5, middle: 6, high: 9 };
// quick: a loop of awaited moves with no pause, which is when the page used to skip a sample;
// paired: a device whose samples come 5 and 15 ms apart (a fast drag moves up to ~60 px in 15 ms).
const STYLES = {
  quick: { gap: 0 },
  steady: { gap: [8, 16] },
  paired: { stamps: [5, 15] },
  slow: { gap: [25, 40] },
};

// No planned drag pauses longer than its 180 ms rest: a longer gap between two recorded points
// means the machine stalled the browser mid-drag (two CI lanes share two cores), and the track
// the judge saw is not the one the test drew. Such a drag is drawn again, and counted apart.
const STALL_MS = 500;
const stalled = (track) => (track ?? []).some((p, i) => i > 0 && p.t - track[i - 1].t > STALL_MS);

const verdict = (page) => page.waitForFunction(
  () => ['success', 'failure', 'ready'].includes(document.querySelector('#captcha')?.dataset.state), null, { timeout: 10000 });

for (const width of [360, 1280]) {
  test(`drags to the hole pass at every x at ${width} px`, async () => {
    // A regression would fail many answers from one address: keep the failure throttle out of
    // the way so every drag gets its verdict.
    const server = await startServer({ JSZG_CAPTCHA__FAILURE_LIMIT: '1000' });
    const browser = await launch();
    try {
      const context = await browser.newContext({ viewport: { width, height: 800 }, locale: 'zh-CN', hasTouch: true });
      const page = await context.newPage();
      let answer = null;
      page.on('request', (r) => { if (r.url().endsWith('/answer')) answer = r.postDataJSON(); });
      await page.goto(`${server.base}/login/renewal`);
      const left = { ...PLAN };
      const results = [];
      const redrawn = [];
      let hole = await readyPuzzle(page);
      for (let fetched = 0; Object.values(left).some((n) => n > 0) && fetched < 300; fetched++) {
        const band = Object.keys(BANDS).find((b) => hole >= BANDS[b][0] && hole <= BANDS[b][1]);
        if (left[band] > 0) {
          left[band] -= 1;
          const k = results.length;
          const style = Object.keys(STYLES)[k % 4];
          const touch = k % 3 === 2;
          answer = null;
          await dragEased(page, hole, { steps: 18 + (k % 5), touch, ...STYLES[style] });
          await verdict(page);
          const state = await page.getAttribute('#captcha', 'data-state');
          if (state !== 'success' && stalled(answer?.track) && redrawn.length < 10) {
            redrawn.push({ hole, state, track: answer?.track });
            left[band] += 1;
          } else {
            results.push({ hole, band, style, touch, state, points: answer?.track?.length, track: answer?.track });
          }
        }
        await page.evaluate(() => document.querySelector('#captcha').jszgCaptcha.reset());
        hole = await readyPuzzle(page);
      }
      await context.close();
      const passed = results.filter((r) => r.state === 'success');
      const per = Object.keys(BANDS).map((b) => `${b} ${passed.filter((r) => r.band === b).length}/${results.filter((r) => r.band === b).length}`);
      console.log(`slider ${width}px: ${passed.length}/${results.length} drags to the hole passed (${per.join(', ')}; `
        + `x ${Math.min(...results.map((r) => r.hole))}-${Math.max(...results.map((r) => r.hole))})`
        + (redrawn.length ? `; ${redrawn.length} refused after a stall of over ${STALL_MS} ms mid-drag, drawn again` : ''));
      assert.deepEqual(left, { low: 0, middle: 0, high: 0 }, 'every band got its drags');
      for (const r of results) {
        assert.equal(r.state, 'success', `hole ${r.hole}, ${r.style} ${r.touch ? 'touch' : 'mouse'} drag, ${r.points} points: ${JSON.stringify(r.track)}`);
      }
    } finally {
      await browser.close();
      await server.stop();
    }
  });
}

// Emulation.setCPUThrottlingRate slows the page's main thread only: this Chromium refuses it on a
// worker target ("Operation is only supported for pages, not workers"). So the page's own
// measurement (worker start-up and messages on the slowed main thread, the hashing in the worker
// at full speed) is checked together with the worker's hashing time scaled by the same rate.
test('the proof of work at the base level takes under a second on a phone-class CPU', async () => {
  const RATE = 6;
  const server = await startServer();
  const browser = await launch();
  try {
    const context = await browser.newContext({ viewport: { width: 360, height: 800 }, locale: 'zh-CN', hasTouch: true, isMobile: true });
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Emulation.setCPUThrottlingRate', { rate: RATE });
    const challenges = [];
    page.on('response', async (r) => {
      if (r.url().endsWith('/api/v1/captchas') && r.request().method() === 'POST') challenges.push(await r.json());
    });
    await page.goto(`${server.base}/login/renewal`);
    await page.waitForFunction(() => document.querySelector('#captcha')?.hasAttribute('data-pow-ms'), null, { timeout: 20000 });
    const ms = Number(await page.getAttribute('#captcha', 'data-pow-ms'));
    await sleep(50);
    assert.equal(challenges.length, 1);
    const { pow } = challenges[0];
    assert.equal(pow.difficulty, 14, 'a fresh address gets the base difficulty');
    // The same search again (the smallest nonce, so the same hashes), timed inside the worker.
    const worker = await page.evaluate((p) => new Promise((ok, fail) => {
      const w = new Worker('/static/pow.js');
      w.onmessage = (e) => { w.terminate(); ok(e.data); };
      w.onerror = (e) => fail(new Error(e.message));
      w.postMessage({ challenge: p.challenge, difficulty: p.difficulty });
    }), pow);
    const phone = ms + (RATE - 1) * worker.ms;
    console.log(`proof of work at difficulty ${pow.difficulty} at 360 px with the CPU slowed ${RATE}x: ${ms} ms on the page `
      + `(${worker.hashes} hashes, ${worker.ms} ms of them in the worker; ${phone} ms with the worker slowed ${RATE}x too)`);
    assert.ok(ms < 1000, `the proof of work took ${ms} ms`);
    assert.ok(phone < 1000, `the proof of work would take ${phone} ms with the worker slowed too`);
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});
