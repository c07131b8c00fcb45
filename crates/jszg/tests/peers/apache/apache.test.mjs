// SSO-5: a second independent relying party. Apache httpd with mod_auth_openidc (Debian's
// packages) fronts a page on 127.0.0.1 the way many business systems are fronted: discovery,
// client secret, PKCE S256, `OIDCScope "openid profile identity email"`. An applicant signs in
// through it (cookie jars, following redirects), the page reads the claims the module passes
// (OIDC_CLAIM_*), a replayed callback is refused, and the applicant signs out through it:
// RP-initiated logout, then back-channel logout after signing out at jszg.
//
//   JSZG_BIN=target/release/jszg node --test crates/jszg/tests/peers/apache/
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_ENV, freePort } from '../../support/harness.mjs';
import { Browser, applicant, setIssuer } from '../sso/applicant.mjs';

const BIN = process.env.JSZG_BIN;
assert.ok(BIN, 'JSZG_BIN must name the jszg binary');
const APACHE = process.env.APACHE2 || '/usr/sbin/apache2';
const MODULES = process.env.APACHE_MODULES || '/usr/lib/apache2/modules';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let jszg; let apache; let dir; let issuer; let rp;


async function until(what, check, ms = 15000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const got = await check();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

before(async () => {
  const [jszgPort, apachePort] = [await freePort(), await freePort()];
  issuer = `http://127.0.0.1:${jszgPort}`;
  rp = `http://127.0.0.1:${apachePort}`;
  setIssuer(issuer);
  dir = mkdtempSync(join(tmpdir(), 'jszg-apache-peer-'));
  chmodSync(dir, 0o755);

  // jszg: the certification entry is the business system behind Apache.
  writeFileSync(join(dir, 'jszg.toml'), `[clients.certification]
redirect_uris = ["${rp}/protected/redirect_uri"]
post_logout_redirect_uris = ["${rp}/loggedout.html"]
backchannel_logout_uri = "${rp}/protected/redirect_uri?logout=backchannel"
`);
  const env = {
    PATH: process.env.PATH, JSZG_BIND: `127.0.0.1:${jszgPort}`, JSZG_DATABASE_URL: `sqlite://${join(dir, 'jszg.db')}`,
    JSZG_DEV: '1', JSZG_LOG: 'warn', JSZG_OUTBOX__POLL_MS: '100', ...HARNESS_ENV,
  };
  const secret = execFileSync(BIN, ['clients', 'rotate-secret', 'certification'], { cwd: dir, env }).toString().match(/secret: (\S+)/)[1];
  jszg = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  await until('jszg', async () => (await fetch(`${issuer}/readyz`).catch(() => null))?.ok);

  // Apache as a business system would configure it (docs/sso.md has the same block).
  const www = join(dir, 'www');
  mkdirSync(join(www, 'protected'), { recursive: true });
  writeFileSync(join(www, 'loggedout.html'), '<p>signed out</p>\n');
  const cgi = join(dir, 'claims.cgi');
  writeFileSync(cgi, '#!/bin/sh\nprintf "Content-Type: text/plain; charset=utf-8\\n\\n"\nenv | grep "^OIDC_CLAIM_" | sort\n');
  chmodSync(cgi, 0o755);
  const conf = join(dir, 'httpd.conf');
  writeFileSync(conf, `ServerRoot "${dir}"
ServerName 127.0.0.1
Listen 127.0.0.1:${apachePort}
PidFile "${join(dir, 'httpd.pid')}"
ErrorLog "${join(dir, 'apache-error.log')}"
LogLevel warn auth_openidc:info
User www-data
Group www-data
LoadModule mpm_prefork_module ${MODULES}/mod_mpm_prefork.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule alias_module ${MODULES}/mod_alias.so
LoadModule cgi_module ${MODULES}/mod_cgi.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule auth_openidc_module ${MODULES}/mod_auth_openidc.so
TypesConfig /etc/mime.types
DocumentRoot "${www}"
<Directory "${www}">
  Require all granted
</Directory>

OIDCProviderMetadataURL ${issuer}/.well-known/openid-configuration
OIDCClientID certification
OIDCClientSecret ${secret}
OIDCRedirectURI ${rp}/protected/redirect_uri
OIDCCryptoPassphrase ${randomBytes(24).toString('hex')}
OIDCScope "openid profile identity email"
OIDCPKCEMethod S256
OIDCProviderTokenEndpointAuth client_secret_basic
OIDCDefaultLoggedOutURL ${rp}/loggedout.html

ScriptAlias /protected/claims "${cgi}"
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
`);
  // Its own process group: on SIGTERM httpd signals its whole group (prefork's killpg), which
  // would otherwise take this test runner and whatever started it (CI) down with it.
  apache = spawn(APACHE, ['-f', conf, '-DFOREGROUND'], { cwd: dir, stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  await until('apache', async () => {
    if (apache.exitCode !== null) throw new Error(`apache exited with ${apache.exitCode}: see its error above`);
    return (await fetch(`${rp}/loggedout.html`).catch(() => null))?.ok;
  });
});

after(async () => {
  for (const p of [apache, jszg]) {
    p?.kill('SIGTERM');
    if (p) await new Promise((r) => p.once('exit', r));
  }
  try { console.log(readFileSync(join(dir, 'apache-error.log'), 'utf8').split("\n").slice(-40).join('\n')); } catch { /* none */ }
  if (!process.env.KEEP) rmSync(dir, { recursive: true, force: true }); else process.stderr.write(`kept ${dir}\n`);
});

/**
 * A browser's top-level navigation to `url` with the cookie jar of `b`. Not `fetch`: it sends
 * `Sec-Fetch-Mode: cors`, and mod_auth_openidc rightly answers 401, not a redirect, to a request
 * that says it is no navigation.
 */
function navigate(b, url) {
  return new Promise((ok, fail) => {
    const req = http.get(url, {
      headers: { accept: 'text/html,application/xhtml+xml', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', cookie: b.header() },
    }, (res) => {
      for (const line of res.headers['set-cookie'] ?? []) {
        const [pair] = line.split(';');
        const i = pair.indexOf('=');
        const name = pair.slice(0, i); const value = pair.slice(i + 1);
        if (/Max-Age=0|expires=Thu, 01 Jan 1970/i.test(line) || value === '') b.cookies.delete(name); else b.cookies.set(name, value);
      }
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => ok({ status: res.statusCode, location: res.headers.location, body }));
    });
    req.on('error', fail);
  });
}

/** Browse `url`, following redirects across jszg and Apache; `before(url)` runs before each hop. */
async function browse(b, url, before = () => {}) {
  const seen = [];
  let res = await navigate(b, url);
  for (let hop = 0; hop < 12 && res.status >= 300 && res.status < 400; hop++) {
    const to = new URL(res.location, seen.at(-1) ?? url);
    seen.push(to.toString());
    before(to.toString());
    res = await navigate(b, to);
  }
  return { res, seen, body: res.body };
}

/** The claims the module passed to the page, as `OIDC_CLAIM_x=value` lines. */
function claims(body) {
  return Object.fromEntries(body.split('\n').filter((l) => l.startsWith('OIDC_CLAIM_')).map((l) => {
    const i = l.indexOf('=');
    return [l.slice('OIDC_CLAIM_'.length, i), l.slice(i + 1)];
  }));
}

let person; let callback; let stateCookies;

test('mod_auth_openidc signs an applicant in and passes the claims to the page', async () => {
  person = await applicant(true);
  // The browser's cookies as the callback arrives: what a thief of the callback URL and the
  // state cookie would hold.
  const snapshot = (url) => {
    if (url.startsWith(`${rp}/protected/redirect_uri?`)) stateCookies = new Map(person.b.cookies);
  };
  const { res, seen, body } = await browse(person.b, `${rp}/protected/claims`, snapshot);
  assert.equal(res.status, 200, `${seen.join('\n')}\n${body}`);
  const authorize = new URL(seen.find((u) => u.startsWith(`${issuer}/oidc/authorize`)));
  assert.equal(authorize.searchParams.get('code_challenge_method'), 'S256', 'PKCE');
  assert.equal(authorize.searchParams.get('scope'), 'openid profile identity email');
  callback = seen.find((u) => u.startsWith(`${rp}/protected/redirect_uri?`));
  assert.ok(new URL(callback).searchParams.get('code'));
  const c = claims(body);
  assert.equal(c.doc_number, person.doc);
  assert.equal(c.name, '张三');
  assert.equal(c.realname_status, 'verified');
  assert.equal(c.email, '123456@qq.com');
  assert.equal(c.email_verified, '1', 'booleans as mod_auth_openidc passes them');
  assert.equal(c.iss, issuer);
  assert.ok(c.sub && c.sub !== person.doc, 'an opaque sub, never the document number');
});

test('a replayed callback is refused', async () => {
  // Without the state cookie, the module refuses it.
  const stranger = (await applicant(false)).b;
  const bare = await browse(stranger, callback);
  assert.ok(!bare.body.includes('OIDC_CLAIM_'), bare.body);
  // With it (a stolen browser state), the module redeems the code again, and jszg refuses.
  const thief = new Browser();
  for (const [k, v] of stateCookies) if (k.startsWith('mod_auth_openidc_state')) thief.cookies.set(k, v);
  assert.ok(thief.cookies.size > 0, 'the state cookie was captured');
  const replay = await browse(thief, callback);
  assert.ok(!replay.body.includes('OIDC_CLAIM_'), replay.body);
  // The module's error page: jszg answered the second redemption with invalid_grant.
  assert.match(replay.body, /OpenID Connect Provider error/);
});

test('RP-initiated logout through the module ends the jszg session too', async () => {
  const { res, seen } = await browse(person.b, `${rp}/protected/redirect_uri?logout=${encodeURIComponent(`${rp}/loggedout.html`)}`);
  assert.ok(seen.some((u) => u.startsWith(`${issuer}/oidc/logout?`) && new URL(u).searchParams.get('id_token_hint')), seen.join('\n'));
  assert.equal(res.status, 200);
  assert.equal(new URL(seen.at(-1)).pathname, '/loggedout.html');
  assert.equal((await person.b.fetch(`${issuer}/api/v1/me`)).status, 401, 'signed out of jszg');
  const again = await navigate(person.b, `${rp}/protected/claims`);
  assert.equal(again.status, 302, 'the page asks for a login again');
  assert.ok(again.location.startsWith(`${issuer}/oidc/authorize`));
});

test('back-channel logout: signing out at jszg ends the session at the business', async () => {
  const other = await applicant(true);
  const signedIn = await browse(other.b, `${rp}/protected/claims`);
  assert.equal(claims(signedIn.body).doc_number, other.doc);
  // The applicant signs out at jszg (not through the business): jszg sends a logout token.
  const out = await other.b.fetch(`${issuer}/api/v1/sessions/current`, { method: 'DELETE' });
  assert.equal(out.status, 204);
  await until('the business session to end', async () => {
    const res = await navigate(other.b, `${rp}/protected/claims`);
    return res.status === 302 && res.location.startsWith(`${issuer}/oidc/authorize`);
  });
});
