/** A video's rendered size in device pixels. */
export interface VideoSize {
  width: number;
  height: number;
}

/** The timer functions the reporter uses (tests pass fakes). */
export interface ReporterTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface VideoSizeReporterOptions {
  /** A size is reported once it has not changed for this long (default 300 ms). */
  debounceMs?: number;
  /** Smaller relative changes than this (in width and in height) are not reported (default 0.1). */
  threshold?: number;
  timers?: ReporterTimers;
}

/** Whether `next` differs from `last` by more than `threshold` (relative) in width or height. */
export function differsEnough(last: VideoSize, next: VideoSize, threshold: number): boolean {
  return Math.abs(next.width - last.width) > threshold * last.width || Math.abs(next.height - last.height) > threshold * last.height;
}

/**
 * Turns a tile's stream of resize observations into the few size reports the SFU needs to pick a
 * simulcast layer: the first size at once, later ones after they settled (debounced) and only when
 * they differ by more than the threshold from the last report. A zero size (a hidden tile) is not
 * reported: hidden tiles are paused instead.
 */
export class VideoSizeReporter {
  readonly #send: (size: VideoSize) => void;
  readonly #debounceMs: number;
  readonly #threshold: number;
  readonly #timers: ReporterTimers;
  #last: VideoSize | undefined;
  #timer: unknown;

  constructor(send: (size: VideoSize) => void, options: VideoSizeReporterOptions = {}) {
    this.#send = send;
    this.#debounceMs = options.debounceMs ?? 300;
    this.#threshold = options.threshold ?? 0.1;
    this.#timers = options.timers ?? {
      setTimeout: (fn, ms) => setTimeout(fn, ms),
      clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
    };
  }

  /** The last size reported, if any. */
  get last(): VideoSize | undefined {
    return this.#last;
  }

  /** A new rendered size in CSS pixels, with the page's device pixel ratio. */
  observe(cssWidth: number, cssHeight: number, devicePixelRatio: number): void {
    const size = { width: Math.round(cssWidth * devicePixelRatio), height: Math.round(cssHeight * devicePixelRatio) };
    this.#cancel();
    if (!(size.width > 0 && size.height > 0)) return;
    const last = this.#last;
    if (!last) {
      this.#report(size);
      return;
    }
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      if (differsEnough(last, size, this.#threshold)) this.#report(size);
    }, this.#debounceMs);
  }

  /** Drops a pending report (call when the tile goes away). */
  stop(): void {
    this.#cancel();
  }

  #report(size: VideoSize): void {
    this.#last = size;
    this.#send(size);
  }

  #cancel(): void {
    if (this.#timer === undefined) return;
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
