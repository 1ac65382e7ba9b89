/**
 * Runs an action at most once per interval without losing a request: a call inside the interval
 * schedules one run at its end, and further calls join that run. Key-frame requests to a publisher
 * use it: a viewer that asks 100 ms after another one still gets a key frame, 400 ms later, and the
 * publisher's encoder is not asked twice within the interval.
 */
export class CoalescingThrottle {
  readonly #action: () => void;
  readonly #intervalMs: number;
  #lastAt = -Infinity;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(action: () => void, intervalMs: number) {
    this.#action = action;
    this.#intervalMs = intervalMs;
  }

  /** Runs the action now, or once at the end of the current interval. */
  request(): void {
    if (this.#closed || this.#timer) return;
    const wait = this.#lastAt + this.#intervalMs - performance.now();
    if (wait <= 0) {
      this.#run();
      return;
    }
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#run();
    }, wait);
  }

  /** Drops a scheduled run (what it would do happened another way); true when there was one. */
  cancel(): boolean {
    if (!this.#timer) return false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    return true;
  }

  /** True while a run is scheduled. */
  get pending(): boolean {
    return this.#timer !== undefined;
  }

  #run(): void {
    if (this.#closed) return;
    this.#lastAt = performance.now();
    this.#action();
  }

  /** Idempotent: drops a scheduled run; later requests do nothing. */
  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
