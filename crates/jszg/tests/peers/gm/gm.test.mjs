// GM-6: implementations of SM2, SM3 and SM4 other than the RustCrypto crates jszg uses check
// what the release binary in $JSZG_BIN produces under suite gm:
// - npm sm-crypto verifies an SM2 ID token against the JWKS (GM/T 0009, user id 1234567812345678);
// - node:crypto (OpenSSL) recomputes the HMAC-SM3 signature on a request to the identity authority;
// - PyPI cryptography (OpenSSL) opens a sealed document number with SM4-GCM and recomputes its
//   HMAC-SM3 lookup hash from the key file (open_sealed.py).
// Each check is also run against something wrong, so a peer that accepts anything would fail.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import smCrypto from 'sm-crypto';
import { HARNESS_ENV, freePort } from '../../support/harness.mjs';
import { applicant as register, setIssuer } from '../sso/applicant.mjs';

const { sm2 } = smCrypto;
const BIN = process.env.JSZG_BIN;
assert.ok(BIN, 'JSZG_BIN must name the jszg binary');
const here = fileURLToPath(new URL('.', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SECRET = 'gm-peer-authority-secret';


let server; let dir; let issuer; let receiver; let rpBase; let renewalSecret;
const authorityCalls = [];

before(async () => {
  // The identity authority: checks jszg's signature with OpenSSL's SM3 and says "match".
  receiver = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => { body += d; });
    req.on('end', () => {
      const ts = req.headers['x-jszg-timestamp'];
      const alg = req.headers['x-jszg-signature-alg'];
      const sig = req.headers['x-jszg-signature'];
      const sm3 = createHmac('sm3', SECRET).update(`${ts}\n`).update(body).digest('hex');
      const sha256 = createHmac('sha256', SECRET).update(`${ts}\n`).update(body).digest('hex');
      authorityCalls.push({ alg, matchesSm3: sig === sm3, matchesSha256: sig === sha256 });
      if (sig !== sm3) { res.writeHead(401).end('{"error":"bad signature"}'); return; }
      const request = JSON.parse(body);
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result: 'match', request_id: request.request_id }));
    });
  });
  await new Promise((r) => receiver.listen(0, '127.0.0.1', r));
  rpBase = `http://127.0.0.1:${receiver.address().port}`;
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  setIssuer(issuer);
  dir = mkdtempSync(join(tmpdir(), 'jszg-gm-peer-'));
  writeFileSync(join(dir, 'jszg.toml'), `[authority]
provider = "http"
url = "${rpBase}/authority"
secret = "${SECRET}"

[clients.renewal]
redirect_uris = ["${rpBase}/renewal/callback"]
id_token_signed_response_alg = "SM2"
`);
  const env = { PATH: process.env.PATH, JSZG_BIND: `127.0.0.1:${port}`, JSZG_DATABASE_URL: `sqlite://${join(dir, 'jszg.db')}`, JSZG_DEV: '1', JSZG_LOG: 'warn', ...HARNESS_ENV };
  renewalSecret = execFileSync(BIN, ['clients', 'rotate-secret', 'renewal'], { cwd: dir, env }).toString().match(/secret: (\S+)/)[1];
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

let applicant;
/** Registered and logged in through the renewal entry; real name through the authority above. */
const verifiedApplicant = () => register(true, { entry: 'renewal', registry: false });

test('node:crypto (OpenSSL) checks the HMAC-SM3 signature on the identity authority request', async () => {
  applicant = await verifiedApplicant();
  assert.ok(authorityCalls.length >= 1);
  for (const call of authorityCalls) {
    assert.equal(call.alg, 'hmac-sm3', 'the header names the algorithm');
    assert.equal(call.matchesSm3, true, 'OpenSSL SM3 computes the same signature');
    assert.equal(call.matchesSha256, false, 'and the international one does not: the check can fail');
  }
});

test('npm sm-crypto verifies an SM2 ID token against the JWKS, and refuses a forged one', async () => {
  const { b, doc } = applicant ?? await verifiedApplicant();
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const url = new URL(`${issuer}/oidc/authorize`);
  for (const [k, v] of Object.entries({
    response_type: 'code', client_id: 'renewal', redirect_uri: `${rpBase}/renewal/callback`, scope: 'openid identity',
    state: 'gm-1', nonce: 'n-gm', code_challenge: challenge, code_challenge_method: 'S256',
  })) url.searchParams.set(k, v);
  const res = await b.fetch(url);
  assert.equal(res.status, 302);
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  assert.ok(code, res.headers.get('location'));
  const token = await fetch(`${issuer}/oidc/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`renewal:${renewalSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rpBase}/renewal/callback`, code_verifier: verifier }),
  });
  assert.equal(token.status, 200);
  const { id_token: idToken } = await token.json();
  const [h, p, s] = idToken.split('.');
  const header = JSON.parse(Buffer.from(h, 'base64url'));
  assert.equal(header.alg, 'SM2');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  assert.equal(claims.doc_number, doc);
  assert.equal(claims.nonce, 'n-gm');

  const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  assert.ok(discovery.id_token_signing_alg_values_supported.includes('SM2'));
  const { keys } = await (await fetch(`${issuer}/oidc/jwks`)).json();
  const jwk = keys.find((k) => k.kid === header.kid);
  assert.deepEqual({ kty: jwk.kty, crv: jwk.crv, alg: jwk.alg, use: jwk.use }, { kty: 'EC', crv: 'SM2', alg: 'SM2', use: 'sig' });
  const publicKey = `04${Buffer.from(jwk.x, 'base64url').toString('hex')}${Buffer.from(jwk.y, 'base64url').toString('hex')}`;
  const signature = Buffer.from(s, 'base64url').toString('hex');
  assert.equal(signature.length, 128, 'r ‖ s, 32 bytes each');
  const opts = { hash: true, der: false, userId: '1234567812345678' };
  assert.equal(sm2.doVerifySignature(`${h}.${p}`, signature, publicKey, opts), true, 'sm-crypto accepts jszg\'s SM2 signature');

  // The same check refuses what it should.
  const forgedPayload = Buffer.from(JSON.stringify({ ...claims, doc_number: '110105197001010011' })).toString('base64url');
  assert.equal(sm2.doVerifySignature(`${h}.${forgedPayload}`, signature, publicKey, opts), false, 'another payload');
  assert.equal(sm2.doVerifySignature(`${h}.${p}`, signature, publicKey, { ...opts, userId: 'ALICE123@YAHOO.COM' }), false, 'another user id');
  const other = sm2.generateKeyPairHex();
  assert.equal(sm2.doVerifySignature(`${h}.${p}`, signature, other.publicKey, opts), false, 'another key');
});

test('PyPI cryptography opens the sealed number with SM4-GCM and recomputes its HMAC-SM3 lookup', async () => {
  const { doc } = applicant ?? await verifiedApplicant();
  const db = join(dir, 'jszg.db');
  const keys = join(dir, 'jszg.db.keys');
  assert.match(readFileSync(keys, 'utf8'), /suite = "gm"/);
  const run = (...extra) => JSON.parse(execFileSync('python3', [join(here, 'open_sealed.py'), db, keys, doc, ...extra]).toString());
  const good = run();
  assert.equal(good.found, true, JSON.stringify(good));
  assert.equal(good.lookup_matches, true, JSON.stringify(good));
  assert.equal(good.opened, good.rows, 'every number opens');

  // Wrong associated data: SM4-GCM refuses every envelope.
  const wrongLabel = run('--label', 'phone');
  assert.equal(wrongLabel.opened, 0, JSON.stringify(wrongLabel));
  // Wrong index key: the number opens, the lookup does not match.
  const wrongKey = run('--index-key', randomBytes(32).toString('base64'));
  assert.equal(wrongKey.found, true);
  assert.equal(wrongKey.lookup_matches, false, JSON.stringify(wrongKey));
});
