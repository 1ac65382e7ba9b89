import type pg from 'pg';
import { pgTransaction } from './pgTransaction.ts';
import {
  rowToStreamKey,
  STREAM_KEY_COLUMNS,
  type NewStreamKey,
  type StreamKeyRecord,
  type StreamKeyRow,
  type StreamKeyStore,
} from './StreamKeyStore.ts';

const lockRoomKeys = (client: pg.PoolClient, room: string) =>
  client.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`parley:stream_keys:${room}`]);

/** Stream keys in the PostgreSQL room log's database (its pool), shared by every node of a cluster. */
export class PostgresStreamKeyStore implements StreamKeyStore {
  readonly #pool: pg.Pool;
  readonly #assertOpen: () => void;

  constructor(pool: pg.Pool, assertOpen: () => void) {
    this.#pool = pool;
    this.#assertOpen = assertOpen;
  }

  async insert(key: NewStreamKey, maxPerRoom: number): Promise<boolean> {
    this.#assertOpen();
    return pgTransaction(this.#pool, async (client) => {
      // A room may have no row to lock yet: a transaction-scoped advisory lock per room serializes
      // the count and the insert of concurrent callers (any node); it is released at COMMIT.
      await lockRoomKeys(client, key.room);
      const res = await client.query<{ n: string }>('SELECT count(*) AS n FROM stream_keys WHERE room = $1', [key.room]);
      if (Number(res.rows[0]?.n ?? 0) >= maxPerRoom) return false;
      await client.query('INSERT INTO stream_keys (id, room, name, hash, created_at) VALUES ($1, $2, $3, $4, $5)', [
        key.id,
        key.room,
        key.name,
        key.hash,
        key.createdAt,
      ]);
      return true;
    });
  }

  /** Deletes a room's keys in the caller's transaction (LogStore.deleteRoom); returns how many. */
  async deleteRoom(client: pg.PoolClient, room: string): Promise<number> {
    await lockRoomKeys(client, room); // so a key inserted meanwhile does not outlive its room
    const res = await client.query('DELETE FROM stream_keys WHERE room = $1', [room]);
    return res.rowCount ?? 0;
  }

  async list(room: string): Promise<StreamKeyRecord[]> {
    this.#assertOpen();
    const res = await this.#pool.query<StreamKeyRow>(
      `SELECT ${STREAM_KEY_COLUMNS} FROM stream_keys WHERE room = $1 ORDER BY created_at, id`,
      [room],
    );
    return res.rows.map(rowToStreamKey);
  }

  async find(room: string, hash: string, usedAt?: number): Promise<StreamKeyRecord | undefined> {
    this.#assertOpen();
    const res =
      usedAt === undefined
        ? await this.#pool.query<StreamKeyRow>(`SELECT ${STREAM_KEY_COLUMNS} FROM stream_keys WHERE hash = $1 AND room = $2`, [hash, room])
        : await this.#pool.query<StreamKeyRow>(
            `UPDATE stream_keys SET last_used_at = $3 WHERE hash = $1 AND room = $2 RETURNING ${STREAM_KEY_COLUMNS}`,
            [hash, room, usedAt],
          );
    const row = res.rows[0];
    return row ? rowToStreamKey(row) : undefined;
  }

  async delete(room: string, id: string): Promise<boolean> {
    this.#assertOpen();
    const res = await this.#pool.query('DELETE FROM stream_keys WHERE room = $1 AND id = $2', [room, id]);
    return (res.rowCount ?? 0) > 0;
  }
}
