// SPEC A11Y-1: axe-core (WCAG 2.1 A and AA) finds nothing on any page of a11y_pages.mjs at 360
// and 1280 px in the normal mode, and no page scrolls sideways at those widths. 关怀模式 has a file
// of its own (accessibility_care.test.mjs) so the two run side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

const { server, browser } = await withServer({}, { lang: 'zh-CN' });
await prepare(server, browser);

for (const width of [360, 1280]) {
  test(`axe-core WCAG 2.1 A/AA: every page at ${width}px, normal`, async () => {
    assert.deepEqual(await walk({ width, care: false, axe: true }), []);
  });
}
