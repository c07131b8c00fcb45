// SPEC A11Y-1, A11Y-4 and A11Y-6 in 关怀模式: every page of a11y_pages.mjs, opened once and resized
// through 320, 360, 640 and 1280 CSS px at device scale 2: every applicant page is rendered in the
// mode from the cookie, axe-core (WCAG 2.1 A and AA, and 7:1 contrast on the applicant pages) finds
// nothing at 360 and 1280 px, and no page scrolls sideways at any of the four.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

const { server, browser } = await withServer({}, { lang: 'zh-CN' });
await prepare(server, browser);

test('关怀模式: axe-core WCAG 2.1 A/AA and 7:1 at 360 and 1280 px, no sideways scrolling at 320, 360, 640 (200 %) and 1280 px', async () => {
  assert.deepEqual(await walk({ care: true }), []);
});
