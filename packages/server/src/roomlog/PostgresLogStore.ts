import pg from 'pg';
import type { LogEntry } from '@parley-rtc/protocol';
import { ParleyError } from '@parley-rtc/protocol';
import {
  entryPayload,
  type LogStore,
  type NewEntry,
  type PrunePolicy,
  type RangeQuery,
  type RemovalResult,
  type RoomFile,
  type RoomStats,
} from './LogStore.ts';
import { rowToEntry, rowToRoomFile, rowToStats, type EntryRow, type StatsRow } from './rows.ts';
import { POSTGRES_MIGRATIONS } from './migrations.ts';
import { pgTransaction } from './pgTransaction.ts';
import { PostgresStreamKeyStore } from './PostgresStreamKeyStore.ts';

export interface PostgresLogStoreOptions {
  /** postgres://user:pass@host:port/db */
  url: string;
  /** Pool size. Appends use one connection at a time; reads use the rest. Default 8. */
  maxConnections?: number;
  /** Most entries committed in one transaction. Default 2000. */
  maxBatch?: number;
  /** Called with errors of idle pooled connections (they are replaced on next use). */
  onError?: (err: Error) => void;
}

interface Pending {
  room: string;
  entry: NewEntry;
  ts: number;
  resolve: (e: LogEntry) => void;
  reject: (e: unknown) => void;
}

const ENTRY_COLUMNS = 'e.seq, e.ts, e.kind, e.sender_id, e.sender_name, e.payload';
/** Any constant; serializes concurrent migrators across processes. */
const MIGRATION_LOCK = 0x7061726c; // 'parl'

/**
 * Bumps a room's counter and inserts its entries in one statement. The upsert takes the room
 * row's lock, so concurrent writers (other pools, other nodes) queue behind it and the seqs
 * they get are gap-free; `unnest … WITH ORDINALITY` numbers the batch in order.
 */
const APPEND_SQL = `
WITH bumped AS (
  INSERT INTO rooms AS r (name, last_seq, messages, bytes, created_at, last_activity_at)
  VALUES ($1, $2, $2, $3, $4, $4)
  ON CONFLICT (name) DO UPDATE SET
    last_seq = r.last_seq + EXCLUDED.last_seq,
    messages = r.messages + EXCLUDED.messages,
    bytes = r.bytes + EXCLUDED.bytes,
    last_activity_at = EXCLUDED.last_activity_at
  RETURNING r.last_seq
)
INSERT INTO entries (room, seq, ts, kind, sender_id, sender_name, payload, size)
SELECT $1, bumped.last_seq - $2 + t.ord, t.ts, t.kind, t.sender_id, t.sender_name, t.payload, t.size
FROM bumped, unnest($5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[])
  WITH ORDINALITY AS t(ts, kind, sender_id, sender_name, payload, size, ord)
RETURNING seq`;

const INSERT_FILES_SQL = `
INSERT INTO room_files (room, seq, sha256, name, size, type)
SELECT $1, * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::text[])`;

/**
 * The PostgreSQL backend. Appends are group-committed like SQLite's: while one batch is being
 * committed the next one gathers, and every promise resolves after its batch's COMMIT (with
 * the server's default `synchronous_commit = on`, after the WAL flush).
 */
export class PostgresLogStore implements LogStore {
  readonly kind = 'postgres' as const;
  readonly pool: pg.Pool;
  readonly streamKeys: PostgresStreamKeyStore;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;

  private constructor(options: PostgresLogStoreOptions) {
    this.#maxBatch = options.maxBatch ?? 2000;
    this.pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 8 });
    this.pool.on('error', (err) => options.onError?.(err));
    this.streamKeys = new PostgresStreamKeyStore(this.pool, () => this.#assertOpen());
  }

  /** Connects and brings the schema up to date. */
  static async open(options: PostgresLogStoreOptions): Promise<PostgresLogStore> {
    const store = new PostgresLogStore(options);
    try {
      await migrate(store.pool);
    } catch (err) {
      await store.pool.end().catch(() => {});
      throw err;
    }
    return store;
  }

  append(room: string, entry: NewEntry): Promise<LogEntry> {
    if (this.#closed) return Promise.reject(new ParleyError('SHUTTING_DOWN', 'the room log is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ room, entry, ts: Date.now(), resolve, reject });
      this.#flushing ??= this.#drain();
    });
  }

  /** Commits queued batches one after another until the queue is empty. */
  async #drain(): Promise<void> {
    try {
      // Let the appends of this event-loop turn gather before the first batch.
      await new Promise((r) => setImmediate(r));
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        try {
          const results = await this.#commit(batch);
          batch.forEach((p, i) => p.resolve(results[i]!));
        } catch (err) {
          const error = new ParleyError('STORAGE_FAILED', undefined, undefined, err);
          for (const p of batch) p.reject(error);
        }
      }
    } finally {
      this.#flushing = undefined;
    }
  }

  async #commit(batch: Pending[]): Promise<LogEntry[]> {
    const byRoom = new Map<string, number[]>();
    batch.forEach((p, i) => {
      const list = byRoom.get(p.room);
      if (list) list.push(i);
      else byRoom.set(p.room, [i]);
    });
    // Lock rooms in a fixed order so two nodes appending to the same rooms cannot deadlock.
    const rooms = [...byRoom.keys()].sort();
    const payloads = batch.map((p) => entryPayload(p.entry));
    const sizes = payloads.map((s) => Buffer.byteLength(s));
    const results: LogEntry[] = new Array<LogEntry>(batch.length);
    const hasFiles = batch.some((p) => p.entry.kind === 'file');
    const single = rooms.length === 1 && !hasFiles;
    const client = await this.pool.connect();
    let failed = false;
    try {
      if (!single) await client.query('BEGIN');
      for (const room of rooms) {
        const idx = byRoom.get(room)!;
        const ts = Math.max(...idx.map((i) => batch[i]!.ts));
        const res = await client.query<{ seq: string }>(APPEND_SQL, [
          room,
          idx.length,
          idx.reduce((sum, i) => sum + sizes[i]!, 0),
          ts,
          idx.map((i) => batch[i]!.ts),
          idx.map((i) => batch[i]!.entry.kind),
          idx.map((i) => batch[i]!.entry.from.id),
          idx.map((i) => batch[i]!.entry.from.name),
          idx.map((i) => payloads[i]!),
          idx.map((i) => sizes[i]!),
        ]);
        const base = Math.min(...res.rows.map((r) => Number(r.seq)));
        const files: Array<{ seq: number; p: Pending }> = [];
        idx.forEach((i, k) => {
          const p = batch[i]!;
          const seq = base + k;
          if (p.entry.kind === 'file') files.push({ seq, p });
          results[i] = rowToEntry({
            seq,
            ts: p.ts,
            kind: p.entry.kind,
            sender_id: p.entry.from.id,
            sender_name: p.entry.from.name,
            payload: payloads[i]!,
          });
        });
        if (files.length > 0) {
          const infos = files.map(({ p }) => (p.entry.kind === 'file' ? p.entry.file : undefined)).filter((f) => f !== undefined);
          await client.query(INSERT_FILES_SQL, [
            room,
            files.map((f) => f.seq),
            infos.map((f) => f.sha256),
            infos.map((f) => f.name),
            infos.map((f) => f.size),
            infos.map((f) => f.type),
          ]);
        }
      }
      if (!single) await client.query('COMMIT');
      return results;
    } catch (err) {
      failed = true;
      if (!single) await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release(failed);
    }
  }

  async range(room: string, query: RangeQuery): Promise<LogEntry[]> {
    this.#assertOpen();
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    if (query.after !== undefined) {
      const res = await this.pool.query<EntryRow>(
        `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.room = $1 AND e.seq > $2 AND e.seq < $3 ORDER BY e.seq ASC LIMIT $4`,
        [room, query.after, before, query.limit],
      );
      return res.rows.map(rowToEntry);
    }
    const res = await this.pool.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.room = $1 AND e.seq < $2 ORDER BY e.seq DESC LIMIT $3`,
      [room, before, query.limit],
    );
    return res.rows.reverse().map(rowToEntry);
  }

  async lastSeq(room: string): Promise<number> {
    this.#assertOpen();
    const res = await this.pool.query<{ last_seq: string }>('SELECT last_seq FROM rooms WHERE name = $1', [room]);
    return Number(res.rows[0]?.last_seq ?? 0);
  }

  async noteParticipant(room: string, _memberId: string, name: string): Promise<void> {
    this.#assertOpen();
    const now = Date.now();
    await this.pool.query(
      `WITH r AS (
         INSERT INTO rooms (name, created_at, last_activity_at) VALUES ($1, $3, $3)
         ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING name
       )
       INSERT INTO participants (room, name, first_seen_at) SELECT r.name, $2, $3 FROM r
       ON CONFLICT (room, name) DO NOTHING`,
      [room, name, now],
    );
  }

  async stats(room: string): Promise<RoomStats | undefined> {
    this.#assertOpen();
    const res = await this.pool.query<StatsRow>(
      `SELECT name, messages, bytes, last_seq, created_at, last_activity_at,
         (SELECT count(*) FROM participants p WHERE p.room = rooms.name) AS participants,
         (SELECT count(*) FROM room_files f WHERE f.room = rooms.name) AS files,
         (SELECT coalesce(sum(size), 0) FROM room_files f WHERE f.room = rooms.name) AS file_bytes
       FROM rooms WHERE name = $1`,
      [room],
    );
    const row = res.rows[0];
    return row ? rowToStats(row) : undefined;
  }

  async listRooms(): Promise<string[]> {
    this.#assertOpen();
    const res = await this.pool.query<{ name: string }>('SELECT name FROM rooms ORDER BY name');
    return res.rows.map((r) => r.name);
  }

  async findFile(room: string, sha256: string): Promise<RoomFile | undefined> {
    this.#assertOpen();
    const res = await this.pool.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM room_files f JOIN entries e ON e.room = f.room AND e.seq = f.seq
       WHERE f.room = $1 AND f.sha256 = $2 ORDER BY f.seq DESC LIMIT 1`,
      [room, sha256],
    );
    const row = res.rows[0];
    return row ? rowToRoomFile(room, row) : undefined;
  }

  async referencedFiles(sha256s: readonly string[]): Promise<Set<string>> {
    this.#assertOpen();
    if (sha256s.length === 0) return new Set();
    const res = await this.pool.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM room_files WHERE sha256 = ANY($1::text[])', [
      sha256s,
    ]);
    return new Set(res.rows.map((r) => r.sha256));
  }

  async prune(room: string, policy: PrunePolicy): Promise<RemovalResult> {
    this.#assertOpen();
    return pgTransaction(this.pool, async (client) => {
      // The room row lock keeps appends out while we measure and cut.
      const locked = await client.query('SELECT 1 FROM rooms WHERE name = $1 FOR UPDATE', [room]);
      if (locked.rowCount === 0) return { entries: 0, releasedFiles: [] };
      let cutoff = 0;
      if (policy.beforeTs !== undefined) {
        const res = await client.query<{ seq: string | null }>('SELECT max(seq) AS seq FROM entries WHERE room = $1 AND ts < $2', [
          room,
          policy.beforeTs,
        ]);
        cutoff = Math.max(cutoff, Number(res.rows[0]?.seq ?? 0));
      }
      if (policy.maxBytes !== undefined) {
        const res = await client.query<{ seq: string }>(
          `SELECT seq FROM (
             SELECT e.seq, sum(e.size + coalesce(f.size, 0)) OVER (ORDER BY e.seq DESC ROWS UNBOUNDED PRECEDING) AS suffix
             FROM entries e LEFT JOIN room_files f ON f.room = e.room AND f.seq = e.seq
             WHERE e.room = $1
           ) s WHERE suffix > $2 ORDER BY seq DESC LIMIT 1`,
          [room, policy.maxBytes],
        );
        cutoff = Math.max(cutoff, Number(res.rows[0]?.seq ?? 0));
      }
      if (cutoff === 0) return { entries: 0, releasedFiles: [] };
      const released = await client.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM room_files WHERE room = $1 AND seq <= $2', [
        room,
        cutoff,
      ]);
      const deleted = await client.query<{ n: string; bytes: string }>(
        `WITH d AS (DELETE FROM entries WHERE room = $1 AND seq <= $2 RETURNING size)
         SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM d`,
        [room, cutoff],
      );
      const n = Number(deleted.rows[0]?.n ?? 0);
      const bytes = Number(deleted.rows[0]?.bytes ?? 0);
      await client.query('UPDATE rooms SET messages = messages - $2, bytes = bytes - $3 WHERE name = $1', [room, n, bytes]);
      return { entries: n, releasedFiles: released.rows.map((r) => r.sha256) };
    });
  }

  async deleteRoom(room: string): Promise<RemovalResult | undefined> {
    this.#assertOpen();
    return pgTransaction(this.pool, async (client) => {
      const keys = await this.streamKeys.deleteRoom(client, room);
      const row = await client.query<{ messages: string }>('SELECT messages FROM rooms WHERE name = $1 FOR UPDATE', [room]);
      const first = row.rows[0];
      if (!first) return keys > 0 ? { entries: 0, releasedFiles: [] } : undefined;
      const released = await client.query<{ sha256: string }>('SELECT DISTINCT sha256 FROM room_files WHERE room = $1', [room]);
      await client.query('DELETE FROM rooms WHERE name = $1', [room]);
      return { entries: Number(first.messages), releasedFiles: released.rows.map((r) => r.sha256) };
    });
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#closed = true;
      while (this.#flushing) await this.#flushing;
      await this.pool.end();
    })();
    return this.#closing;
  }

  #assertOpen(): void {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN', 'the room log is closed');
  }
}

/** Applies pending POSTGRES_MIGRATIONS, each in its own transaction, under an advisory lock. */
async function migrate(pool: pg.Pool): Promise<void> {
  const client = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
      const res = await client.query<{ v: number | null }>('SELECT max(version) AS v FROM schema_migrations');
      const current = res.rows[0]?.v ?? 0;
      for (let v = current; v < POSTGRES_MIGRATIONS.length; v++) {
        await client.query('BEGIN');
        try {
          await client.query(POSTGRES_MIGRATIONS[v]!);
          await client.query('INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)', [v + 1, Date.now()]);
          await client.query('COMMIT');
        } catch (err) {
          await client.query('ROLLBACK').catch(() => {});
          throw err;
        }
      }
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    client.release();
  }
}
