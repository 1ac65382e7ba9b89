import { encodeFileChunk, type FileTransferEndReason, type FileTransferMessage } from '@parley-rtc/protocol';
import { sha256Hex, Transfer, type FileTransferError, type TransferInit } from './Transfer.ts';

/** Bytes read from the file at once, then cut into chunks. */
const READ_BLOCK = 256 * 1024;

/**
 * Our side of a file we send directly to one member: offer, then chunks from the offset the
 * receiver accepts (or resumes at), with backpressure from the link, then `done` with the SHA-256.
 * `done` resolves once the receiver verified the hash; it rejects with FileTransferError otherwise.
 */
export class OutgoingTransfer extends Transfer {
  readonly direction = 'send';
  /** Settles when the transfer ends: resolved once the receiver verified the file. */
  readonly done: Promise<void>;
  readonly #file: Blob;
  readonly #chunkBytes: number;
  #resolve!: () => void;
  #reject!: (err: FileTransferError) => void;
  /** Each (re)start of the send loop gets a new generation; older loops stop. */
  #generation = 0;
  #hash: Promise<string> | undefined;

  constructor(init: TransferInit & { file: Blob; chunkBytes: number }) {
    super(init);
    this.#file = init.file;
    this.#chunkBytes = init.chunkBytes;
    this.done = new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A caller that only watches events must not see an unhandled rejection.
    this.done.catch(() => undefined);
  }

  /** @internal Sends the offer. */
  async start(): Promise<void> {
    try {
      await this.sendMessage({ type: 'offer', id: this.id, name: this.name, size: this.size, mime: this.mime });
    } catch {
      this.end('error', false);
    }
  }

  /** @internal A control message for this transfer from its peer. */
  handleMessage(msg: FileTransferMessage): void {
    if (this.finished) return;
    switch (msg.type) {
      case 'accept':
        if (msg.offset > this.size) {
          this.end('error', true);
          return;
        }
        this.setState('transferring');
        void this.#pump(msg.offset, ++this.#generation);
        return;
      case 'verified':
        if (this.state === 'verifying') this.end(undefined, false);
        return;
      case 'cancel':
        this.end(msg.reason, false);
        return;
      default:
        return;
    }
  }

  protected onReopen(): void {
    // The receiver resumes (it knows what it holds); we wait for its `accept`.
  }

  protected onEnd(reason: FileTransferEndReason | undefined, error: FileTransferError | undefined): void {
    this.#generation++;
    if (reason === undefined || !error) this.#resolve();
    else this.#reject(error);
  }

  async #pump(from: number, generation: number): Promise<void> {
    const current = () => generation === this.#generation && this.state === 'transferring';
    this.#hash ??= this.#file.arrayBuffer().then((bytes) => sha256Hex(bytes));
    this.setLoaded(from);
    let position = from;
    try {
      while (position < this.size && current()) {
        const block = new Uint8Array(await this.#file.slice(position, Math.min(this.size, position + READ_BLOCK)).arrayBuffer());
        for (let at = 0; at < block.length && current(); at += this.#chunkBytes) {
          const data = block.subarray(at, at + this.#chunkBytes);
          await this.port.send(encodeFileChunk(this.id, position, data));
          position += data.length;
          if (current()) this.setLoaded(position);
        }
      }
      if (!current()) return;
      const sha256 = await this.#hash;
      if (!current()) return;
      await this.sendMessage({ type: 'done', id: this.id, sha256 });
      if (current()) this.setState('verifying');
    } catch {
      if (!current()) return;
      // A dropped path: wait for the receiver to resume. Anything else is fatal.
      if (this.port.isOpen()) this.end('error', true);
      else this.pause();
    }
  }
}
