import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChatEntry, JoinResult, LogEntry } from '@parley-rtc/protocol';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';

const ADMIN_KEY = 'test-admin-key-0123456789';
const fastLimits = {
  eventsPerSec: 100_000,
  eventBurst: 100_000,
  connectionsPerMin: 100_000,
  connectionBurst: 100_000,
  maxConnectionsPerIp: 1000,
  httpPerSec: 100_000,
  httpBurst: 100_000,
};

interface Joined {
  socket: TestSocket;
  result: JoinResult;
}

async function joinRoom(server: TestServer, room: string, name: string, extra: Record<string, unknown> = {}): Promise<Joined> {
  const socket = await server.connect();
  const res = await request<JoinResult>(socket, 'join', { room, name, ...extra });
  if (!res.ok) throw new Error(`join failed: ${JSON.stringify(res.error)}`);
  return { socket, result: res.data };
}

async function send(socket: TestSocket, text: string): Promise<number> {
  const res = await request<{ seq: number }>(socket, 'chat_message', { text });
  if (!res.ok) throw new Error(`chat failed: ${JSON.stringify(res.error)}`);
  return res.data.seq;
}

async function api(server: TestServer, path: string, init: RequestInit & { session?: string } = {}) {
  const headers = new Headers(init.headers);
  if (init.session) headers.set('x-parley-session', init.session);
  const res = await fetch(`${server.app.url}${path}`, { ...init, headers });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body: body as Record<string, unknown> & { error?: { code: string; message: string } } };
}

describe('room log over Socket.IO and HTTP', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ adminKey: ADMIN_KEY, rateLimits: fastLimits });
  });
  after(async () => {
    await server.close();
  });

  it('a client that rejoins with lastSeq gets exactly the 100 entries it missed, in order', async () => {
    const a = await joinRoom(server, 'reconnect', 'Alice');
    const b = await joinRoom(server, 'reconnect', 'Bob');
    for (let i = 0; i < 5; i++) await send(b.socket, `before ${i}`);
    const seen = await request<{ lastSeq: number }>(a.socket, 'history', {});
    assert.ok(seen.ok);
    const lastSeq = seen.data.lastSeq;
    a.socket.disconnect();
    const sent: number[] = [];
    for (let i = 0; i < 100; i++) sent.push(await send(b.socket, `missed ${i}`));
    const again = await joinRoom(server, 'reconnect', 'Alice', { lastSeq });
    assert.equal(again.result.truncated, false);
    assert.equal(again.result.lastSeq, lastSeq + 100);
    assert.deepEqual(
      again.result.entries.map((e) => e.seq),
      sent,
    );
    assert.deepEqual(
      again.result.entries.map((e) => (e.kind === 'chat' ? e.text : '')),
      Array.from({ length: 100 }, (_, i) => `missed ${i}`),
    );
    // Nothing missed: an empty catch-up.
    const third = await joinRoom(server, 'reconnect', 'Carol', { lastSeq: lastSeq + 100 });
    assert.deepEqual(third.result.entries, []);
  });

  it('serves messages with after/before/limit and stats to room members', async () => {
    const a = await joinRoom(server, 'http-room', 'Alice');
    await joinRoom(server, 'http-room', 'Bob');
    for (let i = 1; i <= 12; i++) await send(a.socket, `n${i}`);
    const session = a.result.session;
    const seqs = (body: Record<string, unknown>) => (body['entries'] as LogEntry[]).map((e) => e.seq);

    let r = await api(server, '/api/rooms/http-room/messages', { session });
    assert.equal(r.status, 200);
    assert.equal(r.body['lastSeq'], 12);
    assert.deepEqual(
      seqs(r.body),
      Array.from({ length: 12 }, (_, i) => i + 1),
    );
    r = await api(server, '/api/rooms/http-room/messages?after=9', { session });
    assert.deepEqual(seqs(r.body), [10, 11, 12]);
    r = await api(server, '/api/rooms/http-room/messages?before=4', { session });
    assert.deepEqual(seqs(r.body), [1, 2, 3]);
    r = await api(server, '/api/rooms/http-room/messages?after=2&before=6', { session });
    assert.deepEqual(seqs(r.body), [3, 4, 5]);
    r = await api(server, '/api/rooms/http-room/messages?limit=2', { session });
    assert.deepEqual(seqs(r.body), [11, 12]);

    r = await api(server, '/api/rooms/http-room/stats', { session });
    assert.equal(r.status, 200);
    assert.equal(r.body['messages'], 12);
    assert.equal(r.body['lastSeq'], 12);
    assert.equal(r.body['participantsSeen'], 2);
    assert.ok(Number(r.body['bytes']) > 12 * 10);
  });

  it('refuses bad input and outsiders with catalogue errors, and stores nothing', async () => {
    const a = await joinRoom(server, 'guarded', 'Alice');
    const other = await joinRoom(server, 'elsewhere', 'Eve');
    await send(a.socket, 'keep me');
    const session = a.result.session;
    const cases: Array<[string, RequestInit & { session?: string }, number, string]> = [
      ['/api/rooms/guarded/messages', {}, 401, 'UNAUTHORIZED'],
      // a member of another room, with its own valid credential
      ['/api/rooms/guarded/messages', { session: other.result.session }, 403, 'FORBIDDEN'],
      // public peer ids are no credentials, in the old header or with a made-up key
      ['/api/rooms/guarded/messages', { headers: { 'x-parley-peer': a.result.self.id } }, 401, 'UNAUTHORIZED'],
      ['/api/rooms/guarded/messages?peer=' + a.result.self.id, {}, 401, 'UNAUTHORIZED'],
      ['/api/rooms/guarded/messages', { session: `${a.result.self.id}.not-the-key` }, 401, 'UNAUTHORIZED'],
      ['/api/rooms/guarded/messages', { session: 'no-such-member.key' }, 401, 'UNAUTHORIZED'],
      ['/api/rooms/guarded/stats', { session: 'x'.repeat(100) }, 401, 'UNAUTHORIZED'],
      ['/api/rooms/..%2Fetc/messages', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/guarded/messages?after=-1', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/guarded/messages?limit=0', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/guarded/messages?limit=100000', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/guarded/messages?after=abc', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/guarded/messages?after=5&before=3', { session }, 400, 'INVALID_PAYLOAD'],
      ['/api/rooms/no-such-room/stats', { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, 404, 'ROOM_NOT_FOUND'],
      ['/api/rooms/no-such-room/messages', { headers: { authorization: `Bearer ${ADMIN_KEY}` } }, 404, 'ROOM_NOT_FOUND'],
      ['/api/rooms/guarded', { method: 'DELETE' }, 401, 'UNAUTHORIZED'],
      ['/api/rooms/guarded', { method: 'DELETE', headers: { authorization: 'Bearer wrong-key-wrong-key' } }, 403, 'FORBIDDEN'],
      ['/api/rooms/no-such-room', { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } }, 404, 'ROOM_NOT_FOUND'],
    ];
    for (const [path, init, status, code] of cases) {
      const r = await api(server, path, init);
      assert.equal(r.status, status, `${init.method ?? 'GET'} ${path}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.error?.code, code, path);
      assert.ok((r.body.error?.message ?? '').length > 0);
    }
    // Oversize and malformed socket messages are refused without touching the log.
    for (const payload of [{ text: 'x'.repeat(5000) }, { text: '' }, 'not json', { text: 1 }]) {
      const res = await request(a.socket, 'chat_message', payload);
      assert.equal(res.ok, false);
    }
    const big = await request(a.socket, 'room_event', { type: 'big', body: 'y'.repeat(20_000) });
    assert.equal(!big.ok && big.error.code, 'PAYLOAD_TOO_LARGE');
    const r = await api(server, '/api/rooms/guarded/messages', { session });
    assert.deepEqual(
      (r.body['entries'] as ChatEntry[]).map((e) => e.text),
      ['keep me'],
    );
  });

  it('deletes a room with the admin key: members are told, entries are gone, seq restarts', async () => {
    const a = await joinRoom(server, 'doomed', 'Alice');
    for (let i = 0; i < 3; i++) await send(a.socket, `bye ${i}`);
    const ended = nextEvent<{ reason: string }>(a.socket, 'session_ended');
    const r = await api(server, '/api/rooms/doomed', { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body['entries'], 3);
    assert.equal((await ended).reason, 'room-closed');
    const stats = await api(server, '/api/rooms/doomed/stats', { headers: { authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(stats.status, 404);
    const b = await joinRoom(server, 'doomed', 'Bob');
    assert.equal(b.result.lastSeq, 0);
    assert.equal(await send(b.socket, 'fresh'), 1);
  });

  it('refuses deletion when no adminKey is configured', async () => {
    const open = await startServer();
    try {
      const a = await joinRoom(open, 'r', 'A');
      await send(a.socket, 'x');
      const r = await api(open, '/api/rooms/r', { method: 'DELETE', headers: { authorization: 'Bearer anything-at-all-here' } });
      assert.equal(r.status, 403);
      assert.match(r.body.error?.message ?? '', /disabled/);
    } finally {
      await open.close();
    }
  });
});

describe('room log across a server restart and retention', () => {
  it('catches a reconnecting client up across a graceful restart on the same data dir', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-restart-'));
    try {
      let server = await startServer({ dataDir, rateLimits: fastLimits });
      const a = await joinRoom(server, 'persist', 'Alice');
      for (let i = 0; i < 10; i++) await send(a.socket, `first ${i}`);
      await server.close();
      server = await startServer({ dataDir, rateLimits: fastLimits });
      try {
        const b = await joinRoom(server, 'persist', 'Bob');
        assert.equal(b.result.lastSeq, 10);
        for (let i = 0; i < 5; i++) await send(b.socket, `second ${i}`);
        const again = await joinRoom(server, 'persist', 'Alice', { lastSeq: 7 });
        assert.deepEqual(
          again.result.entries.map((e) => e.seq),
          [8, 9, 10, 11, 12, 13, 14, 15],
        );
      } finally {
        await server.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the retention job trims rooms by size in the background, and joins report the gap', async () => {
    const one = Buffer.byteLength(JSON.stringify({ text: 'm00' }));
    const server = await startServer({ rateLimits: fastLimits, retention: { maxBytes: one * 5, intervalMs: 20 } });
    try {
      const a = await joinRoom(server, 'trim', 'Alice');
      for (let i = 0; i < 20; i++) await send(a.socket, `m${String(i).padStart(2, '0')}`);
      const session = a.result.session;
      let entries: LogEntry[] = [];
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        const r = await api(server, '/api/rooms/trim/messages', { session });
        entries = r.body['entries'] as LogEntry[];
        if (entries.length === 5) break;
        await new Promise((res) => setTimeout(res, 20));
      }
      assert.deepEqual(
        entries.map((e) => e.seq),
        [16, 17, 18, 19, 20],
      );
      const late = await joinRoom(server, 'trim', 'Bob', { lastSeq: 3 });
      assert.equal(late.result.truncated, true, 'entries 4..15 are gone');
      assert.deepEqual(
        late.result.entries.map((e) => e.seq),
        [16, 17, 18, 19, 20],
      );
      const stats = await api(server, '/api/rooms/trim/stats', { session });
      assert.equal(stats.body['messages'], 5);
      assert.equal(stats.body['lastSeq'], 20);
    } finally {
      await server.close();
    }
  });
});
