// Cluster benchmark (`npm run bench -- cluster`): targeted signaling relay (`candidate` from one
// member to another) on one node vs across two nodes behind Redis — msg/s, latency p50/p99, and
// CPU per message (both nodes plus Redis, so the cost of crossing nodes shows on a 2-core
// machine where no speed-up can) — and the time for a member whose node is SIGKILLed to resume
// on another node. Servers are child processes; Redis and PostgreSQL are throwaway.
//   npm run bench -- cluster [--messages 5000 --inflight 32 --resumes 3]
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from 'redis';
import type { JoinResult } from '@parley-rtc/protocol';
import { redisSkipReason, startRedis, type TestRedis } from '@parley-rtc/test-support/redis';
import { connectSocket, request, type TestSocket } from '@parley-rtc/test-support/server';
import { postgresSkipReason, startPostgres } from '../packages/server/test/postgres.ts';
import { spawnServer, type ServerProcess } from '../packages/server/test/serverProcess.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

async function redisCpuSeconds(url: string): Promise<number> {
  const client = createClient({ url });
  await client.connect();
  const info = await client.info('cpu');
  client.destroy();
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return field('used_cpu_sys') + field('used_cpu_user');
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function joinRoom(url: string, room: string, name: string, extra: object = {}): Promise<{ socket: TestSocket; data: JoinResult }> {
  const socket = await connectSocket(url);
  const res = await request<JoinResult>(socket, 'join', { room, name, ...extra }, 30_000);
  if (!res.ok) throw new Error(`join failed: ${res.error.code}`);
  return { socket, data: res.data };
}

interface RelayFigures {
  msgPerSec: number;
  p50: number;
  p99: number;
  cpuUsPerMsg: number;
}

/** Sends `messages` candidates from a member on `from` to one on `to`, `inflight` at a time. */
async function relay(from: ServerProcess, to: ServerProcess, redis: TestRedis | undefined, room: string): Promise<RelayFigures> {
  const messages = arg('messages', 5000);
  const inflight = arg('inflight', 32);
  const sender = await joinRoom(from.url, room, 'sender');
  const receiver = await joinRoom(to.url, room, 'receiver');
  const sentAt = new Map<number, number>();
  const latencies: number[] = [];
  let received = 0;
  let allIn: () => void = () => {};
  const done = new Promise<void>((resolve) => (allIn = resolve));
  receiver.socket.on('candidate', (msg: { candidate: { candidate: string } }) => {
    const i = Number(/^candidate:(\d+)/.exec(msg.candidate.candidate)?.[1]);
    const t = sentAt.get(i);
    if (t !== undefined) latencies.push(performance.now() - t);
    if (++received === messages + 200) allIn();
  });
  const send = (i: number) => {
    sentAt.set(i, performance.now());
    return request(
      sender.socket,
      'candidate',
      { to: receiver.data.self.id, candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 9 typ host`, sdpMid: '0' } },
      30_000,
    );
  };
  for (let i = 0; i < 200; i++) await send(1_000_000 + i); // warm-up
  latencies.length = 0;
  const pids = [...new Set([from.child.pid!, to.child.pid!])];
  const cpu0 = pids.reduce((s, p) => s + cpuSeconds(p), 0) + (redis ? await redisCpuSeconds(redis.url) : 0);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: inflight }, async () => {
      while (next < messages) await send(next++);
    }),
  );
  await done;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = pids.reduce((s, p) => s + cpuSeconds(p), 0) + (redis ? await redisCpuSeconds(redis.url) : 0) - cpu0;
  sender.socket.close();
  receiver.socket.close();
  const sorted = latencies.sort((a, b) => a - b);
  return { msgPerSec: messages / seconds, p50: percentile(sorted, 50), p99: percentile(sorted, 99), cpuUsPerMsg: (cpu / messages) * 1e6 };
}

export async function benchCluster(): Promise<void> {
  console.log('\n## Cluster: signaling across nodes, resume after a node is killed\n');
  const skip = redisSkipReason() ?? postgresSkipReason();
  if (skip) {
    console.log(`skipped: ${skip}`);
    return;
  }
  const redis = await startRedis();
  const postgres = await startPostgres();
  const dirs: string[] = [];
  const servers: ServerProcess[] = [];
  const start = async (id: string, clustered: boolean) => {
    const dir = mkdtempSync(join(tmpdir(), `parley-bench-${id}-`));
    dirs.push(dir);
    const server = await spawnServer(dir, {
      storage: { driver: 'postgres', postgresUrl: postgres.url },
      ...(clustered ? { redis: { url: redis.url }, cluster: { nodeId: id } } : {}),
    });
    servers.push(server);
    return server;
  };
  try {
    const single = await start('single', false);
    const one = await relay(single, single, undefined, 'bench-one');
    await single.kill();
    const a = await start('node-a', true);
    const b = await start('node-b', true);
    const sameNode = await relay(a, a, redis, 'bench-same');
    const across = await relay(a, b, redis, 'bench-across');
    console.log('| Relay (candidate, one target) | msg/s | latency p50 / p99 | CPU per message (nodes + Redis) |');
    console.log('| --- | --- | --- | --- |');
    for (const [label, r] of [
      ['one node, no Redis', one],
      ['cluster, both members on one node', sameNode],
      ['cluster, members on two nodes', across],
    ] as const) {
      console.log(
        `| ${label} | ${r.msgPerSec.toFixed(0)} | ${r.p50.toFixed(2)} / ${r.p99.toFixed(2)} ms | ${r.cpuUsPerMsg.toFixed(0)} µs |`,
      );
    }
    console.log(`\nCrossing nodes costs ${(across.cpuUsPerMsg - one.cpuUsPerMsg).toFixed(0)} µs of CPU per message more than one node.`);

    // Resume after SIGKILL: from the kill to the resumed join's ack on a surviving node.
    const times: number[] = [];
    for (let run = 0; run < arg('resumes', 3); run++) {
      const doomed = await start(`doomed-${run}`, true);
      const stay = await joinRoom(a.url, `resume-${run}`, 'stays');
      const x = await joinRoom(doomed.url, `resume-${run}`, 'moves');
      const gone = new Promise((resolve) => x.socket.once('disconnect', resolve));
      const t0 = performance.now();
      await doomed.kill();
      await gone;
      const back = await joinRoom(b.url, `resume-${run}`, 'moves', { resume: { peer: x.data.self.id, key: x.data.resumeKey } });
      if (!back.data.resumed) throw new Error('not resumed');
      times.push(performance.now() - t0);
      back.socket.close();
      stay.socket.close();
    }
    const sorted = times.sort((p, q) => p - q);
    console.log(
      `\nResume after the node is SIGKILLed (kill → signaling resumed on another node, same member id): median ${percentile(sorted, 50).toFixed(0)} ms over ${sorted.length} runs (max ${sorted.at(-1)?.toFixed(0)} ms). Media reconnection comes on top (the SDK's ICE restart/renegotiation), not measured here.`,
    );
  } finally {
    await Promise.all(servers.map((s) => s.kill()));
    await postgres.close();
    await redis.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
