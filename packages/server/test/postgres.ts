import { execFile } from 'node:child_process';
import { existsSync, chownSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/parley */
  url: string;
  /** Stops the cluster (fast shutdown) and deletes its directory. Idempotent. */
  close(): Promise<void>;
}

export interface StartPostgresOptions {
  /** Keep fsync on (for benchmarks); tests turn it off for speed. Default false. */
  durable?: boolean;
}

/** The directory holding initdb/pg_ctl, or undefined when PostgreSQL is not installed. */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env['PARLEY_PG_BIN'];
  if (fromEnv && existsSync(join(fromEnv, 'pg_ctl'))) return fromEnv;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? join(root, versions[0], 'bin') : undefined;
}

/** Why PostgreSQL tests must skip here, or undefined when they can run. */
export function postgresSkipReason(): string | undefined {
  return findPostgresBin() ? undefined : 'PostgreSQL binaries not found (install Debian package postgresql, or set PARLEY_PG_BIN)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway PostgreSQL cluster in a temp directory, listening on 127.0.0.1 on a free
 * port, with a database `parley`. Root runs the server binaries as the `postgres` user.
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresSkipReason());
  const dir = mkdtempSync(join(tmpdir(), 'parley-pg-'));
  const asRoot = userInfo().uid === 0;
  const sh = async (cmd: string, args: string[]) => {
    const file = join(bin, cmd);
    return asRoot ? run('runuser', ['-u', 'postgres', '--', file, ...args]) : run(file, args);
  };
  if (asRoot) {
    const ids = await run('id', ['-u', 'postgres']).then(
      async (u) => [Number(u.stdout.trim()), Number((await run('id', ['-g', 'postgres'])).stdout.trim())] as const,
    );
    chownSync(dir, ids[0], ids[1]);
  }
  const data = join(dir, 'data');
  let started = false;
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      try {
        if (started) await sh('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    })();
    return closing;
  };
  try {
    await sh('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C']);
    const port = await freePort();
    const settings = [
      `-c listen_addresses=127.0.0.1`,
      `-c port=${port}`,
      `-c unix_socket_directories=${dir}`,
      `-c max_connections=50`,
      ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ].join(' ');
    await sh('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-o', settings, '-w', '-t', '60', 'start']);
    started = true;
    await sh('createdb', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'parley']);
    return { url: `postgres://postgres@127.0.0.1:${port}/parley`, close };
  } catch (err) {
    await close().catch(() => {});
    throw err;
  }
}
