/**
 * H.264 tracks are recorded without transcoding: a real libx264 stream (ffmpeg) packetized into
 * RTP as a WebRTC sender does (single NAL units, STAP-A for SPS/PPS, FU-A for large slices) goes
 * through a Producer into a TrackRecorder; the Matroska file it writes (V_MPEG4/ISO/AVC + avcC)
 * decodes fully with ffmpeg/ffprobe, frame for frame. A VP8/Opus file keeps the `webm` DocType.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ntpNow } from '@parley-rtc/rtc/rtp/rtcp';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { Producer } from '../../src/sfu/Producer.ts';
import { RoomClock } from '../../src/media/recording/room/RoomClock.ts';
import { TrackRecorder } from '../../src/media/recording/room/TrackRecorder.ts';
import { WebmWriter } from '../../src/media/recording/WebmWriter.ts';
import { probeVideoFrames } from './syncClip.ts';

const FRAMES = 60;
const W = 320;
const H = 180;

/** Splits an Annex-B stream into access units (one slice per frame, as libx264 writes with these options). */
function accessUnits(annexB: Buffer): Buffer[][] {
  const nalus: Buffer[] = [];
  let start = -1;
  for (let i = 0; i + 3 <= annexB.length; i++) {
    if (annexB[i] === 0 && annexB[i + 1] === 0 && annexB[i + 2] === 1) {
      if (start >= 0) nalus.push(annexB.subarray(start, annexB[i - 1] === 0 ? i - 1 : i));
      start = i + 3;
      i += 2;
    }
  }
  if (start >= 0) nalus.push(annexB.subarray(start));
  const aus: Buffer[][] = [];
  let cur: Buffer[] = [];
  for (const n of nalus) {
    cur.push(n);
    const type = n[0]! & 0x1f;
    if (type === 1 || type === 5) {
      aus.push(cur);
      cur = [];
    }
  }
  return aus;
}

/** RTP payloads for one access unit: SPS/PPS/SEI aggregated in a STAP-A, slices single or FU-A. */
function packetize(au: Buffer[], mtu = 1000): Buffer[] {
  const out: Buffer[] = [];
  const small = au.filter((n) => (n[0]! & 0x1f) !== 1 && (n[0]! & 0x1f) !== 5);
  if (small.length > 0)
    out.push(Buffer.concat([Buffer.from([0x18]), ...small.flatMap((n) => [Buffer.from([n.length >> 8, n.length & 0xff]), n])]));
  for (const n of au.filter((x) => !small.includes(x))) {
    if (n.length <= mtu) {
      out.push(n);
      continue;
    }
    const body = n.subarray(1);
    for (let o = 0; o < body.length; o += mtu) {
      const fu = (o === 0 ? 0x80 : 0) | (o + mtu >= body.length ? 0x40 : 0) | (n[0]! & 0x1f);
      out.push(Buffer.concat([Buffer.from([(n[0]! & 0xe0) | 28, fu]), body.subarray(o, o + mtu)]));
    }
  }
  return out;
}

test('an H.264 track becomes a Matroska file (avcC, AVC samples) that decodes fully, every frame', async () => {
  const annexB = execFileSync('ffmpeg', [
    ...['-v', 'error', '-f', 'lavfi', '-i', `testsrc=s=${W}x${H}:r=30`, '-frames:v', String(FRAMES), '-pix_fmt', 'yuv420p'],
    ...['-c:v', 'libx264', '-profile:v', 'baseline', '-g', '30', '-x264-params', 'slices=1', '-f', 'h264', '-'],
  ]);
  const aus = accessUnits(annexB);
  assert.equal(aus.length, FRAMES);
  const h264 = { kind: 'video', name: 'h264', clockRate: 90000 } as const;
  const producer = new Producer({
    id: 'v',
    connectionId: 'c',
    kind: 'video',
    codec: h264,
    payloadType: 102,
    ssrc: 9,
    sendKeyFrameRequest: () => {},
  });
  const dir = mkdtempSync(join(tmpdir(), 'parley-rec-h264-'));
  const path = join(dir, 'track-1-video.mkv');
  try {
    const rec = new TrackRecorder({ publication: producer, member: 'm', path, clock: new RoomClock(), onError: (e) => assert.fail(e) });
    producer.receiveRtcp([{ type: 'sr', ssrc: 9, ...ntpNow(), rtpTimestamp: 0, packetCount: 0, octetCount: 0, reports: [] }]);
    let seq = 0;
    let fuA = 0;
    aus.forEach((au, k) => {
      const payloads = packetize(au);
      fuA += payloads.filter((p) => (p[0]! & 0x1f) === 28).length;
      payloads.forEach((payload, i) =>
        producer.receiveRtp(
          writeRtp({ payloadType: 102, sequenceNumber: seq++, timestamp: k * 3000, ssrc: 9, marker: i === payloads.length - 1, payload }),
        ),
      );
    });
    assert.ok(fuA > 0, 'the key frames were fragmented (FU-A)');
    assert.equal(rec.timing.frames, FRAMES);
    assert.deepEqual([rec.timing.width, rec.timing.height], [W, H], 'size from the SPS');
    rec.close();
    producer.close();
    assert.ok(readFileSync(path).subarray(0, 64).includes('matroska'), 'DocType matroska');
    assert.deepEqual(await probeVideoFrames(path), { codec_name: 'h264', width: W, height: H, frames: FRAMES });
    const errors = execFileSync('ffmpeg', ['-v', 'error', '-xerror', '-i', path, '-f', 'null', '-'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    assert.equal(errors, '', 'no decode errors');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('VP8/Opus files keep the webm DocType; an H.264 track without its avcC is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-rec-webm-'));
  try {
    const w = new WebmWriter(join(dir, 'a.webm'), [{ number: 1, kind: 'video', codecId: 'V_VP8' }]);
    w.finish();
    const head = readFileSync(join(dir, 'a.webm')).subarray(0, 64);
    assert.ok(head.includes('webm') && !head.includes('matroska'));
    assert.throws(() => new WebmWriter(join(dir, 'b.mkv'), [{ number: 1, kind: 'video', codecId: 'V_MPEG4/ISO/AVC' }]), TypeError);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
