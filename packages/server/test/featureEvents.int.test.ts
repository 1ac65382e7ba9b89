/**
 * Client events that features declare (`Signaling.registerClientEvent`), on a bare Signaling with
 * no features: a real Socket.IO server on port 0, real socket.io-client sockets, a real SQLite log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server } from 'socket.io';
import { CLIENT_EVENT_SCHEMAS, ParleyError, type JoinResult } from '@parley-rtc/protocol';
import { parseConfig } from '../src/config.ts';
import { TokenService } from '../src/auth/TokenService.ts';
import { Metrics } from '../src/metrics/Metrics.ts';
import { SqliteLogStore } from '../src/roomlog/SqliteLogStore.ts';
import { Signaling, type FeatureEventContext, type ParleyIo } from '../src/signaling/Signaling.ts';
import { createLogger } from '../src/util/logger.ts';
import { connectSocket, data, errorCode, request, type TestSocket } from '@parley-rtc/test-support/server';

describe('feature client events on one dispatcher', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-feature-events-'));
  const config = parseConfig({ dataDir: dir });
  const store = new SqliteLogStore({ path: join(dir, 'parley.db') });
  const metrics = new Metrics();
  const http = createServer();
  const io: ParleyIo = new Server(http, { serveClient: false });
  const signaling = new Signaling(io, {
    store,
    log: createLogger('silent'),
    tokens: new TokenService(config.auth),
    metrics,
    eventRate: { ratePerSec: 1000, burst: 1000 },
    iceServers: () => ({ iceServers: [], expiresAt: undefined }),
    limits: config.limits,
  });
  const sockets: TestSocket[] = [];
  let url = '';
  const connect = async () => {
    const socket = await connectSocket(url);
    sockets.push(socket);
    return socket;
  };

  before(async () => {
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await new Promise<void>((resolve) => void io.close(() => resolve()));
    signaling.close();
    await store.close();
    metrics.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a protocol event no feature handles: INVALID_PAYLOAD, then NOT_IN_ROOM, then UNSUPPORTED for members', async () => {
    const socket = await connect();
    assert.equal(errorCode(await request(socket, 'sfu_pause', { consumerIds: [], paused: 'yes' })), 'INVALID_PAYLOAD');
    assert.equal(errorCode(await request(socket, 'sfu_pause', { consumerIds: ['c1'], paused: true })), 'NOT_IN_ROOM');
    data(await request<JoinResult>(socket, 'join', { room: 'bare', name: 'A' }));
    const res = await request(socket, 'sfu_pause', { consumerIds: ['c1'], paused: true });
    assert.equal(errorCode(res), 'UNSUPPORTED');
    assert.match(res.ok ? '' : res.error.message, /sfu_pause is not enabled on this server/);
  });

  it('a registered feature event runs for members with their context; its result and errors are the ack', async () => {
    const seen: FeatureEventContext[] = [];
    signaling.registerClientEvent('sfu_close', CLIENT_EVENT_SCHEMAS.sfu_close, (ctx, req) => {
      seen.push(ctx);
      if (req.connectionId === 'missing') throw new ParleyError('NOT_FOUND', 'no such connection');
      return null;
    });
    const outsider = await connect();
    assert.equal(errorCode(await request(outsider, 'sfu_close', { connectionId: 'p1' })), 'NOT_IN_ROOM');
    assert.equal(seen.length, 0, 'the handler does not run for a socket outside a room');

    const member = await connect();
    const joined = data(await request<JoinResult>(member, 'join', { room: 'feature-room', name: 'B' }));
    assert.deepEqual(await request(member, 'sfu_close', { connectionId: 'p1' }), { ok: true, data: null });
    assert.equal(seen[0]?.memberId, joined.self.id);
    assert.equal(seen[0]?.room, 'feature-room');
    assert.equal(seen[0]?.grants.publish, true);
    assert.equal(errorCode(await request(member, 'sfu_close', { connectionId: 'missing' })), 'NOT_FOUND');
    assert.equal(errorCode(await request(member, 'sfu_close', {})), 'INVALID_PAYLOAD');
    assert.equal(seen.length, 2, 'an invalid payload never reaches the handler');
    assert.equal(metrics.value('parley_signaling_events_total', { event: 'sfu_close' }), 4, 'counted like core events');
  });

  it('one handler per event: a second registration, or one for a core event, is a TypeError', () => {
    assert.throws(() => signaling.registerClientEvent('sfu_close', CLIENT_EVENT_SCHEMAS.sfu_close, () => null), TypeError);
    assert.throws(() => signaling.registerClientEvent('leave', CLIENT_EVENT_SCHEMAS.leave, () => null), TypeError);
  });
});
