import type { JoinResult, LogEntry } from '@parley-rtc/protocol';

/**
 * The client's copy of a room's log: entries ordered by `seq`, each seq at most once. The join
 * ack's catch-up and the live `chat_message` / `room_event` events can overlap (an entry appended
 * while the join is in flight arrives both ways), and a reconnect replays from `lastSeq`, so
 * every path goes through `add()`, which drops duplicates.
 */
export class RoomLog {
  #entries: LogEntry[] = [];
  #seqs = new Set<number>();
  #lastSeq = 0;
  #truncated = false;

  /** @param capacity keep at most this many entries; the oldest are dropped first. */
  constructor(readonly capacity = 5000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('capacity must be a positive integer');
  }

  /** The highest seq seen; sent as `lastSeq` when rejoining so the server replays only what we missed. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** True when the server said older entries exist that the catch-up did not include. */
  get truncated(): boolean {
    return this.#truncated;
  }

  get entries(): readonly LogEntry[] {
    return this.#entries;
  }

  get size(): number {
    return this.#entries.length;
  }

  has(seq: number): boolean {
    return this.#seqs.has(seq);
  }

  /**
   * Inserts entries it has not seen; returns the newly added ones in seq order.
   * @internal
   */
  add(entries: Iterable<LogEntry>): LogEntry[] {
    const fresh: LogEntry[] = [];
    for (const entry of entries) {
      if (this.#seqs.has(entry.seq)) continue;
      const oldest = this.#entries[0];
      if (this.#entries.length >= this.capacity && oldest && entry.seq < oldest.seq) continue;
      this.#seqs.add(entry.seq);
      this.#insert(entry);
      fresh.push(entry);
      if (entry.seq > this.#lastSeq) this.#lastSeq = entry.seq;
    }
    while (this.#entries.length > this.capacity) {
      const dropped = this.#entries.shift();
      if (dropped) this.#seqs.delete(dropped.seq);
    }
    return fresh.filter((e) => this.#seqs.has(e.seq)).sort((a, b) => a.seq - b.seq);
  }

  /**
   * Applies a join ack: its catch-up entries, its `lastSeq` and whether history was cut off.
   * @internal
   */
  applyJoin(result: Pick<JoinResult, 'entries' | 'lastSeq' | 'truncated'>): LogEntry[] {
    const fresh = this.add(result.entries);
    // The server's lastSeq covers entries it chose not to send (joinCatchUp = 0, or truncation).
    if (result.lastSeq > this.#lastSeq) this.#lastSeq = result.lastSeq;
    if (result.truncated) this.#truncated = true;
    return fresh;
  }

  /** Forgets everything, e.g. when moving to another room. */
  clear(): void {
    this.#entries = [];
    this.#seqs.clear();
    this.#lastSeq = 0;
    this.#truncated = false;
  }

  #insert(entry: LogEntry): void {
    const list = this.#entries;
    const last = list[list.length - 1];
    if (!last || last.seq < entry.seq) {
      list.push(entry);
      return;
    }
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((list[mid]?.seq ?? Infinity) < entry.seq) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, entry);
  }
}
