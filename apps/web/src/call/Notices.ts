import { Emitter } from '@parley-rtc/client';

export type NoticeLevel = 'info' | 'warn' | 'error';

export interface Notice {
  id: number;
  level: NoticeLevel;
  text: string;
}

/** Short-lived messages ("Bob left", "Reconnecting…"), kept outside React. */
export class NoticeStore extends Emitter<{ change: [] }> {
  #items: Notice[] = [];
  #timers = new Map<number, ReturnType<typeof setTimeout>>();
  #next = 1;
  #closed = false;

  get items(): readonly Notice[] {
    return this.#items;
  }

  /** Shows a notice; it disappears after `ttlMs` (0 = until dismissed). Returns its id. */
  push(text: string, level: NoticeLevel = 'info', ttlMs = 6000): number {
    if (this.#closed) return 0;
    const id = this.#next++;
    this.#items = [...this.#items.slice(-4), { id, level, text }];
    if (ttlMs > 0)
      this.#timers.set(
        id,
        setTimeout(() => this.dismiss(id), ttlMs),
      );
    this.emit('change');
    return id;
  }

  dismiss(id: number): void {
    const timer = this.#timers.get(id);
    if (timer) clearTimeout(timer);
    this.#timers.delete(id);
    const before = this.#items.length;
    this.#items = this.#items.filter((n) => n.id !== id);
    if (this.#items.length !== before) this.emit('change');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.#items = [];
    this.removeAllListeners();
  }
}
