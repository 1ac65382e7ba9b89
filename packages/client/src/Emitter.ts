/** Maps each event name to the tuple of its listener arguments. */
export type EventMap<E> = { [K in keyof E]: unknown[] };

type Listener<A extends unknown[]> = (...args: A) => void;

/**
 * A small typed event emitter. `on()` returns its own unsubscribe function, so a React hook can
 * write `useEffect(() => room.on('chat', fn), [room])`. A throwing listener never breaks the
 * emitter or the other listeners: its error is rethrown on a fresh task (and reaches
 * `window.onerror` / `process.on('uncaughtException')`).
 */
export class Emitter<E extends EventMap<E>> {
  #listeners: { [K in keyof E]?: Set<Listener<E[K]>> } = {};

  on<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    (this.#listeners[event] ??= new Set()).add(fn);
    return () => this.off(event, fn);
  }

  once<K extends keyof E>(event: K, fn: Listener<E[K]>): () => void {
    const wrapper: Listener<E[K]> = (...args) => {
      this.off(event, wrapper);
      fn(...args);
    };
    return this.on(event, wrapper);
  }

  off<K extends keyof E>(event: K, fn: Listener<E[K]>): void {
    this.#listeners[event]?.delete(fn);
  }

  listenerCount<K extends keyof E>(event: K): number {
    return this.#listeners[event]?.size ?? 0;
  }

  /** Drops every listener; part of each owner's `close()`. */
  removeAllListeners(): void {
    this.#listeners = {};
  }

  protected emit<K extends keyof E>(event: K, ...args: E[K]): void {
    const set = this.#listeners[event];
    if (!set) return;
    for (const fn of [...set]) {
      try {
        fn(...args);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Where listener exceptions go; by default rethrown on a fresh task so they stay visible. */
  protected onListenerError(err: unknown): void {
    setTimeout(() => {
      throw err;
    }, 0);
  }
}
