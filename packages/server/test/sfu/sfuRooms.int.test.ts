/**
 * SFU mode in signaling rooms: a real server (Socket.IO) with `sfuMeshMaxPeers: 1`, node-datachannel
 * peers for media. Mode announcements, publish → `sfu_producer` → subscribe → RTP, errors, and
 * cleanup when the publisher leaves. Every wait has a deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuMode, SfuProducerInfo, SfuPublishResult, SfuSubscribeResult } from '@parley-rtc/protocol';
import {
  startServer,
  request,
  nextEvent,
  collect,
  type TestServer,
  type TestSocket,
  data,
  errorCode,
} from '@parley-rtc/test-support/server';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { writeRtp, randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { packetizeVp8 } from '@parley-rtc/rtc/rtp/vp8';
import { sfuRoomsOf } from '../../src/sfu/feature.ts';
import { PEER_OPTIONS, testClip, withRetry } from '../media/clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
let server: TestServer;

before(async () => {
  server = await startServer({ media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } });
});
after(async () => {
  await server?.close();
  releaseNativeWebRtc();
});

async function join(room: string, name: string): Promise<{ socket: TestSocket; id: string; mode: Promise<SfuMode> }> {
  const socket = await server.connect();
  const mode = nextEvent<SfuMode>(socket, 'sfu_mode');
  const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name }));
  return { socket, id: joined.self.id, mode };
}

test('rooms switch mesh → SFU above the threshold; publish, announce, subscribe, receive RTP, clean up on leave', async () => {
  const clip = testClip(4, 10);
  const a = await join('sfu-room', 'alice');
  assert.deepEqual(await a.mode, { mode: 'mesh', meshMaxPeers: 1, peers: 1 });
  const modeChangeAtA = nextEvent<SfuMode>(a.socket, 'sfu_mode');
  const b = await join('sfu-room', 'bob');
  assert.deepEqual(await b.mode, { mode: 'sfu', meshMaxPeers: 1, peers: 2 });
  assert.deepEqual(await modeChangeAtA, { mode: 'sfu', meshMaxPeers: 1, peers: 2 }, 'the whole room hears the switch');

  let pubPeer: MediaPeer | undefined;
  let subPeer: MediaPeer | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    // alice publishes through the SFU; bob hears about the producer
    const ssrc = randomSsrc();
    const announced = nextEvent<SfuProducerInfo>(b.socket, 'sfu_producer', 10_000);
    const pub = await withRetry('sfu publish', async () => {
      pubPeer?.close();
      pubPeer = new MediaPeer('room-pub', PEER_OPTIONS);
      pubPeer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc });
      const res = data(await request<SfuPublishResult>(a.socket, 'sfu_publish', { sdp: await pubPeer.createOffer() }, 10_000));
      pubPeer.setAnswer(res.answer);
      await pubPeer.waitConnected(8000);
      return res;
    });
    const producer = pub.producers[0];
    assert.ok(producer);
    assert.equal(producer.kind, 'video');
    assert.equal(producer.peer, a.id);
    const heard = await announced;
    assert.equal(heard.peer, a.id);
    const track = pubPeer!.tracks[0]!;
    let seq = 0;
    let ts = 0;
    let idx = 0;
    const sendFrame = (): void => {
      const frame = clip.frames[idx]!;
      idx = (idx + 1) % clip.frames.length;
      const payloads = packetizeVp8(frame.data);
      payloads.forEach((payload, i) => {
        track.sendRtp(writeRtp({ marker: i === payloads.length - 1, payloadType: 96, sequenceNumber: seq, timestamp: ts, ssrc, payload }));
        seq = (seq + 1) & 0xffff;
      });
      ts = (ts + 3000) >>> 0;
    };
    timer = setInterval(sendFrame, 33);

    // errors: unknown producer, bad ids, closing someone else's connection
    assert.equal(errorCode(await request(b.socket, 'sfu_subscribe', { sdp: 'v=0', producerIds: ['p-nope'] })), 'NOT_FOUND');
    assert.equal(errorCode(await request(b.socket, 'sfu_subscribe', { sdp: 'v=0', producerIds: ['../x'] })), 'INVALID_PAYLOAD');
    assert.equal(errorCode(await request(b.socket, 'sfu_close', { connectionId: pub.connectionId })), 'NOT_FOUND');
    assert.equal(errorCode(await request(b.socket, 'sfu_publish', { sdp: 'v=0\r\nbroken' })), 'BAD_SDP');

    // bob subscribes and receives alice's video, rewritten to his consumer's SSRC
    let packets = 0;
    let wrongSsrc = 0;
    const sub = await withRetry('sfu subscribe', async () => {
      subPeer?.close();
      subPeer = new MediaPeer('room-sub', PEER_OPTIONS);
      const recv = subPeer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
      const res = data(
        await request<SfuSubscribeResult>(b.socket, 'sfu_subscribe', { sdp: await subPeer.createOffer(), producerIds: [heard.id] }, 10_000),
      );
      recv.on('rtp', (p) => {
        packets++;
        if (p.readUInt32BE(8) === ssrc) wrongSsrc++;
      });
      subPeer.setAnswer(res.answer);
      await subPeer.waitConnected(8000);
      return res;
    });
    assert.equal(sub.consumers.length, 1);
    assert.equal(sub.consumers[0]!.producerId, heard.id);
    await waitFor(() => packets >= 30, 10_000, '30 RTP packets at the subscriber');
    assert.equal(wrongSsrc, 0, 'the publisher SSRC is rewritten');
    // the SFU's counters on /metrics grow with the forwarded packets
    const scrape = async (name: string) =>
      Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(await (await fetch(`${server.app.url}/metrics`)).text())?.[1]);
    const forwarded = await scrape('parley_sfu_packets_forwarded_total');
    assert.ok(forwarded >= 30, `parley_sfu_packets_forwarded_total is ${forwarded}`);
    assert.equal(await scrape('parley_sfu_consumers'), 1);

    // alice leaves: bob hears that the producer closed; the room goes back to mesh
    const closed = nextEvent<{ id: string; peer: string }>(b.socket, 'sfu_producer_closed');
    const backToMesh = nextEvent<SfuMode>(b.socket, 'sfu_mode');
    data(await request(a.socket, 'leave', {}));
    assert.deepEqual(await closed, { id: heard.id, peer: a.id });
    assert.deepEqual(await backToMesh, { mode: 'mesh', meshMaxPeers: 1, peers: 1 });
    // bob's consumer closed with the producer: nothing more arrives; he can still close his connection
    const after = packets;
    assert.equal(errorCode(await request(b.socket, 'sfu_close', { connectionId: sub.connectionId })), undefined);
    assert.equal(errorCode(await request(b.socket, 'sfu_close', { connectionId: sub.connectionId })), 'NOT_FOUND', 'closed once');
    assert.ok(packets - after <= 5);
    assert.ok((await scrape('parley_sfu_packets_forwarded_total')) >= forwarded, 'the counter does not shrink when the router closes');
    assert.equal(await scrape('parley_sfu_consumers'), 0);
    // bob, the last member, leaves: the room's router closes with reason roomempty
    const rooms = sfuRoomsOf(server.app);
    assert.ok(rooms);
    const router = rooms.router('sfu-room');
    assert.ok(router);
    const routerClosed = new Promise<[string, string]>((resolve) => rooms.once('routerclose', (room, reason) => resolve([room, reason])));
    data(await request(b.socket, 'leave', {}));
    assert.deepEqual(await routerClosed, ['sfu-room', 'roomempty']);
    assert.equal(router.closeReason, 'roomempty');
    assert.equal(rooms.router('sfu-room'), undefined);
  } finally {
    if (timer) clearInterval(timer);
    pubPeer?.close();
    subPeer?.close();
  }
});

test('sfu events need a joined room; a late joiner learns the existing producers', async () => {
  const lone = await server.connect();
  assert.equal(errorCode(await request(lone, 'sfu_publish', { sdp: 'v=0' })), 'NOT_IN_ROOM');
  assert.equal(errorCode(await request(lone, 'sfu_close', { connectionId: 'x' })), 'NOT_IN_ROOM');

  const a = await join('sfu-late', 'ann');
  await a.mode;
  let pubPeer: MediaPeer | undefined;
  try {
    const pub = await withRetry('publish', async () => {
      pubPeer?.close();
      pubPeer = new MediaPeer('late-pub', PEER_OPTIONS);
      pubPeer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96 });
      const res = data(await request<SfuPublishResult>(a.socket, 'sfu_publish', { sdp: await pubPeer.createOffer() }, 10_000));
      pubPeer.setAnswer(res.answer);
      await pubPeer.waitConnected(8000);
      return res;
    });
    const socket = await server.connect();
    const heard = collect<SfuProducerInfo>(socket, 'sfu_producer');
    const lateJoin = data(await request<{ self: { id: string }; resumeKey: string }>(socket, 'join', { room: 'sfu-late', name: 'late' }));
    await waitFor(() => heard.items.length >= 1, 5000, 'the existing producer announced to the late joiner');
    const heardFirst = heard.items[0];
    assert.deepEqual(heardFirst, { id: pub.producers[0]!.id, peer: a.id, kind: 'video', source: 'camera', layers: 1 });
    heard.stop();
    // the late joiner's transport drops; on resume it is told the mode and every current
    // producer again (announcements sent while it was away would be lost otherwise)
    const again = await server.connect();
    const mode = nextEvent<SfuMode>(again, 'sfu_mode');
    const producersAgain = collect<SfuProducerInfo>(again, 'sfu_producer');
    const member = server.app.signaling.registry.roomOf(lateJoin.self.id)!.members.get(lateJoin.self.id)!;
    server.app.io.sockets.sockets.get(member.socketId!)?.conn.close();
    await waitFor(() => socket.disconnected, 5000, 'the late joiner disconnected');
    const resumed = data(
      await request<{ resumed: boolean }>(again, 'join', {
        room: 'sfu-late',
        name: 'late',
        resume: { peer: lateJoin.self.id, key: lateJoin.resumeKey },
      }),
    );
    assert.equal(resumed.resumed, true);
    assert.equal((await mode).mode, 'sfu');
    await waitFor(() => producersAgain.items.length >= 1, 5000, 'producers repeated on resume');
    assert.deepEqual(producersAgain.items[0], heardFirst);
    producersAgain.stop();
    // alice closes her own SFU connection: the producer closes
    const closed = nextEvent<{ id: string }>(again, 'sfu_producer_closed');
    data(await request(a.socket, 'sfu_close', { connectionId: pub.connectionId }));
    assert.equal((await closed).id, pub.producers[0]!.id);
  } finally {
    pubPeer?.close();
  }
});
