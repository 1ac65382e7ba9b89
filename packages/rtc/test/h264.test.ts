import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtp, writeRtp } from '../src/rtp/rtp.ts';
import { H264Depacketizer, avcDecoderConfig, avcSample, h264SpsSize, isH264KeyFrameStart } from '../src/rtp/h264.ts';

const SPS = Buffer.from([0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8]);
const PPS = Buffer.from([0x68, 0xce, 0x3c, 0x80]);
const IDR = Buffer.concat([Buffer.from([0x65, 0x88, 0x84]), Buffer.alloc(3000, 0xab)]);
const P = Buffer.from([0x41, 0x9a, 0x02, 0x03]);

let seq = 100;
function rtp(payload: Buffer, timestamp: number, marker: boolean, skip = 0) {
  seq += 1 + skip;
  return parseRtp(writeRtp({ payloadType: 102, sequenceNumber: seq & 0xffff, timestamp, ssrc: 7, marker, payload }));
}

function stapA(...nalus: Buffer[]): Buffer {
  return Buffer.concat([Buffer.from([0x18]), ...nalus.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n])]);
}

/** FU-A fragments of one NAL unit, `size` payload bytes each. */
function fuA(nal: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  const body = nal.subarray(1);
  for (let o = 0; o < body.length; o += size) {
    const start = o === 0;
    const end = o + size >= body.length;
    out.push(
      Buffer.concat([
        Buffer.from([(nal[0]! & 0xe0) | 28, (start ? 0x80 : 0) | (end ? 0x40 : 0) | (nal[0]! & 0x1f)]),
        body.subarray(o, o + size),
      ]),
    );
  }
  return out;
}

function keyFramePackets(ts: number) {
  const frags = fuA(IDR, 1001);
  return [rtp(stapA(SPS, PPS), ts, false), ...frags.map((f, i) => rtp(f, ts, i === frags.length - 1))];
}

test('H.264: STAP-A + FU-A key frame and a single-NAL delta frame become AVC samples', () => {
  const d = new H264Depacketizer();
  const packets = keyFramePackets(9000);
  assert.equal(packets.length, 4);
  assert.equal(isH264KeyFrameStart(packets[0]!.payload), true);
  const outs = packets.map((p) => d.push(p));
  assert.deepEqual(outs.slice(0, 3), [undefined, undefined, undefined]);
  const key = outs[3]!;
  assert.equal(key.keyFrame, true);
  assert.equal(key.timestamp, 9000);
  assert.deepEqual(key.data, avcSample([SPS, PPS, IDR]));
  assert.deepEqual(d.sps, SPS);
  assert.deepEqual(d.pps, PPS);
  assert.equal(d.needKeyFrame, false);
  const delta = d.push(rtp(P, 12000, true))!;
  assert.equal(delta.keyFrame, false);
  assert.deepEqual(delta.data, Buffer.concat([Buffer.from([0, 0, 0, 4]), P]));
});

test('H.264: nothing before the first IDR; a lost fragment drops frames until the next IDR', () => {
  const d = new H264Depacketizer();
  assert.equal(d.push(rtp(P, 1000, true)), undefined);
  assert.equal(d.needKeyFrame, true);
  const packets = keyFramePackets(4000);
  let last;
  for (const p of packets) last = d.push(p);
  assert.equal(last?.keyFrame, true);
  // a key frame whose middle FU-A fragment is lost
  const frags = fuA(IDR, 1001);
  assert.equal(d.push(rtp(frags[0]!, 7000, false)), undefined);
  assert.equal(d.push(rtp(frags[2]!, 7000, true, 1)), undefined);
  assert.equal(d.needKeyFrame, true);
  assert.equal(d.push(rtp(P, 10000, true)), undefined, 'a delta frame after a loss is dropped');
  for (const p of keyFramePackets(13000)) last = d.push(p);
  assert.equal(last?.keyFrame, true);
  assert.equal(d.needKeyFrame, false);
});

test('H.264: a lost marker packet drops that access unit; malformed payloads are dropped, not thrown', () => {
  const d = new H264Depacketizer();
  for (const p of keyFramePackets(1000)) d.push(p);
  assert.equal(d.push(rtp(P, 4000, false)), undefined);
  assert.equal(d.push(rtp(P, 7000, true)), undefined, 'the next access unit started without a marker on the previous one');
  assert.equal(d.needKeyFrame, true);
  for (const p of keyFramePackets(10000)) d.push(p);
  assert.equal(d.push(rtp(Buffer.from([0x18, 0x00, 0x09, 0x67]), 13000, true)), undefined, 'truncated STAP-A');
  assert.equal(d.push(rtp(Buffer.from([0x1c, 0x05]), 16000, true)), undefined, 'short FU-A');
  assert.equal(d.needKeyFrame, true);
});

test('avcC: version, profile/compat/level from the SPS, 4-byte lengths, one SPS and one PPS', () => {
  const c = avcDecoderConfig(SPS, PPS);
  assert.deepEqual([...c.subarray(0, 6)], [1, 0x42, 0xc0, 0x1f, 0xff, 0xe1]);
  assert.equal(c.readUInt16BE(6), SPS.length);
  assert.deepEqual(c.subarray(8, 8 + SPS.length), SPS);
  assert.equal(c[8 + SPS.length], 1);
  assert.equal(c.readUInt16BE(9 + SPS.length), PPS.length);
  assert.deepEqual(c.subarray(11 + SPS.length), PPS);
});

test('SPS size: baseline and high profile SPS (libx264, 320x180 with cropping); garbage gives undefined', () => {
  const baseline = Buffer.from('6742c00cd901419f9f011000000300100000030320f142a48', 'hex');
  const high = Buffer.from('6764000cacd941419f9f011000000300100000030320f1429960', 'hex');
  assert.deepEqual(h264SpsSize(baseline), { width: 320, height: 180 });
  assert.deepEqual(h264SpsSize(high), { width: 320, height: 180 });
  assert.equal(h264SpsSize(Buffer.from([0x67, 0x42])), undefined);
});
