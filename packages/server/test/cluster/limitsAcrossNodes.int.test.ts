import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import type { ConfigInput } from '@parley-rtc/server';
import { waitFor } from '@parley-rtc/test-support/poll';
import { redisSkipReason, startRedis, type TestRedis } from '@parley-rtc/test-support/redis';
import { connectSocket, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../postgres.ts';
import { spawnServer } from '../serverProcess.ts';

const skip = redisSkipReason() ?? postgresSkipReason();

/** Connects (`ok`), or says which error code refused the handshake. */
async function tryConnect(url: string, open: TestSocket[]): Promise<string> {
  try {
    open.push(await connectSocket(url));
    return 'ok';
  } catch (err) {
    const data = (err as { data?: { code?: string; message?: string } }).data;
    return `${data?.code ?? 'no code'}: ${data?.message ?? (err as Error).message}`;
  }
}

const NO_LIMITS = { eventsPerSec: 1e6, eventBurst: 1e6, connectionsPerMin: 1e9, connectionBurst: 1e6, httpPerSec: 1e6, httpBurst: 1e6 };

/**
 * Per-address limits in cluster mode count in Redis: two in-process nodes (and, for a node that
 * dies, a child process) on one Redis and one PostgreSQL. Every client here is 127.0.0.1.
 */
describe('rate limits and connection caps across nodes', { skip }, () => {
  let redis: TestRedis;
  let db: TestPostgres;
  const nodes: TestServer[] = [];
  const sockets: TestSocket[] = [];
  const node = async (redisDb: number, rateLimits: NonNullable<ConfigInput['rateLimits']>) => {
    const server = await startServer({
      redis: { url: `${redis.url}/${redisDb}` },
      storage: { driver: 'postgres', postgresUrl: db.url },
      cluster: { heartbeatMs: 200, deadAfterMs: 1500 },
      rateLimits,
    });
    nodes.push(server);
    return server;
  };
  const httpStatus = async (server: TestServer) => (await fetch(`${server.app.url}/api/rooms/r/messages`)).status;

  before(async () => {
    redis = await startRedis();
    db = await startPostgres();
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const n of nodes) await n.close();
    await db?.close();
    await redis?.close();
  });

  it('a per-address connection cap holds across nodes, and frees a slot when a connection closes', async () => {
    const a = await node(1, { ...NO_LIMITS, maxConnectionsPerIp: 3 });
    const b = await node(1, { ...NO_LIMITS, maxConnectionsPerIp: 3 });
    const mine: TestSocket[] = [];
    assert.equal(await tryConnect(a.app.url, mine), 'ok');
    assert.equal(await tryConnect(a.app.url, mine), 'ok');
    assert.equal(await tryConnect(b.app.url, mine), 'ok');
    assert.match(await tryConnect(b.app.url, mine), /^RATE_LIMITED: at most 3 connections per address/);
    assert.match(await tryConnect(a.app.url, mine), /^RATE_LIMITED: at most 3 connections per address/);
    mine[0]!.disconnect();
    await waitFor(async () => (await tryConnect(b.app.url, mine)) === 'ok', 10_000, 'a slot freed on node A to be usable on node B');
    assert.match(await tryConnect(a.app.url, mine), /^RATE_LIMITED/);
    sockets.push(...mine);
  });

  it('the connections of a node that dies stop counting once their lease runs out', async () => {
    const limits = { ...NO_LIMITS, maxConnectionsPerIp: 3 };
    const a = await node(2, limits);
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-dying-'));
    const dying = await spawnServer(dataDir, {
      redis: { url: `${redis.url}/2` },
      storage: { driver: 'postgres', postgresUrl: db.url },
      cluster: { heartbeatMs: 200, deadAfterMs: 1500 },
      rateLimits: limits,
    });
    const mine: TestSocket[] = [];
    try {
      assert.equal(await tryConnect(dying.url, mine), 'ok');
      assert.equal(await tryConnect(dying.url, mine), 'ok');
      assert.equal(await tryConnect(a.app.url, mine), 'ok');
      assert.match(await tryConnect(a.app.url, mine), /^RATE_LIMITED/, 'the other node counts the dying node’s two');
      await dying.kill();
      await waitFor(async () => (await tryConnect(a.app.url, mine)) === 'ok', 20_000, 'the dead node’s leases to run out');
      assert.equal(await tryConnect(a.app.url, mine), 'ok');
      assert.match(await tryConnect(a.app.url, mine), /^RATE_LIMITED/, 'three on node A now');
    } finally {
      await dying.kill();
      for (const s of mine) s.disconnect();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('rate limits count across nodes: HTTP requests and new connections per address', async () => {
    // One per 100 s steady, so only the burst is available during the test.
    const limits = { ...NO_LIMITS, maxConnectionsPerIp: 100, httpPerSec: 0.01, httpBurst: 4, connectionsPerMin: 0.6, connectionBurst: 3 };
    const c = await node(3, limits);
    const d = await node(3, limits);
    const statuses = [];
    for (const server of [c, d, c, d, c, d]) statuses.push(await httpStatus(server));
    assert.deepEqual(statuses, [401, 401, 401, 401, 429, 429], 'four requests in all, whichever node they reach');
    const mine: TestSocket[] = [];
    assert.equal(await tryConnect(c.app.url, mine), 'ok');
    assert.equal(await tryConnect(d.app.url, mine), 'ok');
    assert.equal(await tryConnect(c.app.url, mine), 'ok');
    assert.match(await tryConnect(d.app.url, mine), /^RATE_LIMITED: too many connections/);
    assert.match(await tryConnect(c.app.url, mine), /^RATE_LIMITED: too many connections/);
    sockets.push(...mine);
  });

  it('with Redis down each node limits on its own (fail open to per-node limits); once it is back, the count is shared again', async () => {
    const limits = { ...NO_LIMITS, maxConnectionsPerIp: 2, httpPerSec: 0.01, httpBurst: 2 };
    const e = await node(4, limits);
    const f = await node(4, limits);
    const mine: TestSocket[] = [];
    assert.equal(await tryConnect(e.app.url, mine), 'ok');
    assert.equal(await tryConnect(f.app.url, mine), 'ok');
    assert.match(await tryConnect(e.app.url, mine), /^RATE_LIMITED: at most 2/);

    await redis.stop();
    // Each node now counts only its own: one open each, so one more each, and no more.
    assert.equal(await tryConnect(e.app.url, mine), 'ok');
    assert.equal(await tryConnect(f.app.url, mine), 'ok');
    assert.match(await tryConnect(e.app.url, mine), /^RATE_LIMITED: at most 2/);
    assert.match(await tryConnect(f.app.url, mine), /^RATE_LIMITED: at most 2/);
    // HTTP: each node's in-memory twin of the limit (burst 2) — nobody is locked out.
    assert.deepEqual([await httpStatus(e), await httpStatus(e), await httpStatus(e)], [401, 401, 429]);
    assert.deepEqual([await httpStatus(f), await httpStatus(f), await httpStatus(f)], [401, 401, 429]);

    await redis.start();
    // The nodes renew their leases, adding the connections admitted while Redis was away.
    const check = createClient({ url: `${redis.url}/4` });
    await check.connect();
    try {
      await waitFor(async () => (await check.zCard('parley:conn:127.0.0.1')) === 4, 20_000, 'all four connections counted in Redis again');
      assert.match(await tryConnect(e.app.url, mine), /^RATE_LIMITED: at most 2/);
      for (const s of mine) s.disconnect();
      await waitFor(async () => (await check.zCard('parley:conn:127.0.0.1')) === 0, 10_000, 'closed connections uncounted');
    } finally {
      check.destroy();
    }
  });
});
