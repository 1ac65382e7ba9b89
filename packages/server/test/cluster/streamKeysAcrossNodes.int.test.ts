/**
 * Stream keys in cluster mode: two real Parley nodes (`parley serve` child processes) sharing a
 * throwaway redis-server and PostgreSQL. A key minted through node A is listed and accepted on
 * node B, the per-room cap holds for requests spread over both nodes, and a key revoked on one
 * node is refused on the other. An aiortc encoder (python3-aiortc) publishing into a room on node A
 * with a key is seen on node B like any member, and revoking the key through node B ends it on
 * node A: its WHIP session closes there and the room hears `peer_left`. Every wait has a deadline.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { collect } from '@parley-rtc/test-support/server';
import { AiortcClient, aiortcMissing } from '../media/aiortcClient.ts';
import { postgresSkipReason } from '../postgres.ts';
import { joinAt, metric, startCluster, type ClusterNode, type TestCluster } from './clusterNodes.ts';

const skip = redisSkipReason() ?? postgresSkipReason();
const ADMIN_KEY = 'cluster-stream-keys-admin-key-0123';

/** WHIP with `key` and an offer that is not SDP: 400 BAD_SDP means the key passed auth. */
async function whip(node: ClusterNode, room: string, key: string): Promise<[number, string]> {
  const res = await fetch(`${node.url}/whip/rooms/${room}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: 'not an offer',
  });
  return [res.status, ((await res.json()) as { error: { code: string } }).error.code];
}
const ACCEPTED: [number, string] = [400, 'BAD_SDP'];
const REFUSED: [number, string] = [401, 'STREAM_KEY_INVALID'];

describe('cluster mode: stream keys work on every node', { skip }, () => {
  let cluster: TestCluster;
  let nodeA: ClusterNode;
  let nodeB: ClusterNode;
  let apiA: ServerClient;
  let apiB: ServerClient;
  before(async () => {
    cluster = await startCluster(['node-a', 'node-b'], { adminKey: ADMIN_KEY, media: { bindAddress: '127.0.0.1' } });
    [nodeA, nodeB] = cluster.nodes as [ClusterNode, ClusterNode];
    apiA = createServerClient({ url: nodeA.url, bearer: ADMIN_KEY });
    apiB = createServerClient({ url: nodeB.url, bearer: ADMIN_KEY });
  });
  after(async () => {
    await cluster?.close();
    releaseNativeWebRtc();
  });

  it('a key minted on node A is listed and accepted on node B; revoked on B, A refuses it too', async () => {
    const key = await apiA.createStreamKey('stage', { name: 'OBS' });
    assert.deepEqual(
      (await apiB.listStreamKeys('stage')).map((k) => [k.id, k.name]),
      [[key.id, 'OBS']],
    );
    assert.deepEqual(await whip(nodeB, 'stage', key.key), ACCEPTED);
    assert.deepEqual(await whip(nodeA, 'stage', key.key), ACCEPTED);
    await apiB.deleteStreamKey('stage', key.id);
    assert.deepEqual(await whip(nodeA, 'stage', key.key), REFUSED);
    assert.deepEqual(await whip(nodeB, 'stage', key.key), REFUSED);
    assert.deepEqual(await apiA.listStreamKeys('stage'), []);
  });

  it('at most 20 keys per room for the whole cluster, also when both nodes are asked at once', async () => {
    const results = await Promise.allSettled(Array.from({ length: 30 }, (_, i) => (i % 2 ? apiA : apiB).createStreamKey('busy')));
    const made = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { code?: string }).code);
    assert.equal(made.length, 20);
    assert.deepEqual(new Set(refused), new Set(['RATE_LIMITED']));
    assert.equal((await apiB.listStreamKeys('busy')).length, 20);
  });

  it('revoking a key on node B ends the encoder that publishes with it on node A', { skip: aiortcMissing, timeout: 120_000 }, async () => {
    const key = await apiA.createStreamKey('show', { name: 'Stage camera' });
    const watcher = await joinAt(nodeB.url, 'show', 'watcher');
    const joined = collect<{ id: string; name: string }>(watcher.socket, 'peer_joined');
    const left = collect<{ id: string }>(watcher.socket, 'peer_left');
    const encoder = new AiortcClient('whip', `${nodeA.url}/whip/rooms/show`, ['--token', key.key, '--no-candidates']);
    try {
      assert.equal((await encoder.waitAnswered()).status, 201, encoder.describe());
      await waitFor(() => joined.items.some((p) => p.name === 'Stage camera'), 15_000, 'the watcher on B sees the encoder join on A');
      const encoderId = joined.items.find((p) => p.name === 'Stage camera')!.id;
      await waitFor(
        async () => (await apiB.listMembers('show')).some((m) => m.id === encoderId && m.identity === `ingest:streamkey:${key.id}`),
        15_000,
        'node B knows the encoder as a member of the room',
      );
      assert.equal(await metric(nodeA, 'parley_room_media_sessions'), 1);

      await apiB.deleteStreamKey('show', key.id);
      await waitFor(() => left.items.some((l) => l.id === encoderId), 15_000, 'the room hears the encoder leave');
      await waitFor(async () => (await metric(nodeA, 'parley_room_media_sessions')) === 0, 15_000, 'node A ended its WHIP session');
      assert.deepEqual(
        (await apiA.listMembers('show')).map((m) => m.name),
        ['watcher'],
      );
      assert.deepEqual(await whip(nodeA, 'show', key.key), REFUSED);
    } finally {
      await encoder.close();
      watcher.socket.close();
    }
  });
});
