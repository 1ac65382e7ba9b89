import { join } from 'node:path';
import type { ParleyConfig } from '../config.ts';
import type { LogStore } from './LogStore.ts';
import { PostgresLogStore } from './PostgresLogStore.ts';
import { SqliteLogStore } from './SqliteLogStore.ts';

/** Opens the configured room-log backend. */
export async function openStore(config: ParleyConfig, onError?: (err: Error) => void): Promise<LogStore> {
  const { storage } = config;
  if (storage.driver === 'postgres') {
    if (!storage.postgresUrl) throw new Error('storage.driver is postgres but storage.postgresUrl is not set');
    return PostgresLogStore.open({ url: storage.postgresUrl, ...(onError ? { onError } : {}) });
  }
  return new SqliteLogStore({
    path: storage.sqlitePath ?? join(config.dataDir, 'parley.db'),
    synchronous: storage.sqliteSynchronous,
    driver: storage.sqliteDriver,
  });
}
