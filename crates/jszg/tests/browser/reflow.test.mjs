// SPEC A11Y-6 (reflow, WCAG 1.4.10): no page of a11y_pages.mjs scrolls sideways at 320 CSS px,
// nor at 200 % zoom of a 1280 px window (640 CSS px at device scale 2), in either mode. Each page
// is opened at 320 px and its window then widened to 640 px, both at device scale 2.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer } from './helpers.mjs';
import { prepare, walk } from './a11y_pages.mjs';

const { server, browser } = await withServer({}, { lang: 'zh-CN' });
await prepare(server, browser);

for (const care of [false, true]) {
  test(`reflow: no page scrolls sideways at 320 CSS px or at 200 % of 1280 px, ${care ? '关怀模式' : 'normal'}`, async () => {
    assert.deepEqual(await walk({ width: 320, thenWidth: 640, zoom: 2, care, axe: false }), []);
  });
}
