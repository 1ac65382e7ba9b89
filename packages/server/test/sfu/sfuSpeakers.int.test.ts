/**
 * Active speakers and paused subscriptions in SFU rooms, on a real server with node-datachannel
 * peers: two publishers send Opus RTP carrying the RFC 6464 audio level; the room hears who
 * speaks (and when that changes); a subscriber pauses and resumes its consumer and forwarding
 * stops and restarts. Every wait has a deadline.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { SfuPublishResult, SfuSpeakers, SfuSubscribeResult } from '@parley-rtc/protocol';
import { startServer, request, collect, type TestServer, type TestSocket, data } from '@parley-rtc/test-support/server';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { writeRtp, randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { oneByteExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { EXT_AUDIO_LEVEL } from '@parley-rtc/rtc/sdp';
import { PEER_OPTIONS, withRetry } from '../media/clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

const OPUS = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 } as const;
const LEVEL_EXT = 3;
let server: TestServer;

before(async () => {
  server = await startServer({ media: { bindAddress: '127.0.0.1', sfuMeshMaxPeers: 1 } });
});
after(async () => {
  await server?.close();
  releaseNativeWebRtc();
});

async function join(room: string, name: string): Promise<{ socket: TestSocket; id: string }> {
  const socket = await server.connect();
  const joined = data(await request<{ self: { id: string } }>(socket, 'join', { room, name }));
  return { socket, id: joined.self.id };
}

/** An Opus publisher whose packets carry an audio level that the test sets. */
class AudioPublisher {
  peer: MediaPeer | undefined;
  level = 127;
  sent = 0;
  producerId = '';
  readonly #ssrc = randomSsrc();
  #timer: NodeJS.Timeout | undefined;

  async publish(socket: TestSocket): Promise<void> {
    await withRetry('audio publish', async () => {
      this.peer?.close();
      const peer = (this.peer = new MediaPeer('speaker', PEER_OPTIONS));
      peer.addTrack({
        mid: '0',
        kind: 'audio',
        direction: 'send',
        codec: OPUS,
        payloadType: 111,
        ssrc: this.#ssrc,
        extmaps: [{ id: LEVEL_EXT, uri: EXT_AUDIO_LEVEL }],
      });
      const res = data(await request<SfuPublishResult>(socket, 'sfu_publish', { sdp: await peer.createOffer() }, 10_000));
      assert.match(res.answer, new RegExp(`a=extmap:${LEVEL_EXT} ${EXT_AUDIO_LEVEL}`), 'the answer accepts the audio-level extension');
      peer.setAnswer(res.answer);
      await peer.waitConnected(8000);
      this.producerId = res.producers[0]!.id;
    });
    this.#start(this.peer!.tracks[0]!);
  }

  #start(track: MediaTrack): void {
    let seq = Math.floor(Math.random() * 60000);
    let ts = Math.floor(Math.random() * 1e9);
    this.#timer = setInterval(() => {
      const extension = oneByteExtension([{ id: LEVEL_EXT, data: Buffer.from([0x80 | this.level]) }]);
      track.sendRtp(
        writeRtp({
          marker: false,
          payloadType: 111,
          sequenceNumber: seq,
          timestamp: ts,
          ssrc: this.#ssrc,
          payload: Buffer.from([0xfc, 0xff, 0xfe]),
          extension,
        }),
      );
      seq = (seq + 1) & 0xffff;
      ts = (ts + 960) >>> 0;
      this.sent++;
    }, 20);
  }

  close(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.peer?.close();
  }
}

test('the room hears the active speaker, and a louder one takes over', async () => {
  const a = await join('speakers', 'ann');
  const b = await join('speakers', 'bob');
  const heard = collect<SfuSpeakers>(b.socket, 'sfu_speakers');
  const pubA = new AudioPublisher();
  const pubB = new AudioPublisher();
  try {
    await pubA.publish(a.socket);
    await pubB.publish(b.socket);
    pubA.level = 25; // ann talks, bob is quiet
    pubB.level = 110;
    await waitFor(() => heard.items.some((m) => m.active?.peer === a.id), 8000, 'ann announced as the active speaker');
    const annSpeaking = heard.items.find((m) => m.active?.peer === a.id)!;
    assert.equal(annSpeaking.active!.producerId, pubA.producerId);
    assert.ok(annSpeaking.active!.level <= 70, `level ${annSpeaking.active!.level}`);
    assert.ok(!annSpeaking.speakers.some((s) => s.peer === b.id), 'bob is not listed as speaking');

    // both talk, bob much louder: he takes over; then both stop: nobody is active
    pubB.level = 5;
    await waitFor(() => heard.items.at(-1)?.active?.peer === b.id, 8000, 'bob takes over');
    assert.deepEqual(
      heard.items.at(-1)!.speakers.map((s) => s.peer),
      [b.id, a.id],
      'loudest first',
    );
    pubA.level = 127;
    pubB.level = 127;
    await waitFor(() => heard.items.at(-1)?.active === null, 8000, 'silence: no active speaker');
    assert.deepEqual(heard.items.at(-1)!.speakers, []);
  } finally {
    heard.stop();
    pubA.close();
    pubB.close();
  }
});

test('a subscriber pauses and resumes a consumer; others cannot touch it', async () => {
  const a = await join('pausing', 'ann');
  const b = await join('pausing', 'bob');
  const c = await join('pausing', 'cat');
  const pub = new AudioPublisher();
  let sub: MediaPeer | undefined;
  try {
    await pub.publish(a.socket);
    let received = 0;
    const res = await withRetry('subscribe', async () => {
      sub?.close();
      sub = new MediaPeer('pause-sub', PEER_OPTIONS);
      const recv = sub.addTrack({ mid: '0', kind: 'audio', direction: 'recv', codec: OPUS, payloadType: 111 });
      recv.on('rtp', () => received++);
      const r = data(
        await request<SfuSubscribeResult>(
          b.socket,
          'sfu_subscribe',
          { sdp: await sub.createOffer(), producerIds: [pub.producerId] },
          10_000,
        ),
      );
      sub.setAnswer(r.answer);
      await sub.waitConnected(8000);
      return r;
    });
    const consumerId = res.consumers[0]!.id;
    await waitFor(() => received >= 10, 8000, 'audio before pausing');

    const refused = await request(c.socket, 'sfu_pause', { consumerIds: [consumerId], paused: true });
    assert.equal(refused.ok ? undefined : refused.error.code, 'NOT_FOUND', "cat cannot pause bob's consumer");
    const unknown = await request(b.socket, 'sfu_pause', { consumerIds: ['c-nope'], paused: true });
    assert.equal(unknown.ok ? undefined : unknown.error.code, 'NOT_FOUND');
    const invalid = await request(b.socket, 'sfu_pause', { consumerIds: [consumerId] });
    assert.equal(invalid.ok ? undefined : invalid.error.code, 'INVALID_PAYLOAD');

    data(await request(b.socket, 'sfu_pause', { consumerIds: [consumerId], paused: true }));
    const atPause = received;
    const sentAtPause = pub.sent;
    await waitFor(() => pub.sent >= sentAtPause + 25, 5000, '25 more packets from the publisher');
    assert.ok(received - atPause <= 3, `${received - atPause} packets arrived while paused (in flight at most)`);

    data(await request(b.socket, 'sfu_pause', { consumerIds: [consumerId], paused: false }));
    const atResume = received;
    await waitFor(() => received >= atResume + 10, 5000, 'audio again after resuming');
  } finally {
    pub.close();
    sub?.close();
  }
});
