import { decodeFileChunk, FILE_CHUNK_BYTES, fileTransferMessageSchema, LIMITS, type FileTransferMessage } from '@parley-rtc/protocol';
import { Emitter } from '../Emitter.ts';
import { ClientError } from '../errors.ts';
import { IncomingTransfer } from './IncomingTransfer.ts';
import type { FileTransferLink } from './link.ts';
import { OutgoingTransfer } from './OutgoingTransfer.ts';
import type { Transfer } from './Transfer.ts';

export interface FileTransfersOptions {
  /** The largest file we accept or send directly (it is held in memory for the hash). Default 512 MiB. */
  maxBytes?: number;
  /** How long a transfer waits for a dropped data path to come back. Default 30 s. */
  resumeTimeoutMs?: number;
  /** File bytes per chunk frame. Default FILE_CHUNK_BYTES (16 KiB). */
  chunkBytes?: number;
}

export interface FileTransfersEvents {
  /** A member offers us a file: call `accept()` or `decline()` on it. */
  offer: [transfer: IncomingTransfer];
  /** A transfer started, ours or theirs (for lists of transfers in progress). */
  transfer: [transfer: Transfer];
  /** A message on the transfer topic that did not parse (dropped). */
  invalidMessage: [from: string];
}

export interface SendFileOptions {
  /** File name to offer; defaults to `file.name`. */
  name?: string;
  /** Aborting cancels the transfer on both sides. */
  signal?: AbortSignal;
}

const DEFAULT_MAX_BYTES = 512 * 1024 * 1024;

function newTransferId(): string {
  return crypto.randomUUID().replaceAll('-', '');
}

/**
 * Direct, one-to-one file transfers over a data path (docs/client.md, "Sending a file
 * directly"): chunked, with the link's backpressure, progress on both sides, cancel from either
 * side, a SHA-256 check at the end, and resume at the received offset after a short drop.
 */
export class FileTransfers extends Emitter<FileTransfersEvents> {
  readonly #link: FileTransferLink;
  readonly #maxBytes: number;
  readonly #resumeTimeoutMs: number;
  readonly #chunkBytes: number;
  /** Transfers in progress by `${peer} ${id}` (ids are chosen by the sender, so scoped to it). */
  readonly #active = new Map<string, Transfer>();
  readonly #unsubscribe: Array<() => void>;
  #closed = false;

  constructor(link: FileTransferLink, options: FileTransfersOptions = {}) {
    super();
    this.#link = link;
    this.#maxBytes = options.maxBytes ?? DEFAULT_MAX_BYTES;
    this.#resumeTimeoutMs = options.resumeTimeoutMs ?? 30_000;
    this.#chunkBytes = options.chunkBytes ?? FILE_CHUNK_BYTES;
    if (!(this.#chunkBytes > 0 && this.#chunkBytes <= 60 * 1024)) throw new RangeError('chunkBytes must be between 1 and 61440');
    this.#unsubscribe = [
      link.onMessage((from, payload) => this.#onMessage(from, payload)),
      link.onPathChange((peer, open) => {
        for (const t of this.#active.values()) if (t.peer === peer) t.pathChanged(open);
      }),
    ];
  }

  /** The largest file sent or accepted directly. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Transfers in progress (not yet done, cancelled or failed). */
  get transfers(): Transfer[] {
    return [...this.#active.values()];
  }

  /** Whether a file can go directly to a member now (its data path is open). */
  canSendTo(memberId: string): boolean {
    return !this.#closed && this.#link.isOpen(memberId);
  }

  /**
   * Offers `file` to one member. Throws ClientError when closed, when the data path to the member
   * is not open, or when the file is larger than `maxBytes`; failures later reject `done`.
   */
  send(to: string, file: Blob & { name?: string }, options: SendFileOptions = {}): OutgoingTransfer {
    if (this.#closed) throw new ClientError('closed', 'file transfers are closed');
    if (!this.#link.isOpen(to)) throw new ClientError('disconnected', `no open data path to ${to}`);
    if (file.size > this.#maxBytes) throw new ClientError('invalid-state', `the file is larger than ${this.#maxBytes} bytes`);
    const name = (options.name ?? file.name ?? '').slice(0, LIMITS.fileName);
    if (!name) throw new ClientError('invalid-state', 'the file needs a name');
    const transfer = new OutgoingTransfer({
      ...this.#init(newTransferId(), to, name, file.size, file.type.slice(0, LIMITS.mimeType)),
      file,
      chunkBytes: this.#chunkBytes,
    });
    this.#track(transfer);
    const { signal } = options;
    if (signal) {
      const onAbort = () => transfer.cancel();
      signal.addEventListener('abort', onAbort, { once: true });
      void transfer.done.finally(() => signal.removeEventListener('abort', onAbort)).catch(() => undefined);
      if (signal.aborted) transfer.cancel();
    }
    void transfer.start();
    return transfer;
  }

  /** Cancels every transfer in progress and stops listening. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const off of this.#unsubscribe.splice(0)) off();
    for (const t of [...this.#active.values()]) t.close();
    this.#active.clear();
    this.removeAllListeners();
  }

  #init(id: string, peer: string, name: string, size: number, mime: string) {
    return {
      id,
      peer,
      name,
      size,
      mime,
      resumeTimeoutMs: this.#resumeTimeoutMs,
      port: { send: (payload: string | Uint8Array) => this.#link.send(peer, payload), isOpen: () => this.#link.isOpen(peer) },
    };
  }

  #track(transfer: Transfer): void {
    const key = `${transfer.peer} ${transfer.id}`;
    this.#active.set(key, transfer);
    transfer.on('state', () => {
      if (transfer.finished && this.#active.get(key) === transfer) this.#active.delete(key);
    });
    this.emit('transfer', transfer);
  }

  #onMessage(from: string, payload: string | Uint8Array): void {
    if (this.#closed) return;
    if (typeof payload !== 'string') {
      const chunk = decodeFileChunk(payload);
      const transfer = chunk && this.#active.get(`${from} ${chunk.id}`);
      if (chunk && transfer instanceof IncomingTransfer) transfer.handleChunk(chunk);
      else if (!chunk) this.emit('invalidMessage', from);
      return;
    }
    let msg: FileTransferMessage;
    try {
      const parsed = fileTransferMessageSchema.safeParse(JSON.parse(payload));
      if (!parsed.success) throw parsed.error;
      msg = parsed.data;
    } catch {
      this.emit('invalidMessage', from);
      return;
    }
    const existing = this.#active.get(`${from} ${msg.id}`);
    if (msg.type !== 'offer') {
      existing?.handleMessage(msg);
      return;
    }
    if (existing) return; // a repeated offer
    const init = this.#init(msg.id, from, msg.name, msg.size, msg.mime);
    if (msg.size > this.#maxBytes) {
      void init.port
        .send(JSON.stringify({ type: 'cancel', id: msg.id, reason: 'too-large' } satisfies FileTransferMessage))
        .catch(() => undefined);
      return;
    }
    const incoming = new IncomingTransfer(init);
    this.#track(incoming);
    this.emit('offer', incoming);
  }
}
