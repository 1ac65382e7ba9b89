/** Counts open connections per client address against a cap. */
export interface ConnectionCounter {
  /** Counts connection `id` of `ip` unless `max` are open already; false when refused. */
  acquire(ip: string, id: string): Promise<boolean>;
  /** Uncounts a connection that `acquire` admitted. */
  release(ip: string, id: string): void;
  /** Idempotent. */
  close(): Promise<void>;
}

/** The connections of this process, by address. */
export class MemoryConnectionCounter implements ConnectionCounter {
  readonly #max: number;
  readonly #open = new Map<string, Set<string>>();

  constructor(max: number) {
    this.#max = max;
  }

  /** Open connections of `ip` in this process. */
  count(ip: string): number {
    return this.#open.get(ip)?.size ?? 0;
  }

  /** Every address with its open connections (a snapshot). */
  entries(): [string, string[]][] {
    return [...this.#open].map(([ip, ids]) => [ip, [...ids]]);
  }

  /** Adds without checking the cap (a connection another counter admitted). */
  add(ip: string, id: string): void {
    const ids = this.#open.get(ip);
    if (ids) ids.add(id);
    else this.#open.set(ip, new Set([id]));
  }

  acquire(ip: string, id: string): Promise<boolean> {
    if (this.count(ip) >= this.#max) return Promise.resolve(false);
    this.add(ip, id);
    return Promise.resolve(true);
  }

  release(ip: string, id: string): void {
    const ids = this.#open.get(ip);
    if (!ids?.delete(id)) return;
    if (ids.size === 0) this.#open.delete(ip);
  }

  close(): Promise<void> {
    this.#open.clear();
    return Promise.resolve();
  }
}
