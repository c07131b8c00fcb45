// openid-client 6.x (panva) as an independent relying party against the jszg
// binary in $JSZG_BIN: discovery, code + PKCE, ID token signature (non-repudiation
// checks and jose against the JWKS), userinfo, SSO into the second entry, replay,
// plain PKCE, unknown redirect URI, wrong secret, prompt=none, RP-initiated
// logout and a back-channel logout token received by a local HTTP server.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HARNESS_ENV, freePort } from '../../support/harness.mjs';
import * as client from 'openid-client';
import * as jose from 'jose';
import { Browser, applicant, setIssuer } from './applicant.mjs';

const BIN = process.env.JSZG_BIN;
assert.ok(BIN, 'JSZG_BIN must name the jszg binary');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));


let server; let dir; let env; let issuer; let receiver; let rpBase;
const logoutTokens = [];
const secrets = {};

async function configFor(id, auth) {
  const secret = auth.startsWith('wrong') ? 'not-the-secret' : secrets[id];
  const method = auth.endsWith('post') ? client.ClientSecretPost(secret) : client.ClientSecretBasic(secret);
  const config = await client.discovery(new URL(issuer), id, { client_secret: secret }, method, { execute: [client.allowInsecureRequests] });
  client.enableNonRepudiationChecks(config);
  return config;
}

function authUrl(config, id, extra = {}) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  return client.calculatePKCECodeChallenge(verifier).then((challenge) => ({
    url: client.buildAuthorizationUrl(config, {
      redirect_uri: `${rpBase}/${id}/callback`, scope: 'openid profile identity', code_challenge: challenge,
      code_challenge_method: 'S256', state, nonce, ...extra,
    }),
    verifier, state, nonce,
  }));
}

/** Authorize in browser `b`; the callback URL jszg sends it back to. */
async function callback(b, url) {
  const res = await b.fetch(url);
  assert.equal(res.status, 302, `authorize answered ${res.status}`);
  const to = res.headers.get('location');
  assert.ok(to.startsWith(rpBase), to);
  return new URL(to);
}

before(async () => {
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const params = new URLSearchParams(body);
      logoutTokens.push({ path: req.url, type: req.headers['content-type'], token: params.get('logout_token') });
      res.writeHead(200).end();
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  rpBase = `http://127.0.0.1:${receiver.address().port}`;
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  setIssuer(issuer);
  dir = mkdtempSync(join(tmpdir(), 'jszg-sso-peer-'));
  const clientToml = (id) => `[clients.${id}]
redirect_uris = ["${rpBase}/${id}/callback"]
post_logout_redirect_uris = ["${rpBase}/${id}/"]
backchannel_logout_uri = "${rpBase}/${id}/backchannel"
`;
  writeFileSync(join(dir, 'jszg.toml'), clientToml('certification') + clientToml('renewal'));
  env = { PATH: process.env.PATH, JSZG_BIND: `127.0.0.1:${port}`, JSZG_DATABASE_URL: `sqlite://${join(dir, 'jszg.db')}`, JSZG_DEV: '1', JSZG_LOG: 'warn', ...HARNESS_ENV };
  for (const id of ['certification', 'renewal']) {
    const out = execFileSync(BIN, ['clients', 'rotate-secret', id], { cwd: dir, env }).toString();
    secrets[id] = out.match(/secret: (\S+)/)[1];
  }
  server = spawn(BIN, ['serve'], { cwd: dir, env, stdio: ['ignore', 'inherit', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    try { if ((await fetch(`${issuer}/readyz`)).ok) break; } catch { /* not up yet */ }
    await sleep(50);
  }
});

after(async () => {
  server?.kill('SIGTERM');
  if (server) await new Promise((r) => server.once('exit', r));
  receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the whole single sign-on journey through openid-client', async () => {
  const cert = await configFor('certification', 'basic');
  const renewal = await configFor('renewal', 'post');
  assert.equal(cert.serverMetadata().issuer, issuer);
  assert.deepEqual(cert.serverMetadata().code_challenge_methods_supported, ['S256']);
  const { b, doc } = await applicant(true);

  // Code + PKCE; openid-client checks iss, state, nonce, at_hash and (non-repudiation) the signature.
  const a = await authUrl(cert, 'certification');
  const cb = await callback(b, a.url);
  const tokens = await client.authorizationCodeGrant(cert, cb, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce });
  const claims = tokens.claims();
  assert.equal(claims.iss, issuer);
  assert.equal(claims.aud, 'certification');
  assert.equal(claims.doc_number, doc);
  assert.equal(claims.realname_status, 'verified');
  assert.ok(claims.sid && claims.auth_time && claims.at_hash);
  const jwks = jose.createRemoteJWKSet(new URL(`${issuer}/oidc/jwks`));
  const verified = await jose.jwtVerify(tokens.id_token, jwks, { issuer, audience: 'certification', algorithms: ['RS256'] });
  assert.ok(verified.protectedHeader.kid);

  // Userinfo.
  const info = await client.fetchUserInfo(cert, tokens.access_token, claims.sub);
  assert.equal(info.name, '张三');
  assert.equal(info.doc_number, doc);

  // Replaying the code: invalid_grant.
  await assert.rejects(
    client.authorizationCodeGrant(cert, cb, { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce }),
    (err) => err.error === 'invalid_grant',
  );
  // ...and the tokens it issued stop working.
  await assert.rejects(client.fetchUserInfo(cert, tokens.access_token, claims.sub));

  // SSO-2: the renewal entry (client_secret_post) signs in without a password.
  const r = await authUrl(renewal, 'renewal');
  const rcb = await callback(b, r.url);
  const rtokens = await client.authorizationCodeGrant(renewal, rcb, { pkceCodeVerifier: r.verifier, expectedState: r.state, expectedNonce: r.nonce });
  assert.equal(rtokens.claims().sub, claims.sub);
  assert.equal(rtokens.claims().aud, 'renewal');

  // Plain PKCE is refused (at the client's redirect URI).
  const plain = new URL(`${issuer}/oidc/authorize`);
  for (const [k, v] of Object.entries({ response_type: 'code', client_id: 'certification', redirect_uri: `${rpBase}/certification/callback`, scope: 'openid', state: 's', code_challenge: client.randomPKCECodeVerifier(), code_challenge_method: 'plain' })) plain.searchParams.set(k, v);
  const plainCb = await callback(b, plain);
  assert.equal(plainCb.searchParams.get('error'), 'invalid_request');
  assert.equal(plainCb.searchParams.get('code'), null);

  // An unknown redirect URI: an error page, no redirect.
  const evil = await authUrl(cert, 'certification', { redirect_uri: 'http://127.0.0.1:1/evil' });
  const res = await b.fetch(evil.url);
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('location'), null);
  assert.match(await res.text(), /无法登录/);

  // A wrong client secret: invalid_client. Over Basic the answer is a 401 with a
  // Basic challenge (RFC 6749 §5.2), which openid-client reports as the challenge.
  const wrong = await configFor('certification', 'wrong');
  const w = await authUrl(wrong, 'certification');
  const wcb = await callback(b, w.url);
  await assert.rejects(
    client.authorizationCodeGrant(wrong, wcb, { pkceCodeVerifier: w.verifier, expectedState: w.state, expectedNonce: w.nonce }),
    (err) => err.status === 401 && err.cause?.[0]?.scheme === 'basic' && err.cause[0].parameters.error === 'invalid_client',
  );
  const wrongPost = await configFor('certification', 'wrong-post');
  const wp = await authUrl(wrongPost, 'certification');
  const wpcb = await callback(b, wp.url);
  await assert.rejects(
    client.authorizationCodeGrant(wrongPost, wpcb, { pkceCodeVerifier: wp.verifier, expectedState: wp.state, expectedNonce: wp.nonce }),
    (err) => err.error === 'invalid_client' && err.status === 401,
  );

  // prompt=none with a session: a code at once; without one: login_required;
  // with a session whose applicant has not verified the real name: interaction_required.
  const n1 = await authUrl(cert, 'certification', { prompt: 'none' });
  const n1cb = await callback(b, n1.url);
  assert.ok(n1cb.searchParams.get('code'));
  const stranger = new Browser();
  const n2 = await authUrl(cert, 'certification', { prompt: 'none' });
  const n2cb = await callback(stranger, n2.url);
  await assert.rejects(
    client.authorizationCodeGrant(cert, n2cb, { pkceCodeVerifier: n2.verifier, expectedState: n2.state, expectedNonce: n2.nonce }),
    (err) => err.error === 'login_required',
  );
  const unverified = await applicant(false);
  const n3 = await authUrl(cert, 'certification', { prompt: 'none' });
  const n3cb = await callback(unverified.b, n3.url);
  assert.equal(n3cb.searchParams.get('error'), 'interaction_required');

  // RP-initiated logout ends the jszg session for both entries.
  const bye = client.buildEndSessionUrl(cert, { id_token_hint: tokens.id_token, post_logout_redirect_uri: `${rpBase}/certification/`, state: 'bye-1' });
  const out = await b.fetch(bye);
  assert.equal(out.status, 302);
  assert.equal(out.headers.get('location'), `${rpBase}/certification/?state=bye-1`);
  const after1 = await authUrl(renewal, 'renewal', { prompt: 'none' });
  assert.equal((await callback(b, after1.url)).searchParams.get('error'), 'login_required');

  // Back-channel logout tokens arrive at both clients and verify against the JWKS.
  for (let i = 0; i < 100 && logoutTokens.length < 2; i++) await sleep(100);
  assert.equal(logoutTokens.length, 2, JSON.stringify(logoutTokens.map((t) => t.path)));
  for (const got of logoutTokens) {
    const aud = got.path.split('/')[1];
    assert.match(got.type, /application\/x-www-form-urlencoded/);
    const { payload, protectedHeader } = await jose.jwtVerify(got.token, jwks, { issuer, audience: aud, algorithms: ['RS256'], typ: 'logout+jwt' });
    assert.ok(protectedHeader.kid);
    assert.equal(payload.sid, claims.sid);
    assert.equal(payload.sub, claims.sub);
    assert.ok(payload.jti && payload.iat && payload.exp);
    assert.equal(payload.nonce, undefined);
    assert.deepEqual(payload.events, { 'http://schemas.openid.net/event/backchannel-logout': {} });
  }
  // Sent once: nothing more arrives.
  await sleep(1500);
  assert.equal(logoutTokens.length, 2);
});
