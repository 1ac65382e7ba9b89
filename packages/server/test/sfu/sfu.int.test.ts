/**
 * SFU router against real node-datachannel peers (no browser, no Socket.IO: SDP goes straight to
 * the Router API). One publisher sends pre-encoded VP8 (a clip ffmpeg makes in the temp dir), ten
 * subscribers receive it. Every wait has a deadline; no fixed sleeps.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { ParleyError } from '@parley-rtc/protocol';
import { Router } from '../../src/sfu/Router.ts';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { writeRtp, randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import { writeNack, writePli, writeRemb, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { PEER_OPTIONS, Vp8Pacer, testClip, type IvfMedia, withRetry } from '../media/clients.ts';
import { releaseNativeWebRtc } from '@parley-rtc/test-support/nativeWebRtc';
import { waitFor } from '@parley-rtc/test-support/poll';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
let router: Router;

before(() => {
  router = new Router({ id: 'room-1', connectionOptions: () => PEER_OPTIONS, connectTimeoutMs: 15_000 });
});
after(() => {
  router?.close();
  releaseNativeWebRtc();
});

class Publisher {
  peer!: MediaPeer;
  track!: MediaTrack;
  connectionId = '';
  producerId = '';
  plis = 0;
  /** RTCP the SFU sent us, newest last. */
  readonly feedback: RtcpPacket[] = [];
  readonly #pacer: Vp8Pacer;

  constructor(media: IvfMedia) {
    this.#pacer = new Vp8Pacer(media, randomSsrc(), { seq: 1000, ts: 5000 });
  }

  get ssrc(): number {
    return this.#pacer.ssrc;
  }

  get framesSent(): number {
    return this.#pacer.framesSent;
  }

  async connect(): Promise<void> {
    await withRetry('publisher', async () => {
      this.peer?.close();
      if (this.connectionId) router.closeConnection(this.connectionId);
      this.peer = new MediaPeer('test-pub', PEER_OPTIONS);
      this.track = this.peer.addTrack({ mid: '0', kind: 'video', direction: 'send', codec: VP8, payloadType: 96, ssrc: this.ssrc });
      this.track.on('rtcp', (packets) => {
        this.feedback.push(...packets);
        if (this.feedback.length > 200) this.feedback.splice(0, this.feedback.length - 200);
        if (packets.some((p) => p.type === 'pli')) {
          this.plis++;
          this.#pacer.jumpToKeyFrame();
        }
      });
      const { connectionId, answer, producers } = await router.publish(await this.peer.createOffer());
      this.connectionId = connectionId;
      assert.equal(producers.length, 1);
      this.producerId = producers[0]!.id;
      this.peer.setAnswer(answer);
      await this.peer.waitConnected(8000);
    });
    this.#pacer.start(this.track);
  }

  /** Leaves `n` sequence numbers out, as if those packets were lost on the way. */
  skipSequenceNumbers(n: number): void {
    this.#pacer.skip(n);
  }

  /** Sends one RTP packet in the stream's sequence space (fields overridable for bad input). */
  send(p: { payloadType: number; payload: Buffer; marker?: boolean; ssrc?: number }): void {
    this.#pacer.send(this.track, p);
  }

  close(): void {
    this.#pacer.stop();
    this.peer?.close();
  }
}

class Subscriber {
  peer!: MediaPeer;
  track!: MediaTrack;
  connectionId = '';
  consumerSsrc = 0;
  payloadType = 0;
  packets = 0;
  gaps = 0;
  duplicates = 0;
  firstIsKeyFrame: boolean | undefined;
  lastSeq: number | undefined;
  wrongSsrc = 0;
  readonly recent = new Map<number, Buffer>();
  /** Sequence numbers skipped so far and not (yet) recovered by a retransmission. */
  readonly missing = new Set<number>();
  readonly recovered: number[] = [];
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  async connect(producerId: string): Promise<void> {
    await withRetry(this.name, async () => {
      this.peer?.close();
      if (this.connectionId) router.closeConnection(this.connectionId);
      this.peer = new MediaPeer(this.name, PEER_OPTIONS);
      this.track = this.peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 100 });
      this.track.on('rtp', (p) => this.#onRtp(p));
      const { connectionId, answer, consumers } = await router.subscribe(await this.peer.createOffer(), [producerId]);
      this.connectionId = connectionId;
      assert.equal(consumers.length, 1);
      this.consumerSsrc = consumers[0]!.ssrc;
      this.peer.setAnswer(answer);
      await this.peer.waitConnected(8000);
    });
  }

  #onRtp(p: Buffer): void {
    const seq = p.readUInt16BE(2);
    this.payloadType = p[1]! & 0x7f;
    if (p.readUInt32BE(8) !== this.consumerSsrc) this.wrongSsrc++;
    if (this.missing.delete(seq)) {
      this.recovered.push(seq);
      this.recent.set(seq, p);
      return;
    }
    if (this.recent.has(seq)) {
      this.duplicates++;
      return;
    }
    this.firstIsKeyFrame ??= isVp8KeyFrameStart(p.subarray(12));
    if (this.lastSeq !== undefined && seq !== ((this.lastSeq + 1) & 0xffff)) {
      this.gaps++;
      for (let s = (this.lastSeq + 1) & 0xffff, n = 0; s !== seq && n < 100; s = (s + 1) & 0xffff, n++) this.missing.add(s);
    }
    this.lastSeq = seq;
    this.packets++;
    this.recent.set(seq, p);
    if (this.recent.size > 300) this.recent.delete(this.recent.keys().next().value!);
  }

  sendRtcp(buf: Buffer): void {
    assert.ok(this.track.sendRtcp(buf), 'RTCP sent');
  }

  close(): void {
    this.peer?.close();
  }
}

test('one VP8 publisher → 10 subscribers: continuous rewritten streams, NACK answered, PLI forwarded and rate-limited, bad input dropped', async () => {
  const clip = testClip(4, 10);
  const pub = new Publisher(clip);
  const subs = Array.from({ length: 10 }, (_, i) => new Subscriber(`sfu-sub-${i}`));
  try {
    await pub.connect();
    const producer = router.producer(pub.producerId);
    assert.ok(producer);
    for (let i = 0; i < subs.length; i += 5) await Promise.all(subs.slice(i, i + 5).map((s) => s.connect(pub.producerId)));
    assert.equal(router.stats().consumers, 10);

    // every subscriber receives a continuous stream (contiguous rewritten seq, its own SSRC, its PT)
    await waitFor(() => subs.every((s) => s.packets >= 120), 15_000, '120 packets at every subscriber');
    for (const s of subs) {
      assert.equal(s.firstIsKeyFrame, true, `${s.name} starts at a key frame`);
      assert.equal(s.gaps, 0, `${s.name} sequence numbers contiguous`);
      assert.equal(s.wrongSsrc, 0, `${s.name} only its consumer SSRC`);
      assert.equal(s.payloadType, 100, `${s.name} its negotiated payload type`);
    }
    const ssrcs = new Set(subs.map((s) => s.consumerSsrc));
    assert.equal(ssrcs.size, 10, 'one SSRC per consumer');

    // Loss → NACK → retransmission. A retransmission reuses the packet's SSRC and sequence number,
    // so SRTP replay protection only lets it through for a packet the subscriber never got: drop
    // one packet on the server's sending track for subscriber 0 (test-only fault injection).
    const s0 = subs[0]!;
    const serverTrack = router.connection(s0.connectionId)?.tracks[0];
    assert.ok(serverTrack);
    const realSend = serverTrack.sendRtp.bind(serverTrack);
    let dropped: number | undefined;
    serverTrack.sendRtp = (p: Buffer): boolean => {
      if (dropped === undefined && (p[1]! & 0x80) === 0) {
        dropped = p.readUInt16BE(2);
        return true;
      }
      return realSend(p);
    };
    await waitFor(() => dropped !== undefined && s0.missing.has(dropped), 5000, 'a lost packet at subscriber 0');
    serverTrack.sendRtp = realSend;
    const lost = dropped!;
    s0.sendRtcp(writeNack(s0.track.ssrc, s0.consumerSsrc, [lost]));
    await waitFor(() => s0.recovered.includes(lost), 5000, `retransmission of ${lost}`);
    assert.equal(s0.missing.size, 0);
    assert.equal(s0.recent.get(lost)!.readUInt32BE(8), s0.consumerSsrc);
    assert.ok(router.stats().retransmitted >= 1);
    const gapsS0 = s0.gaps;
    assert.equal(gapsS0, 1, 'only the injected loss');

    // PLI from a subscriber reaches the publisher
    const plis0 = pub.plis;
    subs[1]!.sendRtcp(writePli(subs[1]!.track.ssrc, subs[1]!.consumerSsrc));
    await waitFor(() => pub.plis > plis0, 5000, 'PLI at the publisher');

    // a burst of PLIs from every subscriber is coalesced (≤ 1 per 500 ms)
    const sent0 = producer.stats.keyFrameRequestsSent;
    const answered0 = producer.stats.keyFrameRequestsAnswered;
    const req0 = producer.stats.keyFrameRequests;
    const t0 = performance.now();
    for (let round = 0; round < 3; round++) for (const s of subs) s.sendRtcp(writePli(s.track.ssrc, s.consumerSsrc));
    await waitFor(() => producer.stats.keyFrameRequests >= req0 + 30, 5000, '30 key-frame requests at the router');
    // the waiting request is sent at the interval, or answered by the key frame the previous PLI brought
    await waitFor(
      () => producer.stats.keyFrameRequestsSent > sent0 || producer.stats.keyFrameRequestsAnswered > answered0,
      5000,
      'a coalesced PLI (or a key frame that answered it)',
    );
    const elapsed = performance.now() - t0;
    assert.ok(
      producer.stats.keyFrameRequestsSent - sent0 <= Math.ceil(elapsed / 500) + 1,
      `at most one PLI per 500 ms (${producer.stats.keyFrameRequestsSent - sent0} in ${elapsed.toFixed(0)} ms)`,
    );

    // bad input from the publisher (wrong PT, bad padding) and subscribers (NACK/PLI for an unknown SSRC)
    const stats0 = router.stats();
    // (on another SSRC: SRTP replay protection refuses reused sequence numbers, and a dropped packet
    // inside the live sequence space would be a real gap for every subscriber)
    const other = 0x0badbeef;
    pub.track.sendRtp(writeRtp({ payloadType: 97, sequenceNumber: 10, timestamp: 1, ssrc: other, payload: Buffer.from([1, 2, 3]) }));
    pub.track.sendRtp(writeRtp({ payloadType: 96, sequenceNumber: 11, timestamp: 1, ssrc: other, payload: Buffer.from([0x10, 1, 2, 3]) }));
    subs[2]!.sendRtcp(writeNack(subs[2]!.track.ssrc, 0x12345678, [1, 2, 3]));
    await waitFor(
      () => {
        const s = router.stats();
        return s.droppedPayloadType > stats0.droppedPayloadType && s.droppedUnknownSsrc >= stats0.droppedUnknownSsrc + 2;
      },
      5000,
      'drops counted',
    ).catch((err: Error) => {
      throw new Error(`${err.message}: ${JSON.stringify({ before: stats0, after: router.stats() })}`);
    });

    // the router stays healthy: streams keep flowing without gaps after all of the above
    const counts = subs.map((s) => s.packets);
    await waitFor(() => subs.every((s, i) => s.packets >= counts[i]! + 30), 10_000, '30 more packets everywhere');
    for (const s of subs) assert.equal(s.gaps, s === s0 ? gapsS0 : 0, `${s.name} still contiguous`);
    for (const s of subs) assert.equal(s.missing.size, 0, `${s.name} lost nothing`);
    const st = router.stats();
    assert.equal(st.connections, 11);
    assert.equal(st.consumers, 10);
    const inDelta = st.packetsIn - stats0.packetsIn;
    const fwdDelta = st.packetsForwarded - stats0.packetsForwarded;
    assert.ok(inDelta >= 30 && fwdDelta >= inDelta * 10 - 10, `forwarded ${fwdDelta} of ${inDelta} × 10 since the bad input`);

    // the publisher leaves (signaling tells the router): its producer and all consumers close
    const producerClosed = new Promise<string>((resolve) => router.once('producerclose', resolve));
    router.closeConnection(pub.connectionId, 'peerleft');
    assert.equal(await producerClosed, pub.producerId);
    assert.equal(producer.closed, true);
    assert.deepEqual([router.stats().producers, router.stats().consumers, router.stats().connections], [0, 0, 10]);
    for (const s of subs) router.closeConnection(s.connectionId, 'peerleft');
    router.closeConnection(subs[0]!.connectionId, 'peerleft'); // idempotent
    assert.equal(router.stats().connections, 0);
  } finally {
    for (const s of subs) s.close();
    pub.close();
  }
});

test('subscribe requests for unknown producers, malformed ids and bad SDP are refused; the router stays usable', async () => {
  const peer = new MediaPeer('sfu-bad-sub', PEER_OPTIONS);
  const before = router.stats();
  try {
    peer.addTrack({ mid: '0', kind: 'video', direction: 'recv', codec: VP8, payloadType: 96 });
    const offer = await peer.createOffer();
    const code = (err: unknown): string | undefined => (err instanceof ParleyError ? err.code : undefined);
    await assert.rejects(router.subscribe(offer, ['p-does-not-exist']), (e) => code(e) === 'NOT_FOUND');
    await assert.rejects(router.subscribe(offer, 'p-1'), (e) => code(e) === 'INVALID_PAYLOAD');
    await assert.rejects(router.subscribe(offer, [{ id: 1 }]), (e) => code(e) === 'INVALID_PAYLOAD');
    await assert.rejects(router.subscribe(offer, []), (e) => code(e) === 'INVALID_PAYLOAD');
    await assert.rejects(router.publish('v=0\r\nnot sdp'), (e) => code(e) === 'BAD_SDP');
    await assert.rejects(router.publish(42), (e) => code(e) === 'INVALID_PAYLOAD');
    // a recv-only offer has nothing to publish
    await assert.rejects(router.publish(offer), (e) => code(e) === 'UNSUPPORTED');
    const st = router.stats();
    assert.equal(st.connections, before.connections, 'no connection left behind by refused requests');
    assert.equal(st.rejectedRequests, before.rejectedRequests + 7);
  } finally {
    peer.close();
  }
  // still usable: a fresh publisher + subscriber work
  const pub = new Publisher(testClip(4, 10));
  const sub = new Subscriber('sfu-after-errors');
  try {
    await pub.connect();
    await sub.connect(pub.producerId);
    await waitFor(() => sub.packets >= 30, 10_000, 'packets after the refused requests');
    assert.equal(sub.gaps, 0);
  } finally {
    sub.close();
    pub.close();
  }
  router.close();
  router.close();
  assert.equal(router.stats().connections, 0);
  await assert.rejects(router.publish('v=0'), (e) => e instanceof ParleyError && e.code === 'SHUTTING_DOWN');
});

test('publishers get receiver reports and a REMB: the bitrate cap without subscriber estimates, the lowest subscriber estimate otherwise', async () => {
  const fast = new Router({
    id: 'feedback',
    connectionOptions: () => PEER_OPTIONS,
    senderReportIntervalMs: 200,
    publishBitrate: { min: 100_000, max: 1_800_000 },
  });
  const pub = new Publisher(testClip(4, 10));
  const sub = new Subscriber('remb-sub');
  const saved = router;
  router = fast;
  try {
    await pub.connect();
    const lastOf = <T extends RtcpPacket['type']>(type: T) =>
      pub.feedback.findLast((p): p is Extract<RtcpPacket, { type: T }> => p.type === type);
    await waitFor(() => lastOf('rr') !== undefined && lastOf('remb') !== undefined, 8000, 'RR and REMB at the publisher');
    const rr = lastOf('rr')!;
    assert.equal(rr.reports.length, 1);
    assert.equal(rr.reports[0]!.ssrc, pub.ssrc, 'the report is about the published stream');
    assert.ok(rr.reports[0]!.highestSeq >= 1000, `highest seq ${rr.reports[0]!.highestSeq} (the stream starts at 1000)`);
    assert.equal(rr.reports[0]!.packetsLost, 0, 'nothing lost on loopback');
    assert.deepEqual(lastOf('remb')!.ssrcs, [pub.ssrc]);
    assert.equal(lastOf('remb')!.bitrate, 1_800_000, 'no subscriber estimate: the cap');

    // A subscriber that can take only 400 kbit/s holds the publisher down to that.
    await sub.connect(pub.producerId);
    await waitFor(() => sub.packets >= 10, 8000, 'media at the subscriber');
    const cut = pub.feedback.length;
    const remb = setInterval(() => sub.track.sendRtcp(writeRemb(1, 400_000, [sub.consumerSsrc])), 100);
    try {
      await waitFor(
        () => pub.feedback.slice(cut).some((p) => p.type === 'remb' && p.bitrate <= 400_000),
        8000,
        'REMB ≤ 400 kbit/s at the publisher',
      );
      const asked = pub.feedback.slice(cut).findLast((p) => p.type === 'remb');
      assert.ok(asked && asked.type === 'remb' && asked.bitrate >= 399_000, `REMB ${JSON.stringify(asked)}`);
      assert.equal(fast.producer(pub.producerId)?.stats.rembSent, asked.bitrate);
    } finally {
      clearInterval(remb);
    }
    // Sequence gaps from the publisher show up as loss in the next report.
    pub.skipSequenceNumbers(5);
    await waitFor(() => (lastOf('rr')?.reports[0]?.packetsLost ?? 0) >= 5, 8000, 'the skipped packets reported lost');
  } finally {
    sub.close();
    pub.close();
    fast.close();
    router = saved;
  }
});
