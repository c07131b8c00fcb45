// SPEC A11Y-1 and A11Y-4: in 关怀模式, axe-core (WCAG 2.1 A and AA, and 7:1 contrast on the applicant
// pages) finds nothing on any page of a11y_pages.mjs at 360 and 1280 px, every applicant page is
// rendered in the mode from the cookie, and no page scrolls sideways.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

const { server, browser } = await withServer({}, { lang: 'zh-CN' });
await prepare(server, browser);

for (const width of [360, 1280]) {
  test(`axe-core WCAG 2.1 A/AA: every page at ${width}px, 关怀模式`, async () => {
    assert.deepEqual(await walk({ width, care: true, axe: true }), []);
  });
}
