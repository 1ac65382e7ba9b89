import { join } from 'node:path';
import type { ParleyConfig } from '../config.ts';
import type { LogStore } from './LogStore.ts';
import { SqliteLogStore } from './SqliteLogStore.ts';

/** Opens the configured room-log backend. */
export async function openStore(config: ParleyConfig): Promise<LogStore> {
  const { storage } = config;
  if (storage.driver === 'postgres') {
    if (!storage.postgresUrl) throw new Error('storage.driver is postgres but storage.postgresUrl is not set');
    throw new Error('the postgres backend is not available in this build');
  }
  return new SqliteLogStore({
    path: storage.sqlitePath ?? join(config.dataDir, 'parley.db'),
    synchronous: storage.sqliteSynchronous,
  });
}
