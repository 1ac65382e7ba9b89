/**
 * A stream produced by one ffmpeg process (test pattern, file, recording) that writes RTP to
 * loopback UDP sockets we bind. One process per source, shared by all its sinks; it starts with
 * the first sink and is stopped (SIGTERM to its PID, SIGKILL after a grace period) when the last
 * sink leaves or the source is closed.
 */
import type { ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../../util/logger.ts';
import { randomSsrc } from '@parley-rtc/rtc/rtp/rtp';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import { rtpOutputArgs, spawnTied, type SourcePlan } from './ffmpeg.ts';
import { StreamSource, type RtpSink, type SourceKind, type TrackKind } from './StreamSource.ts';

export interface FfmpegSourceOptions {
  name: string;
  kind: SourceKind;
  ffmpeg: string;
  plan: SourcePlan;
  /** Restart ffmpeg when it exits while sinks remain (test pattern, looping file). */
  restartOnExit: boolean;
  /**
   * Keep ffmpeg running this long after the last sink leaves (0: stop at once), so that the next
   * viewer (a reload, a reconnect) gets the cached key frame at once instead of a cold start.
   */
  idleStopMs?: number;
  log: Logger;
}

const VIDEO_PT = 96;
const AUDIO_PT = 111;
const KILL_GRACE_MS = 2000;
const MAX_RESTARTS = 3;

export class FfmpegSource extends StreamSource {
  readonly name: string;
  readonly kind: SourceKind;
  readonly video: CodecSpec | undefined;
  readonly audio: CodecSpec | undefined;
  readonly #opts: FfmpegSourceOptions;
  #child: ChildProcess | undefined;
  /** True from the start request until ffmpeg is stopped (covers the async socket binding). */
  #running = false;
  #sockets: Socket[] = [];
  #stderrTail = '';
  #restarts = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** The last stop in progress; close() waits for it so no ffmpeg outlives the source. */
  #stopping: Promise<void> = Promise.resolve();
  /** Number of ffmpeg processes this source has started (for tests and metrics). */
  starts = 0;

  constructor(opts: FfmpegSourceOptions) {
    super();
    this.#opts = opts;
    this.name = opts.name;
    this.kind = opts.kind;
    this.video = opts.plan.video;
    this.audio = opts.plan.audio;
  }

  /** PID of the running ffmpeg, if any. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  override addSink(sink: RtpSink): () => void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    const remove = super.addSink(sink);
    if (!this.#running && !this.#closed && !this.ended) void this.#start();
    return remove;
  }

  protected override onIdle(): void {
    const linger = this.#opts.idleStopMs ?? 0;
    if (linger <= 0 || !this.#running) {
      this.#stopping = this.#stop();
      return;
    }
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      if (this.sinkCount === 0) this.#stopping = this.#stop();
    }, linger);
  }

  async #bind(kind: TrackKind): Promise<number> {
    const socket = createSocket('udp4');
    this.#sockets.push(socket);
    socket.on('message', (msg) => this.dispatch(kind, msg));
    socket.on('error', (err) => this.#opts.log.warn({ err, source: this.name }, 'rtp socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, '127.0.0.1', () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return socket.address().port;
  }

  async #start(): Promise<void> {
    const { plan, ffmpeg, log } = this.#opts;
    this.#running = true;
    const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', ...plan.inputArgs];
    try {
      if (plan.video) args.push(...plan.videoArgs, ...rtpOutputArgs(VIDEO_PT, randomSsrc() & 0x7fffffff || 1, await this.#bind('video')));
      if (plan.audio) args.push(...plan.audioArgs, ...rtpOutputArgs(AUDIO_PT, randomSsrc() & 0x7fffffff || 1, await this.#bind('audio')));
    } catch (err) {
      log.error({ err, source: this.name }, 'cannot bind RTP sockets');
      this.#running = false;
      this.#closeSockets();
      this.end('cannot bind RTP sockets');
      return;
    }
    if (this.#closed || this.sinkCount === 0 || !this.#running) {
      this.#running = false;
      this.#closeSockets();
      return;
    }
    this.resetCache();
    this.starts++;
    const child = spawnTied(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.#child = child;
    this.#stderrTail = '';
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (chunk: string) => {
      this.#stderrTail = (this.#stderrTail + chunk).slice(-2000);
    });
    log.debug({ source: this.name, pid: child.pid, args }, 'ffmpeg started');
    let exited = false;
    const onGone = (): void => {
      if (exited) return;
      exited = true;
      this.#onExit(child);
    };
    child.once('error', (err) => {
      this.#stderrTail += String(err.message);
      onGone();
    });
    child.once('exit', onGone);
  }

  #onExit(child: ChildProcess): void {
    if (this.#child !== child) return;
    this.#child = undefined;
    this.#closeSockets();
    if (this.#closed || this.sinkCount === 0) {
      this.#running = false;
      return;
    }
    const tail = this.#stderrTail.trim().split('\n').slice(-3).join(' | ');
    if (this.#opts.restartOnExit && this.#restarts < MAX_RESTARTS) {
      this.#restarts++;
      this.#opts.log.warn({ source: this.name, code: child.exitCode, stderr: tail }, 'ffmpeg exited; restarting');
      this.#restartTimer = setTimeout(() => {
        this.#restartTimer = undefined;
        if (!this.#closed && this.sinkCount > 0) void this.#start();
      }, 500 * this.#restarts);
      return;
    }
    this.#running = false;
    this.end(child.exitCode === 0 ? 'end of media' : `ffmpeg failed: ${tail || `exit ${child.exitCode}`}`);
  }

  #closeSockets(): void {
    for (const s of this.#sockets) {
      try {
        s.close();
      } catch {
        // already closed
      }
    }
    this.#sockets = [];
  }

  /** Stops ffmpeg by PID: SIGTERM, then SIGKILL after a grace period. */
  async #stop(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    this.#running = false;
    const child = this.#child;
    this.#child = undefined;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      try {
        process.kill(child.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      const timer = setTimeout(() => {
        try {
          if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }, KILL_GRACE_MS);
      await exited;
      clearTimeout(timer);
    }
    this.#closeSockets();
    // a key frame of a stopped process must not start the next viewer
    if (!this.#running) this.resetCache();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#stopping;
    await this.#stop();
    this.end('source closed');
  }
}
