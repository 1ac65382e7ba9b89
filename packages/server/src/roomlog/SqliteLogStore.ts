import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
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
import { SQLITE_MIGRATIONS } from './migrations.ts';
import { openSqlite, type SqliteDatabase, type SqliteDriverChoice } from './sqliteDriver.ts';
import { SqliteStreamKeyStore } from './SqliteStreamKeyStore.ts';

export interface SqliteLogStoreOptions {
  /** Database file path, or ':memory:'. */
  path: string;
  /** 'full' survives power loss; 'normal' survives a process crash. Default 'full'. */
  synchronous?: 'full' | 'normal';
  /** node:sqlite where the runtime has it, else better-sqlite3 (sqliteDriver.ts). Default 'auto'. */
  driver?: SqliteDriverChoice;
}

interface Pending {
  room: string;
  entry: NewEntry;
  ts: number;
  resolve: (e: LogEntry) => void;
  reject: (e: unknown) => void;
}

const ENTRY_COLUMNS = 'e.seq, e.ts, e.kind, e.sender_id, e.sender_name, e.payload';

/**
 * The embedded default. Appends are group-committed: every append queued in one turn of the
 * event loop goes into one transaction, and each promise resolves only after that commit.
 */
export class SqliteLogStore implements LogStore {
  readonly kind = 'sqlite' as const;
  readonly db: SqliteDatabase;
  readonly streamKeys: SqliteStreamKeyStore;
  #queue: Pending[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #stmts;

  constructor(options: SqliteLogStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = openSqlite(options.path, options.driver);
    this.db.exec('PRAGMA journal_mode = WAL');
    this.db.exec(`PRAGMA synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.exec('PRAGMA foreign_keys = ON');
    this.db.exec('PRAGMA busy_timeout = 5000');
    migrate(this.db);
    const db = this.db;
    this.#stmts = {
      ensureRoom: db.prepare('INSERT INTO rooms (name, created_at, last_activity_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING'),
      bumpRoom: db.prepare(
        'UPDATE rooms SET last_seq = last_seq + 1, messages = messages + 1, bytes = bytes + ?, last_activity_at = ? WHERE name = ? RETURNING last_seq',
      ),
      insert: db.prepare(
        'INSERT INTO entries (room, seq, ts, kind, sender_id, sender_name, payload, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      insertFile: db.prepare('INSERT INTO room_files (room, seq, sha256, name, size, type) VALUES (?, ?, ?, ?, ?, ?)'),
      lastSeq: db.prepare('SELECT last_seq FROM rooms WHERE name = ?'),
      after: db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.room = ? AND e.seq > ? AND e.seq < ? ORDER BY e.seq ASC LIMIT ?`),
      before: db.prepare(`SELECT ${ENTRY_COLUMNS} FROM entries e WHERE e.room = ? AND e.seq < ? ORDER BY e.seq DESC LIMIT ?`),
      participant: db.prepare('INSERT INTO participants (room, name, first_seen_at) VALUES (?, ?, ?) ON CONFLICT(room, name) DO NOTHING'),
      stats: db.prepare(
        `SELECT name, messages, bytes, last_seq, created_at, last_activity_at,
          (SELECT count(*) FROM participants p WHERE p.room = rooms.name) AS participants,
          (SELECT count(*) FROM room_files f WHERE f.room = rooms.name) AS files,
          (SELECT coalesce(sum(size), 0) FROM room_files f WHERE f.room = rooms.name) AS file_bytes
         FROM rooms WHERE name = ?`,
      ),
      listRooms: db.prepare('SELECT name FROM rooms ORDER BY name'),
      findFile: db.prepare(
        `SELECT ${ENTRY_COLUMNS} FROM room_files f JOIN entries e ON e.room = f.room AND e.seq = f.seq
         WHERE f.room = ? AND f.sha256 = ? ORDER BY f.seq DESC LIMIT 1`,
      ),
      referenced: db.prepare('SELECT DISTINCT sha256 FROM room_files WHERE sha256 IN (SELECT value FROM json_each(?))'),
      ageCutoff: db.prepare('SELECT max(seq) AS seq FROM entries WHERE room = ? AND ts < ?'),
      bytesCutoff: db.prepare(
        `SELECT seq FROM (
           SELECT e.seq, sum(e.size + coalesce(f.size, 0)) OVER (ORDER BY e.seq DESC ROWS UNBOUNDED PRECEDING) AS suffix
           FROM entries e LEFT JOIN room_files f ON f.room = e.room AND f.seq = e.seq
           WHERE e.room = ?
         ) WHERE suffix > ? ORDER BY seq DESC LIMIT 1`,
      ),
      releasedUpTo: db.prepare('SELECT DISTINCT sha256 FROM room_files WHERE room = ? AND seq <= ?'),
      countUpTo: db.prepare('SELECT count(*) AS n, coalesce(sum(size), 0) AS bytes FROM entries WHERE room = ? AND seq <= ?'),
      deleteUpTo: db.prepare('DELETE FROM entries WHERE room = ? AND seq <= ?'),
      shrinkRoom: db.prepare('UPDATE rooms SET messages = messages - ?, bytes = bytes - ? WHERE name = ?'),
      roomExists: db.prepare('SELECT messages FROM rooms WHERE name = ?'),
      releasedAll: db.prepare('SELECT DISTINCT sha256 FROM room_files WHERE room = ?'),
      deleteRoom: db.prepare('DELETE FROM rooms WHERE name = ?'),
    };
    this.streamKeys = new SqliteStreamKeyStore(db, () => this.#assertOpen());
  }

  append(room: string, entry: NewEntry): Promise<LogEntry> {
    if (this.#closed) return Promise.reject(new ParleyError('SHUTTING_DOWN', 'the room log is closed'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ room, entry, ts: Date.now(), resolve, reject });
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    const batch = this.#queue;
    this.#queue = [];
    if (batch.length === 0) return;
    let results: LogEntry[];
    try {
      results = this.db.transaction(() => batch.map((p) => this.#insert(p)));
    } catch (err) {
      const error = new ParleyError('STORAGE_FAILED', undefined, undefined, err);
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  #insert(p: Pending): LogEntry {
    const payload = entryPayload(p.entry);
    const size = Buffer.byteLength(payload);
    this.#stmts.ensureRoom.run(p.room, p.ts, p.ts);
    const row = this.#stmts.bumpRoom.get(size, p.ts, p.room) as { last_seq: number };
    const seq = row.last_seq;
    const { from } = p.entry;
    this.#stmts.insert.run(p.room, seq, p.ts, p.entry.kind, from.id, from.name, payload, size);
    if (p.entry.kind === 'file') {
      const { file } = p.entry;
      this.#stmts.insertFile.run(p.room, seq, file.sha256, file.name, file.size, file.type);
    }
    return rowToEntry({ seq, ts: p.ts, kind: p.entry.kind, sender_id: from.id, sender_name: from.name, payload });
  }

  async range(room: string, query: RangeQuery): Promise<LogEntry[]> {
    this.#assertOpen();
    const before = query.before ?? Number.MAX_SAFE_INTEGER;
    if (query.after !== undefined) {
      const rows = this.#stmts.after.all(room, query.after, before, query.limit) as EntryRow[];
      return rows.map(rowToEntry);
    }
    const rows = this.#stmts.before.all(room, before, query.limit) as EntryRow[];
    return rows.reverse().map(rowToEntry);
  }

  async lastSeq(room: string): Promise<number> {
    this.#assertOpen();
    const row = this.#stmts.lastSeq.get(room) as { last_seq: number } | undefined;
    return row?.last_seq ?? 0;
  }

  async noteParticipant(room: string, _memberId: string, name: string): Promise<void> {
    this.#assertOpen();
    const now = Date.now();
    this.#stmts.ensureRoom.run(room, now, now);
    this.#stmts.participant.run(room, name, now);
  }

  async stats(room: string): Promise<RoomStats | undefined> {
    this.#assertOpen();
    const row = this.#stmts.stats.get(room) as StatsRow | undefined;
    return row ? rowToStats(row) : undefined;
  }

  async listRooms(): Promise<string[]> {
    this.#assertOpen();
    return (this.#stmts.listRooms.all() as Array<{ name: string }>).map((r) => r.name);
  }

  async findFile(room: string, sha256: string): Promise<RoomFile | undefined> {
    this.#assertOpen();
    const row = this.#stmts.findFile.get(room, sha256) as EntryRow | undefined;
    return row ? rowToRoomFile(room, row) : undefined;
  }

  async referencedFiles(sha256s: readonly string[]): Promise<Set<string>> {
    this.#assertOpen();
    if (sha256s.length === 0) return new Set();
    const rows = this.#stmts.referenced.all(JSON.stringify(sha256s)) as Array<{ sha256: string }>;
    return new Set(rows.map((r) => r.sha256));
  }

  async prune(room: string, policy: PrunePolicy): Promise<RemovalResult> {
    this.#assertOpen();
    return this.db.transaction((): RemovalResult => {
      let cutoff = 0;
      if (policy.beforeTs !== undefined) {
        const row = this.#stmts.ageCutoff.get(room, policy.beforeTs) as { seq: number | null };
        cutoff = Math.max(cutoff, row.seq ?? 0);
      }
      if (policy.maxBytes !== undefined) {
        const row = this.#stmts.bytesCutoff.get(room, policy.maxBytes) as { seq: number } | undefined;
        cutoff = Math.max(cutoff, row?.seq ?? 0);
      }
      if (cutoff === 0) return { entries: 0, releasedFiles: [] };
      const released = (this.#stmts.releasedUpTo.all(room, cutoff) as Array<{ sha256: string }>).map((r) => r.sha256);
      const count = this.#stmts.countUpTo.get(room, cutoff) as { n: number; bytes: number };
      this.#stmts.deleteUpTo.run(room, cutoff);
      this.#stmts.shrinkRoom.run(count.n, count.bytes, room);
      return { entries: count.n, releasedFiles: released };
    });
  }

  async deleteRoom(room: string): Promise<RemovalResult | undefined> {
    this.#assertOpen();
    return this.db.transaction((): RemovalResult | undefined => {
      const keys = this.streamKeys.deleteRoom(room);
      const row = this.#stmts.roomExists.get(room) as { messages: number } | undefined;
      if (!row) return keys > 0 ? { entries: 0, releasedFiles: [] } : undefined;
      const released = (this.#stmts.releasedAll.all(room) as Array<{ sha256: string }>).map((r) => r.sha256);
      this.#stmts.deleteRoom.run(room);
      return { entries: row.messages, releasedFiles: released };
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#flush();
    this.#closed = true;
    this.db.close();
  }

  #assertOpen(): void {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN', 'the room log is closed');
  }
}

function migrate(db: SqliteDatabase): void {
  const current = Number((db.prepare('PRAGMA user_version').get() as { user_version: number | bigint }).user_version);
  for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
    });
  }
}
