import type { FileInfo, LogEntry } from '@parley-rtc/protocol';
import type { StreamKeyStore } from './StreamKeyStore.ts';

/** What a caller hands the store; the store assigns `seq` (and `ts` if absent). */
export type NewEntry =
  | { kind: 'chat'; from: { id: string; name: string }; text: string; id?: string }
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
  /** Entries currently stored (retention lowers it; `lastSeq` counts every entry ever appended). */
  messages: number;
  /** UTF-8 bytes of the stored entries' payloads. */
  bytes: number;
  lastSeq: number;
  /** Distinct display names that have joined the room. */
  participantsSeen: number;
  /** File announcements currently stored, and the sum of their sizes. */
  files: number;
  fileBytes: number;
  createdAt: number;
  lastActivityAt: number;
}

/** A file announced in a room: the entry's FileInfo plus where it sits in the log. */
export interface RoomFile {
  room: string;
  seq: number;
  file: FileInfo;
}

/** What retention removes from one room. */
export interface PrunePolicy {
  /** Delete entries with ts < this. */
  beforeTs?: number;
  /** Delete the oldest entries until payload bytes plus announced file sizes are at most this. */
  maxBytes?: number;
}

export interface RemovalResult {
  /** Entries removed. */
  entries: number;
  /** Blob hashes that lost a reference; they may still be referenced elsewhere. */
  releasedFiles: string[];
}

/**
 * A room's durable, ordered log. Implementations assign gap-free per-room sequence numbers
 * and resolve `append` only once the entry is durably stored. A `file` entry also records the
 * room's reference to its blob, in the same transaction.
 */
export interface LogStore {
  readonly kind: 'sqlite' | 'postgres';
  /** WHIP stream keys, in the same database (StreamKeyStore.ts). */
  readonly streamKeys: StreamKeyStore;
  append(room: string, entry: NewEntry): Promise<LogEntry>;
  /** Entries in ascending seq order. */
  range(room: string, query: RangeQuery): Promise<LogEntry[]>;
  /** The latest seq of a room, 0 when it has no entries or does not exist. */
  lastSeq(room: string): Promise<number>;
  /** Records that a participant (by display name and member id) was seen in the room. */
  noteParticipant(room: string, memberId: string, name: string): Promise<void>;
  stats(room: string): Promise<RoomStats | undefined>;
  /** Names of every room the store knows, in name order. */
  listRooms(): Promise<string[]>;
  /** The newest announcement of a blob in a room, if the room still holds one. */
  findFile(room: string, sha256: string): Promise<RoomFile | undefined>;
  /** The subset of `sha256s` that some stored entry, in any room, still refers to. */
  referencedFiles(sha256s: readonly string[]): Promise<Set<string>>;
  /** Deletes a room's old entries by the policy; `lastSeq` is kept, so seqs never repeat. */
  prune(room: string, policy: PrunePolicy): Promise<RemovalResult>;
  /**
   * Deletes a room with its entries, participants and stream keys; undefined when there is no such
   * room (neither a log nor stream keys).
   */
  deleteRoom(room: string): Promise<RemovalResult | undefined>;
  /** Idempotent. Pending appends are flushed before it resolves. */
  close(): Promise<void>;
}

/** Size of an entry's payload as stored, used for statistics and retention. */
export function entryPayload(entry: NewEntry): string {
  switch (entry.kind) {
    case 'chat':
      return JSON.stringify(entry.id === undefined ? { text: entry.text } : { text: entry.text, id: entry.id });
    case 'event':
      return JSON.stringify({ type: entry.type, body: entry.body });
    case 'file':
      return JSON.stringify({ file: entry.file });
  }
}
