import type { SqliteDatabase } from './sqliteDriver.ts';
import {
  rowToStreamKey,
  STREAM_KEY_COLUMNS,
  type NewStreamKey,
  type StreamKeyRecord,
  type StreamKeyRow,
  type StreamKeyStore,
} from './StreamKeyStore.ts';

/** Stream keys in the SQLite room log's database (its connection; SqliteLogStore makes it after migrating). */
export class SqliteStreamKeyStore implements StreamKeyStore {
  readonly #db: SqliteDatabase;
  readonly #assertOpen: () => void;
  readonly #stmts;

  constructor(db: SqliteDatabase, assertOpen: () => void) {
    this.#db = db;
    this.#assertOpen = assertOpen;
    this.#stmts = {
      count: db.prepare('SELECT count(*) AS n FROM stream_keys WHERE room = ?'),
      insert: db.prepare('INSERT INTO stream_keys (id, room, name, hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      list: db.prepare(`SELECT ${STREAM_KEY_COLUMNS} FROM stream_keys WHERE room = ? ORDER BY created_at, rowid`),
      find: db.prepare(`SELECT ${STREAM_KEY_COLUMNS} FROM stream_keys WHERE hash = ? AND room = ?`),
      use: db.prepare(`UPDATE stream_keys SET last_used_at = ? WHERE hash = ? AND room = ? RETURNING ${STREAM_KEY_COLUMNS}`),
      delete: db.prepare('DELETE FROM stream_keys WHERE room = ? AND id = ? RETURNING id'),
      deleteRoom: db.prepare('DELETE FROM stream_keys WHERE room = ? RETURNING id'),
    };
  }

  async insert(key: NewStreamKey, maxPerRoom: number): Promise<boolean> {
    this.#assertOpen();
    // An IMMEDIATE transaction holds the write lock from the count to the insert (other processes wait).
    return this.#db.transaction(() => {
      const { n } = this.#stmts.count.get(key.room) as { n: number | bigint };
      if (Number(n) >= maxPerRoom) return false;
      this.#stmts.insert.run(key.id, key.room, key.name, key.hash, key.createdAt);
      return true;
    });
  }

  /** Deletes a room's keys, in the caller's transaction (LogStore.deleteRoom); returns how many. */
  deleteRoom(room: string): number {
    return this.#stmts.deleteRoom.all(room).length;
  }

  async list(room: string): Promise<StreamKeyRecord[]> {
    this.#assertOpen();
    return (this.#stmts.list.all(room) as StreamKeyRow[]).map(rowToStreamKey);
  }

  async find(room: string, hash: string, usedAt?: number): Promise<StreamKeyRecord | undefined> {
    this.#assertOpen();
    const row = (usedAt === undefined ? this.#stmts.find.get(hash, room) : this.#stmts.use.get(usedAt, hash, room)) as
      StreamKeyRow | undefined;
    return row ? rowToStreamKey(row) : undefined;
  }

  async delete(room: string, id: string): Promise<boolean> {
    this.#assertOpen();
    return this.#stmts.delete.get(room, id) !== undefined;
  }
}
