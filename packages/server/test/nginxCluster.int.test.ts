/**
 * The shipped deploy/nginx/parley-cluster.conf under Debian's nginx as the load balancer in front
 * of two cluster-mode nodes (one Redis, one PostgreSQL) on loopback: WebSocket-only Socket.IO
 * spread over both nodes with no sticky sessions, the per-address cap counting the client behind
 * nginx across both nodes, and files stored through one node served through whichever answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { existsSync } from 'node:fs';
import type { JoinResult } from '@parley-rtc/protocol';
import { redisSkipReason, startRedis, type TestRedis } from '@parley-rtc/test-support/redis';
import { request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { connectThrough, NGINX_BIN, startNginx, type Nginx } from './nginx.ts';
import { postgresSkipReason, startPostgres, type TestPostgres } from './postgres.ts';

const skip = redisSkipReason() ?? postgresSkipReason() ?? (existsSync(NGINX_BIN) ? undefined : `nginx is not installed (${NGINX_BIN})`);
const ADMIN_KEY = 'nginx-cluster-admin-key-0123456789';

/** One HTTPS request through nginx as admin, on its own connection. */
function adminCall(nginx: Nginx, path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}) {
  return new Promise<{ status: number; body: Buffer }>((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, nginx.httpsUrl),
      {
        method: opts.method ?? 'GET',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, ...opts.headers },
        ca: nginx.ca,
        agent: false,
        timeout: 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer within 15 s\n${nginx.errorLog()}`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe('nginx as the load balancer of two nodes (deploy/nginx/parley-cluster.conf)', { skip }, () => {
  let redis: TestRedis;
  let db: TestPostgres;
  let nodes: TestServer[] = [];
  let nginx: Nginx;
  const sockets: TestSocket[] = [];
  const through = async (from: string) => {
    const conn = await connectThrough(nginx, from);
    if ('socket' in conn) sockets.push(conn.socket);
    return conn;
  };

  before(async () => {
    redis = await startRedis();
    db = await startPostgres();
    const config = {
      redis: { url: redis.url },
      storage: { driver: 'postgres' as const, postgresUrl: db.url },
      trustProxy: ['127.0.0.1'],
      adminKey: ADMIN_KEY,
      rateLimits: { maxConnectionsPerIp: 2 },
    };
    nodes = [await startServer(config), await startServer(config)];
    nginx = await startNginx(nodes.map((n) => new URL(n.app.url).host));
  });
  after(async () => {
    for (const s of sockets) s.disconnect();
    await nginx?.close();
    for (const n of nodes) await n.close();
    await db?.close();
    await redis?.close();
  });

  it('spreads WebSocket-only connections over both nodes, each a working session, with no stickiness', async () => {
    const joined: string[] = [];
    for (const [i, from] of ['127.0.0.11', '127.0.0.12', '127.0.0.13', '127.0.0.14'].entries()) {
      const conn = await through(from);
      assert.ok('socket' in conn, `connection ${i} refused`);
      const res = await request<JoinResult>(conn.socket, 'join', { room: 'lb', name: `user-${i}` });
      assert.ok(res.ok, JSON.stringify(res));
      // One room across both nodes: each joiner is told about everyone before it.
      assert.deepEqual(res.data.peers.map((p) => p.id).sort(), [...joined].sort(), `joiner ${i} sees the room, not its node`);
      joined.push(res.data.self.id);
    }
    const perNode = nodes.map((n) => n.app.io.engine.clientsCount);
    assert.deepEqual(
      perNode.map((c) => c > 0),
      [true, true],
      `both nodes hold connections (least_conn, no stickiness): ${perNode.join(', ')}`,
    );
    assert.equal(
      perNode.reduce((a, b) => a + b, 0),
      4,
    );
    // Long-polling, which would need stickiness, is not offered in cluster mode.
    const polling = await adminCall(nginx, '/socket.io/?EIO=4&transport=polling');
    assert.equal(polling.status, 400, polling.body.toString());
  });

  it('the per-address cap counts the client behind nginx, across both nodes', async () => {
    // maxConnectionsPerIp 2: the first two from one address land on different nodes (least_conn),
    // the third is refused by whichever node it reaches; another address is not affected.
    const first = await through('127.0.0.21');
    const second = await through('127.0.0.21');
    assert.ok('socket' in first && 'socket' in second);
    assert.deepEqual(await through('127.0.0.21'), { refused: 'RATE_LIMITED' });
    assert.deepEqual(await through('127.0.0.21'), { refused: 'RATE_LIMITED' });
    assert.ok('socket' in (await through('127.0.0.22')));
  });

  it('a file uploaded through the balancer is served, with Range, by whichever node answers', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 17);
    const up = await adminCall(nginx, '/api/rooms/lb-files/files?name=blob.bin', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: data,
    });
    assert.equal(up.status, 201, up.body.toString());
    const { file } = JSON.parse(up.body.toString()) as { file: { sha256: string } };
    // Successive requests go round the nodes; each must find the file.
    for (let i = 0; i < 4; i++) {
      const start = 1024 * 1024 - 3 + i;
      const part = await adminCall(nginx, `/api/rooms/lb-files/files/${file.sha256}`, {
        headers: { range: `bytes=${start}-${start + 99}` },
      });
      assert.equal(part.status, 206, part.body.toString());
      assert.ok(part.body.equals(data.subarray(start, start + 100)));
    }
  });
});
