import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LogEntry } from '@parley/protocol';
import { ParleyError } from '@parley/protocol';
import { entryPayload, type LogStore, type NewEntry, type RangeQuery, type RoomStats } from './LogStore.ts';
import { rowToEntry, type EntryRow } from './rows.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';

export interface SqliteLogStoreOptions {
  /** Database file path, or ':memory:'. */
  path: string;
  /** 'full' survives power loss; 'normal' survives a process crash. Default 'full'. */
  synchronous?: 'full' | 'normal';
}

interface Pending {
  room: string;
  entry: NewEntry;
  ts: number;
  resolve: (e: LogEntry) => void;
  reject: (e: unknown) => void;
}

/**
 * The embedded default. Appends are group-committed: every append queued in one turn of the
 * event loop goes into one transaction, and each promise resolves only after that commit.
 */
export class SqliteLogStore implements LogStore {
  readonly kind = 'sqlite' as const;
  readonly db: Database.Database;
  #queue: Pending[] = [];
  #flushScheduled = false;
  #closed = false;
  readonly #stmts;

  constructor(options: SqliteLogStoreOptions) {
    if (options.path !== ':memory:') mkdirSync(dirname(options.path), { recursive: true });
    this.db = new Database(options.path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma(`synchronous = ${options.synchronous === 'normal' ? 'NORMAL' : 'FULL'}`);
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    migrate(this.db);
    this.#stmts = {
      ensureRoom: this.db.prepare(
        'INSERT INTO rooms (name, created_at, last_activity_at) VALUES (?, ?, ?) ON CONFLICT(name) DO NOTHING',
      ),
      bumpRoom: this.db.prepare(
        'UPDATE rooms SET last_seq = last_seq + 1, messages = messages + 1, bytes = bytes + ?, last_activity_at = ? WHERE name = ? RETURNING last_seq',
      ),
      insert: this.db.prepare(
        'INSERT INTO entries (room, seq, ts, kind, sender_id, sender_name, payload, size) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      lastSeq: this.db.prepare('SELECT last_seq FROM rooms WHERE name = ?'),
      after: this.db.prepare(
        'SELECT seq, ts, kind, sender_id, sender_name, payload FROM entries WHERE room = ? AND seq > ? AND seq < ? ORDER BY seq ASC LIMIT ?',
      ),
      before: this.db.prepare(
        'SELECT seq, ts, kind, sender_id, sender_name, payload FROM entries WHERE room = ? AND seq < ? ORDER BY seq DESC LIMIT ?',
      ),
      participant: this.db.prepare(
        'INSERT INTO participants (room, name, first_seen_at) VALUES (?, ?, ?) ON CONFLICT(room, name) DO NOTHING',
      ),
      stats: this.db.prepare(
        'SELECT name, messages, bytes, last_seq, created_at, last_activity_at, (SELECT count(*) FROM participants p WHERE p.room = rooms.name) AS participants FROM rooms WHERE name = ?',
      ),
    };
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
      results = this.db.transaction(() => batch.map((p) => this.#insert(p)))();
    } catch (err) {
      const error = new ParleyError('STORAGE_FAILED', undefined, undefined, err);
      for (const p of batch) p.reject(error);
      return;
    }
    batch.forEach((p, i) => p.resolve(results[i]!));
  }

  #insert(p: Pending): LogEntry {
    const payload = entryPayload(p.entry);
    this.#stmts.ensureRoom.run(p.room, p.ts, p.ts);
    const row = this.#stmts.bumpRoom.get(payload.length, p.ts, p.room) as { last_seq: number };
    const seq = row.last_seq;
    const { from } = p.entry;
    this.#stmts.insert.run(p.room, seq, p.ts, p.entry.kind, from.id, from.name, payload, payload.length);
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

  async noteParticipant(room: string, _peerId: string, name: string): Promise<void> {
    this.#assertOpen();
    const now = Date.now();
    this.#stmts.ensureRoom.run(room, now, now);
    this.#stmts.participant.run(room, name, now);
  }

  async stats(room: string): Promise<RoomStats | undefined> {
    this.#assertOpen();
    const row = this.#stmts.stats.get(room) as
      | { name: string; messages: number; bytes: number; last_seq: number; created_at: number; last_activity_at: number; participants: number }
      | undefined;
    if (!row) return undefined;
    return {
      room: row.name,
      messages: row.messages,
      bytes: row.bytes,
      lastSeq: row.last_seq,
      participantsSeen: row.participants,
      createdAt: row.created_at,
      lastActivityAt: row.last_activity_at,
    };
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

function migrate(db: Database.Database): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (let v = current; v < SQLITE_MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(SQLITE_MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}
