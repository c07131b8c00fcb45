// Page steps that several browser tests walk the same way: filling the registration form through
// the slider, submitting it, and step 1 of 忘记密码.
import { readyPuzzle, dragTo } from './helpers.mjs';

/** Fill /register as an applicant types it (resident ID, 20年 from 2020-05-01) and pass the slider. */
export async function fillRegistration(page, { doc, name, email, mobile, password = 'Abc#2024x' }) {
  await page.selectOption('#doc_type', 'resident_id');
  await page.fill('#doc_number', doc);
  await page.fill('#name', name);
  await page.check('input[name="period"][value="20y"]');
  await page.fill('#start', '2020-05-01');
  await page.locator('#start').dispatchEvent('change');
  await page.fill('#password', password);
  await page.fill('#password_confirm', password);
  await page.fill('#email', email);
  await page.fill('#phone', mobile);
  await page.waitForFunction(() => ['doc_number', 'name', 'email', 'phone'].every(
    (f) => document.querySelector(`.msg[data-for="${f}"]`).textContent.includes('✓')));
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
}

/** With the code filled in: agree to the terms in their dialog and submit, up to 注册成功. */
export async function submitRegistration(page) {
  await page.click('#open-terms');
  await page.waitForSelector('#terms-dialog[open]');
  await page.click('#terms-agree');
  await page.click('#submit');
  await page.waitForURL(/\/register\/done/);
}

/** Step 1 of 忘记密码: type, number and name, the slider, 下一步. */
export async function recoveryStep1(page, base, who, { name = who.name, entry = '' } = {}) {
  await page.goto(`${base}/recover${entry ? `?entry=${entry}` : ''}`);
  await page.selectOption('#doc_type', who.docType);
  await page.fill('#doc_number', who.doc);
  await page.fill('#name', name);
  await dragTo(page, await readyPuzzle(page));
  await page.waitForFunction(() => document.querySelector('#captcha').dataset.state === 'success');
  await page.click('#next');
}
