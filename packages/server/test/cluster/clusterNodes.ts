/**
 * Test support for cluster mode: a throwaway Redis and PostgreSQL, and Parley nodes as child
 * processes (`parley serve`) sharing them, each on its own loopback port and data directory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JoinResult } from '@parley-rtc/protocol';
import { startRedis, type TestRedis } from '@parley-rtc/test-support/redis';
import { connectSocket, request, type TestSocket } from '@parley-rtc/test-support/server';
import { startPostgres, type TestPostgres } from '../postgres.ts';
import { spawnServer, type ServerProcess } from '../serverProcess.ts';

export interface ClusterNode extends ServerProcess {
  id: string;
}

export interface TestCluster {
  redis: TestRedis;
  postgres: TestPostgres;
  nodes: ClusterNode[];
  /** Starts one more node with this id. */
  addNode(id: string): Promise<ClusterNode>;
  close(): Promise<void>;
}

/** Timings short enough for tests: heartbeats every 250 ms, dead after 1 s; resume grace 4 s. */
export const TEST_CLUSTER_TIMING = { heartbeatMs: 250, deadAfterMs: 1000, resumeGraceMs: 4000 };

export async function startCluster(nodeIds: string[], extra: Record<string, unknown> = {}): Promise<TestCluster> {
  const redis = await startRedis();
  const postgres = await startPostgres().catch(async (err: unknown) => {
    await redis.close();
    throw err;
  });
  const dirs: string[] = [];
  const nodes: ClusterNode[] = [];
  const addNode = async (id: string): Promise<ClusterNode> => {
    const dir = mkdtempSync(join(tmpdir(), `parley-${id}-`));
    dirs.push(dir);
    const server = await spawnServer(dir, {
      storage: { driver: 'postgres', postgresUrl: postgres.url },
      redis: { url: redis.url },
      cluster: { nodeId: id, heartbeatMs: TEST_CLUSTER_TIMING.heartbeatMs, deadAfterMs: TEST_CLUSTER_TIMING.deadAfterMs },
      limits: { resumeGraceMs: TEST_CLUSTER_TIMING.resumeGraceMs },
      ...extra,
    });
    const node = Object.assign(server, { id });
    // PARLEY_TEST_LOGS=1 shows the nodes' log lines (stdout is drained otherwise).
    if (process.env['PARLEY_TEST_LOGS']) server.child.stdout?.on('data', (d: Buffer) => process.stderr.write(`[${id}] ${d.toString()}`));
    nodes.push(node);
    return node;
  };
  const close = async () => {
    await Promise.all(nodes.map((n) => n.kill()));
    await postgres.close();
    await redis.close();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // One at a time: the first runs the room log's migrations.
    for (const id of nodeIds) await addNode(id);
  } catch (err) {
    await close();
    throw err;
  }
  return { redis, postgres, nodes, addNode, close };
}

/** One sample of a node's /metrics (0 when absent). */
export async function metric(node: { url: string }, name: string, labels = ''): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels ? `{${labels}}` : ''} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

export interface TestMember {
  socket: TestSocket;
  data: JoinResult;
}

/** Connects to a node and joins a room; throws with the error code when the join is refused. */
export async function joinAt(url: string, room: string, name: string, extra: Record<string, unknown> = {}): Promise<TestMember> {
  const socket = await connectSocket(url);
  const res = await request<JoinResult>(socket, 'join', { room, name, ...extra }, 10_000);
  if (!res.ok) {
    socket.close();
    throw Object.assign(new Error(`join failed: ${res.error.code}: ${res.error.message}`), { code: res.error.code });
  }
  return { socket, data: res.data };
}
