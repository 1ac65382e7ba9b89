import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import { ParleyError } from '@parley-rtc/protocol';

/**
 * A pass-through that hashes (SHA-256) and counts what an upload streams through it; past
 * `maxBytes` it fails with PAYLOAD_TOO_LARGE, which stops the pipeline reading the body.
 */
export class IngestMeter extends Transform {
  readonly #hash = createHash('sha256');
  readonly #maxBytes: number;
  size = 0;

  constructor(maxBytes: number) {
    super();
    this.#maxBytes = maxBytes;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null, data?: Buffer) => void): void {
    this.size += chunk.length;
    if (this.size > this.#maxBytes) {
      done(new ParleyError('PAYLOAD_TOO_LARGE', `the upload is larger than ${this.#maxBytes} bytes`));
      return;
    }
    this.#hash.update(chunk);
    done(null, chunk);
  }

  /** The hex digest; call once, after the pipeline finished. */
  digest(): string {
    return this.#hash.digest('hex');
  }
}

/** Maps a failed upload pipeline to the error the client gets. */
export function ingestError(err: unknown): unknown {
  if (err instanceof ParleyError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ABORT_ERR')
    return new ParleyError('INVALID_PAYLOAD', 'the upload was interrupted', undefined, err);
  return err;
}
