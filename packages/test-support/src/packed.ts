// Test support: the published packages as npm tarballs, installed into throwaway directories the
// way a user installs them. The tarballs are packed from the current build (`npm test` builds
// first; a missing build is built here).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** An environment without the development export condition: installed packages run from dist. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env['NODE_OPTIONS'];
  delete env['NODE_TEST_CONTEXT'];
  return env;
}

let packed: Map<string, string> | undefined;

/** Packs every published package once per process; returns package short name → tarball path. */
export async function tarballs(): Promise<Map<string, string>> {
  if (packed) return packed;
  const { packAll, PUBLISHED } = (await import(join(repoRoot, 'scripts/pack.mjs'))) as {
    packAll: (dir: string, opts: { build: boolean }) => string[];
    PUBLISHED: string[];
  };
  const built =
    PUBLISHED.every((p) => existsSync(join(repoRoot, 'packages', p, 'dist/index.js'))) &&
    existsSync(join(repoRoot, 'packages/server/web/index.html')) &&
    existsSync(join(repoRoot, 'packages/client/dist/browser/parley-client.js'));
  const files = packAll(mkdtempSync(join(tmpdir(), 'parley-pack-')), { build: !built });
  packed = new Map(PUBLISHED.map((p, i) => [p, files[i]!]));
  return packed;
}

/**
 * Makes an empty npm project in a new temp directory and installs the given tarballs into it
 * (`--omit=dev`, offline-first from the npm cache). Returns the directory.
 */
export function installInto(files: string[], opts: { dir?: string; omitDev?: boolean } = {}): string {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'parley-install-'));
  if (!existsSync(join(dir, 'package.json')))
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'parley-install-test', private: true, type: 'module' }));
  const args = ['install', '--no-audit', '--no-fund', '--prefer-offline', ...(opts.omitDev === false ? [] : ['--omit=dev']), ...files];
  execFileSync('npm', args, { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'], env: userEnv() });
  return dir;
}
