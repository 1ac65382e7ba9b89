#!/usr/bin/env node
// Runs the test ladder with node's built-in runner (TypeScript through tsx).
//   node scripts/test.mjs                 every tier: unit, integration, e2e
//   node scripts/test.mjs unit integration    only those tiers
// Tiers by file name: *.e2e.test.ts (headless Chromium), *.int.test.ts (real servers/peers),
// the rest of *.test.ts are unit tests.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const tiers = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const extra = process.argv.slice(2).filter((a) => a.startsWith('-'));
const wanted = new Set(tiers.length ? tiers : ['unit', 'integration', 'e2e']);

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name === 'dist' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, path));
  }
  return out;
}

const tierOf = (f) => (f.endsWith('.e2e.test.ts') ? 'e2e' : f.endsWith('.int.test.ts') ? 'integration' : 'unit');
const files = ['packages', 'apps']
  .flatMap((d) => walk(join(root, d), []))
  .filter((f) => wanted.has(tierOf(f)))
  .sort((a, b) => ['unit', 'integration', 'e2e'].indexOf(tierOf(a)) - ['unit', 'integration', 'e2e'].indexOf(tierOf(b)));

if (files.length === 0) {
  console.error(`no test files for tiers: ${[...wanted].join(', ')}`);
  process.exit(1);
}
const args = [
  '--import', 'tsx',
  '--test',
  '--test-concurrency=1',
  '--test-timeout=180000',
  ...extra,
  ...files,
];
const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
process.exit(res.status ?? 1);
