/**
 * Names → sources: configured sources (test pattern, files), live WHIP streams, and recordings
 * (`recording:<id>`). Ffmpeg-backed sources are created on first use and dropped when they end;
 * their process runs only while they have sinks.
 */
import { ParleyError } from '@parley-rtc/protocol';
import type { Logger } from '../util/logger.ts';
import type { MediaConfig } from './config.ts';
import { FfmpegSource } from './sources/FfmpegSource.ts';
import { filePlan, probeFile, resolveBinary, testsrcPlan, type ProbeResult } from './sources/ffmpeg.ts';
import type { LiveSource } from './sources/LiveSource.ts';
import type { SourceKind, StreamSource } from './sources/StreamSource.ts';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import type { RecordingManager } from './recording/RecordingManager.ts';

export interface StreamListing {
  name: string;
  kind: SourceKind;
  live: boolean;
  viewers: number;
  video?: string | undefined;
  audio?: string | undefined;
}

const RECORDING_PREFIX = 'recording:';

export class StreamRegistry {
  readonly #config: MediaConfig;
  readonly #log: Logger;
  readonly #recordings: RecordingManager;
  readonly #ffmpegSources = new Map<string, FfmpegSource>();
  readonly #opening = new Map<string, Promise<FfmpegSource>>();
  readonly #live = new Map<string, LiveSource>();
  readonly #probes = new Map<string, Promise<ProbeResult>>();
  #closed = false;

  constructor(config: MediaConfig, recordings: RecordingManager, log: Logger) {
    this.#config = config;
    this.#recordings = recordings;
    this.#log = log;
    // probe configured files now, so that their first viewer does not wait for ffprobe (~130 ms)
    for (const [name, cfg] of Object.entries(config.sources)) {
      if (cfg.kind === 'file' && cfg.path) this.#probe(cfg.path, `stream ${name}`).catch(() => {});
    }
  }

  /** ffprobe's view of a file, once per path (a failed probe is forgotten and retried next time). */
  #probe(path: string, what: string): Promise<ProbeResult> {
    let probe = this.#probes.get(path);
    if (!probe) {
      const p = (async () => probeFile(resolveBinary(this.#config.ffprobePath, what), path))();
      p.catch(() => {
        if (this.#probes.get(path) === p) this.#probes.delete(path);
      });
      this.#probes.set(path, p);
      probe = p;
    }
    return probe;
  }

  /** True when `name` can be published with WHIP (not configured, not live). */
  assertPublishable(name: string): void {
    if (name in this.#config.sources) throw new ParleyError('STREAM_BUSY', `${name} is a configured source and cannot be published to`);
    if (this.#live.has(name)) throw new ParleyError('STREAM_BUSY', `${name} already has a publisher`);
  }

  addLive(source: LiveSource): void {
    this.assertPublishable(source.name);
    this.#live.set(source.name, source);
    source.on('ended', () => {
      if (this.#live.get(source.name) === source) this.#live.delete(source.name);
    });
  }

  live(name: string): LiveSource | undefined {
    return this.#live.get(name);
  }

  /** The source for a stream name; starts nothing until a sink is added. */
  async open(name: string): Promise<StreamSource> {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    const live = this.#live.get(name);
    if (live) return live;
    const existing = this.#ffmpegSources.get(name);
    if (existing && !existing.ended) return existing;
    let opening = this.#opening.get(name);
    if (!opening) {
      opening = this.#create(name).finally(() => this.#opening.delete(name));
      this.#opening.set(name, opening);
    }
    return opening;
  }

  async #create(name: string): Promise<FfmpegSource> {
    let kind: SourceKind;
    let path: string | undefined;
    let loop = false;
    if (name.startsWith(RECORDING_PREFIX)) {
      const id = name.slice(RECORDING_PREFIX.length);
      const file = this.#recordings.fileOf(id);
      if (!file) throw new ParleyError('NOT_FOUND', `no finished recording ${id}`);
      kind = 'recording';
      path = file.path;
    } else {
      const cfg = this.#config.sources[name];
      if (!cfg) throw new ParleyError('NOT_FOUND', `no stream named ${name}`);
      kind = cfg.kind;
      path = cfg.path;
      loop = cfg.loop;
    }
    const what = `stream ${name}`;
    const ffmpeg = resolveBinary(this.#config.ffmpegPath, what);
    let plan;
    if (kind === 'testsrc') plan = testsrcPlan(this.#config.testsrc);
    else {
      if (!path) throw new ParleyError('MEDIA_UNAVAILABLE', `${what} has no file path`);
      plan = filePlan(path, await this.#probe(path, what), loop, this.#config.testsrc.videoKbps);
    }
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    const restartOnExit = kind === 'testsrc' || loop;
    // only endless sources linger when idle: a file or recording starts from its beginning for a new viewer
    const idleStopMs = restartOnExit ? this.#config.sourceIdleMs : 0;
    const source = new FfmpegSource({ name, kind, ffmpeg, plan, restartOnExit, idleStopMs, log: this.#log });
    this.#ffmpegSources.set(name, source);
    source.on('ended', (reason) => {
      this.#log.info({ stream: name, reason }, 'source ended');
      if (this.#ffmpegSources.get(name) === source) this.#ffmpegSources.delete(name);
    });
    return source;
  }

  /** Every stream a viewer can pick: configured, live, and finished recordings. */
  list(): StreamListing[] {
    const codec = (c: CodecSpec | undefined) => c?.name;
    const out: StreamListing[] = [];
    for (const [name, cfg] of Object.entries(this.#config.sources)) {
      const s = this.#ffmpegSources.get(name);
      out.push({
        name,
        kind: cfg.kind,
        live: cfg.kind === 'testsrc' || cfg.loop,
        viewers: s?.sinkCount ?? 0,
        video: codec(s?.video),
        audio: codec(s?.audio),
      });
    }
    for (const [name, s] of this.#live)
      out.push({ name, kind: 'live', live: true, viewers: s.sinkCount, video: codec(s.video), audio: codec(s.audio) });
    for (const r of this.#recordings.list()) {
      if (r.state !== 'done') continue;
      const name = RECORDING_PREFIX + r.id;
      out.push({
        name,
        kind: 'recording',
        live: false,
        viewers: this.#ffmpegSources.get(name)?.sinkCount ?? 0,
        video: r.video ?? undefined,
      });
    }
    return out;
  }

  /** Running ffmpeg PIDs (tests check they are gone after close). */
  get ffmpegPids(): number[] {
    return [...this.#ffmpegSources.values()].flatMap((s) => (s.pid === undefined ? [] : [s.pid]));
  }

  /** Stops every source (kills ffmpeg children by PID). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#opening.values(), ...this.#probes.values()]);
    await Promise.all([...this.#ffmpegSources.values()].map((s) => s.close()));
    await Promise.all([...this.#live.values()].map((s) => s.close()));
    this.#ffmpegSources.clear();
    this.#live.clear();
  }
}
