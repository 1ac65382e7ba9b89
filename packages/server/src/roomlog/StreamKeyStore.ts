/**
 * Where WHIP stream keys live (media/rooms/StreamKeys.ts): the `stream_keys` table of the room
 * log's database, so keys survive a restart and every node of a cluster sees the same ones. Each
 * LogStore has one over its own connection (`LogStore.streamKeys`). Only a hash of each secret is
 * stored; a key is looked up by that hash (unique index) together with its room.
 */

/** A stored key, without its secret. */
export interface StreamKeyRecord {
  id: string;
  room: string;
  name: string;
  createdAt: number;
  /** When a WHIP POST last authenticated with it (ms since epoch); undefined before the first one. */
  lastUsedAt: number | undefined;
}

export interface NewStreamKey {
  id: string;
  room: string;
  name: string;
  /** The hash of the secret (StreamKeys decides how it is computed). */
  hash: string;
  createdAt: number;
}

export interface StreamKeyStore {
  /**
   * Stores a key unless its room already has `maxPerRoom` (counted in the same transaction, so
   * concurrent inserts, from any node, cannot go past it). False when the room is full.
   */
  insert(key: NewStreamKey, maxPerRoom: number): Promise<boolean>;
  /** A room's keys, oldest first. */
  list(room: string): Promise<StreamKeyRecord[]>;
  /** The key of `room` whose secret has this hash; with `usedAt`, its `lastUsedAt` is set to it first. */
  find(room: string, hash: string, usedAt?: number): Promise<StreamKeyRecord | undefined>;
  /** Deletes one key of a room; false when the room has no such key. */
  delete(room: string, id: string): Promise<boolean>;
}

/** A row of `stream_keys` as the drivers return it (PostgreSQL's BIGINTs come back as strings). */
export interface StreamKeyRow {
  id: string;
  room: string;
  name: string;
  created_at: number | string;
  last_used_at: number | string | null;
}

export const STREAM_KEY_COLUMNS = 'id, room, name, created_at, last_used_at';

export function rowToStreamKey(row: StreamKeyRow): StreamKeyRecord {
  return {
    id: row.id,
    room: row.room,
    name: row.name,
    createdAt: Number(row.created_at),
    lastUsedAt: row.last_used_at === null ? undefined : Number(row.last_used_at),
  };
}
