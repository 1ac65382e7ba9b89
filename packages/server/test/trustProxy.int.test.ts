/**
 * trustProxy: how the setting is read (config file, PARLEY_TRUST_PROXY, --trust-proxy) and
 * refused, which address a request gets (real HTTP requests on loopback, from chosen source
 * addresses), and what the server says about it at start. nginx.int.test.ts covers the setting
 * end to end behind the shipped nginx config.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { z } from 'zod';
import { createApp } from '../src/app.ts';
import { ConfigError, loadConfig, parseConfig } from '../src/config.ts';
import { clientAddress, describeTrustProxy, trustFunction, trustProxyWarning, type TrustProxy } from '../src/http/trustProxy.ts';

describe('trustProxy configuration', () => {
  it('is off by default', () => {
    assert.equal(parseConfig({}).trustProxy, false);
  });

  it('reads true/false, a hop count or an address list from the environment and flags', () => {
    const env = (v: string) => loadConfig({}, { PARLEY_TRUST_PROXY: v }).trustProxy;
    assert.equal(env('true'), true);
    assert.equal(env('false'), false);
    assert.equal(env('2'), 2);
    assert.deepEqual(env('127.0.0.1, 10.0.0.0/8,::1'), ['127.0.0.1', '10.0.0.0/8', '::1']);
    assert.deepEqual(env('loopback'), ['loopback']);
    assert.deepEqual(loadConfig({ 'trust-proxy': '192.168.1.0/24' }, {}).trustProxy, ['192.168.1.0/24']);
    assert.equal(loadConfig({ 'trust-proxy': '1' }, { PARLEY_TRUST_PROXY: 'true' }).trustProxy, 1, 'the flag wins');
    assert.deepEqual(parseConfig({ trustProxy: ['10.1.2.3', 'uniquelocal'] }).trustProxy, ['10.1.2.3', 'uniquelocal']);
    assert.deepEqual(parseConfig(parseConfig({ trustProxy: '10.1.2.3' })).trustProxy, ['10.1.2.3'], 'a parsed config parses again');
  });

  it('refuses bad values with a config error that names the field and the entry', () => {
    const cases: Array<[unknown, RegExp]> = [
      ['yes', /trustProxy: "yes": invalid IP address/],
      ['10.0.0.0/33', /trustProxy: "10.0.0.0\/33": invalid range/],
      ['127.0.0.1,,10.0.0.1', /trustProxy: "": an empty entry/],
      [0, /trustProxy: a hop count is at least 1/],
      [1.5, /trustProxy: expected true, false, a hop count, or a list/],
      [[], /trustProxy: the address list is empty/],
      [{ hops: 1 }, /trustProxy: expected true, false, a hop count, or a list/],
    ];
    for (const [value, message] of cases) {
      assert.throws(
        () => parseConfig({ trustProxy: value }),
        (err: unknown) => err instanceof ConfigError && message.test(err.message),
        JSON.stringify(value),
      );
    }
    assert.throws(() => loadConfig({ 'trust-proxy': 'proxy.example.com' }, {}), /trustProxy: "proxy.example.com": invalid IP address/);
  });

  it('describes itself for the start-up log and warns when it trusts anyone on a public interface', () => {
    assert.match(describeTrustProxy(false), /^none/);
    assert.match(describeTrustProxy(true), /^every proxy/);
    assert.equal(describeTrustProxy(1), '1 hop (whoever they are)');
    assert.equal(describeTrustProxy(['127.0.0.1', '10.0.0.0/8']), '127.0.0.1, 10.0.0.0/8');
    assert.match(trustProxyWarning(1, '0.0.0.0') ?? '', /can claim any address/);
    assert.match(trustProxyWarning(true, '10.0.0.5') ?? '', /can claim any address/);
    assert.equal(trustProxyWarning(1, '127.0.0.1'), undefined);
    assert.equal(trustProxyWarning(['10.0.0.2'], '0.0.0.0'), undefined);
    assert.equal(trustProxyWarning(false, '0.0.0.0'), undefined);
  });
});

describe('clientAddress on real requests', () => {
  // A loopback HTTP server answering with the client address under the trust setting in ?trust=.
  let server: Server;
  let port: number;
  before(async () => {
    server = createServer((req, res) => {
      const trust = z.string().parse(new URL(req.url ?? '/', 'http://x').searchParams.get('trust'));
      const setting = parseConfig({ trustProxy: JSON.parse(trust) as unknown }).trustProxy;
      res.end(clientAddress(req, trustFunction(setting)) ?? 'none');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const addressOf = (trust: TrustProxy, from: string, forwardedFor?: string) =>
    new Promise<string>((resolve, reject) => {
      const headers = forwardedFor === undefined ? {} : { 'x-forwarded-for': forwardedFor };
      const path = `/?trust=${encodeURIComponent(JSON.stringify(trust))}`;
      const req = request({ host: '127.0.0.1', port, path, headers, localAddress: from, agent: false, timeout: 5000 }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('timeout', () => req.destroy(new Error('no answer within 5 s')));
      req.on('error', reject);
      req.end();
    });

  it('without trust, the TCP peer, whatever X-Forwarded-For says', async () => {
    assert.equal(await addressOf(false, '127.0.0.2', '1.2.3.4'), '127.0.0.2');
  });

  it('behind a listed proxy, the nearest untrusted X-Forwarded-For entry', async () => {
    // The "proxy" is 127.0.0.1; what it appended last is the client it saw.
    assert.equal(await addressOf(['127.0.0.1'], '127.0.0.1', '203.0.113.7'), '203.0.113.7');
    assert.equal(await addressOf(['127.0.0.1'], '127.0.0.1', '1.2.3.4, 203.0.113.7'), '203.0.113.7', 'a forged entry before it is ignored');
    assert.equal(
      await addressOf(['127.0.0.1', '10.0.0.0/8'], '127.0.0.1', '203.0.113.7, 10.1.1.1'),
      '203.0.113.7',
      'through two listed proxies',
    );
    assert.equal(await addressOf(['127.0.0.1'], '127.0.0.2', '1.2.3.4'), '127.0.0.2', 'a client that is not the proxy cannot forge');
  });

  it('with a hop count, that many hops are believed whoever sent them (hence the start-up warning)', async () => {
    assert.equal(await addressOf(1, '127.0.0.1', '1.2.3.4, 203.0.113.7'), '203.0.113.7');
    assert.equal(await addressOf(2, '127.0.0.1', '1.2.3.4, 203.0.113.7'), '1.2.3.4');
    assert.equal(await addressOf(1, '127.0.0.2', '1.2.3.4'), '1.2.3.4', 'a direct client forges its address');
    assert.equal(await addressOf(true, '127.0.0.2', '1.2.3.4, 5.6.7.8'), '1.2.3.4');
  });
});

describe('the start-up log', () => {
  it('says which proxies are trusted', async () => {
    const lines: unknown[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-trust-'));
    const app = await createApp(
      { host: '127.0.0.1', port: 0, dataDir, trustProxy: '127.0.0.1,10.0.0.0/8' },
      { log: pino({ level: 'info' }, sink) },
    );
    try {
      const listening = z.object({ msg: z.literal('parley listening'), trustProxy: z.string() });
      const line = lines.map((l) => listening.safeParse(l)).find((r) => r.success);
      assert.equal(line?.data?.trustProxy, '127.0.0.1, 10.0.0.0/8');
    } finally {
      await app.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
