/**
 * The latest key frame of a video producer (one simulcast layer) and every packet after it, so a
 * consumer whose transport opens can start at once (Consumer.start replays them into its own
 * sequence and timestamp space) instead of waiting for a PLI round trip to the publisher and its
 * encoder. Bounded: at most `maxPackets` packets; past that the cache is dropped until the next
 * key frame (consumers then wait for a fresh key frame, as without a cache). A cached GOP older
 * than `maxAgeMs` is not replayed: the subscriber would decode that many frames at once before the
 * live ones.
 *
 * The packets are the producer's Buffers as received (normalized), shared with its retransmission
 * buffer; whoever sends one rewrites its header and restores it afterwards.
 */

/** Default bound: about a second of a 2.5 Mbit/s stream (≈ 500 KB of 1,200-byte packets). */
export const KEY_FRAME_CACHE_PACKETS = 400;
/** Default: a cached GOP is replayed while its key frame is at most this old. */
export const KEY_FRAME_CACHE_MAX_AGE_MS = 3000;

/**
 * Timestamps to replay `packets` (a cached GOP) with: its frames one tick apart, the newest at its
 * own timestamp, so the live packets after it continue the same mapping and a subscriber decodes
 * the GOP at once instead of holding the live frames back by the GOP's age.
 */
export function squeezedTimestamps(packets: readonly Buffer[]): number[] {
  let frame = 0;
  let prev: number | undefined;
  const frames = packets.map((p) => {
    const ts = p.readUInt32BE(4);
    if (prev !== undefined && ts !== prev) frame++;
    prev = ts;
    return frame;
  });
  const newest = prev ?? 0;
  return frames.map((f) => (newest - (frame - f)) >>> 0);
}

export interface KeyFrameCacheStats {
  /** Key frames that started a new cached GOP. */
  keyFrames: number;
  /** Times the cache was dropped because it reached `maxPackets`. */
  overflows: number;
}

export class KeyFrameCache {
  readonly maxPackets: number;
  readonly maxAgeMs: number;
  readonly stats: KeyFrameCacheStats = { keyFrames: 0, overflows: 0 };
  #packets: Buffer[] = [];
  /** performance.now() when the cached key frame arrived. */
  #keyAt = 0;

  constructor(maxPackets = KEY_FRAME_CACHE_PACKETS, maxAgeMs = KEY_FRAME_CACHE_MAX_AGE_MS) {
    this.maxPackets = maxPackets;
    this.maxAgeMs = maxAgeMs;
  }

  /** One forwarded packet, in arrival order; `keyFrameStart` starts a new GOP. */
  push(pkt: Buffer, keyFrameStart: boolean, now: number): void {
    if (keyFrameStart) {
      this.#packets = [pkt];
      this.#keyAt = now;
      this.stats.keyFrames++;
      return;
    }
    if (this.#packets.length === 0) return;
    if (this.#packets.length >= this.maxPackets) {
      this.#packets = [];
      this.stats.overflows++;
      return;
    }
    this.#packets.push(pkt);
  }

  /** Packets held now (at most `maxPackets`). */
  get size(): number {
    return this.#packets.length;
  }

  /** The cached GOP (key frame first) if it may be replayed now, else undefined. */
  replayable(now: number): readonly Buffer[] | undefined {
    return this.#packets.length > 0 && now - this.#keyAt <= this.maxAgeMs ? this.#packets : undefined;
  }

  clear(): void {
    this.#packets = [];
  }
}
