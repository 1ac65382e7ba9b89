// Room audio mix benchmark: CPU of one room's mix (sfu/mix/RoomAudioMix.ts) with 2, 8 and 16
// Opus inputs fed in real time into a Router (no network), as % of one core, next to two anchors
// measured in the same run: feeding the same producers without a mix, and the bare codec work
// (N opusscript decodes + 1 encode per 20 ms frame, in a tight loop).
//   npm run bench -- audio-mix [-- --seconds 5 --inputs 2,8,16]
import OpusScript from 'opusscript';
import { writeRtp } from '@parley-rtc/rtc/rtp/rtp';
import { Router } from '../packages/server/src/sfu/Router.ts';
import { RoomAudioMix } from '../packages/server/src/sfu/mix/RoomAudioMix.ts';
import { opusProducer } from '../packages/server/test/sfu/audioFixtures.ts';

const FRAME = 960;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

/** One second of a tone as 50 Opus frames (a publisher loops them). */
function toneFrames(hz: number): Buffer[] {
  const enc = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  const out: Buffer[] = [];
  for (let k = 0; k < 50; k++) {
    const pcm = Buffer.alloc(FRAME * 2);
    for (let i = 0; i < FRAME; i++) pcm.writeInt16LE(Math.round(6000 * Math.sin((2 * Math.PI * hz * (k * FRAME + i)) / 48_000)), i * 2);
    out.push(enc.encode(pcm, FRAME));
  }
  enc.delete();
  return out;
}

/** CPU % of one core over `seconds` while N producers get their frames every 20 ms, with or without a mix. */
async function measure(inputs: number, withMix: boolean, seconds: number, frames: Buffer[][]): Promise<{ cpu: number; mixFrames: number }> {
  const router = new Router({ id: 'bench-mix', connectionOptions: () => ({ iceServers: [] }) });
  const producers = Array.from({ length: inputs }, (_, i) => {
    const p = opusProducer(i);
    router.attachRelay(p);
    return p;
  });
  const lease = withMix ? RoomAudioMix.acquire(router) : undefined;
  let n = 0;
  const t0 = performance.now();
  const feed = setInterval(() => {
    const due = Math.floor((performance.now() - t0) / 20);
    for (; n <= due; n++)
      producers.forEach((p, i) =>
        p.receiveRtp(
          writeRtp({
            marker: false,
            payloadType: 111,
            sequenceNumber: n & 0xffff,
            timestamp: n * FRAME,
            ssrc: 1000 + i,
            payload: frames[i % frames.length]![n % 50]!,
          }),
        ),
      );
  }, 10);
  await new Promise((r) => setTimeout(r, 1000)); // warm-up (inputs buffer, JIT)
  const cpu0 = process.cpuUsage();
  const w0 = performance.now();
  const f0 = lease?.mix.stats.frames ?? 0;
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = process.cpuUsage(cpu0);
  const wall = performance.now() - w0;
  const mixFrames = (lease?.mix.stats.frames ?? 0) - f0;
  clearInterval(feed);
  lease?.release();
  router.close();
  return { cpu: ((used.user + used.system) / 1000 / wall) * 100, mixFrames: Math.round((mixFrames * 1000) / wall) };
}

/** The codec work alone: N decodes + 1 encode per frame, as % of one core at 50 frames/s. */
function codecAnchor(inputs: number, frames: Buffer[][]): number {
  const decoders = Array.from({ length: inputs }, () => new OpusScript(48_000, 1, OpusScript.Application.AUDIO));
  const enc = new OpusScript(48_000, 1, OpusScript.Application.AUDIO);
  enc.setBitrate(48_000);
  const pcm = decoders[0]!.decode(frames[0]![0]!); // encode a tone, not silence
  const rounds = 250;
  const t = performance.now();
  for (let k = 0; k < rounds; k++) {
    decoders.forEach((d, i) => d.decode(frames[i % frames.length]![k % 50]!));
    enc.encode(pcm, FRAME);
  }
  const msPerFrame = (performance.now() - t) / rounds;
  for (const d of decoders) d.delete();
  enc.delete();
  return (msPerFrame * 50) / 10; // ms per second → % of one core
}

export async function benchAudioMix(): Promise<void> {
  const seconds = Number(arg('seconds', '5'));
  const counts = arg('inputs', '2,8,16')
    .split(',')
    .map(Number)
    .filter((x) => x > 0);
  const frames = [440, 660, 880, 1000].map(toneFrames);
  console.log(`\n## audio-mix (one room's mix, inputs fed in real time, ${seconds} s windows; CPU as % of one core)`);
  console.log('| inputs | feed only (anchor) | feed + mix | mix alone | codec only (anchor) | mix frames/s |');
  console.log('|---|---|---|---|---|---|');
  for (const n of counts) {
    const base = await measure(n, false, seconds, frames);
    const mixed = await measure(n, true, seconds, frames);
    const codec = codecAnchor(n, frames);
    console.log(
      `| ${n} | ${base.cpu.toFixed(1)} % | ${mixed.cpu.toFixed(1)} % | ${(mixed.cpu - base.cpu).toFixed(1)} % | ${codec.toFixed(1)} % | ${mixed.mixFrames} |`,
    );
  }
}
