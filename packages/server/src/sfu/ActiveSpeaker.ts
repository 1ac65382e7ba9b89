/**
 * Active-speaker detection for one room from the audio levels publishers put in their RTP
 * (RFC 6464: 0 = loudest, 127 = silence, in -dBov).
 *
 * Every `intervalMs` each audio producer's levels of that interval are averaged into a bucket;
 * a producer's score is the mean of its last `windowMs` of buckets, an interval without packets
 * counting as silence. Producers whose score is at most `speakingLevel` are speaking. The active
 * speaker is the loudest of them, but it only takes over from the current one when it is louder
 * by `switchMarginDb` (no flapping between two people talking at once); when the current one
 * stops speaking, the loudest remaining speaker (or nobody) takes over.
 *
 * A `change` is emitted when the active speaker or the set of speakers changes, never for level
 * changes alone, so announcements stay rare (at most one per interval).
 */
import { TypedEmitter } from '@parley-rtc/rtc/emitter';

export interface SpeakerLevel {
  producerId: string;
  /** Mean level over the window, in -dBov (lower is louder). */
  level: number;
}

export interface ActiveSpeakerOptions {
  intervalMs?: number;
  windowMs?: number;
  /** A window mean at or below this level (-dBov) counts as speaking (default 70). */
  speakingLevel?: number;
  /** How much louder (dB) a speaker must be to take over from the active one (default 6). */
  switchMarginDb?: number;
}

export interface ActiveSpeakerEvents {
  change: [active: SpeakerLevel | undefined, speakers: SpeakerLevel[]];
}

const SILENCE = 127;

interface Track {
  sum: number;
  count: number;
  /** Bucket means, newest last, at most `windowBuckets`. */
  buckets: number[];
}

export class ActiveSpeaker extends TypedEmitter<ActiveSpeakerEvents> {
  readonly #intervalMs: number;
  readonly #windowBuckets: number;
  readonly #speakingLevel: number;
  readonly #margin: number;
  readonly #tracks = new Map<string, Track>();
  #timer: NodeJS.Timeout | undefined;
  #active: string | undefined;
  #speakingKey = '';
  #closed = false;

  constructor(opts: ActiveSpeakerOptions = {}) {
    super();
    this.#intervalMs = opts.intervalMs ?? 300;
    this.#windowBuckets = Math.max(1, Math.round((opts.windowMs ?? 1500) / this.#intervalMs));
    this.#speakingLevel = opts.speakingLevel ?? 70;
    this.#margin = opts.switchMarginDb ?? 6;
  }

  get active(): string | undefined {
    return this.#active;
  }

  /** One packet's level (0–127) from audio producer `producerId`. */
  observe(producerId: string, level: number): void {
    if (this.#closed) return;
    let t = this.#tracks.get(producerId);
    if (!t) {
      t = { sum: 0, count: 0, buckets: [] };
      this.#tracks.set(producerId, t);
      this.#timer ??= setInterval(() => this.#tick(), this.#intervalMs).unref();
    }
    t.sum += Math.min(SILENCE, Math.max(0, level));
    t.count++;
  }

  /** The producer is gone: it stops being a speaker at the next interval. */
  remove(producerId: string): void {
    this.#tracks.delete(producerId);
    if (this.#tracks.size === 0) this.#tick();
  }

  /** Current scores (for stats and tests), loudest first. */
  levels(): SpeakerLevel[] {
    const out: SpeakerLevel[] = [];
    for (const [producerId, t] of this.#tracks) out.push({ producerId, level: Math.round(this.#score(t)) });
    return out.sort((a, b) => a.level - b.level);
  }

  /** Mean of the buckets so far (a producer younger than the window is judged on what it sent). */
  #score(t: Track): number {
    if (t.buckets.length === 0) return SILENCE;
    let sum = 0;
    for (const b of t.buckets) sum += b;
    return sum / t.buckets.length;
  }

  #tick(): void {
    if (this.#closed) return;
    for (const t of this.#tracks.values()) {
      t.buckets.push(t.count > 0 ? t.sum / t.count : SILENCE);
      if (t.buckets.length > this.#windowBuckets) t.buckets.shift();
      t.sum = 0;
      t.count = 0;
    }
    const speakers = this.levels().filter((s) => s.level <= this.#speakingLevel);
    const current = speakers.find((s) => s.producerId === this.#active);
    const loudest = speakers[0];
    let next: SpeakerLevel | undefined = current;
    if (!current) next = loudest;
    else if (loudest && loudest !== current && loudest.level + this.#margin <= current.level) next = loudest;
    const key = speakers
      .map((s) => s.producerId)
      .sort()
      .join(',');
    if (next?.producerId !== this.#active || key !== this.#speakingKey) {
      this.#active = next?.producerId;
      this.#speakingKey = key;
      this.emit('change', next, speakers);
    }
    if (this.#tracks.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  /** Idempotent: stops the timer and forgets every producer. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#tracks.clear();
    this.removeAllListeners();
  }
}
