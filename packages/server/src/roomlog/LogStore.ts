import type { FileInfo, LogEntry } from '@parley/protocol';

/** What a caller hands the store; the store assigns `seq` (and `ts` if absent). */
export type NewEntry =
  | { kind: 'chat'; from: { id: string; name: string }; text: string }
  | { kind: 'event'; from: { id: string; name: string }; type: string; body: unknown }
  | { kind: 'file'; from: { id: string; name: string }; file: FileInfo };

export interface RangeQuery {
  /** Entries with seq > after. */
  after?: number;
  /** Entries with seq < before. */
  before?: number;
  /** At most this many. With only `before` (or nothing), the newest ones are returned. */
  limit: number;
}

export interface RoomStats {
  room: string;
  messages: number;
  bytes: number;
  lastSeq: number;
  participantsSeen: number;
  createdAt: number;
  lastActivityAt: number;
}

/**
 * A room's durable, ordered log. Implementations assign gap-free per-room sequence numbers
 * and resolve `append` only once the entry is durably stored.
 */
export interface LogStore {
  readonly kind: 'sqlite' | 'postgres';
  append(room: string, entry: NewEntry): Promise<LogEntry>;
  /** Entries in ascending seq order. */
  range(room: string, query: RangeQuery): Promise<LogEntry[]>;
  /** The latest seq of a room, 0 when it has no entries or does not exist. */
  lastSeq(room: string): Promise<number>;
  /** Records that a participant (by display name and peer id) was seen in the room. */
  noteParticipant(room: string, peerId: string, name: string): Promise<void>;
  stats(room: string): Promise<RoomStats | undefined>;
  /** Idempotent. Pending appends are flushed before it resolves. */
  close(): Promise<void>;
}

/** Size of an entry's payload as stored, used for statistics and retention. */
export function entryPayload(entry: NewEntry): string {
  switch (entry.kind) {
    case 'chat':
      return JSON.stringify({ text: entry.text });
    case 'event':
      return JSON.stringify({ type: entry.type, body: entry.body });
    case 'file':
      return JSON.stringify({ file: entry.file });
  }
}
