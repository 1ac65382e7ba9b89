import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LIMITS, type JoinResult, type LogEntry } from '@parley-rtc/protocol';
import { createClient } from 'redis';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { waitFor } from '@parley-rtc/test-support/poll';
import { collect, connectSocket, nextEvent, request, type TestSocket } from '@parley-rtc/test-support/server';
import { postgresSkipReason } from '../postgres.ts';
import { TEST_CLUSTER_TIMING, joinAt, startCluster, type TestCluster } from './clusterNodes.ts';

const skip = redisSkipReason() ?? postgresSkipReason();

/** Sends chat messages one after another until stopped; records the seqs the server acknowledged. */
function chatLoad(socket: TestSocket, label: string): { acked: number[]; stop(): Promise<void> } {
  const acked: number[] = [];
  let running = true;
  const done = (async () => {
    for (let n = 0; running && socket.connected; n++) {
      const res = await request<{ seq: number }>(socket, 'chat_message', { text: `${label} ${n}` }, 10_000).catch(() => undefined);
      if (res?.ok) acked.push(res.data.seq);
    }
  })();
  return {
    acked,
    stop: async () => {
      running = false;
      await done;
    },
  };
}

/** Every seq in a room's log, read page by page (newest first) through a member's `history`. */
async function storedSeqs(socket: TestSocket): Promise<number[]> {
  const seqs: number[] = [];
  let before: number | undefined;
  for (;;) {
    const res = await request<{ entries: LogEntry[] }>(
      socket,
      'history',
      { limit: LIMITS.historyPage, ...(before ? { before } : {}) },
      10_000,
    );
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    if (res.data.entries.length === 0) return seqs.sort((x, y) => x - y);
    seqs.push(...res.data.entries.map((e) => e.seq));
    before = res.data.entries[0]!.seq;
  }
}

/** A chat message from one member reaches the other (live delivery works between their nodes). */
async function chatRoundTrip(from: TestSocket, to: TestSocket): Promise<void> {
  const text = `ping ${Math.random()}`;
  const got = new Promise<void>((resolve) => {
    const on = (e: LogEntry) => {
      if (e.kind !== 'chat' || e.text !== text) return;
      to.off('chat_message', on);
      resolve();
    };
    to.on('chat_message', on);
  });
  const res = await request(from, 'chat_message', { text }, 10_000);
  assert.ok(res.ok);
  await Promise.race([got, new Promise((_, reject) => setTimeout(() => reject(new Error('chat did not arrive')), 10_000))]);
}

describe('a cluster survives the loss of a node and a Redis restart', { skip }, () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await startCluster(['node-a', 'node-b', 'node-c']);
  });
  after(async () => {
    await cluster?.close();
  });

  it('SIGKILL of a node under chat load: nothing acknowledged is lost; its members resume elsewhere or expire', async () => {
    const [nodeA, nodeB, nodeC] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const a = await joinAt(nodeA.url, 'failover', 'Alice');
    const b = await joinAt(nodeB.url, 'failover', 'Bob');
    const c = await joinAt(nodeC.url, 'failover', 'Carol');
    const d = await joinAt(nodeC.url, 'failover', 'Dave');
    const leftAtA = collect<{ id: string }>(a.socket, 'peer_left');
    const leftAtB = collect<{ id: string }>(b.socket, 'peer_left');
    const seenByC = collect<LogEntry>(c.socket, 'chat_message');
    const loads = [chatLoad(a.socket, 'a'), chatLoad(b.socket, 'b'), chatLoad(c.socket, 'c')];
    await waitFor(() => loads.every((l) => l.acked.length >= 5), 20_000, 'chat under way on every node');

    const cDropped = nextEvent(c.socket, 'disconnect', 10_000);
    await nodeC.kill();
    await cDropped;
    await loads[2]!.stop();
    const lastSeen = Math.max(c.data.lastSeq, ...seenByC.items.map((e) => e.seq));

    // Carol comes back through another node with her resume key, within the grace period.
    const socket = await connectSocket(nodeA.url);
    const res = await request<JoinResult>(
      socket,
      'join',
      { room: 'failover', name: 'Carol', resume: { peer: c.data.self.id, key: c.data.resumeKey }, lastSeq: lastSeen },
      10_000,
    );
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    assert.equal(res.data.resumed, true);
    assert.equal(res.data.self.id, c.data.self.id);
    // What she missed while away is replayed from PostgreSQL, whoever wrote it.
    const replayed = res.data.entries.map((e) => e.seq);
    assert.deepEqual(
      replayed,
      Array.from({ length: replayed.length }, (_, i) => lastSeen + 1 + i),
    );
    assert.ok(replayed.length >= res.data.lastSeq - lastSeen, 'the replay reaches the log end the ack names');

    // Offers reach her on her new node.
    const offer = nextEvent<{ from: string }>(socket, 'offer', 10_000);
    await request(b.socket, 'offer', { to: c.data.self.id, description: { type: 'offer', sdp: 'v=0' } });
    assert.equal((await offer).from, b.data.self.id);

    // Dave does not come back: his seat expires and everyone hears it once; nobody hears Carol leave.
    await waitFor(
      () => leftAtA.items.length > 0 && leftAtB.items.length > 0,
      TEST_CLUSTER_TIMING.deadAfterMs + TEST_CLUSTER_TIMING.resumeGraceMs + 15_000,
      "Dave's seat to expire",
    );
    await Promise.all(loads.slice(0, 2).map((l) => l.stop()));
    assert.deepEqual(leftAtA.items, [{ id: d.data.self.id }]);
    assert.deepEqual(leftAtB.items, [{ id: d.data.self.id }]);

    // Every acknowledged message is in the log, and the log has no gap.
    const stored = await storedSeqs(a.socket);
    assert.deepEqual(
      stored,
      Array.from({ length: stored.length }, (_, i) => i + 1),
    );
    for (const seq of loads.flatMap((l) => l.acked)) assert.ok(stored.includes(seq), `acknowledged seq ${seq} is stored`);
    for (const s of [a.socket, b.socket, socket]) s.close();
  });

  it('SIGTERM drains a node: its clients drop as on a network failure and resume on another node', async () => {
    const [nodeA, nodeB] = cluster.nodes;
    const nodeD = await cluster.addNode('node-d');
    const y = await joinAt(nodeA!.url, 'drain', 'Yann');
    const x = await joinAt(nodeD.url, 'drain', 'Xena');
    const leftAtY = collect<{ id: string }>(y.socket, 'peer_left');
    const ended = collect(x.socket, 'session_ended');
    const dropped = nextEvent<string>(x.socket, 'disconnect', 20_000);
    nodeD.child.kill('SIGTERM');
    // Not a namespace disconnect (after which a client would not reconnect): the transport closes.
    assert.equal(await dropped, 'transport close');
    assert.deepEqual(ended.items, []);
    assert.equal((await nodeD.exited).code, 0);

    const socket = await connectSocket(nodeB!.url);
    const res = await request<JoinResult>(
      socket,
      'join',
      { room: 'drain', name: 'Xena', resume: { peer: x.data.self.id, key: x.data.resumeKey } },
      10_000,
    );
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    assert.equal(res.data.resumed, true);
    assert.deepEqual(res.data.peers, [y.data.self]);
    // Past the point where the others noticed the drained node gone: still nobody left.
    await chatRoundTrip(y.socket, socket);
    const redis = createClient({ url: cluster.redis.url });
    await redis.connect();
    await waitFor(async () => (await redis.hExists('parley:nodes', 'node-d')) === 0, 20_000, 'the others to notice node-d gone');
    redis.destroy();
    await chatRoundTrip(socket, y.socket);
    assert.deepEqual(leftAtY.items, []);
    y.socket.close();
    socket.close();
  });

  it('Redis restarted mid-call: signaling recovers by itself and no acknowledged message is lost', async () => {
    const [nodeA, nodeB] = cluster.nodes;
    const a = await joinAt(nodeA!.url, 'redis-restart', 'Alice');
    const b = await joinAt(nodeB!.url, 'redis-restart', 'Bob');
    const atB = collect<LogEntry>(b.socket, 'chat_message');
    const load = chatLoad(a.socket, 'a');
    await waitFor(() => load.acked.length >= 3, 10_000, 'chat under way');
    await cluster.redis.restart();
    await waitFor(() => load.acked.length >= 10, 20_000, 'chat acknowledged after the restart');
    await load.stop();

    // Live delivery catches up: Bob gets every acknowledged message, once, in order.
    const last = Math.max(...load.acked);
    await waitFor(() => atB.items.some((e) => e.seq === last), 20_000, 'delivery to catch up');
    const seqs = atB.items.map((e) => e.seq);
    assert.deepEqual(
      seqs,
      [...seqs].sort((x, y) => x - y),
    );
    assert.equal(new Set(seqs).size, seqs.length);
    for (const seq of load.acked) assert.ok(seqs.includes(seq), `seq ${seq} delivered`);
    assert.deepEqual(
      await storedSeqs(b.socket),
      Array.from({ length: last }, (_, i) => i + 1),
    );

    // Relay and presence work across nodes again.
    const offer = nextEvent<{ from: string }>(b.socket, 'offer', 10_000);
    await request(a.socket, 'offer', { to: b.data.self.id, description: { type: 'offer', sdp: 'v=0' } });
    assert.equal((await offer).from, a.data.self.id);
    const joined = nextEvent<{ id: string }>(a.socket, 'peer_joined', 10_000);
    const e = await joinAt(nodeB!.url, 'redis-restart', 'Erin');
    assert.equal((await joined).id, e.data.self.id);
    assert.deepEqual(new Set(e.data.peers.map((p) => p.id)), new Set([a.data.self.id, b.data.self.id]));
    for (const s of [a.socket, b.socket, e.socket]) s.close();
  });
});
