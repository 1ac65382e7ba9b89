// Room recording benchmark (`npm run bench -- recording`):
// 1. CPU % of one core per recorded track at 1, 10 and 40 tracks: N SFU Producers in this process
//    get 1280x720@30 VP8 at ~1.5 Mbit/s each (the SFU bench's clip, real RTP packets at real-time
//    pace, sender reports every second) — once with nothing attached (baseline), once with a
//    TrackRecorder per producer writing WebM to a temp dir. Cost per track = (recorded − baseline) / N.
// 2. Forwarding the same track, for comparison: the SFU bench's real server process (Router over
//    node-datachannel) with one publisher of that clip and 1 / 10 subscribers (CPU % of the server).
// 3. Composition speed for a 4-person, 2-minute room (4 VP8 640x360 video + 4 Opus tracks, members
//    joining 0/10/20/30 s in): wall-clock seconds of the ffmpeg composition → × real time.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { ntpNow } from '@parley-rtc/rtc/rtp/rtcp';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import type { RoomRecordingTrack } from '@parley-rtc/protocol';
import { readIvf } from '../packages/bots/src/media/clip.ts';
import { Producer } from '../packages/server/src/sfu/Producer.ts';
import { RoomClock } from '../packages/server/src/media/recording/room/RoomClock.ts';
import { TrackRecorder } from '../packages/server/src/media/recording/room/TrackRecorder.ts';
import { Composition } from '../packages/server/src/media/recording/room/compose.ts';
import { makeClip, runOne } from './sfu.ts';

const WARMUP_S = 4;
const WINDOW_S = 10;
const VP8 = { kind: 'video', name: 'vp8', clockRate: 90000 } as const;

function cpuPct(c: NodeJS.CpuUsage, secs: number): number {
  return ((c.user + c.system) / 1e6 / secs) * 100;
}

/** CPU % of this process while N producers receive the clip in real time, with or without recorders. */
async function feed(n: number, record: boolean): Promise<{ pct: number; bytes: number }> {
  const clip = readIvf(readFileSync(makeClip()));
  const frames = clip.frames.map((f) =>
    f.payloads.map((payload, i) =>
      writeRtp({ marker: i === f.payloads.length - 1, payloadType: 96, sequenceNumber: 0, timestamp: 0, ssrc: 0, payload }),
    ),
  );
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-rec-'));
  const clock = new RoomClock();
  const producers = Array.from(
    { length: n },
    (_, i) =>
      new Producer({
        id: `p${i}`,
        connectionId: `c${i}`,
        kind: 'video',
        codec: VP8,
        payloadType: 96,
        ssrc: 1000 + i,
        sendKeyFrameRequest: () => {},
      }),
  );
  const recorders = record
    ? producers.map(
        (p, i) =>
          new TrackRecorder({
            publication: p,
            member: `m${i}`,
            path: join(dir, `t${i}.webm`),
            clock,
            onError: (err) => console.error('recorder failed', err),
          }),
      )
    : [];
  let seq = 0;
  let ts = 0;
  let idx = 0;
  const t0 = performance.now();
  let sent = 0;
  const sr = () => {
    const rtp = Math.round(((performance.now() - t0) * 90000) / 1000) >>> 0;
    for (const p of producers)
      p.receiveRtcp([{ type: 'sr', ssrc: p.ssrc!, ...ntpNow(), rtpTimestamp: rtp, packetCount: 0, octetCount: 0, reports: [] }]);
  };
  sr();
  const srTimer = setInterval(sr, 1000);
  const tick = () => {
    // every frame due by now (a late timer catches up), the same frame to every producer
    while (t0 + (sent * 1000) / 30 <= performance.now()) {
      const pkts = frames[idx]!;
      idx = (idx + 1) % frames.length;
      for (const pkt of pkts) {
        pkt.writeUInt16BE(seq, 2);
        pkt.writeUInt32BE(ts >>> 0, 4);
        seq = (seq + 1) & 0xffff;
        for (const p of producers) {
          pkt.writeUInt32BE(p.ssrc!, 8);
          p.receiveRtp(pkt);
        }
      }
      ts += 3000;
      sent++;
    }
  };
  const timer = setInterval(tick, 5);
  await delay(WARMUP_S * 1000);
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  await delay(WINDOW_S * 1000);
  const pct = cpuPct(process.cpuUsage(c0), (performance.now() - w0) / 1000);
  clearInterval(timer);
  clearInterval(srTimer);
  const bytes = recorders.reduce((s, r) => s + r.bytes, 0);
  for (const r of recorders) r.close();
  for (const p of producers) p.close();
  rmSync(dir, { recursive: true, force: true });
  return { pct, bytes };
}

/** 2 minutes of 640x360@30 VP8 and of Opus speech-like tone, made once and cached. */
function roomInputs(): { video: string; audio: string } {
  const video = join(tmpdir(), 'parley-bench-rec-360p-120s.webm');
  const audio = join(tmpdir(), 'parley-bench-rec-opus-120s.webm');
  const make = (out: string, args: string[]) => {
    if (existsSync(out)) return;
    execFileSync('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args, '-f', 'webm', `${out}.tmp`]);
    renameSync(`${out}.tmp`, out);
  };
  make(video, [
    ...['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30', '-t', '120', '-an'],
    ...['-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k', '-g', '90', '-auto-alt-ref', '0'],
  ]);
  make(audio, [
    ...['-f', 'lavfi', '-i', "sine=frequency=300:sample_rate=48000,volume='if(lt(mod(t,2),1),1,0)':eval=frame", '-t', '120'],
    ...['-ac', '2', '-c:a', 'libopus', '-b:a', '32k'],
  ]);
  return { video, audio };
}

async function composeSpeed(): Promise<{ secs: number; factor: number }> {
  const { video, audio } = roomInputs();
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-compose-'));
  const durationMs = 120_000;
  const tracks: Array<RoomRecordingTrack & { path: string }> = [];
  for (let m = 0; m < 4; m++) {
    const startMs = m * 10_000;
    const base = { member: { id: `m${m}`, name: `m${m}` }, codec: 'vp8', bytes: 0, startMs, sync: 'sr' as const, layerSwitches: 0 };
    const end = durationMs;
    tracks.push({ ...base, id: `v${m}`, kind: 'video', source: 'camera', file: 'v', path: video, endMs: end, segments: [[startMs, end]] });
    tracks.push({
      ...base,
      id: `a${m}`,
      kind: 'audio',
      source: 'microphone',
      codec: 'opus',
      file: 'a',
      path: audio,
      endMs: end,
      segments: [[startMs, end]],
    });
  }
  const t0 = performance.now();
  const job = new Composition('ffmpeg', { tracks, durationMs, width: 1280, height: 720, fps: 25, output: join(dir, 'room.webm') });
  await job.done;
  const secs = (performance.now() - t0) / 1000;
  rmSync(dir, { recursive: true, force: true });
  return { secs, factor: durationMs / 1000 / secs };
}

export async function benchRecording(): Promise<void> {
  console.log('\n## recording: per-track recording without transcoding, and composition without a browser');
  console.log(
    `tracks: 1280x720@30 VP8 ~1.5 Mbit/s each, real-time pace; window ${WINDOW_S} s after ${WARMUP_S} s warm-up; CPU of one core`,
  );
  console.log('| recorded tracks | CPU % producers only | CPU % with recorders | recording CPU % per track | MB written |');
  console.log('|---:|---:|---:|---:|---:|');
  for (const n of [1, 10, 40]) {
    const base = await feed(n, false);
    const rec = await feed(n, true);
    console.log(
      `| ${n} | ${base.pct.toFixed(1)} | ${rec.pct.toFixed(1)} | ${((rec.pct - base.pct) / n).toFixed(2)} | ${(rec.bytes / 1e6).toFixed(1)} |`,
    );
  }
  const pin = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
  const clip = makeClip();
  console.log('\nForwarding the same track (SFU bench server: Router over node-datachannel, one publisher, N subscribers, loopback):');
  console.log('| subscribers | server CPU % |');
  console.log('|---:|---:|');
  for (const n of [1, 10]) {
    const r = await runOne(n, clip, { windowS: WINDOW_S, warmupS: WARMUP_S, concurrency: 16, pin }, 'sfu/server.ts');
    console.log(`| ${n} | ${r.cpuPct.toFixed(1)} |`);
  }
  const c = await composeSpeed();
  console.log(
    `\nComposition of a 4-person, 2-minute room (4× 640x360 VP8 + 4× Opus → 1280x720@25 grid VP8 + mixed Opus, one ffmpeg): ${c.secs.toFixed(1)} s, ${c.factor.toFixed(2)}× real time`,
  );
  console.log(
    'Anchor: LiveKit Egress composes a room with one headless Chrome per recording and fails around 20 concurrent room recordings per instance (livekit/egress#1160); Parley records tracks without a browser and composes afterwards with ffmpeg.',
  );
}
