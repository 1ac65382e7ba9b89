import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { memoryStore, type LimiterStore } from './limiterStore.ts';

/** Limits keyed by a string (socket id, IP address). */
export interface RateLimit {
  /** Sustained rate, tokens per second. */
  ratePerSec: number;
  /** How many may be spent at once. */
  burst: number;
}

/**
 * How much longer than a token bucket the burst allowance takes to come back. rate-limiter-flexible
 * counts in fixed windows; with the burst window 10× the bucket's refill time, a client that keeps
 * pushing gets at most 1.1× the configured rate.
 */
const BURST_WINDOW_FACTOR = 10;

let nextPrefix = 0;

/**
 * rate-limiter-flexible limits in the shape of a token bucket: a steady limiter (one point per
 * 1/rate seconds) and, when it is spent, a burst limiter (burst − 1 more points per window). The
 * store makes both: memory, or Redis in cluster mode (limiterStore.ts).
 */
export class RateLimiter {
  readonly #steady: RateLimiterAbstract;
  readonly #burst: RateLimiterAbstract | undefined;
  readonly #limiter: Pick<BurstyRateLimiter, 'consume'>;
  /** Per key, the last pending take: results come back in call order (events keep their order). */
  readonly #pending = new Map<string, Promise<unknown>>();
  #closed = false;

  /**
   * `name` keys a shared store (Redis): every node must use the same name for the same limit.
   * Without one, the limiter gets a name unique in this process.
   */
  constructor(limit: RateLimit, store: LimiterStore = memoryStore, name?: string) {
    if (!(limit.ratePerSec > 0) || !(limit.burst >= 1)) throw new TypeError('a rate limit needs ratePerSec > 0 and burst >= 1');
    const prefix = name === undefined ? `parley-rl${nextPrefix++}` : `parley:rl:${name}`;
    this.#steady = store({ keyPrefix: `${prefix}:steady`, points: 1, duration: 1 / limit.ratePerSec });
    const extra = limit.burst - 1;
    this.#burst =
      extra > 0
        ? store({ keyPrefix: `${prefix}:burst`, points: extra, duration: (BURST_WINDOW_FACTOR * extra) / limit.ratePerSec })
        : undefined;
    this.#limiter = this.#burst ? new BurstyRateLimiter(this.#steady, this.#burst) : this.#steady;
  }

  /** Spends `cost` points. Resolves 0 when allowed, else the ms until the key may try again. */
  take(key: string, cost = 1): Promise<number> {
    const previous = this.#pending.get(key);
    const result = (previous ?? Promise.resolve()).then(() => this.#consume(key, cost));
    const settled = result.then(
      () => undefined,
      () => undefined,
    );
    this.#pending.set(key, settled);
    void settled.then(() => {
      if (this.#pending.get(key) === settled) this.#pending.delete(key);
    });
    return result;
  }

  /**
   * Forgets a key (its socket is gone) once every take of it so far has settled and its caller's
   * continuation has run, so the delete does not race them.
   */
  async forget(key: string): Promise<void> {
    await this.#pending.get(key);
    await Promise.all([this.#steady.delete(key), this.#burst?.delete(key)]);
  }

  /** Idempotent: drops the memory store's records (and their expiry timers). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const limiter of [this.#steady, this.#burst]) {
      if (!(limiter instanceof RateLimiterMemory)) continue;
      for (const { key } of limiter.dump().storage) void limiter.delete(key);
    }
    this.#pending.clear();
  }

  async #consume(key: string, cost: number): Promise<number> {
    if (this.#closed) return 0;
    try {
      await this.#limiter.consume(key, cost);
      return 0;
    } catch (err) {
      if (err instanceof RateLimiterRes) return Math.max(1, Math.ceil(err.msBeforeNext));
      throw err;
    }
  }
}
