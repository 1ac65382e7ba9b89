/**
 * GET /sdk/parley-client.js: the client SDK's browser bundle, served by every Parley server so a
 * page next to it can `import { Room } from '/sdk/parley-client.js'`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { registerSdkRoutes, sdkBundleDir } from '../src/http/sdk.ts';
import { sendError } from '../src/http/errors.ts';
import { createLogger } from '../src/util/logger.ts';
import { repoRoot } from '@parley-rtc/test-support/packed';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';

describe('GET /sdk/parley-client.js', () => {
  let server: TestServer;
  let bundleFile: string;

  before(async () => {
    const dir = sdkBundleDir();
    assert.ok(dir, '@parley-rtc/client resolves from the server');
    bundleFile = join(dir, 'parley-client.js');
    if (!existsSync(bundleFile)) {
      const { bundle } = (await import(join(repoRoot, 'packages/client/scripts/bundle.mjs'))) as { bundle: () => Promise<number> };
      await bundle();
    }
    server = await startServer();
  });
  after(() => server?.close());

  it('serves the bundle as JavaScript that any origin may import, with an ETag', async () => {
    const res = await fetch(`${server.app.url}/sdk/parley-client.js`, { headers: { origin: 'http://elsewhere.example' } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/javascript/);
    assert.equal(res.headers.get('access-control-allow-origin'), '*');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const body = await res.text();
    assert.equal(body, readFileSync(bundleFile, 'utf8'));
    assert.match(body, /export\s*\{[^}]*\bRoom\b/);
    assert.match(body, /sourceMappingURL=parley-client\.js\.map/);

    const etag = res.headers.get('etag');
    assert.ok(etag);
    const again = await fetch(`${server.app.url}/sdk/parley-client.js`, { headers: { 'if-none-match': etag } });
    assert.equal(again.status, 304);
  });

  it('serves its source map', async () => {
    const res = await fetch(`${server.app.url}/sdk/parley-client.js.map`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const map = (await res.json()) as { sources?: unknown };
    assert.ok(Array.isArray(map.sources) && map.sources.some((s) => typeof s === 'string' && s.endsWith('Room.ts')));
  });

  it('answers other /sdk/ paths with a JSON 404, not the web app', async () => {
    const res = await fetch(`${server.app.url}/sdk/parley.js`);
    assert.equal(res.status, 404);
    const body = (await res.json()) as { error?: { code?: string } };
    assert.equal(body.error?.code, 'NOT_FOUND');
  });
});

describe('GET /sdk/parley-client.js without a built bundle', () => {
  const empty = mkdtempSync(join(tmpdir(), 'parley-sdk-'));
  const http = Fastify();
  const log = createLogger('silent');
  http.setErrorHandler((err, _req, reply) => sendError(reply, err, log));
  registerSdkRoutes(http, { dir: empty });
  after(async () => {
    await http.close();
    rmSync(empty, { recursive: true, force: true });
  });

  it('answers 404 NOT_FOUND in the server error shape, saying how to build it', async () => {
    for (const path of ['/sdk/parley-client.js', '/sdk/parley-client.js.map']) {
      const res = await http.inject({ method: 'GET', url: path });
      assert.equal(res.statusCode, 404, path);
      const body = res.json<{ error: { code: string; message: string } }>();
      assert.equal(body.error.code, 'NOT_FOUND');
      assert.match(body.error.message, /not built.*npm run build/);
    }
  });
});
