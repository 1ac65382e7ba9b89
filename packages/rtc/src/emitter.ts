/**
 * The typed event emitter of Parley's Node side (the rtc layer, the SFU, the broadcast sessions,
 * the bots): one tuple event map per class, declared beside it; `on()` and `once()` return their
 * `off`. Long-lived objects announce their end with a `close` event whose first argument is the
 * reason, emit it before `removeAllListeners()`, and never emit again afterwards.
 *
 * @example
 * interface ProducerEvents { close: [reason: 'close' | 'transportclose'] }
 * class Producer extends TypedEmitter<ProducerEvents> {}
 * const off = producer.on('close', (reason) => log.info({ reason }, 'producer closed'));
 */
export type EventMap<E> = { [K in keyof E]: unknown[] };
type Listener<A extends unknown[]> = (...args: A) => void;

export class TypedEmitter<E extends EventMap<E>> {
  #listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    (this.#listeners[event] ??= new Set()).add(fn);
    return () => this.#listeners[event]?.delete(fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const off = this.on(event, (...args) => {
      off();
      fn(...args);
    });
    return off;
  }

  /** How many listeners `event` has (tests check that closing removed them). */
  listenerCount(event: keyof E): number {
    return this.#listeners[event]?.size ?? 0;
  }

  /**
   * Calls every listener of `event` (one removed meanwhile is skipped); a throwing listener is
   * reported on a fresh task and skipped, so it can neither break the emitter's state nor stop
   * the other listeners.
   */
  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners[event];
    if (!set || set.size === 0) return;
    for (const fn of set) {
      try {
        fn(...args);
      } catch (err) {
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  /** Forgets every listener (after the `close` event). */
  protected removeAllListeners(): void {
    this.#listeners = {};
  }
}
