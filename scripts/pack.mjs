#!/usr/bin/env node
// Packs every publishable package into npm tarballs, the way `npm publish` would ship them:
//   node scripts/pack.mjs [DIR]        (npm run pack; DIR defaults to ./dist-pack)
// Builds first (tsc -b and the web app) unless --no-build is given. Prints one tarball path per
// line. Install them all at once into any directory: `npm install ./parley-rtc-*.tgz`.
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));

/** The published packages, dependencies before their dependents. */
export const PUBLISHED = ['protocol', 'rtc', 'client', 'bots', 'server'];

/** Builds (unless `build` is false) and packs every published package into `dir`; returns the tarball paths. */
export function packAll(dir, { build = true } = {}) {
  const out = resolve(dir);
  mkdirSync(out, { recursive: true });
  const env = { ...process.env, NODE_OPTIONS: '' };
  if (build) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'], env });
  return PUBLISHED.map((name) => {
    const json = execFileSync('npm', ['pack', '--json', '--pack-destination', out], {
      cwd: join(root, 'packages', name),
      encoding: 'utf8',
      env,
    });
    const [info] = JSON.parse(json);
    return join(out, info.filename);
  });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const dir = args.find((a) => !a.startsWith('--')) ?? join(root, 'dist-pack');
  for (const file of packAll(dir, { build: !args.includes('--no-build') })) console.log(file);
}
