import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { SqliteLogStore } from '../src/roomlog/SqliteLogStore.ts';
import { resolveSqliteDriver } from '../src/roomlog/sqliteDriver.ts';
import { describeLogStore } from './logStoreSuite.ts';

/** The engines this runtime has: node:sqlite on Node 22.13+, better-sqlite3 where it loads (Node 20 here). */
const engines = (['node', 'better-sqlite3'] as const).filter((choice) => {
  try {
    resolveSqliteDriver(choice);
    return true;
  } catch {
    return false;
  }
});

test(`this runtime (${process.version}) has a SQLite engine, and auto prefers node:sqlite`, () => {
  assert.ok(engines.length > 0, 'neither node:sqlite nor better-sqlite3');
  assert.equal(resolveSqliteDriver('auto'), engines.includes('node') ? 'node:sqlite' : 'better-sqlite3');
  // PARLEY_EXPECT_SQLITE lets a test on another Node version (runtimes.int.test.ts) say what it expects.
  const expected = process.env['PARLEY_EXPECT_SQLITE'];
  if (expected) assert.equal(resolveSqliteDriver('auto'), expected);
});

for (const driver of engines) {
  describeLogStore(`SQLite on ${driver === 'node' ? 'node:sqlite' : driver} (WAL, synchronous=full)`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'));
    const path = join(dir, 'log.db');
    let store = new SqliteLogStore({ path, driver });
    return {
      store,
      async reopen() {
        await store.close();
        store = new SqliteLogStore({ path, driver });
        return store;
      },
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
}
