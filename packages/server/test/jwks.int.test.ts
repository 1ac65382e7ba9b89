import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWTPayload } from 'jose';
import { ParleyError } from '@parley-rtc/protocol';
import { TokenVerifier } from '../src/auth/TokenVerifier.ts';
import { request, startServer, type TestServer } from '@parley-rtc/test-support/server';

const ISSUER = 'https://idp.example.test/';
const AUDIENCE = 'parley';

interface KeyPair {
  publicKey: CryptoKey;
  privateKey: CryptoKey;
}

/** An identity provider's key set, served by a real HTTP server on port 0. */
async function serveJwks(
  keys: Array<{ kid: string; alg: string; pair: KeyPair }>,
): Promise<{ url: string; hits: () => number; close(): Promise<void> }> {
  const jwks = {
    keys: await Promise.all(keys.map(async ({ kid, alg, pair }) => ({ ...(await exportJWK(pair.publicKey)), kid, alg, use: 'sig' }))),
  };
  let hits = 0;
  const server: Server = createServer((_req, res) => {
    hits++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/.well-known/jwks.json`,
    hits: () => hits,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function idpToken(
  key: CryptoKey,
  kid: string,
  alg: string,
  claims: JWTPayload,
  opts: { exp?: number; iss?: string; aud?: string } = {},
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg, kid, typ: 'JWT' })
    .setSubject('idp-user-1')
    .setIssuer(opts.iss ?? ISSUER)
    .setAudience(opts.aud ?? AUDIENCE)
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(key);
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('tokens from an identity provider (JWKS)', () => {
  let rsa: KeyPair;
  let ec: KeyPair;
  let stranger: KeyPair;
  let idp: Awaited<ReturnType<typeof serveJwks>>;
  let server: TestServer;

  before(async () => {
    rsa = await generateKeyPair('RS256');
    ec = await generateKeyPair('ES256');
    stranger = await generateKeyPair('RS256');
    idp = await serveJwks([
      { kid: 'rsa-1', alg: 'RS256', pair: rsa },
      { kid: 'ec-1', alg: 'ES256', pair: ec },
    ]);
    server = await startServer({
      auth: { secret: 'local-hs256-secret-0123456789', apiKeys: {}, jwksUrl: idp.url, issuer: ISSUER, audience: AUDIENCE },
    });
  });
  after(async () => {
    await server?.close();
    await idp?.close();
  });

  async function join(room: string, token: string) {
    const socket = await server.connect();
    const res = await request<{ self: { id: string; name: string } }>(socket, 'join', { room, name: 'Idp', token });
    socket.disconnect();
    return res;
  }
  const errorCode = (res: { ok: boolean; error?: { code: string } }) => (res.ok ? undefined : res.error?.code);

  it('accepts RS256 and ES256 tokens signed by the key set, through a real join', async () => {
    const rs = await join(
      'idp-room',
      await idpToken(rsa.privateKey, 'rsa-1', 'RS256', { room: 'idp-room', grants: { publish: ['audio'] } }),
    );
    assert.equal(rs.ok, true, JSON.stringify(rs));
    assert.ok(idp.hits() >= 1, 'the key set was fetched from the identity provider');
    const es = await join('idp-room', await idpToken(ec.privateKey, 'ec-1', 'ES256', { room: '*' }));
    assert.equal(es.ok, true, JSON.stringify(es));
    const principal = await server.app.tokens.verify(
      await idpToken(rsa.privateKey, 'rsa-1', 'RS256', { room: 'idp-room', grants: { publish: ['audio'] } }),
      'idp-room',
    );
    assert.equal(principal.identity, 'idp-user-1');
    assert.deepEqual(principal.grants.publish, ['audio']);
  });

  it("still accepts Parley's own HS256 tokens next to the key set", async () => {
    assert.equal((await join('idp-room', server.app.tokens.mint({ identity: 'local', room: 'idp-room' }))).ok, true);
  });

  it('refuses a wrong key, alg none, an expired token, and a wrong issuer or audience, with documented codes', async () => {
    const room = { room: 'idp-room' };
    // Signed by a key that is not in the set (under a kid that is, and under one that is not).
    assert.equal(errorCode(await join('idp-room', await idpToken(stranger.privateKey, 'rsa-1', 'RS256', room))), 'TOKEN_INVALID');
    assert.equal(errorCode(await join('idp-room', await idpToken(stranger.privateKey, 'rsa-9', 'RS256', room))), 'TOKEN_INVALID');
    const now = Math.floor(Date.now() / 1000);
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: 'x', room: 'idp-room', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}.`;
    assert.equal(errorCode(await join('idp-room', none)), 'TOKEN_INVALID');
    const noneWithKid = `${b64({ alg: 'none', kid: 'rsa-1' })}.${b64({ sub: 'x', room: 'idp-room', iss: ISSUER, aud: AUDIENCE, exp: now + 600 })}.`;
    assert.equal(errorCode(await join('idp-room', noneWithKid)), 'TOKEN_INVALID');
    assert.equal(
      errorCode(await join('idp-room', await idpToken(rsa.privateKey, 'rsa-1', 'RS256', room, { exp: now - 3600 }))),
      'TOKEN_EXPIRED',
    );
    assert.equal(
      errorCode(await join('idp-room', await idpToken(rsa.privateKey, 'rsa-1', 'RS256', room, { iss: 'https://evil.example/' }))),
      'TOKEN_INVALID',
    );
    assert.equal(
      errorCode(await join('idp-room', await idpToken(rsa.privateKey, 'rsa-1', 'RS256', room, { aud: 'someone-else' }))),
      'TOKEN_INVALID',
    );
    // An identity-provider token still names its room.
    assert.equal(errorCode(await join('other-room', await idpToken(rsa.privateKey, 'rsa-1', 'RS256', room))), 'FORBIDDEN');
  });

  it('does not let an HS256 token signed with the public key pass (algorithm confusion)', async () => {
    const publicJwk = JSON.stringify(await exportJWK(rsa.publicKey));
    const confused = await new SignJWT({ room: 'idp-room' })
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setSubject('x')
      .setExpirationTime('10m')
      .sign(new TextEncoder().encode(publicJwk));
    assert.equal(errorCode(await join('idp-room', confused)), 'TOKEN_INVALID');
  });

  it('answers INTERNAL, not TOKEN_INVALID, when the key set cannot be fetched', async () => {
    const gone = await serveJwks([]);
    const url = gone.url;
    await gone.close();
    const verifier = new TokenVerifier({ apiKeys: {}, jwksUrl: url });
    const token = await idpToken(rsa.privateKey, 'rsa-1', 'RS256', { room: 'r' });
    await assert.rejects(verifier.verify(token), (err: unknown) => err instanceof ParleyError && err.code === 'INTERNAL');
  });
});
