/** Token-bucket limits keyed by a string (socket id, IP address). */
export interface RateLimit {
  /** Sustained rate, tokens per second. */
  ratePerSec: number;
  /** Bucket size: how many may be spent at once. */
  burst: number;
}

interface Bucket {
  tokens: number;
  updatedAt: number;
}

export class RateLimiter {
  readonly #buckets = new Map<string, Bucket>();
  readonly #sweep: NodeJS.Timeout;
  #closed = false;

  constructor(
    private readonly limit: RateLimit,
    private readonly now: () => number = () => performance.now(),
  ) {
    // Forget buckets that have refilled completely, so idle keys do not accumulate.
    this.#sweep = setInterval(() => this.#forgetFull(), 30_000);
    this.#sweep.unref();
  }

  /** Spends `cost` tokens. Returns 0 when allowed, else the ms until enough tokens are back. */
  take(key: string, cost = 1): number {
    const t = this.now();
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { tokens: this.limit.burst, updatedAt: t };
      this.#buckets.set(key, bucket);
    } else {
      bucket.tokens = Math.min(this.limit.burst, bucket.tokens + ((t - bucket.updatedAt) / 1000) * this.limit.ratePerSec);
      bucket.updatedAt = t;
    }
    if (bucket.tokens >= cost) {
      bucket.tokens -= cost;
      return 0;
    }
    return Math.ceil(((cost - bucket.tokens) / this.limit.ratePerSec) * 1000);
  }

  forget(key: string): void {
    this.#buckets.delete(key);
  }

  get size(): number {
    return this.#buckets.size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    this.#buckets.clear();
  }

  #forgetFull(): void {
    const t = this.now();
    for (const [key, b] of this.#buckets) {
      if (b.tokens + ((t - b.updatedAt) / 1000) * this.limit.ratePerSec >= this.limit.burst) this.#buckets.delete(key);
    }
  }
}
