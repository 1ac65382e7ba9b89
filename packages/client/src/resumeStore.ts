import * as z from 'zod';
import { peerIdSchema } from '@parley-rtc/protocol';

/** The part of the Web Storage API the SDK uses (sessionStorage in a browser). */
export type ResumeStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** What survives a page reload: enough to take our seat back within the server's resume grace. */
const storedSchema = z.object({
  room: z.string(),
  peer: peerIdSchema,
  key: z.string().min(1).max(128),
});
export type StoredResume = z.infer<typeof storedSchema>;

/** The browser's sessionStorage (per tab, survives reloads), or undefined where there is none (Node). */
export function defaultResumeStorage(): ResumeStorage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    return undefined; // storage disabled (some privacy modes throw on access)
  }
}

/**
 * Keeps the resume secret of our session in a storage across page reloads, one entry per server
 * and room. Storage is untrusted input: what does not parse is ignored. Every storage failure
 * (quota, disabled storage) only means the next reload starts a new session.
 * @internal
 */
export class ResumeStore {
  constructor(private readonly storage: ResumeStorage | undefined) {}

  load(url: string, room: string): StoredResume | undefined {
    const raw = this.#try(() => this.storage?.getItem(keyOf(url, room)) ?? null);
    if (typeof raw !== 'string') return undefined;
    let json: unknown;
    try {
      json = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const parsed = storedSchema.safeParse(json);
    return parsed.success && parsed.data.room === room ? parsed.data : undefined;
  }

  save(url: string, value: StoredResume): void {
    this.#try(() => this.storage?.setItem(keyOf(url, value.room), JSON.stringify(value)));
  }

  clear(url: string, room: string): void {
    this.#try(() => this.storage?.removeItem(keyOf(url, room)));
  }

  #try<T>(fn: () => T): T | undefined {
    try {
      return fn();
    } catch {
      return undefined;
    }
  }
}

const keyOf = (url: string, room: string) => `parley:resume:${url}#${room}`;
