import type { FileTransferEndReason, FileTransferMessage } from '@parley-rtc/protocol';
import { Emitter } from '../Emitter.ts';

/**
 * Where a direct file transfer is: `offered` (waiting for the receiver), `transferring`,
 * `paused` (the data path dropped; waiting for it to come back and the receiver to resume),
 * `verifying` (all bytes sent or received; SHA-256 being checked), then one of `done`,
 * `cancelled` (either side cancelled or declined) or `failed` (hash mismatch, timeout, error).
 */
export type TransferState = 'offered' | 'transferring' | 'paused' | 'verifying' | 'done' | 'cancelled' | 'failed';

export interface TransferEvents {
  /** Bytes handed to the channel (sender) or received (receiver), and the file size. */
  progress: [loaded: number, total: number];
  state: [state: TransferState, reason: FileTransferEndReason | undefined];
}

/** Why a transfer ended without a verified file; `reason` is the wire reason. */
export class FileTransferError extends Error {
  override name = 'FileTransferError';
  constructor(
    readonly reason: FileTransferEndReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** How a transfer talks to its peer: the manager binds it to one member of the link. */
export interface TransferPort {
  send(payload: string | Uint8Array): Promise<void>;
  isOpen(): boolean;
}

export interface TransferInit {
  id: string;
  peer: string;
  name: string;
  size: number;
  mime: string;
  port: TransferPort;
  /** How long a paused transfer waits for the data path to come back before it fails. */
  resumeTimeoutMs: number;
}

const FINAL: ReadonlySet<TransferState> = new Set(['done', 'cancelled', 'failed']);

/** What an outgoing and an incoming transfer share: identity, state, progress, the resume timer. */
export abstract class Transfer extends Emitter<TransferEvents> {
  abstract readonly direction: 'send' | 'receive';
  readonly id: string;
  /** The member id on the other side. */
  readonly peer: string;
  readonly name: string;
  readonly size: number;
  readonly mime: string;
  protected readonly port: TransferPort;
  readonly #resumeTimeoutMs: number;
  #state: TransferState = 'offered';
  #loaded = 0;
  #endReason: FileTransferEndReason | undefined;
  #resumeTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(init: TransferInit) {
    super();
    this.id = init.id;
    this.peer = init.peer;
    this.name = init.name;
    this.size = init.size;
    this.mime = init.mime;
    this.port = init.port;
    this.#resumeTimeoutMs = init.resumeTimeoutMs;
  }

  get state(): TransferState {
    return this.#state;
  }

  get loaded(): number {
    return this.#loaded;
  }

  /** Why it ended, once `cancelled` or `failed`. */
  get endReason(): FileTransferEndReason | undefined {
    return this.#endReason;
  }

  get finished(): boolean {
    return FINAL.has(this.#state);
  }

  /** Cancels the transfer on both sides (no-op once finished). */
  cancel(): void {
    this.end('cancelled', true);
  }

  /** @internal A control message for this transfer from its peer. */
  abstract handleMessage(msg: FileTransferMessage): void;

  /** @internal The data path to the peer opened or closed. */
  pathChanged(open: boolean): void {
    if (this.finished) return;
    if (!open) {
      // The receiver checks the hash on its own; the sender waits for the verdict over the path.
      if (this.#state === 'transferring' || (this.#state === 'verifying' && this.direction === 'send')) this.pause();
      return;
    }
    this.onReopen();
  }

  /** @internal The owner is closing: end quietly, telling the peer when the path is still open. */
  close(): void {
    this.end('cancelled', this.port.isOpen());
    this.removeAllListeners();
  }

  protected abstract onReopen(): void;
  protected abstract onEnd(reason: FileTransferEndReason | undefined, error: FileTransferError | undefined): void;

  protected pause(): void {
    if (this.finished || this.#state === 'paused') return;
    this.setState('paused');
    this.#resumeTimer ??= setTimeout(() => this.end('timeout', true), this.#resumeTimeoutMs);
  }

  protected setState(state: TransferState, reason?: FileTransferEndReason): void {
    if (this.finished || this.#state === state) return;
    if (state !== 'paused') this.#clearResumeTimer();
    this.#state = state;
    this.emit('state', state, reason);
  }

  protected setLoaded(loaded: number): void {
    this.#loaded = loaded;
    this.emit('progress', loaded, this.size);
  }

  /** Ends the transfer: `reason` undefined means verified and done. `notify` tells the peer. */
  protected end(reason: FileTransferEndReason | undefined, notify: boolean): void {
    if (this.finished) return;
    this.#clearResumeTimer();
    if (reason === undefined) {
      this.setState('done');
      this.onEnd(undefined, undefined);
      return;
    }
    if (notify && this.port.isOpen()) {
      // Best effort: if the path fails meanwhile, the peer's resume timer ends its side.
      void this.port.send(JSON.stringify({ type: 'cancel', id: this.id, reason } satisfies FileTransferMessage)).catch(() => undefined);
    }
    this.#endReason = reason;
    const cancelled = reason === 'cancelled' || reason === 'declined';
    this.setState(cancelled ? 'cancelled' : 'failed', reason);
    this.onEnd(reason, new FileTransferError(reason, `the transfer of ${this.name} ended: ${reason}`));
  }

  protected sendMessage(msg: FileTransferMessage): Promise<void> {
    return this.port.send(JSON.stringify(msg));
  }

  #clearResumeTimer(): void {
    if (this.#resumeTimer !== undefined) clearTimeout(this.#resumeTimer);
    this.#resumeTimer = undefined;
  }
}

/** SHA-256 of bytes as lowercase hex, with Web Crypto (browsers and Node ≥ 20). */
export async function sha256Hex(data: BufferSource): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', data));
  return Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('');
}
