/**
 * Upgrading a room log database written by the previous release: a SQLite file at user_version 2
 * and a PostgreSQL database at schema version 1 (built here from the released migrations, with
 * rows in every table) open with the current stores, which append the stream_keys migration, keep
 * every row (entries, participants, files) and can store stream keys. Opening again migrates nothing.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { LogStore } from '../src/roomlog/LogStore.ts';
import { POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS } from '../src/roomlog/migrations.ts';
import { PostgresLogStore } from '../src/roomlog/PostgresLogStore.ts';
import { SqliteLogStore } from '../src/roomlog/SqliteLogStore.ts';
import { openSqlite } from '../src/roomlog/sqliteDriver.ts';
import { postgresSkipReason, startPostgres, type TestPostgres } from './postgres.ts';

const SHA = 'd'.repeat(64);
const FILE_PAYLOAD = JSON.stringify({ file: { id: 'f1', name: 'notes.txt', size: 42, type: 'text/plain', sha256: SHA } });
const CHAT_PAYLOAD = JSON.stringify({ text: 'from the old release' });

/** The old release's rows: a room with a chat and a file entry, one participant. Placeholders are `?` or `$n`. */
function oldRows(p: (n: number) => string): Array<[string, Array<string | number>]> {
  const values = (n: number) => Array.from({ length: n }, (_, i) => p(i + 1)).join(', ');
  return [
    [
      `INSERT INTO rooms (name, last_seq, messages, bytes, created_at, last_activity_at) VALUES (${values(6)})`,
      ['old', 2, 2, 10, 1000, 2000],
    ],
    [
      `INSERT INTO entries (room, seq, ts, kind, sender_id, sender_name, payload, size) VALUES (${values(8)})`,
      ['old', 1, 1000, 'chat', '_a', 'Alice', CHAT_PAYLOAD, 5],
    ],
    [
      `INSERT INTO entries (room, seq, ts, kind, sender_id, sender_name, payload, size) VALUES (${values(8)})`,
      ['old', 2, 2000, 'file', '_a', 'Alice', FILE_PAYLOAD, 5],
    ],
    [`INSERT INTO room_files (room, seq, sha256, name, size, type) VALUES (${values(6)})`, ['old', 2, SHA, 'notes.txt', 42, 'text/plain']],
    [`INSERT INTO participants (room, name, first_seen_at) VALUES (${values(3)})`, ['old', 'Alice', 1000]],
  ];
}

/** What an upgraded store must still have, and that stream keys work in it. */
async function assertUpgraded(store: LogStore): Promise<void> {
  const entries = await store.range('old', { limit: 10 });
  assert.deepEqual(
    entries.map((e) => [e.seq, e.ts, e.kind, e.from.name]),
    [
      [1, 1000, 'chat', 'Alice'],
      [2, 2000, 'file', 'Alice'],
    ],
  );
  assert.deepEqual((await store.findFile('old', SHA))?.file.name, 'notes.txt');
  const stats = await store.stats('old');
  assert.deepEqual([stats?.messages, stats?.lastSeq, stats?.participantsSeen, stats?.files], [2, 2, 1, 1]);
  assert.equal((await store.append('old', { kind: 'chat', from: { id: '_b', name: 'Bob' }, text: 'after' })).seq, 3);

  const key = { id: 'sk-upgraded', room: 'old', name: 'OBS', hash: 'hash-of-a-secret', createdAt: 3000 };
  assert.equal(await store.streamKeys.insert(key, 20), true);
  assert.equal((await store.streamKeys.find('old', key.hash, 4000))?.lastUsedAt, 4000);
  assert.deepEqual(await store.streamKeys.list('old'), [{ id: key.id, room: 'old', name: 'OBS', createdAt: 3000, lastUsedAt: 4000 }]);
}

describe('SQLite: a database of the previous release (user_version 2) upgrades and keeps its rows', () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-migrate-'));
  const path = join(dir, 'parley.db');
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates to the current version once', async () => {
    assert.equal(SQLITE_MIGRATIONS.length, 3, 'this test builds the database of the release before the last migration');
    const old = openSqlite(path);
    old.exec('PRAGMA foreign_keys = ON');
    for (const sql of SQLITE_MIGRATIONS.slice(0, 2)) old.exec(sql);
    old.exec('PRAGMA user_version = 2');
    for (const [sql, params] of oldRows(() => '?')) old.prepare(sql).run(...params);
    old.close();

    const store = new SqliteLogStore({ path });
    try {
      assert.equal(Number((store.db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version), 3);
      await assertUpgraded(store);
    } finally {
      await store.close();
    }
    const again = new SqliteLogStore({ path });
    try {
      assert.equal((await again.streamKeys.list('old')).length, 1, 'reopening keeps the keys and migrates nothing');
    } finally {
      await again.close();
    }
  });
});

describe(
  'PostgreSQL: a database of the previous release (schema version 1) upgrades and keeps its rows',
  { skip: postgresSkipReason() ?? false },
  () => {
    let server: TestPostgres | undefined;
    before(async () => {
      server = await startPostgres();
    });
    after(async () => {
      await server?.close();
    });

    it('migrates to the current version once, also when two nodes start together', async () => {
      assert.equal(POSTGRES_MIGRATIONS.length, 2, 'this test builds the database of the release before the last migration');
      const url = server!.url;
      const old = new pg.Client({ connectionString: url });
      await old.connect();
      try {
        await old.query('CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)');
        await old.query(POSTGRES_MIGRATIONS[0]!);
        await old.query('INSERT INTO schema_migrations (version, applied_at) VALUES (1, 0)');
        for (const [sql, params] of oldRows((n) => `$${n}`)) await old.query(sql, params);
      } finally {
        await old.end();
      }

      // two nodes starting at once: the advisory lock lets one migrate, the other finds it done
      const [a, b] = await Promise.all([PostgresLogStore.open({ url }), PostgresLogStore.open({ url })]);
      try {
        const versions = await a.pool.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
        assert.deepEqual(
          versions.rows.map((r) => r.version),
          [1, 2],
        );
        await assertUpgraded(a);
        assert.equal((await b.streamKeys.list('old')).length, 1, 'the other node sees the key');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    });
  },
);
