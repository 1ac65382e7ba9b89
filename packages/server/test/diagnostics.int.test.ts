import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { classifyIceUrl, diagnosticsResponseSchema, type DiagnosticsResponse } from '@parley-rtc/protocol';
import { signHs256 } from '../src/auth/hs256.ts';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';

const AUTH_SECRET = 'diagnostics-auth-secret-0123456789';
const TURN_SECRET = 'diagnostics-turn-secret-0123456789';
const TURN_URLS = [
  'turn:turn.example.test:3478?transport=udp',
  'turn:turn.example.test:3478?transport=tcp',
  'turns:turn.example.test:5349?transport=tcp',
];

async function get(server: TestServer, path: string, token?: string): Promise<{ status: number; body: unknown; headers: Headers }> {
  const res = await fetch(`${server.app.url}${path}`, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.json(), headers: res.headers };
}

function parse(body: unknown): DiagnosticsResponse {
  const parsed = diagnosticsResponseSchema.safeParse(body);
  assert.ok(parsed.success, `response does not match the schema: ${JSON.stringify(body)}`);
  return parsed.data;
}

function errorCode(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null || !('error' in body)) return undefined;
  const error: unknown = body.error;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

describe('classifyIceUrl', () => {
  it('tells STUN, TURN over UDP, TURN over TCP and TURNS apart', () => {
    assert.equal(classifyIceUrl('stun:h:3478'), 'stun');
    assert.equal(classifyIceUrl('stuns:h:5349'), 'stun');
    assert.equal(classifyIceUrl('turn:h:3478'), 'turn-udp');
    assert.equal(classifyIceUrl('turn:h:3478?transport=udp'), 'turn-udp');
    assert.equal(classifyIceUrl('turn:h:3478?transport=tcp'), 'turn-tcp');
    assert.equal(classifyIceUrl('turns:h:5349?transport=tcp'), 'turns');
    assert.equal(classifyIceUrl('turn:[::1]:3478?transport=tcp'), 'turn-tcp');
    assert.equal(classifyIceUrl('http://h'), undefined);
    assert.equal(classifyIceUrl('turn:h:3478?transport=sctp'), undefined);
  });
});

describe('GET /api/diagnostics, open mode without TURN', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
  });

  it('answers without a token and says that no TURN is configured', async () => {
    const before = Date.now();
    const res = await get(server, '/api/diagnostics');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const d = parse(res.body);
    assert.ok(d.serverTime >= before && d.serverTime <= Date.now(), `serverTime ${d.serverTime}`);
    assert.deepEqual(d.iceServers, []);
    assert.deepEqual(d.configured, { stun: [], turnUdp: [], turnTcp: [], turns: [] });
    assert.equal(d.turn.enabled, false);
    assert.equal(d.turn.urlsWithoutSecret, false);
    assert.equal(d.turn.expiresAt, undefined);
    assert.equal(d.server.openMode, true);
    assert.equal(d.server.tls, false);
    assert.equal(d.server.mediaBindAddress, undefined);
  });

  it('rejects a malformed room', async () => {
    const res = await get(server, '/api/diagnostics?room=%20bad');
    assert.equal(res.status, 400);
    assert.equal(errorCode(res.body), 'INVALID_PAYLOAD');
  });
});

describe('GET /api/diagnostics with auth, STUN, TURN and a media bind address', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({
      auth: { secret: AUTH_SECRET },
      stunUrls: ['stun:turn.example.test:3478'],
      turn: { urls: TURN_URLS, secret: TURN_SECRET, ttlSec: 600 },
      media: { bindAddress: '127.0.0.1' },
    });
  });
  after(async () => {
    await server.close();
  });
  const mint = (room: string, identity = 'diag-user') => server.app.tokens.mint({ identity, room, grants: {} });

  it('follows the /api/ice-servers auth rule', async () => {
    assert.equal(errorCode((await get(server, '/api/diagnostics')).body), 'UNAUTHORIZED');
    const forged = signHs256({ sub: 'x', room: '*', exp: 4102444800 }, 'not-the-secret-at-all-000');
    const forgedRes = await get(server, '/api/diagnostics', forged);
    assert.equal(forgedRes.status, 401);
    assert.equal(errorCode(forgedRes.body), 'TOKEN_INVALID');
    // A token for one room works for that room only.
    assert.equal((await get(server, '/api/diagnostics', mint('r1'))).status, 403);
    assert.equal((await get(server, '/api/diagnostics?room=r2', mint('r1'))).status, 403);
    assert.equal((await get(server, '/api/diagnostics?room=r1', mint('r1'))).status, 200);
    assert.equal((await get(server, '/api/diagnostics', mint('*'))).status, 200);
    // The token may also come as ?token= (a link to the diagnostics page).
    assert.equal((await get(server, `/api/diagnostics?token=${encodeURIComponent(mint('*'))}`)).status, 200);
  });

  it('lists the configured kinds and mints TURN credentials for the caller', async () => {
    const nowSec = Math.floor(Date.now() / 1000);
    const d = parse((await get(server, '/api/diagnostics', mint('*', 'alice'))).body);
    assert.deepEqual(d.configured, {
      stun: ['stun:turn.example.test:3478'],
      turnUdp: [TURN_URLS[0]],
      turnTcp: [TURN_URLS[1]],
      turns: [TURN_URLS[2]],
    });
    assert.equal(d.turn.enabled, true);
    assert.equal(d.turn.urlsWithoutSecret, false);
    assert.equal(d.turn.ttlSec, 600);
    const turn = d.iceServers.find((s) => s.username !== undefined);
    assert.ok(turn, JSON.stringify(d.iceServers));
    assert.deepEqual(turn.urls, TURN_URLS);
    assert.match(turn.username ?? '', /^\d+:alice$/);
    assert.equal(
      turn.credential,
      createHmac('sha1', TURN_SECRET)
        .update(turn.username ?? '')
        .digest('base64'),
    );
    assert.ok(d.turn.expiresAt !== undefined && Math.abs(d.turn.expiresAt - (nowSec + 600)) <= 2, `expiresAt ${d.turn.expiresAt}`);
    assert.equal(d.server.openMode, false);
    assert.equal(d.server.mediaBindAddress, '127.0.0.1');
    // No secret leaks.
    assert.ok(!JSON.stringify(d).includes(TURN_SECRET) && !JSON.stringify(d).includes(AUTH_SECRET));
  });
});

describe('GET /api/diagnostics with TURN URLs but no secret', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ turn: { urls: [TURN_URLS[0] ?? ''] } });
  });
  after(async () => {
    await server.close();
  });

  it('offers no TURN and flags the misconfiguration', async () => {
    const d = parse((await get(server, '/api/diagnostics')).body);
    assert.equal(d.turn.enabled, false);
    assert.equal(d.turn.urlsWithoutSecret, true);
    assert.deepEqual(d.configured.turnUdp, []);
  });
});
