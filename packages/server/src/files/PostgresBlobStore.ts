import { randomUUID } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { ParleyError } from '@parley-rtc/protocol';
import { SHA256_HEX, type BlobStore, type IngestedBlob, type ReferenceCheck } from './BlobStore.ts';
import { ChunkReader } from './ChunkReader.ts';
import { IngestMeter, ingestError } from './ingestMeter.ts';
import { KeyedLock } from './KeyedLock.ts';

export interface PostgresBlobStoreOptions {
  /** postgres://user:pass@host:port/db (the room log's database). */
  url: string;
  /** Bytes per stored chunk (one row each). Default 1 MiB. */
  chunkBytes?: number;
  /** Pool size. Default 4. */
  maxConnections?: number;
  /** An upload not written to for this long is a crashed node's leftover. Default 1 h. */
  staleUploadMs?: number;
  /** Called with errors of idle pooled connections. */
  onError?: (err: Error) => void;
}

/**
 * The blob tables, created on first start under an advisory lock (they are the file store's,
 * versioned apart from the room log's migrations). Chunks belong to a storage id, not to a
 * hash: an upload writes chunks before its hash is known, and `file_blobs` names the content
 * once it is complete. `STORAGE EXTERNAL` keeps chunks uncompressed, so a Range read fetches
 * only the TOAST slices it needs.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS file_uploads (id UUID PRIMARY KEY, touched_at BIGINT NOT NULL);
CREATE TABLE IF NOT EXISTS file_chunks (
  blob UUID NOT NULL,
  idx INTEGER NOT NULL,
  data BYTEA NOT NULL,
  PRIMARY KEY (blob, idx)
);
ALTER TABLE file_chunks ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS file_blobs (
  sha256 TEXT PRIMARY KEY,
  blob UUID NOT NULL UNIQUE,
  size BIGINT NOT NULL,
  chunk_bytes INTEGER NOT NULL,
  created_at BIGINT NOT NULL
);`;

/** Advisory lock class of the file store: `pg_advisory_lock(LOCK_CLASS, <hash prefix>)`. */
const LOCK_CLASS = 0x66696c65; // 'file'

/** The advisory lock key of a hash: its first 32 bits, as a signed int4. */
function lockKey(sha256: string): number {
  return Number.parseInt(sha256.slice(0, 8), 16) | 0;
}

/**
 * Blobs in PostgreSQL, so that every node of a cluster reads what any node stored. An upload is
 * hashed while it streams into `chunkBytes` rows (one INSERT per chunk: memory holds one chunk,
 * not the file); commit names the content in `file_blobs` (or drops the chunks when that
 * content is already there). Reads stream chunk by chunk (ChunkReader) and serve Ranges with
 * `substring`. The per-hash lock is a PostgreSQL advisory lock, so "make visible and announce"
 * on one node and "check references and delete" on another exclude each other.
 */
export class PostgresBlobStore implements BlobStore {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #chunkBytes: number;
  readonly #staleUploadMs: number;
  /** Same-hash work of this process queues here first, so it does not hold pooled clients waiting. */
  readonly #locks = new KeyedLock();
  #closing: Promise<void> | undefined;

  constructor(options: PostgresBlobStoreOptions) {
    this.#chunkBytes = options.chunkBytes ?? 1024 * 1024;
    if (!(this.#chunkBytes >= 1024)) throw new TypeError('chunkBytes must be at least 1024');
    this.#staleUploadMs = options.staleUploadMs ?? 3_600_000;
    this.#pool = new pg.Pool({ connectionString: options.url, max: options.maxConnections ?? 4 });
    this.#pool.on('error', (err) => options.onError?.(err));
  }

  get chunkBytes(): number {
    return this.#chunkBytes;
  }

  async init(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CLASS]);
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    } finally {
      client.release();
    }
    await this.#dropStaleUploads();
  }

  async ingest(source: Readable, maxBytes: number): Promise<IngestedBlob> {
    this.#assertOpen();
    const id = randomUUID();
    await this.#pool.query('INSERT INTO file_uploads (id, touched_at) VALUES ($1, $2)', [id, Date.now()]);
    const meter = new IngestMeter(maxBytes);
    try {
      await pipeline(source, meter, this.#chunkWriter(id));
    } catch (err) {
      await this.#dropUpload(id).catch(() => {});
      throw ingestError(err);
    }
    return { sha256: meter.digest(), size: meter.size, staged: id };
  }

  /** A Writable that cuts what it gets into `chunkBytes` rows of upload `id`, one INSERT at a time. */
  #chunkWriter(id: string): Writable {
    const chunkBytes = this.#chunkBytes;
    let parts: Buffer[] = [];
    let buffered = 0;
    let idx = 0;
    const insert = (data: Buffer) =>
      this.#pool.query(
        `WITH touched AS (UPDATE file_uploads SET touched_at = $4 WHERE id = $1)
         INSERT INTO file_chunks (blob, idx, data) VALUES ($1, $2, $3)`,
        [id, idx++, data, Date.now()],
      );
    const flushFull = async () => {
      while (buffered >= chunkBytes) {
        const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, buffered);
        await insert(all.subarray(0, chunkBytes));
        const rest = all.subarray(chunkBytes);
        parts = rest.length > 0 ? [rest] : [];
        buffered = rest.length;
      }
    };
    return new Writable({
      highWaterMark: chunkBytes,
      write(chunk: Buffer, _enc, done) {
        parts.push(chunk);
        buffered += chunk.length;
        flushFull().then(() => done(), done);
      },
      final(done) {
        const last = buffered > 0 ? Buffer.concat(parts, buffered) : undefined;
        parts = [];
        buffered = 0;
        (last ? insert(last) : Promise.resolve()).then(() => done(), done);
      },
    });
  }

  async commit<T>(blob: IngestedBlob, announce: () => Promise<T>, isReferenced: ReferenceCheck): Promise<T> {
    return this.#withLock(blob.sha256, async (client) => {
      try {
        await client.query('BEGIN');
        const upload = await client.query('DELETE FROM file_uploads WHERE id = $1 RETURNING id', [blob.staged]);
        if (upload.rowCount === 0) throw new ParleyError('STORAGE_FAILED', 'the upload was cleaned up before it was committed');
        const named = await client.query(
          `INSERT INTO file_blobs (sha256, blob, size, chunk_bytes, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (sha256) DO NOTHING`,
          [blob.sha256, blob.staged, blob.size, this.#chunkBytes, Date.now()],
        );
        // That content is stored already: these chunks are a second copy.
        if (named.rowCount === 0) await client.query('DELETE FROM file_chunks WHERE blob = $1', [blob.staged]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        await this.#dropUpload(blob.staged).catch(() => {});
        throw err;
      }
      try {
        return await announce();
      } catch (err) {
        await this.#deleteLocked(client, blob.sha256, isReferenced);
        throw err;
      }
    });
  }

  async size(sha256: string): Promise<number | undefined> {
    if (!SHA256_HEX.test(sha256)) return undefined;
    const res = await this.#pool.query<{ size: string }>('SELECT size FROM file_blobs WHERE sha256 = $1', [sha256]);
    return res.rows[0] ? Number(res.rows[0].size) : undefined;
  }

  read(sha256: string, range?: { start: number; end: number }): Readable {
    if (!SHA256_HEX.test(sha256)) throw new TypeError('not a sha256 hex digest');
    return new ChunkReader(this.#pool, sha256, range);
  }

  async release(sha256s: readonly string[], isReferenced: ReferenceCheck): Promise<string[]> {
    const deleted: string[] = [];
    for (const sha of new Set(sha256s)) {
      if (!SHA256_HEX.test(sha)) continue;
      if (await this.#withLock(sha, (client) => this.#deleteLocked(client, sha, isReferenced))) deleted.push(sha);
    }
    return deleted;
  }

  async sweep(isReferenced: ReferenceCheck): Promise<string[]> {
    await this.#dropStaleUploads();
    const all = await this.list();
    // One query for the common case; release() checks each candidate again under its lock.
    const referenced = await isReferenced(all);
    return this.release(
      all.filter((sha) => !referenced.has(sha)),
      isReferenced,
    );
  }

  async list(): Promise<string[]> {
    const res = await this.#pool.query<{ sha256: string }>('SELECT sha256 FROM file_blobs ORDER BY sha256');
    return res.rows.map((r) => r.sha256);
  }

  /** Rows per stored blob (for tests: how a blob was chunked). */
  async chunksOf(sha256: string): Promise<number[]> {
    const res = await this.#pool.query<{ len: number }>(
      'SELECT octet_length(c.data) AS len FROM file_blobs b JOIN file_chunks c ON c.blob = b.blob WHERE b.sha256 = $1 ORDER BY c.idx',
      [sha256],
    );
    return res.rows.map((r) => r.len);
  }

  /** Chunks written so far by uploads that are not committed yet (for tests). */
  async stagedChunks(): Promise<number> {
    const res = await this.#pool.query<{ n: string }>('SELECT count(*) AS n FROM file_chunks c JOIN file_uploads u ON u.id = c.blob');
    return Number(res.rows[0]?.n ?? 0);
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#locks.idle();
      await this.#pool.end();
    })();
    return this.#closing;
  }

  /** Runs `fn` holding this hash's lock in this process and in PostgreSQL (on `fn`'s client). */
  async #withLock<T>(sha256: string, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.#locks.run(sha256, async () => {
      const client = await this.#pool.connect();
      let broken: Error | undefined;
      try {
        await client.query('SELECT pg_advisory_lock($1, $2)', [LOCK_CLASS, lockKey(sha256)]);
        try {
          return await fn(client);
        } finally {
          await client.query('SELECT pg_advisory_unlock($1, $2)', [LOCK_CLASS, lockKey(sha256)]).catch((err: Error) => (broken = err));
        }
      } finally {
        // A connection that failed to unlock may still hold the lock: close it rather than reuse it.
        client.release(broken);
      }
    });
  }

  async #deleteLocked(client: pg.PoolClient, sha256: string, isReferenced: ReferenceCheck): Promise<boolean> {
    if ((await isReferenced([sha256])).has(sha256)) return false;
    try {
      await client.query('BEGIN');
      const gone = await client.query<{ blob: string }>('DELETE FROM file_blobs WHERE sha256 = $1 RETURNING blob', [sha256]);
      const blob = gone.rows[0]?.blob;
      if (blob !== undefined) await client.query('DELETE FROM file_chunks WHERE blob = $1', [blob]);
      await client.query('COMMIT');
      return blob !== undefined;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => {});
      throw err;
    }
  }

  async #dropUpload(id: string): Promise<void> {
    await this.#pool.query(
      'WITH gone AS (DELETE FROM file_uploads WHERE id = $1) DELETE FROM file_chunks WHERE blob = $1 AND NOT EXISTS (SELECT 1 FROM file_blobs WHERE blob = $1)',
      [id],
    );
  }

  /** Uploads a crashed node left half-written (not touched for staleUploadMs). */
  async #dropStaleUploads(): Promise<void> {
    const stale = await this.#pool.query<{ id: string }>('SELECT id FROM file_uploads WHERE touched_at < $1', [
      Date.now() - this.#staleUploadMs,
    ]);
    for (const { id } of stale.rows) await this.#dropUpload(id);
  }

  #assertOpen(): void {
    if (this.#closing) throw new ParleyError('SHUTTING_DOWN', 'the file store is closed');
  }
}
