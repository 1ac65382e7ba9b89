import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRtp, writeRtp, rewriteRtp, RtpRewriter, RtpParseError, isRtcp, seqDelta } from '../src/rtp/rtp.ts';
import { parseRtcp, writeNack, writePli, writeReceiverReport, writeSenderReport, writeRemb, tryParseRtcp } from '../src/rtp/rtcp.ts';
import { packetizeVp8, parseVp8Descriptor, Vp8Depacketizer, vp8KeyFrameSize } from '../src/rtp/vp8.ts';
import { isH264KeyFrameStart } from '../src/rtp/h264.ts';
import { RetransmitBuffer } from '../src/rtp/RetransmitBuffer.ts';
import { ReceptionStats } from '../src/rtp/ReceptionStats.ts';
import { parseSdp, matchCodec } from '../src/sdp.ts';

test('RTP round-trips header fields, CSRCs, extension and padding', () => {
  const payload = Buffer.from([1, 2, 3, 4, 5]);
  const buf = writeRtp({
    marker: true,
    payloadType: 96,
    sequenceNumber: 65535,
    timestamp: 0xfffffff0,
    ssrc: 0xdeadbeef,
    csrcs: [1, 2],
    extension: { profile: 0xbede, data: Buffer.from([0x10, 0xaa, 0, 0]) },
    payload,
    padding: 3,
  });
  const p = parseRtp(buf);
  assert.equal(p.marker, true);
  assert.equal(p.payloadType, 96);
  assert.equal(p.sequenceNumber, 65535);
  assert.equal(p.timestamp, 0xfffffff0);
  assert.equal(p.ssrc, 0xdeadbeef);
  assert.deepEqual(p.csrcs, [1, 2]);
  assert.equal(p.extension?.profile, 0xbede);
  assert.equal(p.padding, 3);
  assert.deepEqual([...p.payload], [...payload]);
});

test('malformed RTP is rejected with RtpParseError', () => {
  const good = writeRtp({ payloadType: 96, sequenceNumber: 1, timestamp: 1, ssrc: 1, payload: Buffer.from([1]) });
  assert.throws(() => parseRtp(Buffer.alloc(5)), RtpParseError);
  const v1 = Buffer.from(good);
  v1[0] = 0x40;
  assert.throws(() => parseRtp(v1), RtpParseError);
  const csrc = Buffer.from(good);
  csrc[0] = 0x8f; // 15 CSRCs, none present
  assert.throws(() => parseRtp(csrc), RtpParseError);
  const ext = Buffer.from(good);
  ext[0] = 0x90; // extension bit without extension
  assert.throws(() => parseRtp(ext), RtpParseError);
  const pad = Buffer.from(good);
  pad[0] = 0xa0;
  pad[pad.length - 1] = 200; // padding longer than packet
  assert.throws(() => parseRtp(pad), RtpParseError);
  assert.throws(() => parseRtp(writePli(1, 2)), RtpParseError);
  assert.equal(isRtcp(writePli(1, 2)), true);
  assert.equal(isRtcp(good), false);
});

test('rewriteRtp strips extensions and sets SSRC/PT; RtpRewriter keeps sequence continuous across inputs', () => {
  const src = writeRtp({
    payloadType: 100,
    sequenceNumber: 10,
    timestamp: 1000,
    ssrc: 5,
    extension: { profile: 0xbede, data: Buffer.alloc(4) },
    payload: Buffer.from([9]),
  });
  const out = parseRtp(rewriteRtp(src, { ssrc: 7, payloadType: 96 })!);
  assert.equal(out.ssrc, 7);
  assert.equal(out.payloadType, 96);
  assert.equal(out.extension, undefined);
  assert.deepEqual([...out.payload], [9]);
  assert.equal(rewriteRtp(Buffer.alloc(3), { ssrc: 1, payloadType: 1 }), undefined);

  const rw = new RtpRewriter(42, 96, 3000);
  const pkt = (seq: number, ts: number) =>
    writeRtp({ payloadType: 100, sequenceNumber: seq, timestamp: ts, ssrc: 1, payload: Buffer.from([0]) });
  const a = parseRtp(rw.rewrite(pkt(100, 5000))!);
  const b = parseRtp(rw.rewrite(pkt(101, 8000))!);
  rw.switchInput();
  const c = parseRtp(rw.rewrite(pkt(40000, 123))!);
  assert.equal(seqDelta(a.sequenceNumber, b.sequenceNumber), 1);
  assert.equal(seqDelta(b.sequenceNumber, c.sequenceNumber), 1);
  assert.equal((c.timestamp - b.timestamp) >>> 0, 3000);
  assert.equal(c.ssrc, 42);
  assert.equal(seqDelta(65535, 0), 1);
  assert.equal(seqDelta(0, 65535), -1);
});

test('RTCP SR, RR, PLI and NACK round-trip in a compound packet', () => {
  const sr = writeSenderReport({ ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6 });
  const rr = writeReceiverReport({
    ssrc: 9,
    reports: [{ ssrc: 1, fractionLost: 12, packetsLost: -3, highestSeq: 70000, jitter: 8, lastSr: 9, delaySinceLastSr: 10 }],
  });
  const nack = writeNack(9, 1, [100, 101, 116, 200]);
  const compound = Buffer.concat([sr, rr, writePli(9, 1), nack]);
  const parsed = parseRtcp(compound);
  assert.equal(parsed.length, 4);
  assert.deepEqual(parsed[0], { type: 'sr', ssrc: 1, ntpSec: 2, ntpFrac: 3, rtpTimestamp: 4, packetCount: 5, octetCount: 6, reports: [] });
  assert.equal(parsed[1]!.type, 'rr');
  const rrParsed = parsed[1];
  if (rrParsed?.type === 'rr')
    assert.deepEqual(rrParsed.reports[0], {
      ssrc: 1,
      fractionLost: 12,
      packetsLost: -3,
      highestSeq: 70000,
      jitter: 8,
      lastSr: 9,
      delaySinceLastSr: 10,
    });
  assert.deepEqual(parsed[2], { type: 'pli', senderSsrc: 9, mediaSsrc: 1 });
  assert.equal(parsed[3]!.type, 'nack');
  const nackParsed = parsed[3];
  if (nackParsed?.type === 'nack')
    assert.deepEqual(
      nackParsed.lost.sort((x, y) => x - y),
      [100, 101, 116, 200],
    );
});

test('malformed RTCP is rejected', () => {
  const pli = writePli(1, 2);
  assert.throws(() => parseRtcp(Buffer.alloc(2)), RtpParseError);
  const long = Buffer.from(pli);
  long.writeUInt16BE(50, 2); // length beyond the buffer
  assert.throws(() => parseRtcp(long), RtpParseError);
  const ver = Buffer.from(pli);
  ver[0] = 0x41;
  assert.throws(() => parseRtcp(ver), RtpParseError);
  const sr = writeSenderReport({ ssrc: 1, ntpSec: 0, ntpFrac: 0, rtpTimestamp: 0, packetCount: 0, octetCount: 0 });
  sr[0] = 0x81; // claims one report block that is not there
  assert.throws(() => parseRtcp(sr), RtpParseError);
  assert.deepEqual(tryParseRtcp(Buffer.concat([pli, Buffer.from([0x80])])), []);
});

test('VP8 packetize → depacketize restores frames; a lost packet drops frames until a key frame', () => {
  const key = Buffer.alloc(3000, 7);
  key[0] = 0x10; // key frame: bit 0 = 0
  key.set([0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00], 3);
  const delta = Buffer.alloc(2500, 3);
  delta[0] = 0x01;
  assert.deepEqual(vp8KeyFrameSize(key), { width: 320, height: 240 });
  let seq = 65530;
  const packets = (frame: Buffer, ts: number) =>
    packetizeVp8(frame, 1000).map((payload, i, all) =>
      parseRtp(
        writeRtp({ marker: i === all.length - 1, payloadType: 96, sequenceNumber: seq++ & 0xffff, timestamp: ts, ssrc: 1, payload }),
      ),
    );
  const d = new Vp8Depacketizer();
  const frames = [...packets(key, 0), ...packets(delta, 3000)].map((p) => d.push(p)).filter((f) => f !== undefined);
  assert.equal(frames.length, 2);
  assert.deepEqual(frames[0]!.data, key);
  assert.equal(frames[0]!.keyFrame, true);
  assert.deepEqual(frames[1]!.data, delta);
  const lossy = packets(delta, 6000);
  lossy.splice(1, 1);
  assert.deepEqual(lossy.map((p) => d.push(p)).filter(Boolean), []);
  assert.equal(d.needKeyFrame, true);
  assert.deepEqual(
    packets(delta, 9000)
      .map((p) => d.push(p))
      .filter(Boolean),
    [],
  );
  assert.equal(
    packets(key, 12000)
      .map((p) => d.push(p))
      .filter(Boolean).length,
    1,
  );
  assert.throws(() => parseVp8Descriptor(Buffer.from([0x80])), RtpParseError);
  assert.deepEqual(parseVp8Descriptor(Buffer.from([0x90, 0x80, 0x81, 0x23, 0xaa])), {
    start: true,
    partitionId: 0,
    pictureId: 0x123,
    headerBytes: 4,
  });
});

test('H.264 key frame detection and retransmit buffer', () => {
  assert.equal(isH264KeyFrameStart(Buffer.from([0x65, 0])), true);
  assert.equal(isH264KeyFrameStart(Buffer.from([0x41, 0])), false);
  assert.equal(isH264KeyFrameStart(Buffer.from([0x7c, 0x85])), true);
  assert.equal(isH264KeyFrameStart(Buffer.from([0x78, 0, 2, 0x67, 0])), true);
  const rb = new RetransmitBuffer(4);
  const p = writeRtp({ payloadType: 96, sequenceNumber: 9, timestamp: 0, ssrc: 1, payload: Buffer.alloc(1) });
  rb.store(p);
  assert.equal(rb.get(9), p);
  assert.equal(rb.get(13), undefined);
});

const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=fingerprint:sha-256 AA:BB',
  'a=group:BUNDLE 0 1',
  'm=video 9 UDP/TLS/RTP/SAVPF 96 102 97',
  'c=IN IP4 0.0.0.0',
  'a=mid:0',
  'a=recvonly',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:efghefghefghefghefghef',
  'a=rtpmap:96 VP8/90000',
  'a=rtpmap:102 H264/90000',
  'a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f',
  'a=rtpmap:97 H264/90000',
  'a=fmtp:97 packetization-mode=0;profile-level-id=42e01f',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:1',
  'a=sendrecv',
  'a=ice-ufrag:abcd',
  'a=ice-pwd:efghefghefghefghefghef',
  'a=rtpmap:111 opus/48000/2',
  '',
].join('\r\n');

test('SDP parsing picks mids, directions and codecs; bad SDP is rejected', () => {
  const sdp = parseSdp(OFFER);
  assert.equal(sdp.media.length, 2);
  const [video, audio] = sdp.media;
  assert.equal(video!.direction, 'recvonly');
  assert.equal(matchCodec(video!, { kind: 'video', name: 'vp8', clockRate: 90000 })?.payloadType, 96);
  assert.equal(matchCodec(video!, { kind: 'video', name: 'h264', clockRate: 90000, profileLevelId: '42e01f' })?.payloadType, 102);
  assert.equal(matchCodec(audio!, { kind: 'audio', name: 'opus', clockRate: 48000 })?.payloadType, 111);
  assert.throws(() => parseSdp('hello'), { code: 'BAD_SDP' });
  assert.throws(() => parseSdp('v=0\r\ns=-\r\n'), { code: 'BAD_SDP' });
  assert.throws(() => parseSdp(OFFER.replace('a=fingerprint:sha-256 AA:BB\r\n', '')), { code: 'BAD_SDP' });
  assert.throws(() => parseSdp(OFFER.replace('a=mid:1', 'a=mid:0')), { code: 'BAD_SDP' });
  assert.throws(() => parseSdp('v=0\r\n' + 'a=x\r\n'.repeat(20000)), { code: 'PAYLOAD_TOO_LARGE' });
});

test('REMB round trip: bitrate in exponent/mantissa form, SSRC list; truncated lists are malformed', () => {
  const buf = writeRemb(7, 2_500_000, [11, 12]);
  const [p] = parseRtcp(buf);
  assert.equal(p?.type, 'remb');
  if (p?.type !== 'remb') return;
  assert.equal(p.senderSsrc, 7);
  assert.deepEqual(p.ssrcs, [11, 12]);
  assert.ok(p.bitrate <= 2_500_000 && p.bitrate > 2_499_000, `bitrate ${p.bitrate}`);
  assert.equal((parseRtcp(writeRemb(1, 1000, [1]))[0] as { bitrate: number }).bitrate, 1000, 'small values are exact');
  const truncated = Buffer.from(buf);
  truncated[16] = 9; // claims 9 SSRCs
  assert.throws(() => parseRtcp(truncated));
});

test('reception stats: highest sequence across a wrap, loss, fraction lost per interval, LSR/DLSR', () => {
  const r = new ReceptionStats(90000);
  assert.equal(r.reportBlock(1, 0), undefined, 'nothing received yet');
  let t = 0;
  for (let seq = 65530; seq < 65536 + 10; seq++) {
    if (seq === 65534 || seq === 65540) continue; // two lost, one on each side of the wrap
    r.packet(seq & 0xffff, seq * 3000, (t += 33));
  }
  r.senderReport(0x12345678, 0x9abcdef0, t);
  const b = r.reportBlock(42, t + 500)!;
  assert.equal(b.ssrc, 42);
  assert.equal(b.highestSeq, 65536 + 9, 'one wrap: cycles in the upper 16 bits');
  assert.equal(b.packetsLost, 2);
  assert.equal(b.fractionLost, Math.floor((2 * 256) / 16));
  assert.equal(b.lastSr, 0x5678_9abc, 'middle 32 bits of the NTP time');
  assert.equal(b.delaySinceLastSr, 32768, '0.5 s in 1/65536 s');
  // the next interval lost nothing
  r.packet(10, 0, (t += 33));
  assert.equal(r.reportBlock(42, t)!.fractionLost, 0);
  // a duplicate is not a loss and does not move the highest sequence number
  r.packet(10, 0, (t += 33));
  assert.equal(r.reportBlock(42, t)!.highestSeq, 65536 + 10);
});
