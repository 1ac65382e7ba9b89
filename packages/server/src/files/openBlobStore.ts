import { join } from 'node:path';
import { ConfigError, type ParleyConfig } from '../config.ts';
import type { BlobStore } from './BlobStore.ts';
import { DiskBlobStore } from './DiskBlobStore.ts';
import { PostgresBlobStore } from './PostgresBlobStore.ts';

type FilesConfig = Pick<ParleyConfig, 'files' | 'storage' | 'dataDir' | 'redis'>;

/**
 * Where uploaded files live. `files.store: auto` (the default) means PostgreSQL in cluster mode
 * unless `files.dir` names a shared directory, and `<dataDir>/files` (or `files.dir`) on one node.
 * A node-local directory in cluster mode is refused: other nodes could not serve its files.
 */
export function fileStoreKind(config: FilesConfig): 'disk' | 'postgres' {
  const clustered = config.redis.url !== undefined;
  const { store, dir } = config.files;
  const kind = store === 'auto' ? (clustered && dir === undefined ? 'postgres' : 'disk') : store;
  if (kind === 'postgres' && (config.storage.driver !== 'postgres' || !config.storage.postgresUrl)) {
    throw new ConfigError(
      'files.store is postgres, which keeps files in the room log database: set storage.driver to postgres and storage.postgresUrl',
    );
  }
  if (kind === 'disk' && clustered && dir === undefined) {
    throw new ConfigError(
      'files.store is disk in cluster mode: set files.dir to a directory every node shares (NFS, CephFS), or use files.store postgres',
    );
  }
  return kind;
}

/** Opens (and initialises) the configured blob store. */
export async function openBlobStore(config: FilesConfig, onError?: (err: Error) => void): Promise<BlobStore> {
  const blobs: BlobStore =
    fileStoreKind(config) === 'postgres'
      ? new PostgresBlobStore({ url: config.storage.postgresUrl!, ...(onError ? { onError } : {}) })
      : new DiskBlobStore(config.files.dir ?? join(config.dataDir, 'files'), { shared: config.redis.url !== undefined });
  try {
    await blobs.init();
  } catch (err) {
    await blobs.close().catch(() => {});
    throw err;
  }
  return blobs;
}
