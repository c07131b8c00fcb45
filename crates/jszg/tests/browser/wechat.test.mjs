// The WeChat service account in a real browser, with a local fake of the platform's API and the
// platform's callback signed here as WeChat signs it: 绑定微信 in the personal centre (QR code,
// scan, the page notices), and 微信验证重置密码 (QR code on the recovery page, the link the
// bound WeChat gets in the chat, the H5 reset page on a phone, 重置成功 in the chat).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServer, launch, residentId, phone, SCREENSHOTS } from './helpers.mjs';
import { register, login, phoneContext } from './applicant.mjs';
import { fillRegistration, submitRegistration, recoveryStep1 } from './pages.mjs';

const TOKEN = 'browser-wechat-token';
let server;
let browser;
let platform;
const scenes = [];
const sent = [];

function fakePlatform() {
  return new Promise((ok) => {
    const s = createServer((req, res) => {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', () => {
        const json = body ? JSON.parse(body) : {};
        const path = req.url.split('?')[0];
        let answer = { errcode: 0, errmsg: 'ok' };
        if (path === '/cgi-bin/stable_token') answer = { access_token: 'browser-token', expires_in: 7200 };
        if (path === '/cgi-bin/qrcode/create') {
          const scene = json.action_info.scene.scene_str;
          scenes.push(scene);
          answer = { ticket: `ticket-${scene}`, expire_seconds: json.expire_seconds, url: `http://weixin.qq.com/q/${scene}` };
        }
        if (path === '/cgi-bin/message/custom/send') sent.push(json);
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify(answer));
      });
    });
    s.listen(0, '127.0.0.1', () => ok(s));
  });
}

/** What the platform posts when `openid` scans `scene`: the reply's Content. */
function scan(openid, scene) {
  return say(openid, `<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[SCAN]]></Event><EventKey><![CDATA[${scene}]]></EventKey>`);
}

/** A message from `openid`, signed as the platform signs it (plaintext mode): the reply's Content. */
async function say(openid, xmlBody) {
  const timestamp = String(Math.floor(Date.now() / 1000));
  const nonce = String(Math.floor(Math.random() * 1e9));
  const signature = createHash('sha1').update([TOKEN, timestamp, nonce].sort().join('')).digest('hex');
  const xml = `<xml><ToUserName><![CDATA[gh_browser]]></ToUserName><FromUserName><![CDATA[${openid}]]></FromUserName><CreateTime>${timestamp}</CreateTime>${xmlBody}</xml>`;
  const res = await fetch(`${server.base}/wechat/callback?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, { method: 'POST', body: xml });
  assert.equal(res.status, 200);
  const reply = await res.text();
  return (/<Content><!\[CDATA\[([\s\S]*?)\]\]><\/Content>/.exec(reply) || [])[1] || reply;
}

before(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  platform = await fakePlatform();
  server = await startServer({
    JSZG_WECHAT__APP_ID: 'wx_browser',
    JSZG_WECHAT__APP_SECRET: 'browser-secret',
    JSZG_WECHAT__TOKEN: TOKEN,
    JSZG_WECHAT__API_BASE: `http://127.0.0.1:${platform.address().port}`,
    JSZG_OUTBOX__POLL_MS: '200',
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
  platform?.close();
});

async function bind(who, openid) {
  const { cookie } = await login(server.base, who.doc, who.password);
  const { context, page, errors } = await phoneContext(browser, cookie, server.base);
  await page.goto(`${server.base}/me/profile`);
  assert.equal(await page.textContent('#wechat-status'), '未绑定');
  await page.click('#wechat-bind-start');
  await page.waitForSelector('#wechat-bind-qr:not([hidden])');
  const src = await page.getAttribute('#wechat-bind-img', 'src');
  assert.match(src, /^https:\/\/mp\.weixin\.qq\.com\/cgi-bin\/showqrcode\?ticket=ticket-/);
  assert.match(await scan(openid, scenes.at(-1)), /绑定成功/);
  // The page polls /api/v1/me and reloads once the binding exists.
  await page.waitForFunction(() => /已绑定/.test(document.querySelector('#wechat-status')?.textContent || ''), null, { timeout: 10000 });
  return { context, page, errors };
}

test('绑定微信 in the personal centre, then 解除绑定', async () => {
  const who = await register(server.base);
  const { context, page, errors } = await bind(who, 'o_browser_centre');
  await page.screenshot({ path: join(SCREENSHOTS, 'centre-wechat-bound-360.png') });
  await page.click('#wechat-unbind');
  await page.waitForFunction(() => document.querySelector('#wechat-status')?.textContent === '未绑定');
  assert.match(await page.textContent('body'), /已解除与微信服务号的绑定/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('a password is reset through the bound WeChat on a phone', async () => {
  const who = await register(server.base);
  const bound = await bind(who, 'o_browser_reset');
  await bound.context.close();

  const { context, page, errors } = await phoneContext(browser);
  await recoveryStep1(page, server.base, who);
  await page.waitForSelector('#step2:not([hidden])');
  assert.equal(await page.isVisible('label[data-method="wechat"]'), true, 'a bound account is offered WeChat');
  await page.click('label[data-method="wechat"]');
  await page.waitForSelector('#wechat-qr-box:not([hidden])');
  assert.match(await page.getAttribute('#wechat-qr', 'src'), /showqrcode\?ticket=ticket-/);
  await page.screenshot({ path: join(SCREENSHOTS, 'recover-wechat-qr-360.png') });
  const scene = scenes.at(-1);
  assert.match(await scan('o_someone_else', scene), /不是该账号绑定的微信/);
  const reply = await scan('o_browser_reset', scene);
  const link = (/https?:\/\/\S+\/wechat\/reset\?token=[A-Za-z0-9_-]+/.exec(reply) || [])[0];
  assert.ok(link, reply);

  // The link opens in WeChat's browser on the phone, on the manual's page: its title,
  // 新密码 / 确认密码 and 【重置密码】.
  await page.goto(link);
  assert.equal(await page.textContent('h1'), '通过微信重置密码（当登录帐号已关联了微信服务号后可使用）');
  assert.equal((await page.textContent('#reset-submit')).trim(), '重置密码');
  await page.fill('#new_password', 'Xyz#2025ab');
  await page.fill('#new_password_confirm', 'Xyz#2025ab');
  await page.click('#reset-submit');
  await page.waitForSelector('#reset-ok:not([hidden])');
  await page.screenshot({ path: join(SCREENSHOTS, 'wechat-reset-done-360.png') });
  // Used once.
  await page.goto(link);
  assert.equal(await page.isVisible('#reset-expired'), true);
  assert.match(await page.textContent('#reset-expired'), /10分钟内有效/);
  assert.equal((await login(server.base, who.doc, 'Xyz#2025ab')).status, 200);
  assert.equal((await login(server.base, who.doc, who.password)).status, 401);
  // 重置成功 reaches the chat as a customer-service message.
  for (let i = 0; i < 50 && !sent.some((m) => m.touser === 'o_browser_reset'); i++) await new Promise((r) => setTimeout(r, 100));
  const message = sent.find((m) => m.touser === 'o_browser_reset');
  assert.ok(message, JSON.stringify(sent));
  assert.match(message.text.content, /重置成功/);
  assert.deepEqual(errors, []);
  await context.close();
});

test('an applicant registers choosing 微信扫码验证', async () => {
  const { context, page, errors } = await phoneContext(browser);
  await page.goto(`${server.base}/register`);
  const doc = residentId('19870611');
  await fillRegistration(page, { doc, name: '韩梅梅', email: '654321@qq.com', mobile: phone() });
  await page.check('input[name="verification_channel"][value="wechat"]');
  assert.equal(await page.isVisible('#wechat-code'), true);
  assert.equal(await page.isVisible('#send-code'), false, 'no SMS button under 微信扫码验证');
  assert.match(await page.textContent('#wechat-code'), /点击下方的“取验证码”后输入证件号码/);
  await page.locator('#wechat-code').screenshot({ path: join(SCREENSHOTS, 'register-wechat-360.png') });

  // In the chat: 取验证码, then the number.
  const openid = 'o_browser_register';
  assert.match(await say(openid, '<MsgType><![CDATA[event]]></MsgType><Event><![CDATA[CLICK]]></Event><EventKey><![CDATA[GET_CODE]]></EventKey>'), /请输入您注册时填写的证件号码/);
  const reply = await say(openid, `<MsgType><![CDATA[text]]></MsgType><Content><![CDATA[${doc}]]></Content><MsgId>${Date.now()}</MsgId>`);
  const code = (/验证码为(\d{6})/.exec(reply) || [])[1];
  assert.ok(code, reply);
  await page.fill('#verification_code', code);
  await submitRegistration(page);
  assert.match(await page.textContent('h1'), /注册成功/);
  const { cookie } = await login(server.base, doc, 'Abc#2024x');
  const me = await (await fetch(`${server.base}/api/v1/me`, { headers: { cookie } })).json();
  assert.equal(me.wechat_bound, true, 'registered with a WeChat code, bound to that WeChat');
  assert.deepEqual(errors, []);
  await context.close();
});
