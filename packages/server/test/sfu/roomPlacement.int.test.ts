/**
 * Room → node placement against a real redis-server: nodes asking at once agree on one home (the
 * least loaded), a home that left the node list is replaced, only the home renews or releases.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { waitFor } from '@parley-rtc/test-support/poll';
import { startRedis, redisSkipReason, type TestRedis } from '@parley-rtc/test-support/redis';
import type { RedisClient } from '../../src/sfu/relay/NodeBus.ts';
import { RoomPlacement, type NodeList, type NodeLoad } from '../../src/sfu/relay/RoomPlacement.ts';

const skip = redisSkipReason();
let redis: TestRedis | undefined;
const clients: RedisClient[] = [];

before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
  for (const c of clients) await c.close().catch(() => {});
  await redis?.close();
});

/** The cluster as the node registry would list it (the test changes it as nodes come and go). */
class Cluster implements NodeList {
  list: NodeLoad[] = [];
  async nodes(): Promise<readonly NodeLoad[]> {
    return this.list;
  }
}

async function placement(cluster: Cluster, ttlMs = 30_000): Promise<RoomPlacement> {
  const client = createClient({ url: redis!.url });
  await client.connect();
  clients.push(client);
  return new RoomPlacement({ client, nodes: cluster, ttlMs });
}

test('nodes asking at once agree on the least-loaded node; the record is reused while its node lives', { skip }, async () => {
  const cluster = new Cluster();
  cluster.list = [
    { id: 'node-a', load: 40 },
    { id: 'node-b', load: 5 },
    { id: 'node-c', load: 1, full: true },
  ];
  const places = await Promise.all([1, 2, 3, 4].map(() => placement(cluster)));
  const homes = await Promise.all(places.map((p) => p.homeOf('room-1')));
  assert.deepEqual(homes, ['node-b', 'node-b', 'node-b', 'node-b'], 'one answer, the least loaded that is not full');
  cluster.list[0]!.load = 0; // load changes do not move a placed room
  assert.equal(await places[0]!.homeOf('room-1'), 'node-b');
  assert.equal(await places[1]!.homeOf('room-2'), 'node-a', 'a new room goes to the now least-loaded node');
});

test('a home that left the cluster is replaced; only the home renews or releases its room', { skip }, async () => {
  const cluster = new Cluster();
  cluster.list = [
    { id: 'node-a', load: 1 },
    { id: 'node-b', load: 2 },
  ];
  const p = await placement(cluster, 60_000);
  assert.equal(await p.homeOf('room-x'), 'node-a');
  assert.equal(await p.renew('room-x', 'node-b'), false, 'not its room');
  assert.equal(await p.renew('room-x', 'node-a'), true);
  cluster.list = [{ id: 'node-b', load: 2 }]; // node-a died (the registry dropped it)
  assert.equal(await p.homeOf('room-x'), 'node-b');
  assert.equal(await p.release('room-x', 'node-a'), false, 'the old home cannot release it any more');
  assert.equal(await p.release('room-x', 'node-b'), true);
  assert.equal(await p.current('room-x'), undefined);
  cluster.list = [{ id: 'node-b', load: 2, full: true }];
  await assert.rejects(p.homeOf('room-y'), /no node can take room room-y/);
});

test('a lease ends unless renewed', { skip }, async () => {
  const cluster = new Cluster();
  cluster.list = [{ id: 'node-a', load: 1 }];
  const p = await placement(cluster, 150);
  assert.equal(await p.homeOf('room-lease'), 'node-a');
  await waitFor(async () => (await p.current('room-lease')) === undefined, 5000, 'the lease to expire');
});
