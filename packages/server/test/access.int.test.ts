import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { signHs256 } from '../src/auth/hs256.ts';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

const SECRET = 'integration-secret-0123456789';
const SENDING_OFFER = { type: 'offer', sdp: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=sendrecv\r\n' };
const RECEIVING_OFFER = { type: 'offer', sdp: 'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=recvonly\r\n' };

describe('access control with tokens and grants', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ auth: { secret: SECRET, apiKeys: { 'key-1': 'api-secret-0123456789' } } });
  });
  after(async () => {
    await server.close();
  });

  // Each token is its own user unless named: a second join of one identity takes its seat over.
  let users = 0;
  const mint = (room: string, grants: Record<string, unknown> = {}, identity = `u-${++users}`) =>
    server.app.tokens.mint({ identity, room, grants });

  async function join(room: string, token: string | undefined, name = 'N') {
    const socket = await server.connect();
    const res = await request<{ self: { id: string } }>(socket, 'join', { room, name, ...(token ? { token } : {}) });
    return { socket, res };
  }

  function errorCode(res: { ok: boolean; error?: { code: string } }): string | undefined {
    return res.ok ? undefined : res.error?.code;
  }

  it('refuses joins without a token, with a forged one, an expired one, or one for another room', async () => {
    assert.equal(errorCode((await join('r1', undefined)).res), 'UNAUTHORIZED');
    const forged = signHs256({ sub: 'x', room: 'r1', exp: 4102444800 }, 'not-the-secret-at-all');
    assert.equal(errorCode((await join('r1', forged)).res), 'TOKEN_INVALID');
    const expired = signHs256({ sub: 'x', room: 'r1', exp: Math.floor(Date.now() / 1000) - 3600 }, SECRET);
    assert.equal(errorCode((await join('r1', expired)).res), 'TOKEN_EXPIRED');
    assert.equal(errorCode((await join('r1', mint('r2'))).res), 'FORBIDDEN');
    assert.equal(errorCode((await join('r1', mint('r1', { join: false }))).res), 'FORBIDDEN');
    assert.equal((await join('r1', mint('r1'))).res.ok, true);
  });

  it('a token without chat cannot send chat or room events; with chat it can', async () => {
    const mute = await join('chat-grants', mint('chat-grants', { chat: false }));
    assert.equal(errorCode(await request(mute.socket, 'chat_message', { text: 'hi' })), 'FORBIDDEN');
    assert.equal(errorCode(await request(mute.socket, 'room_event', { type: 't', body: 1 })), 'FORBIDDEN');
    const talker = await join('chat-grants', mint('chat-grants'));
    assert.equal((await request(talker.socket, 'chat_message', { text: 'hi' })).ok, true);
  });

  it('a token without record cannot start or stop the room recording; the join result says which members may', async () => {
    const guest = await join('rec-grants', mint('rec-grants'));
    assert.equal((guest.res as { data?: { grants?: { record: boolean } } }).data?.grants?.record, false);
    assert.equal(errorCode(await request(guest.socket, 'recording_start', {})), 'FORBIDDEN');
    assert.equal(errorCode(await request(guest.socket, 'recording_stop', {})), 'FORBIDDEN');
    const host = await join('rec-grants', mint('rec-grants', { record: true }));
    assert.equal((host.res as { data?: { grants?: { record: boolean } } }).data?.grants?.record, true);
  });

  it('a token without publish cannot offer to send media but may offer to receive', async () => {
    const viewer = await join('pub-grants', mint('pub-grants', { publish: false }));
    const other = await join('pub-grants', mint('pub-grants'));
    if (!other.res.ok) throw new Error('join failed');
    const to = other.res.data.self.id;
    assert.equal(errorCode(await request(viewer.socket, 'offer', { to, description: SENDING_OFFER })), 'FORBIDDEN');
    const relayed = nextEvent(other.socket, 'offer');
    assert.equal((await request(viewer.socket, 'offer', { to, description: RECEIVING_OFFER })).ok, true);
    await relayed;
  });

  it('mints tokens over HTTP for an admin only', async () => {
    const url = `${server.app.url}/api/tokens`;
    const body = JSON.stringify({ identity: 'guest', room: 'lobby', grants: { upload: true } });
    const headers = { 'content-type': 'application/json' };
    const anon = await fetch(url, { method: 'POST', headers, body });
    assert.equal(anon.status, 401);
    assert.equal(((await anon.json()) as { error: { code: string } }).error.code, 'UNAUTHORIZED');
    const notAdmin = await fetch(url, { method: 'POST', headers: { ...headers, authorization: `Bearer ${mint('*')}` }, body });
    assert.equal(notAdmin.status, 403);
    const admin = await fetch(url, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${mint('*', { admin: true })}` },
      body,
    });
    assert.equal(admin.status, 201);
    const { token } = (await admin.json()) as { token: string };
    const p = await server.app.tokens.verify(token, 'lobby');
    assert.equal(p.identity, 'guest');
    assert.equal(p.grants.upload, true);
    // An API key pair (its secret compared in constant time): a wrong secret is refused.
    const withKey = (secret: string) =>
      fetch(url, { method: 'POST', headers: { ...headers, 'x-api-key': 'key-1', 'x-api-secret': secret }, body });
    assert.equal((await withKey('api-secret-wrong-wrong')).status, 401);
    const inherited = await fetch(url, {
      method: 'POST',
      headers: { ...headers, 'x-api-key': '__proto__', 'x-api-secret': 'x'.repeat(20) },
      body,
    });
    assert.equal(inherited.status, 401, 'a key name from Object.prototype is unknown, not a crash');
    assert.equal((await withKey('api-secret-0123456789')).status, 201);
  });
});

describe('rate limits and metrics', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ rateLimits: { eventsPerSec: 20, eventBurst: 5 } });
  });
  after(async () => {
    await server.close();
  });

  it('limits events per socket with RATE_LIMITED, and the socket recovers after the window', async () => {
    const socket: TestSocket = await server.connect();
    assert.equal((await request(socket, 'join', { room: 'rl', name: 'x' })).ok, true);
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => request(socket, 'chat_message', { text: `m${i}` })));
    const limited = results.filter((r) => !r.ok);
    assert.ok(limited.length >= 5, `expected some refusals, got ${limited.length}`);
    const first = limited[0]!;
    assert.equal(first.ok ? undefined : first.error.code, 'RATE_LIMITED');
    const retryAfterMs = first.ok ? 0 : Number(first.error.details?.['retryAfterMs']);
    assert.ok(retryAfterMs > 0 && retryAfterMs <= 1000);
    // Wait for exactly the window the server announced, then the socket works again.
    await new Promise((r) => setTimeout(r, retryAfterMs + 60));
    assert.equal((await request(socket, 'chat_message', { text: 'after' })).ok, true);
    assert.equal(socket.connected, true);
  });

  it('exposes Prometheus metrics, health and readiness', async () => {
    const metrics = await (await fetch(`${server.app.url}/metrics`)).text();
    assert.match(metrics, /# TYPE parley_rooms gauge/);
    assert.match(metrics, /parley_errors_total\{code="RATE_LIMITED"\} \d+/);
    assert.match(metrics, /parley_log_entries_total\{kind="chat"\} \d+/);
    assert.match(metrics, /parley_event_loop_lag_seconds \d/);
    assert.match(metrics, /parley_process_cpu_seconds_total \d/);
    // A histogram kept by prom-client: the join above took some time and succeeded.
    assert.match(metrics, /# TYPE parley_join_duration_seconds histogram/);
    assert.match(metrics, /parley_join_duration_seconds_count\{outcome="ok"\} [1-9]/);
    assert.match(metrics, /parley_join_duration_seconds_bucket\{le="\+Inf",outcome="ok"\} [1-9]/);
    assert.equal((await fetch(`${server.app.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${server.app.url}/readyz`)).status, 200);
  });

  it('keeps /metrics behind a bearer token when metricsToken is set', async () => {
    const guarded = await startServer({ metricsToken: 'metrics-token-0123456789' });
    try {
      const get = (auth?: string) => fetch(`${guarded.app.url}/metrics`, auth ? { headers: { authorization: `Bearer ${auth}` } } : {});
      assert.equal((await get()).status, 401);
      assert.equal((await get('wrong-token-0123456789')).status, 403);
      const ok = await get('metrics-token-0123456789');
      assert.equal(ok.status, 200);
      assert.match(await ok.text(), /# TYPE parley_rooms gauge/);
    } finally {
      await guarded.close();
    }
  });
});
