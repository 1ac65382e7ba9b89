import { Readable } from 'node:stream';
import type pg from 'pg';
import { ParleyError } from '@parley-rtc/protocol';

interface BlobRow {
  blob: string;
  size: string;
  chunk_bytes: number;
}

/**
 * Streams a byte range of a PostgreSQL blob (PostgresBlobStore), one chunk row per `_read`:
 * at most one chunk is in memory per download, and the consumer's pace (the HTTP socket)
 * decides when the next row is fetched. Range ends inside a chunk are cut in SQL (`substring`),
 * so a small Range of a large file reads only the rows, and TOAST slices, it covers.
 */
export class ChunkReader extends Readable {
  readonly #pool: pg.Pool;
  readonly #sha256: string;
  readonly #range: { start: number; end: number } | undefined;
  #plan: { blob: string; chunkBytes: number; next: number; end: number } | undefined;

  constructor(pool: pg.Pool, sha256: string, range?: { start: number; end: number }) {
    // One chunk row (up to chunk_bytes) is pushed per read; a small mark keeps it to one.
    super({ highWaterMark: 64 * 1024 });
    this.#pool = pool;
    this.#sha256 = sha256;
    this.#range = range;
  }

  override _read(): void {
    this.#next().then(
      (chunk) => this.push(chunk),
      (err: Error) => this.destroy(err),
    );
  }

  /** The next piece of the range, or null at its end. */
  async #next(): Promise<Buffer | null> {
    const plan = this.#plan ?? (this.#plan = await this.#start());
    if (plan.next > plan.end) return null;
    const idx = Math.floor(plan.next / plan.chunkBytes);
    const from = plan.next - idx * plan.chunkBytes;
    const length = Math.min(plan.chunkBytes - from, plan.end - plan.next + 1);
    const res = await this.#pool.query<{ data: Buffer }>(
      'SELECT substring(data FROM $3 FOR $4) AS data FROM file_chunks WHERE blob = $1 AND idx = $2',
      [plan.blob, idx, from + 1, length],
    );
    const data = res.rows[0]?.data;
    if (data?.length !== length) throw new ParleyError('NOT_FOUND', `file ${this.#sha256} was deleted while it was being read`);
    plan.next += length;
    return data;
  }

  async #start(): Promise<{ blob: string; chunkBytes: number; next: number; end: number }> {
    const res = await this.#pool.query<BlobRow>('SELECT blob, size, chunk_bytes FROM file_blobs WHERE sha256 = $1', [this.#sha256]);
    const row = res.rows[0];
    if (!row) throw new ParleyError('NOT_FOUND', `no file ${this.#sha256}`);
    const size = Number(row.size);
    return { blob: row.blob, chunkBytes: row.chunk_bytes, next: this.#range?.start ?? 0, end: this.#range?.end ?? size - 1 };
  }
}
