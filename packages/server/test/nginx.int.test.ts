/**
 * The shipped deploy/nginx/parley.conf under Debian's nginx, in front of a real Parley server:
 * TLS, the HTTP → HTTPS redirect, Socket.IO over WebSocket, WHIP/WHEP bodies, large uploads, and
 * trustProxy (per-IP connection and HTTP limits see the client behind nginx, not nginx).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { z } from 'zod';
import { wireErrorSchema, type JoinResult, type PeerInfo } from '@parley-rtc/protocol';
import type { ConfigInput } from '../src/config.ts';
import { nextEvent, request, startServer, type TestServer, type TestSocket } from '@parley-rtc/test-support/server';
import { connectThrough, startNginx, type Nginx } from './nginx.ts';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Call {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Source address of the TCP connection to nginx (any 127.0.0.0/8 address works on Linux). */
  from?: string;
}

/** One HTTP(S) request on its own connection, with a deadline. */
function call(nginx: Nginx, path: string, opts: Call = {}, plain = false): Promise<Reply> {
  const url = new URL(path, plain ? nginx.httpUrl : nginx.httpsUrl);
  const send = plain ? httpRequest : httpsRequest;
  return new Promise((resolve, reject) => {
    const req = send(
      url,
      { method: opts.method ?? 'GET', headers: opts.headers, ca: nginx.ca, localAddress: opts.from, agent: false, timeout: 15_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${opts.method ?? 'GET'} ${path}: no answer within 15 s`)));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** The catalogue code of a JSON error body (undefined for anything else, e.g. nginx's HTML). */
function codeOf(reply: Reply): string | undefined {
  try {
    const parsed = z.object({ error: wireErrorSchema }).safeParse(JSON.parse(reply.body.toString('utf8')));
    return parsed.success ? parsed.data.error.code : undefined;
  } catch {
    return undefined;
  }
}

describe('nginx in front of Parley (deploy/nginx/parley.conf)', () => {
  const closers: Array<() => Promise<void>> = [];
  const sockets: TestSocket[] = [];
  after(async () => {
    for (const s of sockets) s.disconnect();
    for (const close of closers.reverse()) await close();
  });

  /** A Parley server on port 0 and nginx with the shipped config in front of it. */
  async function proxied(config: ConfigInput = {}): Promise<{ server: TestServer; nginx: Nginx }> {
    const server = await startServer(config);
    closers.push(() => server.close());
    const nginx = await startNginx(new URL(server.app.url).host);
    closers.push(() => nginx.close());
    return { server, nginx };
  }

  /** A Socket.IO client through nginx from `from` (see connectThrough), closed after the suite. */
  async function connectVia(
    nginx: Nginx,
    from: string,
    headers: Record<string, string> = {},
  ): Promise<{ socket: TestSocket } | { refused: string }> {
    const conn = await connectThrough(nginx, from, headers);
    if ('socket' in conn) sockets.push(conn.socket);
    return conn;
  }

  async function joined(nginx: Nginx, room: string, name: string): Promise<{ socket: TestSocket; result: JoinResult }> {
    const conn = await connectVia(nginx, '127.0.0.1');
    if (!('socket' in conn)) throw new Error(`refused: ${conn.refused}`);
    const res = await request<JoinResult>(conn.socket, 'join', { room, name });
    if (!res.ok) throw new Error(`join failed: ${res.error.code} ${res.error.message}`);
    return { socket: conn.socket, result: res.data };
  }

  it('answers /healthz over TLS and redirects plain HTTP to HTTPS', async () => {
    const { nginx } = await proxied();
    const health = await call(nginx, '/healthz');
    assert.equal(health.status, 200, health.body.toString());
    assert.deepEqual(JSON.parse(health.body.toString()), { ok: true });
    assert.match(String(health.headers['strict-transport-security']), /max-age=\d+/);

    const plain = await call(nginx, '/room/standup?x=1', {}, true);
    assert.equal(plain.status, 301);
    assert.equal(plain.headers.location, 'https://127.0.0.1/room/standup?x=1');
  });

  it('carries Socket.IO over WebSocket: two members join a room through nginx and see each other', async () => {
    const { nginx } = await proxied();
    const alice = await joined(nginx, 'through-nginx', 'Alice');
    assert.equal(alice.result.self.name, 'Alice');
    assert.equal(alice.socket.io.engine.transport.name, 'websocket');
    const seen = nextEvent<PeerInfo>(alice.socket, 'peer_joined');
    const bob = await joined(nginx, 'through-nginx', 'Bob');
    assert.deepEqual(bob.result.peers, [{ id: alice.result.self.id, name: 'Alice' }]);
    assert.deepEqual(await seen, { id: bob.result.self.id, name: 'Bob' });
  });

  it('passes WHIP/WHEP and /offer requests with their application/sdp bodies to Parley', async () => {
    const { nginx } = await proxied();
    const preflight = await call(nginx, '/whip/cam', { method: 'OPTIONS' });
    assert.equal(preflight.status, 204);
    assert.equal(preflight.headers['accept-post'], 'application/sdp');
    const sdp = (body: string, type = 'application/sdp') => ({ method: 'POST', headers: { 'content-type': type }, body });
    // Each answer is Parley's JSON error, so the method, content type and body all arrived.
    const cases: Array<[string, Promise<Reply>, number, string]> = [
      ['an SDP Parley cannot use', call(nginx, '/whep/test', sdp('v=0\r\nm=video 9 RTP/AVP 0\r\n')), 400, 'BAD_SDP'],
      ['a text/plain body', call(nginx, '/whip/cam', sdp('{}', 'text/plain')), 415, 'UNSUPPORTED'],
      [
        'an SDP over Parley’s 64 KiB limit (under nginx’s 1 MiB)',
        call(nginx, '/whep/test', sdp(`v=0\r\n${'a=x\r\n'.repeat(20_000)}`)),
        413,
        'PAYLOAD_TOO_LARGE',
      ],
      [
        'DELETE of an unknown session',
        call(nginx, '/whep/test/00000000-0000-4000-8000-000000000000', { method: 'DELETE' }),
        404,
        'NOT_FOUND',
      ],
      [
        '/offer with a JSON body',
        call(nginx, '/offer', sdp(JSON.stringify({ sdp: 'nonsense', type: 'offer' }), 'application/json')),
        400,
        'BAD_SDP',
      ],
    ];
    for (const [what, reply, status, code] of cases) {
      const r = await reply;
      assert.equal(r.status, status, `${what}: ${r.body.toString().slice(0, 200)}`);
      assert.equal(codeOf(r), code, what);
    }
  });

  it('streams a room upload larger than the general 1 MiB body limit, and its download', async () => {
    const { nginx } = await proxied();
    const alice = await joined(nginx, 'share', 'Alice');
    const content = randomBytes(3 * 1024 * 1024);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const headers = { 'x-parley-session': alice.result.session, 'content-type': 'application/octet-stream' };
    const up = await call(nginx, '/api/rooms/share/files?name=big.bin', { method: 'POST', headers, body: content });
    assert.equal(up.status, 201, up.body.toString().slice(0, 300));
    const file = z.object({ file: z.object({ size: z.number(), sha256: z.string() }) }).parse(JSON.parse(up.body.toString()));
    assert.deepEqual(file.file, { size: content.length, sha256 });

    const down = await call(nginx, `/api/rooms/share/files/${sha256}`, { headers: { 'x-parley-session': alice.result.session } });
    assert.equal(down.status, 200);
    assert.equal(createHash('sha256').update(down.body).digest('hex'), sha256);
  });

  const oneEach = { maxConnectionsPerIp: 1, httpPerSec: 0.001, httpBurst: 1 };

  it('trustProxy "127.0.0.1": clients behind nginx are limited by their own address', async () => {
    const { nginx } = await proxied({ trustProxy: '127.0.0.1', rateLimits: oneEach });
    assert.ok('socket' in (await connectVia(nginx, '127.0.0.2')), 'first client of 127.0.0.2');
    assert.ok('socket' in (await connectVia(nginx, '127.0.0.3')), '127.0.0.3 has its own budget');
    assert.deepEqual(await connectVia(nginx, '127.0.0.2'), { refused: 'RATE_LIMITED' }, 'the cap still holds per client');
    assert.deepEqual(
      await connectVia(nginx, '127.0.0.2', { 'x-forwarded-for': '1.2.3.4' }),
      { refused: 'RATE_LIMITED' },
      'a forged X-Forwarded-For',
    );

    // HTTP agrees with Socket.IO on who the client is (one request per address here).
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.2' })).status, 200);
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.3' })).status, 200);
    const again = await call(nginx, '/api/ice-servers', { from: '127.0.0.2', headers: { 'x-forwarded-for': '1.2.3.4' } });
    assert.equal(again.status, 429);
    assert.equal(codeOf(again), 'RATE_LIMITED');
  });

  it('without trustProxy every client behind nginx is nginx, 127.0.0.1, and shares its budget', async () => {
    const { nginx } = await proxied({ rateLimits: oneEach });
    assert.ok('socket' in (await connectVia(nginx, '127.0.0.2')));
    assert.deepEqual(await connectVia(nginx, '127.0.0.3'), { refused: 'RATE_LIMITED' });
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.2' })).status, 200);
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.3' })).status, 429);
  });

  it('trustProxy 1 (hop): a forged X-Forwarded-For does not escape the per-IP cap', async () => {
    const { nginx } = await proxied({ trustProxy: 1, rateLimits: oneEach });
    assert.ok('socket' in (await connectVia(nginx, '127.0.0.2')));
    // nginx appends the real peer: "1.2.3.4, 127.0.0.2"; one trusted hop stops at 127.0.0.2.
    assert.deepEqual(await connectVia(nginx, '127.0.0.2', { 'x-forwarded-for': '1.2.3.4' }), { refused: 'RATE_LIMITED' });
    assert.ok('socket' in (await connectVia(nginx, '127.0.0.3')), '127.0.0.3 has its own budget');
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.2', headers: { 'x-forwarded-for': '1.2.3.4' } })).status, 200);
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.2', headers: { 'x-forwarded-for': '5.6.7.8' } })).status, 429);
    assert.equal((await call(nginx, '/api/ice-servers', { from: '127.0.0.3' })).status, 200, 'HTTP counts 127.0.0.3 on its own too');
  });
});
