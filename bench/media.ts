// Media-server benchmark: time to the first decoded frame in Chromium (median and p90 of several
// runs, each a new viewer after the previous one left; the first run finds the source cold), and
// server CPU per viewer for N node-datachannel viewers of one file stream — Parley next to a
// minimal aiortc server (bench/media/aiortc_server.py, Debian's python3-aiortc + python3-aiohttp).
// Time to first frame is reported from createOffer (including the browser's own ICE gathering)
// and from the POST; Parley runs /offer, WHEP, and WHEP with a trickling client, and logs its
// setup timeline (debug `session setup`) which the bench prints as a per-step breakdown
// (TTFF_DEBUG=1 adds every run's marks). Each N runs against a fresh server process with the
// per-client session limit raised (all viewers come from 127.0.0.1); CPU counts the server and
// its children (Parley's ffmpeg). Bounded: about 4–5 minutes; --ttff-only skips the CPU rows.
// Rooms (bench/media/rooms.ts): WHEP of a member and of the active speaker, and an SFU
// subscription through the SDK, out of a room with an aiortc WHIP publisher (--no-rooms skips them,
// --rooms-only skips Parley's stream rows).
//   npm run bench:media [-- --runs 15 --window 5 --viewers 1,10,50 --aiortc-viewers 1,10 --ttff-only --no-rooms --rooms-only]
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnServer } from '../packages/server/test/serverProcess.ts';
import { RtpViewer } from '../packages/server/test/media/clients.ts';
import { chromiumMissing } from '@parley-rtc/test-support/browser';
import { breakdown, median, p90, timeToFirstFrame } from './media/firstFrame.ts';
import { roomPublisherMissing, roomTimeToFirstFrame } from './media/rooms.ts';

const here = fileURLToPath(new URL('.', import.meta.url));
const PY = '/usr/bin/python3';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? fallback) : fallback;
}

interface Target {
  name: string;
  url: string;
  pid: number;
  /** Server-side setup timelines (`session setup` log lines), when the server reports them. */
  setups?: Array<Record<string, number>>;
  stop(): Promise<void>;
}

function makeFile(dir: string): string {
  const path = join(dir, 'bench-360p.webm');
  execFileSync('ffmpeg', [
    '-nostdin',
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    'testsrc=size=640x360:rate=30:duration=10',
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000:duration=10',
    '-c:v',
    'libvpx',
    '-deadline',
    'realtime',
    '-cpu-used',
    '8',
    '-b:v',
    '800k',
    '-g',
    '30',
    '-auto-alt-ref',
    '0',
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    path,
  ]);
  return path;
}

async function startParley(file: string, timelines = false): Promise<Target> {
  const dataDir = mkdtempSync(join(tmpdir(), 'parley-bench-media-'));
  const server = await spawnServer(dataDir, {
    // debug logs carry each session's setup timeline (only for the time-to-first-frame runs)
    logLevel: timelines ? 'debug' : 'info',
    media: {
      bindAddress: '127.0.0.1',
      defaultStream: 'file',
      sources: { file: { kind: 'file', path: file, loop: true } },
      maxPeers: 1000,
      // every bench viewer comes from 127.0.0.1: the per-client limit must not cap the N viewers
      maxPeersPerClient: 1000,
    },
  });
  const setups: Array<Record<string, number>> = [];
  if (timelines) {
    let buffered = '';
    server.child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      let nl;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (!line.includes('"session setup"')) continue;
        try {
          setups.push((JSON.parse(line) as { setup: Record<string, number> }).setup);
        } catch {
          // not JSON
        }
      }
    });
  }
  return {
    name: 'parley',
    url: server.url,
    pid: server.child.pid ?? 0,
    setups,
    async stop() {
      server.child.kill('SIGTERM');
      await Promise.race([server.exited, new Promise((r) => setTimeout(r, 5000))]);
      await server.kill();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

function aiortcMissing(): string | false {
  if (!existsSync(PY)) return `${PY} not found`;
  const r = spawnSync(PY, ['-c', 'import aiortc, aiohttp; print(aiortc.__version__)'], { encoding: 'utf8' });
  return r.status === 0 ? false : 'python3-aiortc is not installed (apt-get install -y python3-aiortc python3-aiohttp)';
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

async function startAiortc(file: string): Promise<Target> {
  const port = await freePort();
  const child: ChildProcess = spawn(PY, [join(here, 'media/aiortc_server.py'), file, String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`aiortc server did not start: ${stderr}`)), 20_000);
    child.stdout?.on('data', (d: Buffer) => {
      if (d.toString().includes('listening')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`aiortc server exited ${code}: ${stderr}`)));
  });
  return {
    name: 'aiortc',
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    async stop() {
      const exited = new Promise((r) => child.once('exit', r));
      if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    },
  };
}

/** CPU seconds (user+system) of `pid` and all its descendants. */
function treeCpuSeconds(pid: number): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(rest[1]));
      ticks.set(Number(d), Number(rest[11]) + Number(rest[12]));
    } catch {
      // exited
    }
  }
  let total = 0;
  for (const [p, t] of ticks) {
    let q: number | undefined = p;
    while (q !== undefined && q > 1 && q !== pid) q = parent.get(q);
    if (q === pid) total += t;
  }
  return total / 100;
}

async function cpuPerViewer(
  start: () => Promise<Target>,
  n: number,
  windowS: number,
): Promise<{ cpuPct: number; fps: number; ok: number }> {
  const target = await start();
  const viewers: RtpViewer[] = [];
  try {
    for (let i = 0; i < n; i += 10) {
      const batch = Array.from({ length: Math.min(10, n - i) }, (_, k) => new RtpViewer(`bench-${i + k}`));
      viewers.push(...batch);
      await Promise.all(batch.map((v) => v.offer(`${target.url}/offer`, undefined, 15_000).catch(() => undefined)));
    }
    await new Promise((r) => setTimeout(r, 2000)); // warm-up
    const frames0 = viewers.map((v) => v.frames);
    const c0 = treeCpuSeconds(target.pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const cpu = treeCpuSeconds(target.pid) - c0;
    const secs = (performance.now() - t0) / 1000;
    const fps = viewers.map((v, i) => (v.frames - frames0[i]!) / secs);
    return { cpuPct: (cpu / secs) * 100, fps: median(fps), ok: fps.filter((f) => f > 20).length };
  } finally {
    for (const v of viewers) await v.close();
    await target.stop();
  }
}

export async function benchMedia(): Promise<void> {
  const runs = Number(arg('runs', '15'));
  const windowS = Number(arg('window', '5'));
  const ttffOnly = process.argv.includes('--ttff-only');
  const ns = ttffOnly ? [] : arg('viewers', '1,10,50').split(',').map(Number);
  const aiortcNs = ttffOnly ? [] : arg('aiortc-viewers', '1,10').split(',').map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'parley-bench-file-'));
  try {
    const file = makeFile(dir);
    console.log('\n## media: one 640x360@30 VP8+Opus file stream (WebM, looped), loopback');
    const missing = aiortcMissing();
    if (missing) console.log(`anchor missing: ${missing} — aiortc rows skipped`);
    const targets: Array<[string, (timelines?: boolean) => Promise<Target>, number[]]> = [
      ['parley', (timelines) => startParley(file, timelines), ns],
    ];
    if (!missing) targets.push(['aiortc', () => startAiortc(file), aiortcNs]);
    const roomsOnly = process.argv.includes('--rooms-only');
    if (roomsOnly) targets.shift();
    console.log(
      '| server | POST /offer → first decoded frame (Chromium) median / p90 | ' +
        'N viewers: server CPU % (of one core), per viewer, median fps, viewers ≥20 fps |',
    );
    console.log('|---|---|---|');
    /** createOffer → first frame, and POST → first frame (without the client's own ICE gathering). */
    const ttffs = new Map<string, number[]>();
    const postTtffs = new Map<string, number[]>();
    const notes: string[] = [];
    for (const [name, start, list] of targets) {
      let ttff = 'skipped (no Chromium)';
      if (!chromiumMissing) {
        const t = await start(true);
        try {
          const marks = await timeToFirstFrame(t.url, runs);
          const xs = marks.map((m) => m.firstFrame);
          ttffs.set(name, xs);
          postTtffs.set(
            name,
            marks.map((m) => m.firstFrame - m.offer),
          );
          notes.push(`${name} /offer, first run (cold source): ${xs[0]?.toFixed(0)} ms`);
          ttff = `${median(xs).toFixed(0)} / ${p90(xs).toFixed(0)} ms (n=${xs.length})`;
          notes.push(`${name} /offer: ${breakdown(marks, t.setups)}`);
          if (name === 'parley') {
            for (const route of ['whep', 'whep-trickle'] as const) {
              const before = t.setups?.length ?? 0;
              const whep = await timeToFirstFrame(t.url, runs, route);
              const ws = whep.map((m) => m.firstFrame);
              ttffs.set(`parley ${route}`, ws);
              postTtffs.set(
                `parley ${route}`,
                whep.map((m) => m.firstFrame - m.offer),
              );
              notes.push(
                `parley ${route}: ${median(ws).toFixed(0)} / ${p90(ws).toFixed(0)} ms; ${breakdown(whep, t.setups?.slice(before))}`,
              );
            }
          }
        } finally {
          await t.stop();
        }
      }
      const cells: string[] = [];
      for (const n of list) {
        const r = await cpuPerViewer(start, n, windowS);
        cells.push(`N=${n}: ${r.cpuPct.toFixed(1)} %, ${(r.cpuPct / n).toFixed(2)} %/viewer, ${r.fps.toFixed(1)} fps, ${r.ok}/${n}`);
      }
      if (name === 'aiortc' && !ttffOnly && !list.includes(50))
        cells.push('N=50: not run (aiortc re-encodes per viewer; saturates 2 cores well before 50)');
      console.log(`| ${name} | ${ttff} | ${cells.join('<br>') || '-'} |`);
    }
    if (!chromiumMissing && !process.argv.includes('--no-rooms')) {
      if (roomPublisherMissing) notes.push(`room rows skipped: ${roomPublisherMissing}`);
      else {
        for (const [name, { marks, setups }] of await roomTimeToFirstFrame(runs, (l) => notes.push(l))) {
          const xs = marks.map((m) => m.firstFrame);
          ttffs.set(name, xs);
          postTtffs.set(
            name,
            marks.map((m) => m.firstFrame - m.offer),
          );
          notes.push(`${name}: ${median(xs).toFixed(0)} / ${p90(xs).toFixed(0)} ms; ${breakdown(marks, setups)}`);
        }
      }
    }
    for (const n of notes) console.log(`- ${n}`);
    const anchor = ttffs.get('aiortc');
    const anchorPost = postTtffs.get('aiortc');
    if (anchor && anchorPost) {
      const pct = (a: number, b: number) => `${((a / b) * 100).toFixed(0)} %`;
      const cmp = (xs: number[], ys: number[]) =>
        `${median(xs).toFixed(0)} / ${p90(xs).toFixed(0)} ms vs ${median(ys).toFixed(0)} / ${p90(ys).toFixed(0)} ms ` +
        `(median ${pct(median(xs), median(ys))}, p90 ${pct(p90(xs), p90(ys))})`;
      console.log("\nTime to first frame, same run, Parley vs aiortc's /offer (target: median and p90 < 50 %):");
      console.log('| Parley route | createOffer (SDK row: Room.connect()) → first frame | POST (SDK row: sfu_subscribe) → first frame |');
      console.log('|---|---|---|');
      for (const [name, xs] of ttffs) {
        if (name === 'aiortc') continue;
        console.log(`| ${name} | ${cmp(xs, anchor)} | ${cmp(postTtffs.get(name) ?? [], anchorPost)} |`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await benchMedia();
