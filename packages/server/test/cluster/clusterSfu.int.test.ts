/**
 * SFU rooms across nodes in cluster mode: two real Parley nodes (`parley serve` child processes)
 * sharing a throwaway redis-server and PostgreSQL, node-datachannel members. A publisher on node A,
 * a subscriber on node B: the subscriber hears of A's track like of a local one and receives its
 * video over one media link between the nodes (counted in B's /metrics); the room is in SFU mode on
 * both nodes; when node A is killed, B's registry finds it dead and drops its link and relayed track
 * (`nodeDown`) and B keeps serving. Every wait has a deadline; no timing is asserted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, test } from 'node:test';
import type { SfuMode, SfuProducerInfo } from '@parley-rtc/protocol';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { collect, connectSocket, nextEvent, request } from '@parley-rtc/test-support/server';
import { createClient } from 'redis';
import { loadConfig, parseConfig } from '../../src/config.ts';
import { testClip } from '../media/clients.ts';
import { postgresSkipReason } from '../postgres.ts';
import { RoomPublisher, RoomSubscriber } from '../sfu/relayNodes.ts';
import { joinAt, metric, startCluster, type ClusterNode, type TestCluster } from './clusterNodes.ts';

const skip = redisSkipReason() ?? postgresSkipReason();
const ROOM = 'spans-nodes';

describe('cluster mode: a room spanning two nodes over the SFU relay', { skip }, () => {
  let cluster: TestCluster;
  before(async () => {
    // every room with two members or more is in SFU mode; media on loopback
    cluster = await startCluster(['node-a', 'node-b'], { media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } });
  });
  after(async () => {
    await cluster?.close();
    releaseNativeWebRtc();
  });

  it('the mesh → SFU switch counts members on both nodes and reaches the room both ways', async () => {
    const [nodeA, nodeB] = cluster.nodes as [ClusterNode, ClusterNode];
    const alice = await joinAt(nodeA.url, 'switching', 'alice');
    const modeAtA = collect<SfuMode>(alice.socket, 'sfu_mode');
    try {
      // alice's own announcement on joining: mesh, by herself
      await waitFor(() => modeAtA.items.length === 1, 10_000, 'alice told her mode on joining');
      assert.deepEqual(modeAtA.items.splice(0), [{ mode: 'mesh', meshMaxPeers: 1, peers: 1 }]);
      for (let round = 1; round <= 2; round++) {
        const bob = await joinAt(nodeB.url, 'switching', 'bob');
        await waitFor(() => modeAtA.items.filter((m) => m.mode === 'sfu').length === round, 10_000, `round ${round}: alice told sfu`);
        assert.equal(modeAtA.items.at(-1)?.peers, 2);
        assert.ok(await request(bob.socket, 'leave', {}).then((r) => r.ok), 'bob left');
        await waitFor(() => modeAtA.items.filter((m) => m.mode === 'mesh').length === round, 10_000, `round ${round}: alice told mesh`);
        assert.equal(modeAtA.items.at(-1)?.peers, 1, JSON.stringify(modeAtA.items));
        bob.socket.close();
      }
    } finally {
      alice.socket.close();
    }
  });

  it("B's subscriber receives A's video through one link; A's death is cleaned up on B", async () => {
    const [nodeA, nodeB] = cluster.nodes as [ClusterNode, ClusterNode];
    const alice = await joinAt(nodeA.url, ROOM, 'alice');
    const modeAtA = collect<SfuMode>(alice.socket, 'sfu_mode');
    const bobSocket = (await joinAt(nodeB.url, ROOM, 'bob')).socket;
    const bob = new RoomSubscriber('bob', bobSocket);
    const pub = new RoomPublisher(alice.socket, testClip(4, 10));
    const redis = createClient({ url: cluster.redis.url });
    await redis.connect();
    try {
      // the room switched to SFU for both members: A's member hears it although the joiner is on B
      await waitFor(() => modeAtA.items.some((m) => m.mode === 'sfu' && m.peers === 2), 10_000, 'alice told: sfu, 2 peers');

      const announced = nextEvent<SfuProducerInfo>(bobSocket, 'sfu_producer', 15_000);
      await pub.publish();
      const info = await announced;
      assert.equal(info.id, pub.producerId, 'B’s member is told of the track published on A');
      await waitFor(
        async () => (await redis.hGet(`parley:sfu:producers:${ROOM}`, pub.producerId)) === 'node-a',
        10_000,
        'the producer directory names node A',
      );

      await bob.subscribe(pub.producerId);
      await waitFor(() => bob.packets >= 60, 20_000, '60 RTP packets of A’s video at B’s subscriber');
      assert.equal(bob.firstIsKeyFrame, true, 'the subscriber starts at a key frame');

      // a member joining on B now is told of A's track too
      const carolSocket = await connectSocket(nodeB.url);
      const carolHears = nextEvent<SfuProducerInfo>(carolSocket, 'sfu_producer', 10_000);
      assert.ok((await request(carolSocket, 'join', { room: ROOM, name: 'carol' }, 10_000)).ok, 'carol joined on B');
      assert.deepEqual(await carolHears, info, 'a joiner on B hears of the track published on A');
      carolSocket.close();

      // one link per node pair, one relayed track on it, packets crossing it
      assert.equal(await metric(nodeB, 'parley_sfu_relay_links'), 1, 'node B has one media link');
      assert.equal(await metric(nodeA, 'parley_sfu_relay_links'), 1, 'node A has one media link');
      assert.equal(await metric(nodeB, 'parley_sfu_relay_tracks', 'direction="incoming"'), 1);
      assert.equal(await metric(nodeA, 'parley_sfu_relay_tracks', 'direction="outgoing"'), 1);
      assert.ok((await metric(nodeB, 'parley_sfu_relay_rtp_packets_total', 'direction="received"')) >= 60, 'B received over the link');

      // node A dies: B's registry finds it dead and drops its link and the track it relayed
      await nodeA.kill();
      await waitFor(
        async () =>
          (await metric(nodeB, 'parley_sfu_relay_links')) === 0 &&
          (await metric(nodeB, 'parley_sfu_relay_tracks', 'direction="incoming"')) === 0,
        20_000,
        'node B dropped its link to A and the relayed track',
      );
      await waitFor(
        async () => (await redis.hGet(`parley:sfu:producers:${ROOM}`, pub.producerId)) === null,
        20_000,
        'the dead node’s producer left the directory',
      );
      // B is alive and serves its members
      const health = await fetch(`${nodeB.url}/healthz`);
      assert.equal(health.status, 200);
      assert.ok(bobSocket.connected, 'B’s member is still connected');
      assert.equal(cluster.nodes[1]!.child.exitCode, null, 'node B did not crash');
    } finally {
      pub.close();
      bob.close();
      alice.socket.close();
      bobSocket.close();
      await redis.close();
    }
  });
});

test('the media link address comes from config, the environment or flags (default 127.0.0.1)', () => {
  assert.equal(parseConfig({}).cluster.relayAddress, '127.0.0.1');
  const fromEnv = loadConfig({}, { PARLEY_RELAY_ADDRESS: '0.0.0.0', PARLEY_RELAY_ADVERTISE_ADDRESS: '10.0.0.11' });
  assert.equal(fromEnv.cluster.relayAddress, '0.0.0.0');
  assert.equal(fromEnv.cluster.relayAdvertiseAddress, '10.0.0.11');
  const fromFlags = loadConfig({ 'relay-address': '10.0.0.12' }, {});
  assert.equal(fromFlags.cluster.relayAddress, '10.0.0.12');
  assert.equal(fromFlags.cluster.relayAdvertiseAddress, undefined);
});
