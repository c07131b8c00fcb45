// Accessibility checks shared by the browser tests (SPEC §22): axe-core injected from the npm
// package, horizontal overflow, keyboard-only movement with visible focus, and what a screen
// reader is given (Chromium's accessibility tree).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const AXE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** WCAG 2.1 A and AA, as issue and SPEC A11Y-1 ask. */
export const WCAG_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

/**
 * axe-core's violations on the page as it is now, one line each ("rule: selector …"). In
 * 关怀模式 the enhanced contrast rule (7:1, WCAG 1.4.6) runs too: the mode promises it.
 */
export async function axeViolations(page, { care = false } = {}) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ content: AXE });
  const result = await page.evaluate(async ([tags, care]) => {
    const options = { runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] };
    if (care) options.rules = { 'color-contrast-enhanced': { enabled: true } };
    const r = await window.axe.run(document, options);
    return r.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 4).map((n) => n.target.join(' ')).join(', ')}`);
  }, [WCAG_TAGS, care]);
  return result;
}

/** How far the page's content reaches beyond the window sideways, in CSS px (0 is none). */
export async function horizontalOverflow(page) {
  return page.evaluate(() => Math.max(document.documentElement.scrollWidth, document.body.scrollWidth) - document.documentElement.clientWidth);
}

/** The focused element, described: tag, id, name and whether a focus indicator is drawn. */
export async function focused(page) {
  return page.evaluate(() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    // A date field's picker button is the browser's own part: while it has the focus the field
    // does not match :focus, and its ring (app.css styles it) is out of getComputedStyle's reach.
    if (e.type === 'date' && !e.matches(':focus')) return { tag: 'input', id: e.id, name: e.name, cls: 'picker', visible: true };
    const s = getComputedStyle(e);
    const ring = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || (s.boxShadow && s.boxShadow !== 'none');
    return { tag: e.tagName.toLowerCase(), id: e.id, name: e.getAttribute('name'), cls: e.className, visible: ring };
  });
}

/**
 * Press Tab (Shift+Tab with `back`) until the focus is on `selector`, as a keyboard user does,
 * checking at every stop that the focus can be seen. Throws after `max` presses.
 */
export async function tabTo(page, selector, { max = 80, back = false } = {}) {
  for (let i = 0; i < max; i++) {
    if (await page.evaluate((sel) => document.activeElement?.matches(sel), selector)) return;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (f && !f.visible) throw new Error(`focus not visible on ${JSON.stringify(f)}`);
  }
  throw new Error(`tabTo: ${selector} not reached in ${max} presses`);
}

/**
 * What assistive technology is told about the page's controls: Chromium's full accessibility
 * tree through CDP, each focusable control with its role, name and description.
 */
export async function controls(page) {
  const cdp = await page.context().newCDPSession(page);
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const roles = new Set(['textbox', 'combobox', 'button', 'checkbox', 'radio', 'slider', 'link', 'spinbutton', 'searchbox', 'menulistpopup']);
  const value = (n, key) => n[key]?.value ?? '';
  const prop = (n, key) => n.properties?.find((p) => p.name === key)?.value?.value;
  return nodes
    .filter((n) => !n.ignored && roles.has(value(n, 'role')))
    .map((n) => ({
      role: value(n, 'role'),
      name: String(value(n, 'name')),
      description: String(value(n, 'description')),
      invalid: prop(n, 'invalid'),
      focusable: prop(n, 'focusable') === true,
      hidden: prop(n, 'hidden') === true,
    }));
}

/** Type `text` into the focused field one key at a time. */
export async function type(page, text) {
  await page.keyboard.type(text, { delay: 5 });
}
