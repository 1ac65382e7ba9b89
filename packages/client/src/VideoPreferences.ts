import type { SfuTransport, VideoSource } from './SfuTransport.ts';

/**
 * What the app asked of remote video for the SFU — paused (not forwarded) or shown at a size —
 * per peer and source. Kept by the Room across SFU transports (mode switches, reconnects) and
 * applied to each new one.
 * @internal
 */
export class VideoPreferences {
  readonly #paused = new Map<string, { peerId: string; source: VideoSource }>();
  readonly #sizes = new Map<string, { peerId: string; source: VideoSource; width: number; height: number }>();

  setPaused(peerId: string, source: VideoSource, paused: boolean): void {
    const key = `${source}:${peerId}`;
    if (paused) this.#paused.set(key, { peerId, source });
    else this.#paused.delete(key);
  }

  /** 0×0 (or less) clears the size. */
  setSize(peerId: string, source: VideoSource, width: number, height: number): void {
    const key = `${source}:${peerId}`;
    if (width <= 0 && height <= 0) this.#sizes.delete(key);
    else this.#sizes.set(key, { peerId, source, width, height });
  }

  /** The peer left: nothing to remember about it. */
  forget(peerId: string): void {
    for (const source of ['camera', 'screen'] as const) {
      this.#paused.delete(`${source}:${peerId}`);
      this.#sizes.delete(`${source}:${peerId}`);
    }
  }

  applyTo(sfu: SfuTransport): void {
    for (const v of this.#paused.values()) sfu.setVideoPaused(v.peerId, true, v.source);
    for (const v of this.#sizes.values()) sfu.setVideoSize(v.peerId, v.source, v.width, v.height);
  }
}
