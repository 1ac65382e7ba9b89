import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ParleyError } from '@parley-rtc/protocol';
import { KeyedLock } from './KeyedLock.ts';

const SHA256 = /^[0-9a-f]{64}$/;

/** A finished upload in the temp area: hashed and counted, not yet visible by hash. */
export interface IngestedBlob {
  sha256: string;
  size: number;
  tmpPath: string;
}

/** Which of the given hashes are still referenced by some room. */
export type ReferenceCheck = (sha256s: readonly string[]) => Promise<Set<string>>;

/**
 * Content-addressed files on disk: `<dir>/<aa>/<sha256>`, one copy per content. Uploads stream
 * into `<dir>/tmp` while being hashed, are fsynced, then renamed into place. A per-hash lock
 * orders "make visible and reference" against "check references and delete", so a blob is never
 * deleted between its rename and its announcement in the room log.
 */
export class BlobStore {
  readonly #dir: string;
  readonly #tmp: string;
  readonly #locks = new KeyedLock();
  #closed = false;

  constructor(dir: string) {
    this.#dir = dir;
    this.#tmp = join(dir, 'tmp');
  }

  /** Creates the directories and removes uploads a crash left half-written. */
  async init(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true });
    for (const name of await readdir(this.#tmp)) await rm(join(this.#tmp, name), { force: true });
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new TypeError('not a sha256 hex digest');
    return join(this.#dir, sha256.slice(0, 2), sha256);
  }

  /**
   * Streams `source` into a temp file while hashing it. Past `maxBytes` it stops reading and
   * throws PAYLOAD_TOO_LARGE; on any failure the temp file is removed.
   */
  async ingest(source: Readable, maxBytes: number): Promise<IngestedBlob> {
    this.#assertOpen();
    const tmpPath = join(this.#tmp, `${randomUUID()}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > maxBytes) {
          done(new ParleyError('PAYLOAD_TOO_LARGE', `the upload is larger than ${maxBytes} bytes`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source, meter, createWriteStream(tmpPath, { flags: 'wx' }));
      const fh = await open(tmpPath, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    } catch (err) {
      await rm(tmpPath, { force: true });
      if (err instanceof ParleyError) throw err;
      if (isAbort(err)) throw new ParleyError('INVALID_PAYLOAD', 'the upload was interrupted', undefined, err);
      throw err;
    }
    return { sha256: hash.digest('hex'), size, tmpPath };
  }

  /**
   * Moves an ingested upload to its content address (dropping it if that content is already
   * stored) and runs `announce` while holding the hash's lock. If `announce` throws, the blob
   * is deleted again unless something references it.
   */
  async commit<T>(blob: IngestedBlob, announce: () => Promise<T>, isReferenced: ReferenceCheck): Promise<T> {
    return this.#locks.run(blob.sha256, async () => {
      const target = this.pathOf(blob.sha256);
      try {
        if (await exists(target)) {
          await rm(blob.tmpPath, { force: true });
        } else {
          await mkdir(join(this.#dir, blob.sha256.slice(0, 2)), { recursive: true });
          await rename(blob.tmpPath, target);
          await syncDir(join(this.#dir, blob.sha256.slice(0, 2)));
        }
      } catch (err) {
        await rm(blob.tmpPath, { force: true });
        throw err;
      }
      try {
        return await announce();
      } catch (err) {
        await this.#deleteUnlocked(blob.sha256, isReferenced);
        throw err;
      }
    });
  }

  /** Size of a stored blob, or undefined when it is missing. */
  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return undefined;
    }
  }

  /** A byte range [start, end] (inclusive) of a blob. */
  read(sha256: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(sha256), range ?? {});
  }

  /** Deletes each blob that nothing references any more. Returns the hashes deleted. */
  async release(sha256s: readonly string[], isReferenced: ReferenceCheck): Promise<string[]> {
    const deleted: string[] = [];
    for (const sha of new Set(sha256s)) {
      if (!SHA256.test(sha)) continue;
      const gone = await this.#locks.run(sha, () => this.#deleteUnlocked(sha, isReferenced));
      if (gone) deleted.push(sha);
    }
    return deleted;
  }

  /** Deletes every stored blob that nothing references (e.g. after a crash mid-upload). */
  async sweep(isReferenced: ReferenceCheck): Promise<string[]> {
    const found: string[] = [];
    for (const prefix of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.#dir, prefix)).catch(() => [] as string[])) {
        if (SHA256.test(name) && name.startsWith(prefix)) found.push(name);
      }
    }
    return this.release(found, isReferenced);
  }

  /** Hashes of every stored blob (for tests and tools). */
  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const prefix of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.#dir, prefix))) if (SHA256.test(name)) out.push(name);
    }
    return out.sort();
  }

  /** Idempotent; waits for running commits and deletions. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#locks.idle();
  }

  async #deleteUnlocked(sha256: string, isReferenced: ReferenceCheck): Promise<boolean> {
    if ((await isReferenced([sha256])).has(sha256)) return false;
    try {
      await unlink(this.pathOf(sha256));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
  }

  #assertOpen(): void {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN', 'the file store is closed');
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

async function syncDir(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isAbort(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR';
}
