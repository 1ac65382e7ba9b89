import type { FileChunk, FileTransferEndReason, FileTransferMessage } from '@parley-rtc/protocol';
import { ClientError } from '../errors.ts';
import { sha256Hex, Transfer, type FileTransferError } from './Transfer.ts';

/**
 * A file a member offers to send us directly. `accept()` starts it and resolves with the file
 * once every byte arrived and its SHA-256 matched; `decline()` refuses it. After a dropped data
 * path we resume at the bytes we hold, once the path is back.
 */
export class IncomingTransfer extends Transfer {
  readonly direction = 'receive';
  #chunks: Uint8Array<ArrayBuffer>[] = [];
  #received = 0;
  /** The offset we last asked the sender to go back to after a gap (one request per gap). */
  #gapResumeAt = -1;
  #result: Promise<Blob> | undefined;
  #resolve: ((file: Blob) => void) | undefined;
  #reject: ((err: FileTransferError) => void) | undefined;

  /** Starts receiving; resolves with the verified file (its type is the offered MIME type). */
  accept(): Promise<Blob> {
    if (this.#result) return this.#result;
    if (this.finished) return Promise.reject(new ClientError('invalid-state', `the transfer of ${this.name} is ${this.state}`));
    this.#result = new Promise<Blob>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.setState('transferring');
    this.#requestFrom(0);
    return this.#result;
  }

  /** Refuses the offer (the sender sees `declined`). */
  decline(): void {
    this.end('declined', true);
  }

  /** @internal A control message for this transfer from its peer. */
  handleMessage(msg: FileTransferMessage): void {
    if (this.finished) return;
    if (msg.type === 'cancel') this.end(msg.reason, false);
    else if (msg.type === 'done' && this.#result) {
      // Chunks went missing (a relay dropped them, e.g. the SFU's rate limit): ask again from the gap.
      // (`done` comes once per pass, so asking on every `done` cannot flood the sender.)
      if (this.#received < this.size) {
        this.#gapResumeAt = this.#received;
        this.#requestFrom(this.#received);
      } else void this.#verify(msg.sha256);
    }
  }

  /** @internal A chunk frame for this transfer. Out-of-place chunks (from before a resume) are skipped. */
  handleChunk(chunk: FileChunk): void {
    if (this.state !== 'transferring') return;
    if (chunk.offset > this.#received) this.#resumeAtGap();
    if (chunk.offset !== this.#received) return;
    if (this.#received + chunk.data.length > this.size) {
      this.end('error', true);
      return;
    }
    this.#chunks.push(chunk.data.slice());
    this.#received += chunk.data.length;
    this.setLoaded(this.#received);
  }

  protected onReopen(): void {
    if (this.state !== 'paused' || !this.#result) return;
    this.setState('transferring');
    this.#requestFrom(this.#received);
  }

  protected onEnd(reason: FileTransferEndReason | undefined, error: FileTransferError | undefined): void {
    if (reason !== undefined && error) this.#reject?.(error);
    this.#chunks = [];
  }

  #resumeAtGap(): void {
    if (this.#gapResumeAt === this.#received) return;
    this.#gapResumeAt = this.#received;
    this.#requestFrom(this.#received);
  }

  #requestFrom(offset: number): void {
    this.sendMessage({ type: 'accept', id: this.id, offset }).catch(() => {
      if (!this.port.isOpen()) this.pause();
      else this.end('error', true);
    });
  }

  async #verify(expected: string): Promise<void> {
    this.setState('verifying');
    const file = new Blob(this.#chunks, { type: this.mime });
    let actual: string;
    try {
      actual = await sha256Hex(await file.arrayBuffer());
    } catch {
      this.end('error', true);
      return;
    }
    if (this.finished) return;
    if (actual !== expected) {
      this.end('hash-mismatch', true);
      return;
    }
    void this.sendMessage({ type: 'verified', id: this.id }).catch(() => undefined);
    this.end(undefined, false);
    this.#resolve?.(file);
  }
}
