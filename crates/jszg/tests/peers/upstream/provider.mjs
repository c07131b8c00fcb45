// The ministry's unified identity platform, played by npm oidc-provider
// (panva) 9.x: one confidential client, static accounts whose claims carry
// the document type, number and name, PKCE required, consent skipped, the
// built-in devInteractions login form. `rotate()` (or POST /__admin/rotate)
// replaces the signing key with a new one under a new kid and switches the
// ID-token algorithm between RS256 and ES256, on the same issuer URL.
//
// Run alone: PORT=… REDIRECT_URI=… ACCOUNTS='{"sub":{"doc_type":…}}' node provider.mjs
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

export const CLIENT_ID = 'jszg';
export const CLIENT_SECRET = 'peer-test-secret-' + randomBytes(8).toString('hex');

function signingKey(alg) {
  const kid = `${alg.toLowerCase()}-${randomBytes(6).toString('hex')}`;
  const pair = alg === 'ES256'
    ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
    : generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { ...pair.privateKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
}

function build(issuer, redirectUri, accounts, alg) {
  const key = signingKey(alg);
  const provider = new Provider(issuer, {
    clients: [{
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
      redirect_uris: [redirectUri],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      id_token_signed_response_alg: alg,
    }],
    jwks: { keys: [key] },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    pkce: { required: () => true },
    claims: { openid: ['sub'], profile: ['name', 'doc_type', 'id_number'] },
    features: { devInteractions: { enabled: true } },
    async findAccount(ctx, sub) {
      const claims = accounts[sub];
      if (!claims) return undefined;
      return { accountId: sub, async claims() { return { sub, ...claims }; } };
    },
    // Consent is skipped: every login is granted openid and profile.
    async loadExistingGrant(ctx) {
      const grantId = ctx.oidc.result?.consent?.grantId || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
      if (grantId) return ctx.oidc.provider.Grant.find(grantId);
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid profile');
      grant.addOIDCClaims(['name', 'doc_type', 'id_number']);
      await grant.save();
      return grant;
    },
  });
  provider.on('server_error', (ctx, err) => console.error('[provider] server_error', err));
  return { provider, kid: key.kid };
}

/** Start on `port` (0 = any); resolves to { issuer, port, kid(), alg(), rotate(), stop() }. */
export async function startProvider({ port = 0, redirectUri, accounts }) {
  let current = null;
  let alg = 'RS256';
  let issuer = '';
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/__admin/rotate') {
      rotate();
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kid: current.kid, alg }));
      return;
    }
    current.handler(req, res);
  });
  await new Promise((ok) => server.listen(port, '127.0.0.1', ok));
  const actual = server.address().port;
  issuer = `http://127.0.0.1:${actual}`;
  function rotate() {
    alg = alg === 'RS256' ? 'ES256' : 'RS256';
    const built = build(issuer, redirectUri, accounts, alg);
    current = { kid: built.kid, handler: built.provider.callback() };
  }
  const first = build(issuer, redirectUri, accounts, alg);
  current = { kid: first.kid, handler: first.provider.callback() };
  return {
    issuer,
    port: actual,
    kid: () => current.kid,
    alg: () => alg,
    rotate,
    stop: () => new Promise((ok) => { server.closeAllConnections?.(); server.close(() => ok()); }),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const p = await startProvider({
    port: Number(process.env.PORT || 0),
    redirectUri: process.env.REDIRECT_URI,
    accounts: JSON.parse(process.env.ACCOUNTS || '{}'),
  });
  console.log(JSON.stringify({ issuer: p.issuer, client_id: CLIENT_ID, client_secret: CLIENT_SECRET }));
}
