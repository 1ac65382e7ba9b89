/**
 * Stream keys are durable: kept in the room log's database (SQLite in the data dir, or PostgreSQL),
 * a key minted before a restart still authenticates WHIP after it and is still listed (with when it
 * was last used); a revoked key is refused (401 STREAM_KEY_INVALID); the per-room cap holds, also
 * for concurrent requests; deleting a room deletes its keys; a database failure answers
 * STORAGE_FAILED (503) and the server keeps serving. WHIP auth is checked without a media session:
 * a request with a good key and a bad offer gets past auth and fails on the SDP (400 BAD_SDP).
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { createServerClient, type ServerClient } from '@parley-rtc/protocol/serverClient';
import { startServer, type TestServer } from '@parley-rtc/test-support/server';
import type { ConfigInput } from '../../src/config.ts';
import { SqliteLogStore } from '../../src/roomlog/SqliteLogStore.ts';
import { postgresSkipReason, startPostgres, type TestPostgres } from '../postgres.ts';

const ADMIN_KEY = 'stream-keys-admin-key-0123456789';

/** WHIP into `room` with `key` and an offer that is not SDP: [status, code]. 400 BAD_SDP means the key was accepted. */
async function whip(server: TestServer, room: string, key: string): Promise<[number, string]> {
  const res = await fetch(`${server.app.url}/whip/rooms/${room}`, {
    method: 'POST',
    headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
    body: 'not an offer',
  });
  const body = (await res.json()) as { error: { code: string } };
  return [res.status, body.error.code];
}

const ACCEPTED: [number, string] = [400, 'BAD_SDP'];
const REFUSED: [number, string] = [401, 'STREAM_KEY_INVALID'];

interface Backend {
  name: string;
  skip: string | undefined;
  /** The storage config of a server on `dataDir` (the same data each time it is called). */
  storage(dataDir: string): ConfigInput['storage'];
  /** Makes the next stream key query fail (the table goes away under the server) and undoes it. */
  breakTable(server: TestServer, broken: boolean): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

let postgres: TestPostgres | undefined;
const rename = (broken: boolean) =>
  broken ? 'ALTER TABLE stream_keys RENAME TO stream_keys_away' : 'ALTER TABLE stream_keys_away RENAME TO stream_keys';

const backends: Backend[] = [
  {
    name: 'SQLite',
    skip: undefined,
    storage: () => ({ driver: 'sqlite' }),
    breakTable: async (server, broken) => {
      assert.ok(server.app.store instanceof SqliteLogStore);
      server.app.store.db.exec(rename(broken));
    },
    start: async () => {},
    stop: async () => {},
  },
  {
    name: 'PostgreSQL',
    skip: postgresSkipReason(),
    storage: () => ({ driver: 'postgres', postgresUrl: postgres!.url }),
    breakTable: async (_server, broken) => {
      const client = new pg.Client({ connectionString: postgres!.url });
      await client.connect();
      try {
        await client.query(rename(broken));
      } finally {
        await client.end();
      }
    },
    start: async () => {
      postgres = await startPostgres();
    },
    stop: async () => {
      await postgres?.close();
    },
  },
];

for (const backend of backends) {
  describe(`stream keys on ${backend.name}`, { skip: backend.skip ?? false }, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'parley-stream-keys-'));
    let server: TestServer | undefined;
    const open = async () => {
      server = await startServer({
        dataDir,
        adminKey: ADMIN_KEY,
        storage: backend.storage(dataDir),
        rateLimits: { httpPerSec: 1e6, httpBurst: 1e6 },
      });
      return server;
    };
    const api = (s: TestServer): ServerClient => createServerClient({ url: s.app.url, bearer: ADMIN_KEY });
    before(async () => {
      await backend.start();
      await open();
    });
    after(async () => {
      await server?.close();
      await backend.stop();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('a key minted before a restart still publishes after it, is listed with its last use, and stops when revoked', async () => {
      let s = server!;
      const kept = await api(s).createStreamKey('studio', { name: 'OBS' });
      const revoked = await api(s).createStreamKey('studio', { name: 'Backup' });
      assert.deepEqual(await whip(s, 'studio', kept.key), ACCEPTED);
      await s.close();

      s = await open();
      const listed = await api(s).listStreamKeys('studio');
      assert.deepEqual(
        listed.map((k) => [k.id, k.room, k.name, k.createdAt]),
        [
          [kept.id, 'studio', 'OBS', kept.createdAt],
          [revoked.id, 'studio', 'Backup', revoked.createdAt],
        ],
      );
      assert.equal(typeof listed[0]!.lastUsedAt, 'number', 'the key used before the restart has a last use');
      assert.ok(listed[0]!.lastUsedAt! >= kept.createdAt);
      assert.equal(listed[1]!.lastUsedAt, undefined, 'a key never used has none');
      assert.ok(
        listed.every((k) => !('key' in k)),
        'no secret is listed',
      );

      assert.deepEqual(await whip(s, 'studio', kept.key), ACCEPTED);
      assert.deepEqual(await whip(s, 'studio', revoked.key), ACCEPTED);
      assert.deepEqual(await whip(s, 'other-room', kept.key), REFUSED, 'a key works for its own room only');
      assert.deepEqual(await whip(s, 'studio', `${kept.key.slice(0, -2)}xx`), REFUSED);

      await api(s).deleteStreamKey('studio', revoked.id);
      assert.deepEqual(await whip(s, 'studio', revoked.key), REFUSED);
      await assert.rejects(api(s).deleteStreamKey('studio', revoked.id), { code: 'NOT_FOUND' });
      await assert.rejects(api(s).deleteStreamKey('other-room', kept.id), { code: 'NOT_FOUND' }, 'a key is revoked through its own room');
      await s.close();

      s = await open();
      assert.deepEqual(await whip(s, 'studio', revoked.key), REFUSED, 'a revoked key stays revoked after a restart');
      assert.deepEqual(await whip(s, 'studio', kept.key), ACCEPTED);
      assert.deepEqual(
        (await api(s).listStreamKeys('studio')).map((k) => k.id),
        [kept.id],
      );
    });

    it('at most 20 keys per room, also when they are asked for at once; a revoked one frees its place', async () => {
      const s = server!;
      const results = await Promise.allSettled(Array.from({ length: 26 }, (_, i) => api(s).createStreamKey('capped', { name: `k${i}` })));
      const made = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
      const refused = results.filter((r) => r.status === 'rejected').map((r) => (r.reason as { code?: string }).code);
      assert.equal(made.length, 20);
      assert.deepEqual(new Set(refused), new Set(['RATE_LIMITED']));
      assert.equal((await api(s).listStreamKeys('capped')).length, 20);
      await assert.rejects(api(s).createStreamKey('capped'), { code: 'RATE_LIMITED' });
      await api(s).deleteStreamKey('capped', made[0]!.id);
      await api(s).createStreamKey('capped');
      // other rooms have their own 20
      await api(s).createStreamKey('uncapped');
    });

    it('deleting a room deletes its keys, also a room that has nothing but keys', async () => {
      const s = server!;
      const key = await api(s).createStreamKey('doomed', { name: 'cam' });
      const other = await api(s).createStreamKey('spared');
      assert.deepEqual(await api(s).deleteRoom('doomed'), { entries: 0, filesDeleted: 0 });
      assert.deepEqual(await whip(s, 'doomed', key.key), REFUSED);
      assert.deepEqual(await api(s).listStreamKeys('doomed'), []);
      assert.deepEqual(await whip(s, 'spared', other.key), ACCEPTED);
      await assert.rejects(api(s).deleteRoom('doomed'), { code: 'ROOM_NOT_FOUND' }, 'nothing is left of it');
    });

    it('a database failure answers STORAGE_FAILED (503); the server keeps serving and recovers', async () => {
      const s = server!;
      const key = await api(s).createStreamKey('fragile');
      await backend.breakTable(s, true);
      try {
        await assert.rejects(api(s).createStreamKey('fragile'), { code: 'STORAGE_FAILED' });
        await assert.rejects(api(s).listStreamKeys('fragile'), { code: 'STORAGE_FAILED' });
        await assert.rejects(api(s).deleteStreamKey('fragile', key.id), { code: 'STORAGE_FAILED' });
        assert.deepEqual(await whip(s, 'fragile', key.key), [503, 'STORAGE_FAILED']);
        assert.equal((await fetch(`${s.app.url}/healthz`)).status, 200);
      } finally {
        await backend.breakTable(s, false);
      }
      assert.deepEqual(await whip(s, 'fragile', key.key), ACCEPTED);
    });
  });
}
