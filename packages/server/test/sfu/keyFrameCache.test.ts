/**
 * The SFU's key-frame cache without a network: a consumer that starts after its producer's last
 * key frame gets that key frame first (and the packets after it) without the publisher being asked
 * for a new one; the cached frames' timestamps are squeezed so the live ones follow without a jump;
 * an early PLI gets the cache again as new packets; the cache's packet bound and age bound hold;
 * closing or muting the producer empties it; a key frame answers coalesced key-frame requests.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Producer } from '../../src/sfu/Producer.ts';
import { Consumer } from '../../src/sfu/Consumer.ts';
import { RecordingOutput as Output } from './recordingOutput.ts';
import { Forwarding } from '../../src/sfu/Forwarding.ts';
import { KeyFrameCache, squeezedTimestamps } from '../../src/sfu/KeyFrameCache.ts';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { parseRtcp, writePli } from '@parley-rtc/rtc/rtp/rtcp';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const KEY = Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00]);
const DELTA = Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);
const SSRC = 0x1111;

const rtp = (seq: number, ts: number, key: boolean, payload = key ? KEY : DELTA) =>
  writeRtp({ payloadType: 96, sequenceNumber: seq & 0xffff, timestamp: ts >>> 0, ssrc: SSRC, marker: true, payload });

function setup(opts: { keyFrameCachePackets?: number } = {}) {
  const plis: number[] = [];
  const producer = new Producer({
    id: 'p1',
    connectionId: 'pub',
    kind: 'video',
    codec: VP8,
    payloadType: 96,
    ssrc: SSRC,
    sendKeyFrameRequest: () => plis.push(performance.now()),
    ...opts,
  });
  const table = new Forwarding();
  const consumer = (id: string) => {
    const out = new Output();
    const c = new Consumer({ id, connectionId: `sub-${id}`, producer, output: out, payloadType: 100 });
    table.add(c);
    return { c, out };
  };
  return { producer, plis, consumer, table };
}

const payloadOf = (p: Buffer) => p.subarray(12);

test('a consumer that starts after the last key frame gets it first, with the GOP, without a new key frame from the publisher', () => {
  const { producer, plis, consumer } = setup();
  // a first subscriber makes the publisher send a key frame (one PLI), then deltas flow
  const first = consumer('a');
  first.c.start();
  assert.equal(plis.length, 1);
  producer.receiveRtp(rtp(1000, 90_000, true));
  for (let i = 1; i <= 5; i++) producer.receiveRtp(rtp(1000 + i, 90_000 + i * 3000, false));
  assert.equal(producer.keyFrameCache!.size, 6);
  const requestsBefore = producer.stats.keyFrameRequestsSent;
  const late = consumer('b');
  late.c.start();
  assert.equal(producer.stats.keyFrameRequestsSent, requestsBefore, 'no new key frame asked for at start');
  assert.equal(late.c.stats.keyFrameReplays, 1);
  assert.equal(late.out.sent.length, 6, 'the cached key frame and the five deltas');
  assert.ok(isVp8KeyFrameStart(payloadOf(late.out.sent[0]!)), 'its first packet starts a key frame');
  assert.ok(late.out.sent.every((p) => p.readUInt32BE(8) === 0xabc && (p[1]! & 0x7f) === 100));
  // squeezed: one tick apart, the newest at its own timestamp (a fresh consumer keeps the producer's clock)
  assert.deepEqual(
    late.out.sent.map((p) => p.readUInt32BE(4)),
    [105_000 - 5, 105_000 - 4, 105_000 - 3, 105_000 - 2, 105_000 - 1, 105_000],
  );
  // live packets continue the same sequence and timestamp mapping
  producer.receiveRtp(rtp(1006, 90_000 + 6 * 3000, false));
  const last = late.out.sent.at(-1)!;
  assert.equal(last.readUInt16BE(2), 1006);
  assert.equal(last.readUInt32BE(4), 108_000);
  assert.equal(late.c.stats.skippedWaitingForKeyFrame, 0);
  assert.equal(producer.retransmit!.get(1000)!.readUInt32BE(8), SSRC, 'the cached packets are restored after the replay');
});

test('a PLI early on gets the cached GOP again as new packets (new sequence numbers, later timestamps) and asks the publisher', () => {
  const { producer, plis, consumer } = setup();
  producer.receiveRtp(rtp(10, 3000, true));
  producer.receiveRtp(rtp(11, 6000, false));
  const { c, out } = consumer('a');
  c.start();
  assert.equal(out.sent.length, 2);
  const plisBefore = plis.length;
  c.receiveRtcp(parseRtcp(writePli(0x5555, 0xabc)));
  assert.equal(out.sent.length, 4);
  assert.deepEqual(
    out.sent.map((p) => p.readUInt16BE(2)),
    [10, 11, 12, 13],
    'the replay continues the sequence: never the same numbers again',
  );
  assert.ok(isVp8KeyFrameStart(payloadOf(out.sent[2]!)));
  const ts = out.sent.map((p) => p.readUInt32BE(4));
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! > ts[i - 1]!, `timestamps increase at ${i}: ${ts.join(',')}`);
  assert.equal(plis.length, plisBefore + 1, 'the publisher is asked for a fresh key frame too');
  // a second PLI right away: no second replay inside the interval
  c.receiveRtcp(parseRtcp(writePli(0x5555, 0xabc)));
  assert.equal(out.sent.length, 4);
  assert.equal(c.stats.keyFrameReplays, 2);
});

test('prime() asks for a key frame at subscribe time; start() then waits for it instead of asking again', () => {
  const { producer, plis, consumer } = setup();
  const { c, out } = consumer('a');
  c.prime();
  assert.equal(plis.length, 1);
  c.start();
  assert.equal(plis.length, 1, 'nothing cached: it waits for the key frame it asked for');
  producer.receiveRtp(rtp(1, 3000, false));
  assert.equal(out.sent.length, 0);
  producer.receiveRtp(rtp(2, 6000, true));
  assert.equal(out.sent.length, 1);
});

test('the cache holds at most maxPackets: an overflow drops it (consumers then wait for a key frame), the next key frame starts it again', () => {
  const { producer, plis, consumer } = setup({ keyFrameCachePackets: 4 });
  const cache = producer.keyFrameCache!;
  producer.receiveRtp(rtp(1, 0, true));
  for (let i = 2; i <= 4; i++) producer.receiveRtp(rtp(i, i * 3000, false));
  assert.equal(cache.size, 4);
  producer.receiveRtp(rtp(5, 15_000, false));
  assert.equal(cache.size, 0);
  assert.equal(cache.stats.overflows, 1);
  const { c, out } = consumer('a');
  c.start();
  assert.equal(out.sent.length, 0, 'nothing replayed');
  assert.equal(plis.length, 1, 'it asks the publisher instead');
  for (let i = 6; i < 20; i++) producer.receiveRtp(rtp(i, i * 3000, false));
  assert.equal(cache.size, 0, 'no packet is kept without a key frame');
  producer.receiveRtp(rtp(20, 60_000, true));
  assert.equal(cache.size, 1);
  assert.equal(out.sent.length, 1);

  const bounded = new KeyFrameCache(3, 1000);
  bounded.push(Buffer.alloc(12), true, 0);
  assert.ok(bounded.replayable(1000));
  assert.equal(bounded.replayable(1001), undefined, 'a GOP older than maxAgeMs is not replayed');
});

test('closing or muting the producer empties its cache; audio and keyFrameCachePackets: 0 have none', () => {
  const { producer } = setup();
  producer.receiveRtp(rtp(1, 0, true));
  producer.setMuted(true);
  assert.equal(producer.keyFrameCache!.size, 0);
  producer.setMuted(false);
  producer.receiveRtp(rtp(2, 3000, true));
  assert.equal(producer.keyFrameCache!.size, 1);
  producer.close();
  assert.equal(producer.keyFrameCache!.size, 0);
  assert.equal(setup({ keyFrameCachePackets: 0 }).producer.keyFrameCache, undefined);
  const audio = new Producer({
    id: 'a',
    connectionId: 'pub',
    kind: 'audio',
    codec: { kind: 'audio', name: 'opus', clockRate: 48000 },
    payloadType: 111,
    sendKeyFrameRequest: () => undefined,
  });
  assert.equal(audio.keyFrameCache, undefined);
});

test('a key frame arriving while a coalesced request waits answers it (no extra PLI later)', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { producer, plis } = setup();
  producer.requestKeyFrame();
  producer.requestKeyFrame(); // inside the interval: waits on a timer
  assert.equal(plis.length, 1);
  producer.receiveRtp(rtp(1, 0, true));
  assert.equal(producer.stats.keyFrameRequestsAnswered, 1);
  t.mock.timers.tick(1000); // past the 500 ms interval: nothing more is sent
  assert.equal(plis.length, 1);
  producer.requestKeyFrame(); // without a key frame in between, a waiting request is sent at the interval
  producer.requestKeyFrame();
  t.mock.timers.tick(1000);
  assert.ok(plis.length >= 2);
  producer.close();
});

test('squeezedTimestamps: one tick per frame, the newest at its own timestamp, across the 32-bit wrap', () => {
  const pkt = (ts: number) => rtp(0, ts, false);
  assert.deepEqual(squeezedTimestamps([pkt(100), pkt(100), pkt(3100), pkt(6100), pkt(6100)]), [6098, 6098, 6099, 6100, 6100]);
  assert.deepEqual(squeezedTimestamps([pkt(0xffffffff), pkt(2999)]), [2998, 2999]);
  assert.deepEqual(squeezedTimestamps([pkt(1)]), [1]);
  assert.deepEqual(squeezedTimestamps([pkt(5), pkt(10), pkt(1)]), [0xffffffff, 0, 1]);
});
