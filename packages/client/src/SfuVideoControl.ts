import { LIMITS } from '@parley-rtc/protocol';
import type { RemoteTrack } from './PeerLink.ts';
import type { VideoPreferences, VideoSize, VideoSource } from './VideoPreferences.ts';

/** A video consumer the SFU gave us: its server id and the track it feeds. @internal */
export interface VideoConsumer {
  consumerId: string;
  remote: RemoteTrack;
}

/** @internal */
export interface SfuVideoControlOptions {
  /** The app's wishes; followed until close(). */
  prefs: VideoPreferences;
  signal: {
    sfuPause(consumerIds: string[], paused: boolean): Promise<unknown>;
    sfuVideoSize(consumerIds: string[], width: number, height: number): Promise<unknown>;
  };
  /** The video consumers we receive now. */
  consumers(): VideoConsumer[];
  /** A request the server refused. */
  onError(err: unknown): void;
}

/**
 * The preference half of the SFU path: tells the server which received videos to pause and how
 * large each is shown (`sfu_pause`, `sfu_video_size`), for the consumers that exist when the app
 * changes its mind and for each new consumer, in requests no larger than the protocol allows.
 * @internal
 */
export class SfuVideoControl {
  readonly #opts: SfuVideoControlOptions;
  readonly #unsubscribe: Array<() => void>;
  #closed = false;

  constructor(options: SfuVideoControlOptions) {
    this.#opts = options;
    const { prefs } = options;
    this.#unsubscribe = [
      prefs.on('paused', (peerId, source, paused) => this.#sendPause(this.#idsOf(peerId, source), paused)),
      prefs.on('size', (peerId, source, size) => this.#sendSize(this.#idsOf(peerId, source), size)),
    ];
  }

  /** New consumers get the pausing and size already asked for their peer and source. */
  applyTo(added: RemoteTrack[]): void {
    if (this.#closed) return;
    const fresh = new Set(added.filter((r) => r.track.kind === 'video').map((r) => r.track));
    const groups = new Map<string, { peerId: string; source: VideoSource; ids: string[] }>();
    for (const c of this.#opts.consumers()) {
      if (!fresh.has(c.remote.track)) continue;
      const key = `${c.remote.source}:${c.remote.peerId}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { peerId: c.remote.peerId, source: c.remote.source, ids: [] }));
      group.ids.push(c.consumerId);
    }
    for (const { peerId, source, ids } of groups.values()) {
      if (this.#opts.prefs.isPaused(peerId, source)) this.#sendPause(ids, true);
      const size = this.#opts.prefs.sizeOf(peerId, source);
      if (size) this.#sendSize(ids, size);
    }
  }

  /** Stops following the preferences. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
  }

  #idsOf(peerId: string, source: VideoSource): string[] {
    return this.#opts
      .consumers()
      .filter((c) => c.remote.peerId === peerId && c.remote.source === source)
      .map((c) => c.consumerId);
  }

  #sendPause(ids: string[], paused: boolean): void {
    for (const batch of batches(ids)) void this.#opts.signal.sfuPause(batch, paused).catch((e: unknown) => this.#opts.onError(e));
  }

  #sendSize(ids: string[], size: VideoSize): void {
    for (const batch of batches(ids)) {
      void this.#opts.signal.sfuVideoSize(batch, size.width, size.height).catch((e: unknown) => this.#opts.onError(e));
    }
  }
}

/** Consumer ids in groups one request may name. */
function batches(ids: string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < ids.length; i += LIMITS.sfuConsumersPerRequest) out.push(ids.slice(i, i + LIMITS.sfuConsumersPerRequest));
  return out;
}
