import { randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ParleyError } from '@parley-rtc/protocol';
import { SHA256_HEX as SHA256, type BlobStore, type IngestedBlob, type ReferenceCheck } from './BlobStore.ts';
import { IngestMeter, ingestError } from './ingestMeter.ts';
import { KeyedLock } from './KeyedLock.ts';

/**
 * Content-addressed files in a directory: `<dir>/<aa>/<sha256>`, one copy per content. Uploads stream
 * into `<dir>/tmp` while being hashed, are fsynced, then renamed into place. A per-hash lock
 * orders "make visible and reference" against "check references and delete", so a blob is never
 * deleted between its rename and its announcement in the room log.
 */
export class DiskBlobStore implements BlobStore {
  readonly kind = 'disk' as const;
  readonly #dir: string;
  readonly #tmp: string;
  readonly #locks = new KeyedLock();
  #closed = false;

  /** Older than this, a temp file or an unreferenced blob in a shared directory is a crash's leftover. */
  readonly #sharedGraceMs: number | undefined;

  /**
   * `shared`: other nodes use the same directory (cluster mode with `files.dir` on a shared
   * filesystem). Their uploads and commits are invisible to this process's lock, so start-up
   * cleaning only touches temp files and unreferenced blobs untouched for `graceMs` (default 1 h).
   */
  constructor(dir: string, options: { shared?: boolean; graceMs?: number } = {}) {
    this.#dir = dir;
    this.#tmp = join(dir, 'tmp');
    this.#sharedGraceMs = options.shared ? (options.graceMs ?? 3_600_000) : undefined;
  }

  async init(): Promise<void> {
    await mkdir(this.#tmp, { recursive: true });
    for (const name of await readdir(this.#tmp)) {
      if (await this.#leftOver(join(this.#tmp, name))) await rm(join(this.#tmp, name), { force: true });
    }
  }

  /** Whether a file may be cleaned up: always on a private directory; once stale on a shared one. */
  async #leftOver(path: string): Promise<boolean> {
    if (this.#sharedGraceMs === undefined) return true;
    const mtimeMs = await stat(path).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
    return mtimeMs !== undefined && Date.now() - mtimeMs > this.#sharedGraceMs;
  }

  pathOf(sha256: string): string {
    if (!SHA256.test(sha256)) throw new TypeError('not a sha256 hex digest');
    return join(this.#dir, sha256.slice(0, 2), sha256);
  }

  async ingest(source: Readable, maxBytes: number): Promise<IngestedBlob> {
    this.#assertOpen();
    const tmpPath = join(this.#tmp, `${randomUUID()}.part`);
    const meter = new IngestMeter(maxBytes);
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
      throw ingestError(err);
    }
    return { sha256: meter.digest(), size: meter.size, staged: tmpPath };
  }

  async commit<T>(blob: IngestedBlob, announce: () => Promise<T>, isReferenced: ReferenceCheck): Promise<T> {
    return this.#locks.run(blob.sha256, async () => {
      const target = this.pathOf(blob.sha256);
      try {
        if (await exists(target)) {
          await rm(blob.staged, { force: true });
          // Fresh again for other nodes' start-up sweep (see #leftOver).
          if (this.#sharedGraceMs !== undefined) await utimes(target, new Date(), new Date());
        } else {
          await mkdir(join(this.#dir, blob.sha256.slice(0, 2)), { recursive: true });
          await rename(blob.staged, target);
          await syncDir(join(this.#dir, blob.sha256.slice(0, 2)));
        }
      } catch (err) {
        await rm(blob.staged, { force: true });
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

  async size(sha256: string): Promise<number | undefined> {
    try {
      return (await stat(this.pathOf(sha256))).size;
    } catch {
      return undefined;
    }
  }

  read(sha256: string, range?: { start: number; end: number }): ReadStream {
    return createReadStream(this.pathOf(sha256), range ?? {});
  }

  async release(sha256s: readonly string[], isReferenced: ReferenceCheck): Promise<string[]> {
    const deleted: string[] = [];
    for (const sha of new Set(sha256s)) {
      if (!SHA256.test(sha)) continue;
      const gone = await this.#locks.run(sha, () => this.#deleteUnlocked(sha, isReferenced));
      if (gone) deleted.push(sha);
    }
    return deleted;
  }

  async sweep(isReferenced: ReferenceCheck): Promise<string[]> {
    const found: string[] = [];
    for (const prefix of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.#dir, prefix)).catch(() => [] as string[])) {
        if (SHA256.test(name) && name.startsWith(prefix) && (await this.#leftOver(join(this.#dir, prefix, name)))) found.push(name);
      }
    }
    return this.release(found, isReferenced);
  }

  async list(): Promise<string[]> {
    const out: string[] = [];
    for (const prefix of await readdir(this.#dir).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{2}$/.test(prefix)) continue;
      for (const name of await readdir(join(this.#dir, prefix))) if (SHA256.test(name)) out.push(name);
    }
    return out.sort();
  }

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
