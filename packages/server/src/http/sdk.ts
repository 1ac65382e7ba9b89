import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { ParleyError } from '@parley-rtc/protocol';

/** The files of the client SDK's browser bundle (`@parley-rtc/client/browser`), with their types. */
const FILES: Readonly<Record<string, string>> = {
  'parley-client.js': 'text/javascript; charset=utf-8',
  'parley-client.js.map': 'application/json; charset=utf-8',
};

/** Where the installed @parley-rtc/client keeps its browser bundle (undefined if it cannot be found). */
export function sdkBundleDir(): string | undefined {
  try {
    const manifest = createRequire(import.meta.url).resolve('@parley-rtc/client/package.json');
    return join(dirname(manifest), 'dist', 'browser');
  } catch {
    return undefined;
  }
}

/**
 * `GET /sdk/parley-client.js` (and its `.map`): the client SDK as one ES module with its
 * dependencies, so a page served next to a Parley server can
 * `import { Room } from '/sdk/parley-client.js'` without a build step. Any origin may load it
 * (module scripts are fetched with CORS); browsers revalidate it on each load (ETag), since its
 * name carries no version. Answers 404 `NOT_FOUND` when the bundle has not been built, and for
 * any other path under `/sdk/` (instead of the web app's page).
 *
 * @param options.dir the bundle's directory (default: the installed @parley-rtc/client's)
 */
export function registerSdkRoutes(http: FastifyInstance, options: { dir?: string } = {}): void {
  const dir = options.dir ?? sdkBundleDir();
  for (const [name, type] of Object.entries(FILES)) {
    http.get(`/sdk/${name}`, async (req, reply) => {
      const file = dir === undefined ? undefined : join(dir, name);
      const info = file === undefined ? undefined : await stat(file).catch(() => undefined);
      if (file === undefined || !info?.isFile()) {
        throw new ParleyError('NOT_FOUND', `the client SDK's browser bundle is not built (run \`npm run build\`): no ${name}`);
      }
      const etag = `"${info.size.toString(16)}-${Math.floor(info.mtimeMs).toString(16)}"`;
      void reply.header('access-control-allow-origin', '*').header('cache-control', 'no-cache').header('etag', etag);
      if (req.headers['if-none-match'] === etag) return reply.status(304).send();
      return reply.type(type).send(await readFile(file));
    });
  }
  http.get('/sdk/*', async (req) => {
    throw new ParleyError('NOT_FOUND', `no SDK file at ${req.url.split('?')[0]}; the SDK is /sdk/parley-client.js`);
  });
}
