// Room-log benchmark: appends/s with durable acks, and the time for a reconnecting client to
// catch up on 10,000 missed entries, for SQLite and PostgreSQL, next to a bare in-memory
// Socket.IO server (the upper bound) — all measured in this run, servers in child processes.
//   npm run bench:log [-- --seconds 5 --clients 16 --inflight 8]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Socket } from 'socket.io-client';
import { spawnServer } from '../packages/server/test/serverProcess.ts';
import { connectSocket } from '@parley-rtc/test-support/server';
import { spawnReady } from './lib/spawnReady.ts';
import { nodeBinary } from '../packages/server/test/otherNode.ts';
import { postgresSkipReason, startPostgres } from '../packages/server/test/postgres.ts';

const here = fileURLToPath(new URL('.', import.meta.url));

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

type AckResult = { ok: true; data: { seq: number; lastSeq?: number; entries?: unknown[] } } | { ok: false; error: { code: string } };

const connect = connectSocket;

async function call(socket: Socket, event: string, payload: unknown): Promise<AckResult> {
  const res = (await socket.timeout(30_000).emitWithAck(event, payload)) as AckResult;
  if (!res.ok) throw new Error(`${event} failed: ${res.error.code}`);
  return res;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

interface Figures {
  appendsPerSec: number;
  p50: number;
  p99: number;
  catchUpMs: number;
  entriesReplayed: number;
}

async function measure(url: string, opts: { clients: number; inflight: number; seconds: number }): Promise<Figures> {
  const sockets: Socket[] = [];
  try {
    // 1. Sustained appends: clients in rooms of 4, each with `inflight` chat messages awaiting acks.
    for (let i = 0; i < opts.clients; i++) {
      const s = await connect(url);
      sockets.push(s);
      await call(s, 'join', { room: `load-${Math.floor(i / 4)}`, name: `c${i}` });
    }
    const latencies: number[] = [];
    let acked = 0;
    let stop = false;
    const text = 'x'.repeat(100);
    const t0 = performance.now();
    const lanes = sockets.flatMap((s) =>
      Array.from({ length: opts.inflight }, async () => {
        while (!stop) {
          const start = performance.now();
          await call(s, 'chat_message', { text });
          latencies.push(performance.now() - start);
          acked++;
        }
      }),
    );
    await new Promise((r) => setTimeout(r, opts.seconds * 1000));
    stop = true;
    await Promise.all(lanes);
    const elapsed = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);

    // 2. Catch-up: 10,000 entries land while a client is away; it rejoins with its lastSeq.
    const writer = await connect(url);
    sockets.push(writer);
    await call(writer, 'join', { room: 'catchup', name: 'writer' });
    let sent = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (sent < 10_000) {
          sent++;
          await call(writer, 'chat_message', { text });
        }
      }),
    );
    const runs: number[] = [];
    let replayed = 0;
    for (let i = 0; i < 3; i++) {
      const reader = await connect(url);
      sockets.push(reader);
      const start = performance.now();
      const res = await call(reader, 'join', { room: 'catchup', name: `reader${i}`, lastSeq: 0 });
      runs.push(performance.now() - start);
      replayed = res.ok ? (res.data.entries?.length ?? 0) : 0;
      reader.disconnect();
    }
    runs.sort((a, b) => a - b);
    return {
      appendsPerSec: acked / elapsed,
      p50: percentile(latencies, 50),
      p99: percentile(latencies, 99),
      catchUpMs: runs[1]!,
      entriesReplayed: replayed,
    };
  } finally {
    for (const s of sockets) s.disconnect();
  }
}

async function startBare(): Promise<{ url: string; stop(): Promise<void> }> {
  const bare = await spawnReady(join(here, 'logBareServer.ts'), [], 'bare server');
  return { url: `http://127.0.0.1:${bare.port}`, stop: () => bare.stop() };
}

async function withParley<T>(config: Record<string, unknown>, fn: (url: string) => Promise<T>, node = process.execPath): Promise<T> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-'));
  const server = await spawnServer(dataDir, config, 30_000, node);
  try {
    return await fn(server.url);
  } finally {
    await server.kill();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

export async function benchLog(): Promise<void> {
  const opts = { clients: arg('clients', 16), inflight: arg('inflight', 8), seconds: arg('seconds', 5) };
  console.log(`\n## Room log: durable appends and catch-up`);
  console.log(
    `${opts.clients} clients in rooms of 4, ${opts.inflight} acked chat messages (100 chars) in flight each, ${opts.seconds} s; ` +
      `catch-up = join with lastSeq answered with 10,000 entries (median of 3)\n`,
  );
  const rows: Array<[string, Figures | string]> = [];

  const sqlite = (driver: string) => ({ storage: { driver: 'sqlite', sqliteDriver: driver } });
  rows.push([
    `SQLite on better-sqlite3, Node ${process.versions.node} (WAL, synchronous=full)`,
    await withParley(sqlite('better-sqlite3'), (url) => measure(url, opts)),
  ]);
  // node:sqlite needs Node 22.13+: the same server on Node 22 from the npm registry's binary.
  let node22: string | undefined;
  try {
    node22 = nodeBinary(22);
  } catch (err) {
    rows.push(['SQLite on node:sqlite, Node 22', `skipped: ${(err as Error).message}`]);
  }
  if (node22) {
    const version = execFileSync(node22, ['--version'], { encoding: 'utf8' }).trim();
    rows.push([
      `SQLite on node:sqlite, Node ${version.slice(1)} (WAL, synchronous=full)`,
      await withParley(sqlite('node'), (url) => measure(url, opts), node22),
    ]);
  }

  const skip = postgresSkipReason();
  if (skip) {
    rows.push(['PostgreSQL (fsync on)', `skipped: ${skip}`]);
  } else {
    const pg = await startPostgres({ durable: true });
    try {
      rows.push([
        'PostgreSQL 15 (fsync on, synchronous_commit on)',
        await withParley({ storage: { driver: 'postgres', postgresUrl: pg.url } }, (url) => measure(url, opts)),
      ]);
    } finally {
      await pg.close();
    }
  }

  const bare = await startBare();
  try {
    rows.push(['bare Socket.IO, in memory (upper bound)', await measure(bare.url, opts)]);
  } finally {
    await bare.stop();
  }

  console.log('| backend | appends/s (acked) | ack p50 ms | ack p99 ms | catch-up 10k ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const [name, f] of rows) {
    if (typeof f === 'string') console.log(`| ${name} | ${f} | | | |`);
    else
      console.log(
        `| ${name} | ${Math.round(f.appendsPerSec)} | ${f.p50.toFixed(1)} | ${f.p99.toFixed(1)} | ${f.catchUpMs.toFixed(0)}${f.entriesReplayed !== 10_000 ? ` (${f.entriesReplayed} entries)` : ''} |`,
      );
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  benchLog().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
