import { ClientError, Emitter, ParleyError, formatBytes, uploadFile, type Room } from '@parley-rtc/client';
import { describeError } from './describeError.ts';

export type UploadState = 'uploading' | 'done' | 'error';

export interface Upload {
  id: number;
  name: string;
  size: number;
  loaded: number;
  state: UploadState;
  error?: string;
}

/** How long a finished upload stays listed (errors stay until dismissed). */
const DONE_TTL_MS = 5000;

/** A user-facing reason for a failed upload; "too large" names the server's limit. */
export function describeUploadError(err: unknown, name: string): string {
  if (err instanceof ParleyError && err.code === 'PAYLOAD_TOO_LARGE') {
    const max = err.details?.['maxBytes'];
    const fromMessage = /than (\d+) bytes|limit is (\d+)/.exec(err.message);
    const limit = typeof max === 'number' ? max : Number(fromMessage?.[1] ?? fromMessage?.[2] ?? Number.NaN);
    return Number.isFinite(limit)
      ? `“${name}” is too large: the limit is ${formatBytes(limit)}.`
      : `“${name}” is too large for this server.`;
  }
  if (err instanceof ParleyError && err.code === 'FORBIDDEN') return `You may not share files in this room (${err.message}).`;
  if (err instanceof ClientError && err.reason === 'disconnected') return `Uploading “${name}” failed: ${err.message}.`;
  return `Uploading “${name}” failed: ${describeError(err)}`;
}

/** The uploads of one call, outside React (they survive closing the chat panel). */
export class UploadStore extends Emitter<{ change: [] }> {
  #items: Upload[] = [];
  #aborts = new Map<number, AbortController>();
  #timers = new Set<ReturnType<typeof setTimeout>>();
  #next = 1;
  #closed = false;

  constructor(private readonly room: Room) {
    super();
  }

  get items(): readonly Upload[] {
    return this.#items;
  }

  /** Starts uploading; progress, completion and errors show up in `items`. */
  start(file: File): void {
    if (this.#closed) return;
    const id = this.#next++;
    const abort = new AbortController();
    this.#aborts.set(id, abort);
    this.#items = [...this.#items, { id, name: file.name, size: file.size, loaded: 0, state: 'uploading' }];
    this.emit('change');
    uploadFile(this.room, file, {
      signal: abort.signal,
      onProgress: ({ loaded }) => this.#update(id, { loaded: Math.min(loaded, file.size) }),
    })
      .then(
        () => {
          this.#update(id, { state: 'done', loaded: file.size });
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.dismiss(id);
          }, DONE_TTL_MS);
          this.#timers.add(timer);
        },
        (err: unknown) => {
          if (err instanceof ClientError && err.reason === 'aborted') this.dismiss(id);
          else this.#update(id, { state: 'error', error: describeUploadError(err, file.name) });
        },
      )
      .finally(() => this.#aborts.delete(id));
  }

  cancel(id: number): void {
    this.#aborts.get(id)?.abort();
  }

  dismiss(id: number): void {
    const before = this.#items.length;
    this.#items = this.#items.filter((u) => u.id !== id);
    if (this.#items.length !== before) this.emit('change');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const a of this.#aborts.values()) a.abort();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#items = [];
    this.removeAllListeners();
  }

  #update(id: number, patch: Partial<Upload>): void {
    if (this.#closed) return;
    this.#items = this.#items.map((u) => (u.id === id ? { ...u, ...patch } : u));
    this.emit('change');
  }
}
