/**
 * Issue 12, "resume anywhere" with media: member X on node A (reached through a load balancer)
 * and member Y on node B are in a mesh call; node A is SIGKILLed; X reconnects through the
 * balancer to node C, resumes with the same member id, and media between X and Y flows again
 * (the mesh links outlive the node; the seat must too); a newcomer then links to X through node C.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Bot, prepareAudioClip, prepareVideoClip, type EncodedClip } from '@parley-rtc/bots';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { redisSkipReason } from '@parley-rtc/test-support/redis';
import { postgresSkipReason } from '../postgres.ts';
import { TEST_CLUSTER_TIMING, startCluster, type TestCluster } from './clusterNodes.ts';
import { startBalancer, type TcpBalancer } from './tcpBalancer.ts';

const skip = redisSkipReason() ?? postgresSkipReason();
const FPS = 15;

// The bots' libdatachannel threads must be released for the process to end.
after(releaseNativeWebRtc);

/** Video frames `bot` has received from the member with this id. */
function framesFrom(bot: Bot, peerId: string): number {
  return bot.stats().received.find((r) => r.peerId === peerId)?.video.frames ?? 0;
}

/** Waits until each bot has received `frames` more video frames from the other than now. */
async function mediaFlows(x: Bot, y: Bot, what: string, frames = 20): Promise<void> {
  const xId = x.self!.id;
  const yId = y.self!.id;
  const base = { atX: framesFrom(x, yId), atY: framesFrom(y, xId) };
  await waitFor(
    () => framesFrom(x, yId) >= base.atX + frames && framesFrom(y, xId) >= base.atY + frames,
    30_000,
    what,
    async () => JSON.stringify({ base, x: x.stats(), y: y.stats() }),
  );
}

describe('a resumed member gets media back after its node is killed', { skip }, () => {
  let cluster: TestCluster;
  let balancer: TcpBalancer;
  let media: { video: EncodedClip; audio: EncodedClip };
  const bots: Bot[] = [];
  before(async () => {
    const [video, audio] = await Promise.all([
      prepareVideoClip({ source: 'testsrc', width: 320, height: 240, fps: FPS, bitrateKbps: 250, gop: 30, seconds: 4 }),
      prepareAudioClip({ source: 'tone', seconds: 4 }),
    ]);
    media = { video, audio };
    cluster = await startCluster(['node-a', 'node-b', 'node-c']);
    balancer = await startBalancer(cluster.nodes[0]!.url);
  });
  after(async () => {
    for (const b of bots) b.close('test over');
    await balancer?.close();
    await cluster?.close();
  });

  it('SIGKILL of X’s node: X resumes on node C with the same id, no peer-left at Y, and media flows both ways again; a newcomer links to X', async () => {
    const [nodeA, nodeB, nodeC] = cluster.nodes as [(typeof cluster.nodes)[0], (typeof cluster.nodes)[0], (typeof cluster.nodes)[0]];
    const x = new Bot({ url: balancer.url, room: 'media-resume', name: 'X', ...media, bindAddress: '127.0.0.1' });
    const y = new Bot({ url: nodeB.url, room: 'media-resume', name: 'Y', ...media, bindAddress: '127.0.0.1' });
    bots.push(x, y);
    const xId = (await x.join()).id;
    await y.join();
    await mediaFlows(x, y, 'media between X (node A) and Y (node B)');

    const leftAtY: string[] = [];
    y.on('peerLeft', (p) => leftAtY.push(p.id));
    let rejoined = 0;
    x.on('joined', () => rejoined++);
    // New connections through the balancer now reach node C; node A dies without a word.
    balancer.route(nodeC.url);
    const atKill = framesFrom(y, xId);
    await nodeA.kill();
    await waitFor(
      () => rejoined > 0,
      TEST_CLUSTER_TIMING.resumeGraceMs + 30_000,
      'X to rejoin through the balancer',
      async () => JSON.stringify({ state: x.state, closeReason: x.closeReason, errors: x.stats().errors }),
    );
    assert.equal(x.state, 'joined');
    assert.equal(x.self?.id, xId, 'X resumed with the same member id');

    // Media flows again both ways after the resume (frames counted from now on).
    await mediaFlows(x, y, 'media between X (resumed on node C) and Y (node B)');
    // X's seat did not expire with its node: the bot paces its video in real time, so once Y has
    // received this many frames since the kill, the dead-node timeout and the resume grace are over.
    const { deadAfterMs, resumeGraceMs } = TEST_CLUSTER_TIMING;
    const pastGrace = atKill + Math.ceil(((deadAfterMs + resumeGraceMs) / 1000) * FPS * 1.5);
    await waitFor(() => framesFrom(y, xId) >= pastGrace, 60_000, 'Y to keep receiving X past the resume grace');
    assert.deepEqual(leftAtY, []);
    assert.ok(
      y.peers.some((p) => p.id === xId),
      JSON.stringify(y.peers),
    );

    // X's signaling works on its new node: a newcomer on node B links to X (offers cross C <-> B) and media flows.
    const z = new Bot({ url: nodeB.url, room: 'media-resume', name: 'Z', ...media, bindAddress: '127.0.0.1' });
    bots.push(z);
    await z.join();
    await mediaFlows(x, z, 'media between X (resumed on node C) and newcomer Z (node B)');
  });
});
