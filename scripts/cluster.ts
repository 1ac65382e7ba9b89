// `npm run cluster`: three Parley nodes on one machine sharing a Redis and a PostgreSQL, on
// loopback ports 8081-8083 (README "Several nodes"). Redis and PostgreSQL are throwaway ones in
// temp directories unless PARLEY_REDIS_URL / PARLEY_POSTGRES_URL name yours. Ctrl-C drains the
// nodes (SIGTERM) and removes the throwaway servers.
//   npm run cluster -- --nodes 3 --base-port 8081
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startRedis, type TestRedis } from '@parley-rtc/test-support/redis';
import { startPostgres, type TestPostgres } from '../packages/server/test/postgres.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const { values } = parseArgs({
  options: { nodes: { type: 'string', default: '3' }, 'base-port': { type: 'string', default: '8081' }, 'data-dir': { type: 'string' } },
});
const count = Number(values.nodes);
const basePort = Number(values['base-port']);
if (!Number.isInteger(count) || count < 1 || !Number.isInteger(basePort)) {
  console.error('usage: npm run cluster -- [--nodes 3] [--base-port 8081] [--data-dir ./data/cluster]');
  process.exit(2);
}
const dataRoot = values['data-dir'] ?? join(root, 'data', 'cluster');

let redis: TestRedis | undefined;
let postgres: TestPostgres | undefined;
const children: ChildProcess[] = [];

async function stopAll(): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          c.once('exit', () => resolve());
          c.kill('SIGTERM');
        }),
    ),
  );
  await postgres?.close();
  await redis?.close();
}

let stopping = false;
const stop = () => {
  if (stopping) process.exit(1);
  stopping = true;
  console.log('\nstopping the nodes (drain), then Redis and PostgreSQL…');
  stopAll().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);

try {
  let redisUrl = process.env['PARLEY_REDIS_URL'];
  if (!redisUrl) {
    redis = await startRedis();
    redisUrl = redis.url;
  }
  let postgresUrl = process.env['PARLEY_POSTGRES_URL'];
  if (!postgresUrl) {
    postgres = await startPostgres({ durable: true });
    postgresUrl = postgres.url;
  }
  console.log(`redis ${redisUrl}${redis ? ' (throwaway)' : ''}\npostgres ${postgresUrl}${postgres ? ' (throwaway)' : ''}`);
  for (let i = 1; i <= count; i++) {
    const id = `node-${i}`;
    const port = basePort + i - 1;
    const dataDir = join(dataRoot, id);
    mkdirSync(dataDir, { recursive: true });
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'packages/server/src/cli.ts'), 'serve'], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NODE_OPTIONS: '--conditions=@parley-rtc/source',
        PARLEY_PORT: String(port),
        PARLEY_DATA_DIR: dataDir,
        PARLEY_STORAGE: 'postgres',
        PARLEY_POSTGRES_URL: postgresUrl,
        PARLEY_REDIS_URL: redisUrl,
        PARLEY_NODE_ID: id,
        PARLEY_LOG_FORMAT: process.env['PARLEY_LOG_FORMAT'] ?? 'pretty',
      },
    });
    children.push(child);
    const prefix = (line: string) => `[${id}] ${line}`;
    const relay = (to: NodeJS.WriteStream) => (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line) to.write(`${prefix(line)}\n`);
    };
    child.stdout?.on('data', relay(process.stdout));
    child.stderr?.on('data', relay(process.stderr));
    child.once('exit', (code, signal) => {
      console.log(prefix(`exited (${signal ?? code})`));
    });
  }
  console.log(`nodes on ${Array.from({ length: count }, (_, i) => `http://127.0.0.1:${basePort + i}`).join(' ')}; Ctrl-C stops them`);
} catch (err) {
  console.error(err);
  await stopAll();
  process.exit(1);
}
