/**
 * The "tell me when you close" list of a long-lived object: `add()` returns its `off`, `fire()`
 * calls each listener once (a throwing listener must not break shutdown) and forgets them all.
 */
export class CloseListeners {
  readonly #fns = new Set<() => void>();

  add(fn: () => void): () => void {
    this.#fns.add(fn);
    return () => this.#fns.delete(fn);
  }

  fire(): void {
    const fns = [...this.#fns];
    this.#fns.clear();
    for (const fn of fns) {
      try {
        fn();
      } catch {
        // listeners must not break shutdown
      }
    }
  }
}
