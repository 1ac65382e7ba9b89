/**
 * Simulcast without a network: three layers told apart by the rtp-stream-id extension, layer
 * choice by tile size and by the subscriber's bandwidth, seamless switches at key frames, and
 * feedback to the publisher (one REMB for all layers, a PLI per layer).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Consumer } from '../../src/sfu/Consumer.ts';
import { RecordingOutput as Output } from './recordingOutput.ts';
import { Forwarding } from '../../src/sfu/Forwarding.ts';
import { Simulcast } from '../../src/sfu/Simulcast.ts';
import { oneByteExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { parseRtcp, writeRemb } from '@parley-rtc/rtc/rtp/rtcp';

const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;
const RID_EXT = 10;
const LAYERS = [
  { rid: 'q', ssrc: 0x1000, width: 160, height: 120 },
  { rid: 'h', ssrc: 0x2000, width: 320, height: 240 },
  { rid: 'f', ssrc: 0x3000, width: 640, height: 480 },
];

function frame(width: number, height: number, key: boolean): Buffer {
  if (!key) return Buffer.from([0x10, 0x01, 0x00, 0x00, 0xaa]);
  return Buffer.from([0x10, 0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, width & 0xff, width >> 8, height & 0xff, height >> 8]);
}

/** A publisher sending the three layers; each packet carries its rid (as Chromium does early on). */
function publisher(sim: Simulcast) {
  const seq = [100, 5000, 30000];
  return {
    send(layer: number, key: boolean, withRid = true, rid = LAYERS[layer]!.rid): void {
      const l = LAYERS[layer]!;
      const extension = withRid ? oneByteExtension([{ id: RID_EXT, data: Buffer.from(rid) }]) : undefined;
      const s = seq[layer]!++;
      sim.receiveRtp(
        writeRtp({
          payloadType: 96,
          sequenceNumber: s,
          timestamp: s * 3000,
          ssrc: l.ssrc,
          marker: true,
          payload: frame(l.width, l.height, key),
          ...(extension ? { extension } : {}),
        }),
      );
    },
  };
}

function setup() {
  const rtcp: Buffer[] = [];
  const sim = new Simulcast({
    id: 'p1',
    connectionId: 'pub',
    codec: VP8,
    payloadType: 96,
    rids: ['q', 'h', 'f'],
    ridExtId: RID_EXT,
    sendRtcp: (b) => rtcp.push(b) > 0,
    localSsrc: 7,
  });
  const pub = publisher(sim);
  for (let i = 0; i < 3; i++) pub.send(i, true);
  const out = new Output();
  const consumer = new Consumer({ id: 'c1', connectionId: 'sub', producer: sim.initialLayer(), output: out, payloadType: 96 });
  new Forwarding().add(consumer);
  sim.track(consumer);
  consumer.start();
  return { sim, pub, out, consumer, rtcp };
}

const layerOf = (sim: Simulcast, c: Consumer) => sim.layers.indexOf(c.producer);

test('layers are demultiplexed by rid, then by SSRC; key frames tell their sizes; unknown rids are dropped', () => {
  const { sim, pub } = setup();
  pub.send(1, false, false); // no rid any more: known by its SSRC
  assert.deepEqual(
    sim.layerInfo().map((l) => [l.rid, l.ssrc, l.width, l.height]),
    LAYERS.map((l) => [l.rid, l.ssrc, l.width, l.height]),
  );
  assert.equal(sim.layers[1]!.stats.packetsIn, 2);
  pub.send(0, false, true, 'x'); // an SSRC we know, even with a wrong rid, stays its layer
  const before = sim.droppedUnknown;
  sim.receiveRtp(
    writeRtp({
      payloadType: 96,
      sequenceNumber: 1,
      timestamp: 1,
      ssrc: 0x9999,
      payload: frame(1, 1, true),
      extension: oneByteExtension([{ id: RID_EXT, data: Buffer.from('zz') }]),
    }),
  );
  sim.receiveRtp(writeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 0x9998, payload: frame(1, 1, true) }));
  assert.equal(sim.droppedUnknown, before + 2, 'unknown SSRC without a known rid');
  sim.close();
});

test('a consumer starts on the highest layer; a small tile moves it down at the next key frame of that layer, seamlessly', () => {
  const { sim, pub, out, consumer } = setup();
  assert.equal(layerOf(sim, consumer), 2, 'no size yet: the highest layer');
  pub.send(2, true);
  pub.send(2, false);
  sim.setVideoSize(consumer, 150, 110); // the low layer covers it
  assert.equal(consumer.pendingProducer, sim.layers[0]);
  pub.send(2, false); // still forwarded from the high layer until the low one has a key frame
  pub.send(0, false);
  assert.equal(layerOf(sim, consumer), 2);
  pub.send(0, true);
  assert.equal(layerOf(sim, consumer), 0, 'switched at the key frame');
  pub.send(2, false); // the high layer no longer reaches this consumer
  pub.send(0, false);
  const seqs = out.sent.map((p) => p.readUInt16BE(2));
  for (let i = 1; i < seqs.length; i++) assert.equal(seqs[i], (seqs[i - 1]! + 1) & 0xffff, `contiguous output at ${i}: ${seqs.join(',')}`);
  assert.equal(out.sent.length, 6, 'the high layer’s cached key frame at start, then five packets');
  // a middle-sized tile: the middle layer
  sim.setVideoSize(consumer, 300, 200);
  assert.equal(consumer.pendingProducer, sim.layers[1]);
  pub.send(1, true);
  assert.equal(layerOf(sim, consumer), 1);
  // 0×0: no preference → the highest again
  sim.setVideoSize(consumer, 0, 0);
  pub.send(2, true);
  assert.equal(layerOf(sim, consumer), 2);
  sim.close();
});

test("the subscriber's bandwidth estimate caps the layer; publisher feedback is RR per layer and one REMB for all", () => {
  const { sim, pub, consumer, rtcp } = setup();
  pub.send(2, true);
  // one feedback round measures each layer's bitrate
  const t0 = performance.now();
  sim.sendFeedback({ min: 100_000, max: 2_000_000 }, t0);
  for (let i = 0; i < 20; i++) for (let l = 0; l < 3; l++) pub.send(l, false);
  sim.sendFeedback({ min: 100_000, max: 2_000_000 }, t0 + 1000);
  const rates = sim.layerInfo().map((l) => l.bitrate);
  assert.ok(rates[0]! > 0 && rates[2]! >= rates[0]!, `layer bitrates ${rates.join(',')}`);
  const remb = rtcp.flatMap((b) => parseRtcp(b)).filter((p) => p.type === 'remb');
  assert.ok(remb.length >= 1);
  const last = remb.at(-1)!;
  assert.ok(last.type === 'remb' && last.bitrate === 2_000_000 && last.ssrcs.length === 3, JSON.stringify(last));
  const rr = rtcp.flatMap((b) => parseRtcp(b)).filter((p) => p.type === 'rr');
  assert.deepEqual(new Set(rr.map((p) => (p.type === 'rr' ? p.reports[0]!.ssrc : 0))), new Set(LAYERS.map((l) => l.ssrc)));

  // the subscriber reports a bandwidth below the top layer's rate: it moves down
  consumer.receiveRtcp(parseRtcp(writeRemb(1, Math.max(1, rates[2]! - 1), [0xabc])));
  sim.select();
  assert.ok(consumer.pendingProducer !== undefined && layerOf(sim, consumer) === 2, 'switch pending');
  assert.ok(sim.layers.indexOf(consumer.pendingProducer) < 2);
  sim.close();
  assert.ok(consumer.closed, 'closing the publication closes its consumers');
});

test('a PLI asks each layer by its own SSRC', () => {
  const rtcp: Buffer[] = [];
  const sim = new Simulcast({
    id: 'p2',
    connectionId: 'pub',
    codec: VP8,
    payloadType: 96,
    rids: ['q', 'h', 'f'],
    ridExtId: RID_EXT,
    sendRtcp: (b) => rtcp.push(b) > 0,
    localSsrc: 7,
  });
  const pub = publisher(sim);
  for (let i = 0; i < 3; i++) pub.send(i, false);
  sim.requestKeyFrame();
  const plis = rtcp.flatMap((b) => parseRtcp(b)).filter((p) => p.type === 'pli');
  assert.deepEqual(plis.map((p) => (p.type === 'pli' ? p.mediaSsrc : 0)).sort(), LAYERS.map((l) => l.ssrc).sort());
  sim.close();
});
