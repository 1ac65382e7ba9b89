/**
 * A token bucket: `rate` tokens per second, at most `burst` saved up. Synchronous, so a caller
 * that forwards messages in arrival order keeps that order (an async limiter would not).
 */
export class TokenBucket {
  #tokens: number;
  #at = performance.now();

  constructor(
    readonly rate: number,
    readonly burst: number,
  ) {
    this.#tokens = burst;
  }

  /** Takes `n` tokens if there are that many; false (and nothing taken) otherwise. */
  take(n: number): boolean {
    const now = performance.now();
    this.#tokens = Math.min(this.burst, this.#tokens + ((now - this.#at) / 1000) * this.rate);
    this.#at = now;
    if (this.#tokens < n) return false;
    this.#tokens -= n;
    return true;
  }
}
