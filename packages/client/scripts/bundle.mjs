#!/usr/bin/env node
// Bundles the SDK, with socket.io-client and zod, into one ES module for pages without a build
// step: dist/browser/parley-client.js (+ .map), exported as `@parley-rtc/client/browser` and
// served by a Parley server at /sdk/parley-client.js.
//   node packages/client/scripts/bundle.mjs       (part of the root `npm run build`)
// It bundles the TypeScript sources (the `@parley-rtc/source` export condition), so it needs no
// tsc build first; the public API is the same as dist/index.js.
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const pkg = JSON.parse(readFileSync(resolve(pkgDir, 'package.json'), 'utf8'));

/** Where the bundle is written. */
export const BUNDLE_FILE = resolve(pkgDir, 'dist/browser/parley-client.js');

/** Builds the browser bundle into `outfile`; resolves with its size in bytes. */
export async function bundle(outfile = BUNDLE_FILE) {
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [resolve(pkgDir, 'src/index.ts')],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    // ES2022 syntax as it is (class fields, private methods): Chrome/Edge 94+, Firefox 93+,
    // Safari 16.4+, the same browsers the web app targets.
    target: ['es2022'],
    conditions: ['@parley-rtc/source'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    banner: { js: `/*! ${pkg.name} ${pkg.version} for <script type="module"> (includes socket.io-client and zod) | MIT */` },
    logLevel: 'warning',
  });
  return statSync(outfile).size;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const bytes = await bundle();
  console.log(`${BUNDLE_FILE}: ${(bytes / 1024).toFixed(1)} KiB`);
}
