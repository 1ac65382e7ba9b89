/**
 * A throwaway redis-server for tests: Debian's `redis-server` on 127.0.0.1, a free port, its data
 * in a temp directory (append-only file on, so a restart keeps what was written). `restart()`
 * stops and starts it on the same port, the way an operator's restart looks to clients.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './poll.ts';
import { freePort } from './coturn.ts';

export interface TestRedis {
  /** redis://127.0.0.1:PORT */
  readonly url: string;
  readonly port: number;
  /** Stops the server (SIGTERM, waits for exit); the data directory stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory; resolves once it answers PING. */
  start(): Promise<void>;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Stops the server and deletes its directory. Idempotent. */
  close(): Promise<void>;
}

const CANDIDATES = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];

export function findRedisServer(): string | undefined {
  const fromEnv = process.env['PARLEY_REDIS_SERVER'];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  return CANDIDATES.find((p) => existsSync(p));
}

/** Why Redis tests must skip here, or undefined when they can run. */
export function redisSkipReason(): string | undefined {
  return findRedisServer() ? undefined : 'redis-server not found (install Debian package redis-server, or set PARLEY_REDIS_SERVER)';
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    let reply = '';
    socket.once('error', () => resolve(false));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) {
        socket.destroy();
        resolve(reply.startsWith('+PONG'));
      }
    });
    socket.once('connect', () => socket.write('PING\r\n'));
  });
}

export async function startRedis(): Promise<TestRedis> {
  const bin = findRedisServer();
  if (!bin) throw new Error(redisSkipReason());
  const dir = mkdtempSync(join(tmpdir(), 'parley-redis-'));
  const port = await freePort();
  let child: ChildProcess | undefined;
  let closed = false;

  const start = async (): Promise<void> => {
    if (closed) throw new Error('redis: already closed');
    if (child) return;
    const proc = spawn(
      bin,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'yes', '--daemonize', 'no'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    child = proc;
    let stderr = '';
    proc.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    proc.once('exit', () => {
      if (child === proc) child = undefined;
    });
    await waitFor(
      async () => {
        if (proc.exitCode !== null) throw new Error(`redis-server exited (${proc.exitCode}): ${stderr}`);
        return ping(port);
      },
      20_000,
      `redis-server on port ${port}`,
    );
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGTERM');
    await exited;
  };

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    start,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
