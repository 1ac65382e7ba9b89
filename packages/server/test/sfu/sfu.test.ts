/**
 * SFU units without a network: Producer → Consumer forwarding, per-consumer rewriting and
 * continuity across pause/resume and producer switches, NACK mapping, PLI rate limiting,
 * sender-report rewriting, and drops of malformed/unknown input.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from '../../src/sfu/Producer.ts';
import { Consumer, type ConsumerInit, type RtpOutput } from '../../src/sfu/Consumer.ts';
import { Forwarding } from '../../src/sfu/Forwarding.ts';
import { parseRtp, writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { parseRtcp, writeNack, writePli, writeReceiverReport } from '@parley-rtc/rtc/rtp/rtcp';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const KEY = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
const DELTA = Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);

class FakeOutput implements RtpOutput {
  readonly ssrc: number;
  isOpen = true;
  sent: Buffer[] = [];
  rtcp: Buffer[] = [];
  constructor(ssrc: number) {
    this.ssrc = ssrc;
  }
  sendRtp(p: Buffer): boolean {
    this.sent.push(Buffer.from(p));
    return true;
  }
  sendRtcp(p: Buffer): boolean {
    this.rtcp.push(p);
    return true;
  }
  seqs(): number[] {
    return this.sent.map((p) => p.readUInt16BE(2));
  }
}

/** The producers → consumers table, as a Router holds one (here shared by the tests' objects). */
const table = new Forwarding();

/** A consumer fed by its producer, as the Router wires it. */
function consume(init: ConsumerInit): Consumer {
  const c = new Consumer(init);
  table.add(c);
  return c;
}

function makeProducer(id = 'p1', ssrc = 0x1111, opts: { keyFrameIntervalMs?: number } = {}): { producer: Producer; plis: number[] } {
  const plis: number[] = [];
  const producer = new Producer({
    id,
    connectionId: 'pub',
    kind: 'video',
    codec: VP8,
    payloadType: 96,
    ssrc,
    sendKeyFrameRequest: () => plis.push(performance.now()),
    ...opts,
  });
  return { producer, plis };
}

function rtp(seq: number, ts: number, key: boolean, ssrc = 0x1111, pt = 96): Buffer {
  return writeRtp({ payloadType: pt, sequenceNumber: seq, timestamp: ts, ssrc, payload: key ? KEY : DELTA, marker: true });
}

test('a consumer starts at a key frame and rewrites SSRC/PT/seq/ts; the producer buffer keeps the original', () => {
  const { producer } = makeProducer();
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer, output: out, payloadType: 100 });
  c.start();
  producer.receiveRtp(rtp(10, 1000, false));
  assert.equal(out.sent.length, 0, 'delta frame before the first key frame is skipped');
  producer.receiveRtp(rtp(11, 4000, true));
  producer.receiveRtp(rtp(12, 7000, false));
  assert.equal(out.sent.length, 2);
  const p = parseRtp(out.sent[0]!);
  assert.equal(p.ssrc, 0xabc);
  assert.equal(p.payloadType, 100);
  assert.equal(p.marker, true);
  assert.deepEqual(out.seqs(), [11, 12]);
  const orig = producer.retransmit!.get(12)!;
  assert.equal(orig.readUInt32BE(8), 0x1111, 'buffered packet header restored');
  assert.equal(orig[1]! & 0x7f, 96);
  assert.equal(c.stats.skippedWaitingForKeyFrame, 1);
});

test('switching producers and pause/resume keep the outgoing stream continuous', () => {
  const a = makeProducer('a', 0x1111);
  const b = makeProducer('b', 0x2222);
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer: a.producer, output: out, payloadType: 96 });
  c.start();
  for (let i = 0; i < 5; i++) a.producer.receiveRtp(rtp(100 + i, 9000 + i * 3000, i === 0, 0x1111));
  // A flowing video consumer switches seamlessly: a keeps flowing until b sends a key frame.
  c.switchProducer(b.producer);
  assert.equal(c.pendingProducer, b.producer);
  assert.equal(b.plis.length, 1, 'the new producer is asked for a key frame');
  a.producer.receiveRtp(rtp(105, 9000 + 5 * 3000, false, 0x1111));
  b.producer.receiveRtp(rtp(60000, 5, false, 0x2222)); // not a key frame: a stays
  assert.equal(a.producer.consumerCount, 1);
  for (let i = 0; i < 3; i++) b.producer.receiveRtp(rtp(65534 + i, 777 + i * 3000, i === 0, 0x2222));
  assert.equal(a.producer.consumerCount, 0, 'b took over at its key frame');
  assert.equal(c.producer, b.producer);
  a.producer.receiveRtp(rtp(106, 9000 + 6 * 3000, true, 0x1111)); // a is no longer forwarded
  c.pause();
  b.producer.receiveRtp(rtp(1, 10000, true, 0x2222));
  c.resume(); // starts again at once with b's cached key frame (seq 1, sent while paused)
  b.producer.receiveRtp(rtp(2, 13000, true, 0x2222));
  const seqs = out.seqs();
  assert.deepEqual(seqs, [100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110]);
  const ts = out.sent.map((p) => p.readUInt32BE(4));
  for (let i = 1; i < ts.length; i++)
    assert.ok((ts[i]! - ts[i - 1]!) >>> 0 > 0 && (ts[i]! - ts[i - 1]!) >>> 0 < 0x80000000, `timestamps increase at ${i}`);
  assert.ok(out.sent.every((p) => p.readUInt32BE(8) === 0xabc));
  assert.throws(() =>
    c.switchProducer(
      new Producer({
        id: 'o',
        connectionId: 'x',
        kind: 'audio',
        codec: { kind: 'audio', name: 'opus', clockRate: 48000 },
        payloadType: 111,
        sendKeyFrameRequest: () => {},
      }),
    ),
  );
});

test('NACKs are answered from the producer buffer, mapped back from the consumer sequence space', () => {
  const { producer } = makeProducer();
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer, output: out, payloadType: 96 });
  const other = consume({ id: 'c2', connectionId: 'sub2', producer, output: new FakeOutput(0xdef), payloadType: 96 });
  other.start();
  for (let i = 0; i < 3; i++) producer.receiveRtp(rtp(500 + i, i * 3000, i === 0));
  c.start(); // starts with the cached GOP (500–502), then goes on live
  for (let i = 3; i < 10; i++) producer.receiveRtp(rtp(500 + i, i * 3000, i === 3));
  assert.deepEqual(out.seqs(), [500, 501, 502, 503, 504, 505, 506, 507, 508, 509]);
  const before = out.sent.length;
  const nack = parseRtcp(writeNack(0x5555, 0xabc, [505, 507, 502, 40000]));
  c.receiveRtcp(nack);
  const resent = out.sent.slice(before);
  assert.deepEqual(
    resent.map((p) => p.readUInt16BE(2)),
    [505, 507],
  );
  assert.ok(resent.every((p) => p.readUInt32BE(8) === 0xabc));
  assert.equal(c.stats.retransmitted, 2);
  assert.equal(c.stats.retransmitMissed, 2, '502 was replayed from the cache (not the live mapping), 40000 was never sent');
  assert.equal(producer.retransmit!.get(505)!.readUInt32BE(8), 0x1111, 'buffer untouched');
  c.receiveRtcp(parseRtcp(writeNack(0x5555, 0x9999, [505])));
  assert.equal(c.stats.droppedUnknownSsrc, 1);
  assert.equal(out.sent.length, before + 2);
  c.receiveRtcp(parseRtcp(writeReceiverReport({ ssrc: 0x5555 })));
  assert.equal(c.stats.receiverReports, 1);
  const sr = c.senderReport();
  assert.ok(sr);
  const parsed = parseRtcp(sr)[0];
  assert.ok(parsed?.type === 'sr');
  assert.equal(parsed.ssrc, 0xabc);
  assert.equal(parsed.packetCount, 10, 'retransmissions not counted');
});

test('sender reports map the publisher SR into each consumer timestamp space', () => {
  const a = makeProducer('a', 0x1111);
  const b = makeProducer('b', 0x2222);
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer: a.producer, output: out, payloadType: 96 });
  c.start();
  a.producer.receiveRtp(rtp(1, 1000, true, 0x1111));
  c.switchProducer(b.producer);
  b.producer.receiveRtp(rtp(9, 50_000, true, 0x2222));
  const outTs = out.sent[1]!.readUInt32BE(4);
  b.producer.receiveRtcp([
    { type: 'sr', ssrc: 0x2222, ntpSec: 123, ntpFrac: 456, rtpTimestamp: 50_000 + 900, packetCount: 0, octetCount: 0, reports: [] },
  ]);
  b.producer.receiveRtcp([
    { type: 'sr', ssrc: 0x3333, ntpSec: 1, ntpFrac: 1, rtpTimestamp: 1, packetCount: 0, octetCount: 0, reports: [] },
  ]);
  assert.equal(b.producer.stats.droppedUnknownSsrc, 1);
  const sr = parseRtcp(c.senderReport()!)[0];
  assert.ok(sr?.type === 'sr');
  assert.equal(sr.ntpSec, 123);
  assert.equal(sr.rtpTimestamp, (outTs + 900) >>> 0);
});

test('key-frame requests reach the publisher at most once per interval, coalesced, never lost', async () => {
  const { producer, plis } = makeProducer('p', 0x1111, { keyFrameIntervalMs: 200 });
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer, output: out, payloadType: 96 });
  c.start(); // asks for a key frame
  assert.equal(plis.length, 1);
  for (let i = 0; i < 20; i++) c.receiveRtcp(parseRtcp(writePli(0x5555, 0xabc)));
  c.receiveRtcp([{ type: 'other', packetType: 206, fmt: 4 }]); // FIR
  assert.equal(plis.length, 1, 'burst suppressed');
  const deadline = Date.now() + 2000;
  while (plis.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.equal(plis.length, 2, 'one coalesced request after the interval');
  assert.ok(plis[1]! - plis[0]! >= 195);
  c.receiveRtcp(parseRtcp(writePli(0x5555, 0x7777)));
  assert.equal(c.stats.droppedUnknownSsrc, 1);
  producer.close();
  assert.ok(c.closed, 'closing the producer closes its consumers');
  producer.requestKeyFrame();
  producer.close();
  assert.equal(plis.length, 2);
});

test('malformed packets, wrong payload types and unknown SSRCs are dropped and counted, never thrown', () => {
  const { producer } = makeProducer();
  const out = new FakeOutput(0xabc);
  const c = consume({ id: 'c1', connectionId: 'sub', producer, output: out, payloadType: 96 });
  c.start();
  producer.receiveRtp(rtp(1, 0, true));
  const bad: Buffer[] = [
    Buffer.alloc(0),
    Buffer.alloc(11, 0x80),
    Buffer.from([0x40, 96, 0, 2, 0, 0, 0, 0, 0, 0, 0x11, 0x11]), // version 1
    Buffer.concat([Buffer.from([0x8f]), rtp(2, 0, false).subarray(1)]), // 15 CSRCs, too short
    (() => {
      const p = rtp(2, 0, false);
      p[0] = 0x90; // extension bit with no room for it
      return p.subarray(0, 14);
    })(),
    (() => {
      const p = Buffer.from(rtp(2, 0, false));
      p[0] = 0xa0; // padding longer than the packet
      p[p.length - 1] = 200;
      return p;
    })(),
  ];
  for (const b of bad) assert.doesNotThrow(() => producer.receiveRtp(b));
  assert.equal(producer.stats.droppedMalformed, bad.length);
  producer.receiveRtp(rtp(2, 0, false, 0x9999));
  assert.equal(producer.stats.droppedUnknownSsrc, 1);
  producer.receiveRtp(rtp(2, 0, false, 0x1111, 97));
  assert.equal(producer.stats.droppedPayloadType, 1);
  // CSRCs and header extensions are stripped (copy), the payload kept
  const withExt = writeRtp({
    payloadType: 96,
    sequenceNumber: 2,
    timestamp: 3000,
    ssrc: 0x1111,
    csrcs: [7],
    extension: { profile: 0xbede, data: Buffer.from([0x10, 1, 0, 0]) },
    payload: DELTA,
  });
  producer.receiveRtp(withExt);
  assert.deepEqual(out.seqs(), [1, 2]);
  const p = parseRtp(out.sent[1]!);
  assert.equal(p.extension, undefined);
  assert.deepEqual(p.csrcs, []);
  assert.deepEqual([...p.payload], [...DELTA]);
  assert.equal(producer.stats.packetsIn, 2);
  c.close();
  c.close();
  producer.receiveRtp(rtp(3, 6000, false));
  assert.equal(out.sent.length, 2, 'closed consumer gets nothing');
});

test('an output that throws neither escapes the packet path nor stops the fan-out', () => {
  const { producer } = makeProducer();
  const bad: RtpOutput = {
    ssrc: 1,
    isOpen: true,
    sendRtp: () => {
      throw new Error('boom');
    },
    sendRtcp: () => true,
  };
  const good = new FakeOutput(0xabc);
  consume({ id: 'bad', connectionId: 's1', producer, output: bad, payloadType: 96 }).start();
  consume({ id: 'good', connectionId: 's2', producer, output: good, payloadType: 96 }).start();
  assert.doesNotThrow(() => producer.receiveRtp(rtp(1, 0, true)));
  assert.equal(good.sent.length, 1);
  assert.equal(producer.stats.consumerErrors, 1);
  assert.equal(producer.retransmit!.get(1)!.readUInt32BE(8), 0x1111, 'header restored after the throw');
});
