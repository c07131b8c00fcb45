// SPEC A11Y-1: axe-core (WCAG 2.1 A and AA; in 关怀模式 also 7:1 contrast) finds nothing on any
// page of a11y_pages.mjs at 360 and 1280 px, in the normal mode and in 关怀模式, and no page
// scrolls sideways at those widths.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { startServer, launch, SCREENSHOTS } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

let server;
let browser;

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  server = await startServer();
  browser = await launch({ lang: 'zh-CN' });
  await prepare(server, browser);
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

for (const care of [false, true]) {
  for (const width of [360, 1280]) {
    test(`axe-core WCAG 2.1 A/AA: every page at ${width}px, ${care ? '关怀模式' : 'normal'}`, async () => {
      assert.deepEqual(await walk({ width, care, axe: true }), []);
    });
  }
}
