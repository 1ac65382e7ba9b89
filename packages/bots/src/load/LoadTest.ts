/**
 * A load test in the manner of `lk load-test`: P publishers and S subscribers per room, joined
 * with bounded concurrency through the real signaling, then measured over a fixed window:
 * time to first frame, received bitrate, loss, frame rate and jitter per subscriber, the server's
 * CPU and memory (from /metrics), and the load generator's own CPU.
 */
import { Bot, type BotOptions } from '../Bot.ts';
import type { EncodedClip } from '../media/clip.ts';
import { lossPercent, type BotStats } from '../stats/report.ts';
import { eachLimited } from '../eachLimited.ts';
import { errorKey } from '../errors.ts';
import { cpuPercent, sampleServer, type ServerSample } from './serverMetrics.ts';

export interface LoadTestOptions {
  url: string;
  rooms: readonly string[];
  /** Per room. */
  publishers: number;
  subscribers: number;
  /** How many of each room's publishers send video / audio. */
  videoPublishers: number;
  audioPublishers: number;
  durationMs: number;
  /** Joins in flight at once while ramping up. */
  concurrency: number;
  video: EncodedClip | undefined;
  audio: EncodedClip | undefined;
  token?: ((identity: string, room: string, name: string) => string | undefined) | undefined;
  bindAddress?: string | undefined;
  /** Bearer token for /metrics, when the server protects it. */
  metricsToken?: string | undefined;
  /** Called about once a second. */
  onProgress?: (p: LoadTestProgress) => void;
  /** Resolves to stop the run early (e.g. Ctrl-C); the window measured so far is reported. */
  stop?: Promise<unknown>;
}

export interface LoadTestProgress {
  phase: 'joining' | 'running' | 'leaving';
  planned: number;
  connected: number;
  failed: number;
  elapsedMs: number;
  /** Left of the measurement window (running phase). */
  remainingMs: number | undefined;
}

export interface SubscriberFigures {
  name: string;
  /** RTP packets received in the window. */
  packets: number;
  kbps: number;
  lossPct: number;
  /** Mean frame rate of the video tracks received. */
  fps: number | undefined;
  jitterMs: number;
}

export interface LoadTestResult {
  planned: number;
  connected: number;
  /** Failed joins by error code (ROOM_FULL, RATE_LIMITED, timeout …). */
  failures: Record<string, number>;
  /** Participants the server closed or lost during the run, with why. */
  closedEarly: string[];
  /** Subscriber × video publisher pairs that never got a frame. */
  missingVideo: number;
  /** Time from a subscriber's join to the first frame of each video publisher, ms. */
  ttffMs: number[];
  joinMs: number[];
  subscribers: SubscriberFigures[];
  windowMs: number;
  serverCpuPercent: number | undefined;
  serverRssBytes: number | undefined;
  generatorCpuPercent: number;
}

interface Participant {
  room: string;
  name: string;
  role: 'publisher' | 'subscriber';
  options: BotOptions;
  bot?: Bot;
}

function plan(o: LoadTestOptions): Participant[] {
  const out: Participant[] = [];
  const make = (room: string, name: string, role: Participant['role'], video?: EncodedClip, audio?: EncodedClip): Participant => ({
    room,
    name,
    role,
    options: {
      url: o.url,
      room,
      name,
      token: o.token?.(`${name}-${room}-${process.pid}`, room, name),
      video,
      audio,
      bindAddress: o.bindAddress,
    },
  });
  for (const room of o.rooms) {
    for (let i = 0; i < o.publishers; i++) {
      out.push(
        make(room, `pub-${i + 1}`, 'publisher', i < o.videoPublishers ? o.video : undefined, i < o.audioPublishers ? o.audio : undefined),
      );
    }
  }
  // Subscribers come after every publisher, so their time to first frame is the server's.
  for (const room of o.rooms) for (let i = 0; i < o.subscribers; i++) out.push(make(room, `sub-${i + 1}`, 'subscriber'));
  return out;
}

function subscriberFigures(name: string, before: BotStats, after: BotStats, windowMs: number): SubscriberFigures {
  const sum = (s: BotStats, f: (r: BotStats['received'][number]) => number) => s.received.reduce((n, r) => n + f(r), 0);
  const sec = windowMs / 1000;
  const bytes = sum(after, (r) => r.video.bytes + r.audio.bytes) - sum(before, (r) => r.video.bytes + r.audio.bytes);
  const packets = sum(after, (r) => r.video.packets + r.audio.packets) - sum(before, (r) => r.video.packets + r.audio.packets);
  const lost = sum(after, (r) => r.video.lost + r.audio.lost) - sum(before, (r) => r.video.lost + r.audio.lost);
  const videoTracks = after.received.filter((r) => r.video.packets > 0).length;
  const frames = sum(after, (r) => r.video.frames) - sum(before, (r) => r.video.frames);
  return {
    name,
    packets,
    kbps: (bytes * 8) / 1000 / sec,
    lossPct: lossPercent(packets, Math.max(0, lost)),
    fps: videoTracks === 0 ? undefined : frames / videoTracks / sec,
    jitterMs: Math.max(0, ...after.received.map((r) => Math.max(r.video.jitterMs, r.audio.jitterMs))),
  };
}

function sleep(ms: number, stop: Promise<unknown> | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    void stop?.then(() => {
      clearTimeout(t);
      resolve();
    });
  });
}

export async function runLoadTest(o: LoadTestOptions): Promise<LoadTestResult> {
  const participants = plan(o);
  const failures: Record<string, number> = {};
  const closedEarly: string[] = [];
  const joinMs: number[] = [];
  const started = performance.now();
  const cpu0 = process.cpuUsage();
  let phase: LoadTestProgress['phase'] = 'joining';
  let windowEnd: number | undefined;
  let connected = 0;
  let failed = 0;
  const progress = setInterval(() => {
    o.onProgress?.({
      phase,
      planned: participants.length,
      connected,
      failed,
      elapsedMs: performance.now() - started,
      remainingMs: windowEnd === undefined ? undefined : Math.max(0, windowEnd - performance.now()),
    });
  }, 1000);
  let stopped = false;
  void o.stop?.then(() => {
    stopped = true;
  });
  try {
    await eachLimited(participants, Math.max(1, o.concurrency), async (p) => {
      if (stopped) return;
      const bot = new Bot(p.options);
      const t0 = performance.now();
      try {
        await bot.join();
        joinMs.push(performance.now() - t0);
        p.bot = bot;
        connected++;
        bot.on('closed', (reason) => {
          if (phase !== 'leaving') closedEarly.push(`${p.room}/${p.name}: ${reason}`);
        });
      } catch (err) {
        failed++;
        const key = errorKey(err);
        failures[key] = (failures[key] ?? 0) + 1;
      }
    });

    phase = 'running';
    const joined = participants.filter((p) => p.bot !== undefined);
    const before = new Map(joined.map((p) => [p, p.bot!.stats()]));
    const s0: ServerSample = await sampleServer(o.url, o.metricsToken);
    const w0 = performance.now();
    windowEnd = w0 + o.durationMs;
    if (!stopped) await sleep(o.durationMs, o.stop);
    const windowMs = performance.now() - w0;
    const s1 = await sampleServer(o.url, o.metricsToken);
    // Still reconnecting at the end (the server went away, or its network did) counts as dropped.
    for (const p of joined) if (p.bot!.state === 'reconnecting') closedEarly.push(`${p.room}/${p.name}: still reconnecting at the end`);

    const videoPublishers = new Map<string, number>();
    for (const p of joined)
      if (p.role === 'publisher' && p.options.video) videoPublishers.set(p.room, (videoPublishers.get(p.room) ?? 0) + 1);
    const publisherIds = new Set(joined.filter((p) => p.role === 'publisher' && p.options.video).map((p) => p.bot!.self?.id));
    const ttffMs: number[] = [];
    let missingVideo = 0;
    const subscribers: SubscriberFigures[] = [];
    for (const p of joined) {
      if (p.role !== 'subscriber') continue;
      const after = p.bot!.stats();
      const fromPublishers = after.received.filter((r) => publisherIds.has(r.peerId) && r.video.firstFrameMs !== undefined);
      for (const r of fromPublishers) ttffMs.push(r.video.firstFrameMs!);
      missingVideo += Math.max(0, (videoPublishers.get(p.room) ?? 0) - fromPublishers.length);
      subscribers.push(subscriberFigures(`${p.room}/${p.name}`, before.get(p)!, after, windowMs));
    }
    const used = process.cpuUsage(cpu0);
    return {
      planned: participants.length,
      connected,
      failures,
      closedEarly,
      missingVideo,
      ttffMs,
      joinMs,
      subscribers,
      windowMs,
      serverCpuPercent: cpuPercent(s0, s1),
      serverRssBytes: s1.rssBytes,
      generatorCpuPercent: (100 * ((used.user + used.system) / 1000)) / (performance.now() - started),
    };
  } finally {
    phase = 'leaving';
    await eachLimited(participants, 32, async (p) => {
      await p.bot?.leave();
    });
    clearInterval(progress);
  }
}
