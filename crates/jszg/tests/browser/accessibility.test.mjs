// SPEC A11Y-1 and A11Y-6, normal mode: every page of a11y_pages.mjs, opened once and resized
// through 320, 360, 640 and 1280 CSS px at device scale 2 (640 px is 200 % zoom of a 1280 px window):
// axe-core (WCAG 2.1 A and AA) finds nothing at 360 and 1280 px, and no page scrolls sideways at
// any of the four. 关怀模式 has a file of its own (accessibility_care.test.mjs) so the two run side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

const { server, browser } = await withServer({}, { lang: 'zh-CN' });
await prepare(server, browser);

test('normal mode: axe-core WCAG 2.1 A/AA at 360 and 1280 px, no sideways scrolling at 320, 360, 640 (200 %) and 1280 px', async () => {
  assert.deepEqual(await walk({ care: false }), []);
});
