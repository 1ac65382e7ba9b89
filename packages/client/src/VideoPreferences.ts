import { LIMITS } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import type { RemoteTrack } from './PeerLink.ts';

/** Which remote video a request is about: a member's camera or their shared screen. */
export type VideoSource = RemoteTrack['source'];

/** How large a video is shown, in whole device pixels (0×0: no preference). */
export interface VideoSize {
  width: number;
  height: number;
}

/** @internal */
export interface VideoPreferencesEvents {
  /** The app paused (or resumed) this peer's video of this source. */
  paused: [peerId: string, source: VideoSource, paused: boolean];
  /** The app shows this peer's video of this source at a new size (0×0: no preference). */
  size: [peerId: string, source: VideoSource, size: VideoSize];
}

const NO_SIZE: VideoSize = { width: 0, height: 0 };

/**
 * What the app asked of remote video received through the SFU — paused (not forwarded) or shown
 * at a size — per peer and source; the one place these live. The Room owns it, so it outlasts SFU
 * transports (mode switches, reconnects); each transport applies it to the consumers it gets and
 * follows its events. Events fire only on a real change.
 * @internal
 */
export class VideoPreferences extends Emitter<VideoPreferencesEvents> {
  readonly #paused = new Set<string>();
  readonly #sizes = new Map<string, VideoSize>();

  setPaused(peerId: string, source: VideoSource, paused: boolean): void {
    const key = videoKey(peerId, source);
    if (this.#paused.has(key) === paused) return;
    if (paused) this.#paused.add(key);
    else this.#paused.delete(key);
    this.emit('paused', peerId, source, paused);
  }

  isPaused(peerId: string, source: VideoSource): boolean {
    return this.#paused.has(videoKey(peerId, source));
  }

  /** Clamped to what the server accepts; 0×0 clears the size. */
  setSize(peerId: string, source: VideoSource, width: number, height: number): void {
    const size = { width: clampSize(width), height: clampSize(height) };
    const key = videoKey(peerId, source);
    const known = this.#sizes.get(key) ?? NO_SIZE;
    if (known.width === size.width && known.height === size.height) return;
    if (size.width === 0 && size.height === 0) this.#sizes.delete(key);
    else this.#sizes.set(key, size);
    this.emit('size', peerId, source, size);
  }

  /** The size asked for, if any. */
  sizeOf(peerId: string, source: VideoSource): VideoSize | undefined {
    return this.#sizes.get(videoKey(peerId, source));
  }

  /** The peer left: nothing to remember about it (no events). */
  forget(peerId: string): void {
    for (const source of ['camera', 'screen'] as const) {
      this.#paused.delete(videoKey(peerId, source));
      this.#sizes.delete(videoKey(peerId, source));
    }
  }

  /** Forgets everything and drops listeners. */
  close(): void {
    this.#paused.clear();
    this.#sizes.clear();
    this.removeAllListeners();
  }
}

/** Per-(peer, source) state is kept under this key. */
function videoKey(peerId: string, source: VideoSource): string {
  return `${source}:${peerId}`;
}

/** A size the server accepts: whole device pixels within 0 and the protocol's limit. */
function clampSize(px: number): number {
  return Number.isFinite(px) ? Math.min(LIMITS.videoSizePx, Math.max(0, Math.round(px))) : 0;
}
