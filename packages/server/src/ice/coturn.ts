import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The coturn configuration shipped in the repository. */
export const COTURN_CONFIG = fileURLToPath(new URL('../../assets/coturn/turnserver.conf', import.meta.url));
export const TURNSERVER_BIN = process.env['TURNSERVER_PATH'] ?? '/usr/bin/turnserver';

export interface CoturnOptions {
  secret: string;
  /** Extra turnserver flags; they override the config file. */
  args?: string[];
  /** Use this config file instead of the repository's. */
  configFile?: string;
  stdio?: 'inherit' | 'pipe';
}

/** Starts Debian's coturn with Parley's configuration. Throws a clear error when it is missing. */
export function spawnCoturn(options: CoturnOptions): ChildProcess {
  if (!existsSync(TURNSERVER_BIN)) {
    throw new Error(`coturn is not installed (no ${TURNSERVER_BIN}); on Debian: apt-get install -y coturn`);
  }
  const args = ['-c', options.configFile ?? COTURN_CONFIG, `--static-auth-secret=${options.secret}`, ...(options.args ?? [])];
  return spawn(TURNSERVER_BIN, args, { stdio: options.stdio ?? 'pipe' });
}
