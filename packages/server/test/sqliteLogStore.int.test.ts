import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteLogStore } from '../src/roomlog/SqliteLogStore.ts';
import { describeLogStore } from './logStoreSuite.ts';

describeLogStore('SQLite (WAL, synchronous=full)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'parley-sqlite-'));
  const path = join(dir, 'log.db');
  let store = new SqliteLogStore({ path });
  return {
    store,
    async reopen() {
      await store.close();
      store = new SqliteLogStore({ path });
      return store;
    },
    async cleanup() {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
