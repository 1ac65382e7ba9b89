import type { Readable } from 'node:stream';

export const SHA256_HEX = /^[0-9a-f]{64}$/;

/** A finished upload in the store's staging area: hashed and counted, not yet visible by hash. */
export interface IngestedBlob {
  sha256: string;
  size: number;
  /** Where the bytes wait (a temp file, an upload id); only the store that made it reads it. */
  staged: string;
}

/** Which of the given hashes are still referenced by some room. */
export type ReferenceCheck = (sha256s: readonly string[]) => Promise<Set<string>>;

/**
 * Content-addressed file storage: one copy per content, named by its SHA-256. Two backends:
 * a directory (DiskBlobStore: `<dataDir>/files`, or a shared `files.dir`) and PostgreSQL
 * (PostgresBlobStore: chunked bytea rows, readable from every node of a cluster).
 *
 * Uploads are staged while being hashed (`ingest`), then made visible and announced under a
 * per-hash lock (`commit`); deletion takes the same lock and re-checks references, so a blob is
 * never deleted between becoming visible and its announcement in the room log.
 */
export interface BlobStore {
  readonly kind: 'disk' | 'postgres';
  /** Creates what the store needs and removes uploads a crash left half-written. */
  init(): Promise<void>;
  /**
   * Streams `source` into staging while hashing it. Past `maxBytes` it stops reading and throws
   * PAYLOAD_TOO_LARGE; on any failure the staged bytes are removed.
   */
  ingest(source: Readable, maxBytes: number): Promise<IngestedBlob>;
  /**
   * Makes an ingested upload visible at its content address (dropping it if that content is
   * already stored) and runs `announce` while holding the hash's lock. If `announce` throws, the
   * blob is deleted again unless something references it.
   */
  commit<T>(blob: IngestedBlob, announce: () => Promise<T>, isReferenced: ReferenceCheck): Promise<T>;
  /** Size of a stored blob, or undefined when it is missing. */
  size(sha256: string): Promise<number | undefined>;
  /** A byte range [start, end] (inclusive) of a blob, streamed. */
  read(sha256: string, range?: { start: number; end: number }): Readable;
  /** Deletes each blob that nothing references any more. Returns the hashes deleted. */
  release(sha256s: readonly string[], isReferenced: ReferenceCheck): Promise<string[]>;
  /** Deletes every stored blob that nothing references (e.g. after a crash mid-upload). */
  sweep(isReferenced: ReferenceCheck): Promise<string[]>;
  /** Hashes of every stored blob, sorted (for tests and tools). */
  list(): Promise<string[]>;
  /** Idempotent; waits for running commits and deletions. */
  close(): Promise<void>;
}
