/**
 * SFU rooms across nodes: two real Parley nodes in this process (each its own server, SfuRooms and
 * SfuRelay), a real redis-server for their control bus, node-datachannel members. A publisher on node
 * A, three subscribers on node B: B pulls the track over ONE media link (one copy per track, counted),
 * feedback from B's subscribers reaches A's publisher (PLI, REMB), losses on the link are NACKed and
 * answered from A's buffer, and the link closes once B's subscribers are gone. Every wait has a deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeNack, writePli, writeRemb } from '@parley-rtc/rtc/rtp/rtcp';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';
import { startRedis, redisSkipReason, type TestRedis } from '@parley-rtc/test-support/redis';
import { request, data } from '@parley-rtc/test-support/server';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { createClient } from 'redis';
import { PEER_OPTIONS, testClip } from '../media/clients.ts';
import { joinRoom, VP8, RoomPublisher, RoomSubscriber, startNode, type TestNode } from './relayNodes.ts';

const skip = redisSkipReason();
const ROOM = 'spanning-room';
let redis: TestRedis | undefined;
let nodeA: TestNode | undefined;
let nodeB: TestNode | undefined;

before(async () => {
  if (skip) return;
  redis = await startRedis();
  nodeA = await startNode('node-a', redis.url, { lingerMs: 300 });
  nodeB = await startNode('node-b', redis.url, { lingerMs: 300 });
});
after(async () => {
  await nodeB?.close();
  await nodeA?.close();
  await redis?.close();
  releaseNativeWebRtc();
});

test(
  'a room spanning two nodes: one media link, one copy per track, feedback back to the publisher, link closes when unused',
  { skip },
  async () => {
    const a = nodeA!;
    const b = nodeB!;
    const pub = new RoomPublisher(await joinRoom(a, ROOM, 'alice'), testClip(4, 10));
    const subs: RoomSubscriber[] = [];
    try {
      await pub.publish();
      const producerA = a.rooms.router(ROOM)?.producer(pub.producerId);
      assert.ok(producerA, 'the producer lives on node A');
      await waitFor(async () => (await b.bus.producerNode(ROOM, pub.producerId)) === 'node-a', 5000, 'the directory names node A');

      // three members on node B subscribe to the producer published on node A
      for (const name of ['bob', 'carol', 'dave']) subs.push(new RoomSubscriber(name, await joinRoom(b, ROOM, name)));
      for (const s of subs) await s.subscribe(pub.producerId);
      await waitFor(() => subs.every((s) => s.packets >= 60), 15_000, '60 packets at every subscriber on node B');
      for (const s of subs) {
        assert.equal(s.firstIsKeyFrame, true, `${s.name} starts at a key frame`);
        assert.equal(s.gaps, 0, `${s.name}: contiguous sequence numbers`);
      }
      assert.equal(new Set(subs.map((s) => s.consumerSsrc)).size, 3, 'each subscriber has its own SSRC');

      // ONE link per node pair, ONE relayed track on it
      assert.equal(a.links.length, 1, 'node A opened one media link');
      assert.equal(b.links.length, 1, 'node B opened one media link');
      const linkA = a.links[0]!;
      const linkB = b.links[0]!;
      assert.deepEqual(linkA.tracks, { outgoing: 1, incoming: 0 });
      assert.deepEqual(linkB.tracks, { outgoing: 0, incoming: 1 });
      const relayConsumer = a.relay.relayConsumer('node-b', ROOM, pub.producerId);
      const remote = b.relay.remoteProducer(ROOM, pub.producerId);
      assert.ok(relayConsumer && remote, 'a relay consumer on A feeds a remote producer on B');
      assert.equal(remote.id, pub.producerId, 'the remote producer has the publisher’s producer id');
      assert.equal(remote.consumerCount, 3);

      // one copy per track: over a window, the link carries what the publisher sent once, not three times
      const before0 = {
        in: producerA.stats.packetsIn,
        sent: linkA.stats.rtpSent,
        recv: linkB.stats.rtpReceived,
        subs: subs.map((s) => s.packets),
      };
      await waitFor(() => subs.every((s, i) => s.packets >= before0.subs[i]! + 100), 15_000, '100 more packets at every subscriber');
      const linkSent = linkA.stats.rtpSent - before0.sent;
      const linkReceived = linkB.stats.rtpReceived - before0.recv;
      const published = producerA.stats.packetsIn - before0.in;
      const delivered = subs.reduce((n, s, i) => n + s.packets - before0.subs[i]!, 0);
      assert.ok(linkSent <= published + 2, `link packets ${linkSent} ≤ published ${published} (+ retransmissions)`);
      assert.ok(linkReceived <= linkSent, `received on the link ${linkReceived} ≤ sent ${linkSent}`);
      assert.ok(delivered >= 3 * 100 && delivered > 2.5 * linkReceived - 10, `delivered ${delivered} ≈ 3 × link ${linkReceived}`);
      assert.equal(linkA.trackPackets(relayConsumer.ssrc), linkA.stats.rtpSent, 'all of it on the one relayed track');

      // PLI from a subscriber on B reaches the publisher on A
      const plis0 = pub.plis;
      const requests0 = relayConsumer.stats.keyFrameRequests;
      const s0 = subs[0]!;
      s0.sendRtcp(writePli(s0.track.ssrc, s0.consumerSsrc));
      await waitFor(() => pub.plis > plis0, 5000, 'PLI at the publisher on node A');
      assert.ok(relayConsumer.stats.keyFrameRequests > requests0, 'it came over the link');

      // a packet lost on the link: B NACKs it at once and A answers from its buffer; that retransmission is
      // lost too, so the subscribers' own NACK (bob's) is passed on to A, whose second copy reaches all three
      const output = relayConsumer.output;
      const realSend = output.sendRtp.bind(output);
      let dropped: number | undefined;
      let copiesDropped = 0;
      const retransmitted0 = relayConsumer.stats.retransmitted;
      output.sendRtp = (p: Buffer): boolean => {
        const seq = p.readUInt16BE(2);
        if ((dropped === undefined && (p[1]! & 0x80) === 0) || (seq === dropped && copiesDropped < 2)) {
          dropped = seq;
          copiesDropped++;
          return true;
        }
        return realSend(p);
      };
      await waitFor(() => copiesDropped === 2, 5000, 'the link loss NACKed by B and its first retransmission lost');
      assert.ok(linkB.stats.nackedOnLink > 0);
      output.sendRtp = realSend;
      await waitFor(() => subs.every((s) => s.missing.size === 1), 5000, 'every subscriber misses it');
      const [missingAtBob] = [...s0.missing];
      // like a real receiver, bob repeats its NACK until the packet comes (each poll, every 10–250 ms)
      const nackFromBob = (): boolean => {
        if (s0.missing.size > 0) s0.sendRtcp(writeNack(s0.track.ssrc, s0.consumerSsrc, [missingAtBob!]));
        return subs.every((s) => s.missing.size === 0);
      };
      await waitFor(nackFromBob, 5000, 'every subscriber recovered it', () => JSON.stringify(linkB.stats));
      assert.ok(linkB.stats.nacksRelayed >= 1, 'bob’s NACK went on to node A');
      assert.ok(relayConsumer.stats.retransmitted >= retransmitted0 + 2, 'both copies came from node A’s buffer');
      for (const s of subs) assert.equal(s.gaps, 1, `${s.name}: only the injected loss`);

      // a packet lost between node B and one subscriber: its NACK is answered on B from the relayed copy
      const serverTrack = b.rooms.router(ROOM)?.connection(s0.connectionId)?.tracks[0];
      assert.ok(serverTrack);
      const realTrackSend = serverTrack.sendRtp.bind(serverTrack);
      let lostAtB: number | undefined;
      serverTrack.sendRtp = (p: Buffer): boolean => {
        if (lostAtB === undefined && (p[1]! & 0x80) === 0) {
          lostAtB = p.readUInt16BE(2);
          return true;
        }
        return realTrackSend(p);
      };
      await waitFor(() => lostAtB !== undefined && s0.missing.has(lostAtB), 5000, 'a lost packet at bob');
      serverTrack.sendRtp = realTrackSend;
      s0.sendRtcp(writeNack(s0.track.ssrc, s0.consumerSsrc, [lostAtB!]));
      await waitFor(() => s0.recovered.includes(lostAtB!), 5000, `retransmission of ${lostAtB} to bob`);

      // REMB: the lowest estimate of B's subscribers caps the publisher on A
      for (const s of subs) s.sendRtcp(writeRemb(s.track.ssrc, s === s0 ? 400_000 : 2_000_000, [s.consumerSsrc]));
      await waitFor(
        () => pub.feedback.some((p) => p.type === 'remb' && p.bitrate <= 400_000 * 1.01),
        8000,
        'REMB ≤ 400 kbit/s at the publisher on node A',
      );
      assert.ok(remote.stats.rembSent > 0 && remote.stats.rembSent <= 400_000 * 1.01, `B asked A for ${remote.stats.rembSent} bit/s`);

      // B's subscribers leave: the remote producer closes after its linger, then both ends of the link
      const linkClosed = Promise.all(
        [linkA, linkB].map((l) => new Promise((resolve) => (l.closed ? resolve('closed') : l.once('close', resolve)))),
      );
      for (const s of subs) data(await request(s.socket, 'sfu_close', { connectionId: s.connectionId }));
      await waitFor(() => remote.closed && relayConsumer.closed, 5000, 'the relay closes on both nodes');
      assert.deepEqual(await linkClosed, ['idle', 'idle']);
      assert.equal(b.rooms.router(ROOM)?.publication(pub.producerId), undefined, 'gone from node B’s router');
      assert.equal(producerA.closed, false, 'the publisher on A is untouched');
      assert.deepEqual(
        [a.relay.relayed, b.relay.relayed],
        [
          { outgoing: 0, incoming: 0 },
          { outgoing: 0, incoming: 0 },
        ],
      );
    } finally {
      for (const s of subs) s.close();
      pub.close();
    }
  },
);

test('the publisher on node A leaves: the remote producer on node B and its consumers close, then the link', { skip }, async () => {
  const a = nodeA!;
  const b = nodeB!;
  const room = 'spanning-room-2';
  const pub = new RoomPublisher(await joinRoom(a, room, 'erin'), testClip(4, 10));
  const sub = new RoomSubscriber('frank', await joinRoom(b, room, 'frank'));
  try {
    await pub.publish();
    await waitFor(async () => (await b.bus.producerNode(room, pub.producerId)) === 'node-a', 5000, 'the directory names node A');
    await sub.subscribe(pub.producerId);
    await waitFor(() => sub.packets >= 30, 10_000, '30 packets at frank on node B');
    const remote = b.relay.remoteProducer(room, pub.producerId);
    const link = b.links.at(-1)!;
    assert.ok(remote && !link.closed);
    const consumerClosed = new Promise((resolve) => b.rooms.router(room)!.once('consumerclose', (_id, reason) => resolve(reason)));
    pub.socket.disconnect(); // erin leaves node A: her connection, producer and the relay close there
    assert.equal(await consumerClosed, 'producerclose', 'frank’s consumer closes as for a local publisher');
    assert.equal(remote.closeReason, 'transportclose');
    await waitFor(() => link.closed, 5000, 'the link closes once nothing is relayed');
    await waitFor(async () => (await b.bus.producerNode(room, pub.producerId)) === undefined, 5000, 'the directory forgets it');
  } finally {
    sub.close();
    pub.close();
  }
});

test('node A dies (the registry tells node B): its tracks end on B as if the publisher left, and the link closes', { skip }, async () => {
  const a = nodeA!;
  const b = nodeB!;
  const room = 'spanning-room-4';
  const pub = new RoomPublisher(await joinRoom(a, room, 'heidi'), testClip(4, 10));
  const sub = new RoomSubscriber('ivan', await joinRoom(b, room, 'ivan'));
  try {
    await pub.publish();
    await waitFor(async () => (await b.bus.producerNode(room, pub.producerId)) === 'node-a', 5000, 'the directory names node A');
    await sub.subscribe(pub.producerId);
    await waitFor(() => sub.packets >= 30, 10_000, '30 packets at ivan on node B');
    const link = b.links.at(-1)!;
    const linkClosed = new Promise((resolve) => link.once('close', resolve));
    const consumerClosed = new Promise((resolve) => b.rooms.router(room)!.once('consumerclose', (_id, reason) => resolve(reason)));
    b.relay.nodeDown('node-a');
    assert.equal(await consumerClosed, 'producerclose');
    assert.equal(await linkClosed, 'nodedown');
    assert.deepEqual(b.relay.relayed, { outgoing: 0, incoming: 0 });
    assert.equal(b.rooms.router(room)?.publication(pub.producerId), undefined);
  } finally {
    sub.close();
    pub.close();
  }
  // (node A is alive in this process: its relay consumer for B stops when heidi leaves)
  pub.socket.disconnect();
  await waitFor(() => a.relay.relayed.outgoing === 0, 5000, 'node A stops relaying once the publisher left');
});

test('a subscribe for a producer no node has is refused as before; malformed bus messages are dropped', { skip }, async () => {
  const b = nodeB!;
  const sub = new RoomSubscriber('grace', await joinRoom(b, 'spanning-room-3', 'grace'));
  try {
    const peer = new MediaPeer('relay-bad-sub', PEER_OPTIONS);
    try {
      peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
      const ack = await request(sub.socket, 'sfu_subscribe', { sdp: await peer.createOffer(), producerIds: ['p-nowhere'] }, 10_000);
      assert.equal(ack.ok ? undefined : ack.error.code, 'NOT_FOUND');
    } finally {
      peer.close();
    }
    // another "node" publishes garbage and a relay_open for an unknown producer on B's channel
    const client = createClient({ url: redis!.url });
    await client.connect();
    const listener = client.duplicate();
    await listener.connect();
    try {
      await client.publish('parley:node:node-b', 'not json');
      await client.publish('parley:node:node-b', JSON.stringify({ from: 'x', message: { type: 'relay_open', room: 1 } }));
      let answered: (m: string) => void = () => {};
      const reply = new Promise<string>((resolve) => (answered = resolve));
      await listener.subscribe('parley:node:node-z', (m) => answered(m));
      const open = { type: 'relay_open', requestId: 'r1', room: 'nowhere', producerId: 'p-1', link: { address: '127.0.0.1', port: 9 } };
      await client.publish('parley:node:node-b', JSON.stringify({ from: 'node-z', message: open }));
      const answer = JSON.parse(await reply) as { from: string; message: { type: string; code?: string } };
      assert.equal(answer.from, 'node-b');
      assert.deepEqual([answer.message.type, answer.message.code], ['relay_failed', 'NOT_FOUND']);
      assert.deepEqual(b.relay.relayed, { outgoing: 0, incoming: 0 });
    } finally {
      await listener.close();
      await client.close();
    }
  } finally {
    sub.close();
  }
});
