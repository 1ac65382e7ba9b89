import { Emitter, FileTransfers, IncomingTransfer, roomFileLink, type Room, type Transfer, type TransferState } from '@parley-rtc/client';
import type { UploadStore } from './Uploads.ts';

/** Files above this size go through the upload store in SFU rooms: the server would relay every byte anyway. */
export const SFU_DIRECT_MAX_BYTES = 8 * 1024 * 1024;

export interface DirectTransfer {
  key: string;
  direction: 'send' | 'receive';
  peerId: string;
  peerName: string;
  name: string;
  size: number;
  loaded: number;
  state: TransferState;
  /** Why it ended without a file (cancelled, declined, hash-mismatch, timeout…). */
  reason?: string;
  /** The received file, verified (an object URL to download it). */
  url?: string;
}

/** How a file for one participant travels: straight over the data channel, or into the room's upload store. */
export type FileRoute = 'direct' | 'upload';

const FINISHED_TTL_MS = 8000;

/**
 * The call's direct (peer-to-peer) file transfers, outside React: sending a file to one
 * participant, offers from others (accept / decline), progress and cancel on both sides.
 */
export class DirectFileStore extends Emitter<{ change: [] }> {
  readonly transfers: FileTransfers;
  #items: DirectTransfer[] = [];
  readonly #byKey = new Map<string, Transfer>();
  readonly #urls = new Set<string>();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closed = false;

  constructor(
    private readonly room: Room,
    private readonly uploads: UploadStore,
  ) {
    super();
    this.transfers = new FileTransfers(roomFileLink(room));
    this.transfers.on('transfer', (t) => this.#track(t));
  }

  get items(): readonly DirectTransfer[] {
    return this.#items;
  }

  /** Whether `send` would go directly to the member or upload for the room. */
  route(peerId: string, size: number): FileRoute {
    if (!this.transfers.canSendTo(peerId) || size > this.transfers.maxBytes) return 'upload';
    if (this.room.mode === 'sfu' && size > SFU_DIRECT_MAX_BYTES) return 'upload';
    return 'direct';
  }

  /** Sends `file` to one participant, directly when `route` says so, else as a room upload. */
  send(peerId: string, file: File): FileRoute {
    const route = this.route(peerId, file.size);
    if (route === 'upload') this.uploads.start(file);
    else this.transfers.send(peerId, file);
    return route;
  }

  accept(key: string): void {
    const t = this.#byKey.get(key);
    if (t instanceof IncomingTransfer) {
      t.accept().then(
        (blob) => {
          const url = URL.createObjectURL(blob);
          this.#urls.add(url);
          this.#update(key, { url });
        },
        () => undefined, // the state change shows why
      );
    }
  }

  decline(key: string): void {
    const t = this.#byKey.get(key);
    if (t instanceof IncomingTransfer) t.decline();
  }

  cancel(key: string): void {
    this.#byKey.get(key)?.cancel();
  }

  dismiss(key: string): void {
    const before = this.#items.length;
    this.#items = this.#items.filter((i) => i.key !== key);
    this.#byKey.delete(key);
    if (this.#items.length !== before) this.emit('change');
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.transfers.close();
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const url of this.#urls) URL.revokeObjectURL(url);
    this.#urls.clear();
    this.#items = [];
    this.removeAllListeners();
  }

  #track(t: Transfer): void {
    const key = `${t.direction} ${t.peer} ${t.id}`;
    this.#byKey.set(key, t);
    const peerName = this.room.peers.find((p) => p.id === t.peer)?.name ?? 'someone';
    const item: DirectTransfer = {
      key,
      direction: t.direction,
      peerId: t.peer,
      peerName,
      name: t.name,
      size: t.size,
      loaded: t.loaded,
      state: t.state,
    };
    this.#items = [...this.#items, item];
    this.emit('change');
    // Progress comes per 16 KiB chunk: redraw in steps of 0.5 % (and at the end).
    let shown = 0;
    t.on('progress', (loaded) => {
      if (loaded !== t.size && loaded >= shown && loaded - shown < t.size / 200) return;
      shown = loaded;
      this.#update(key, { loaded });
    });
    t.on('state', (state, reason) => {
      this.#update(key, { state, ...(reason ? { reason } : {}) });
      // Sent and cancelled rows go away by themselves; a received file stays for its link.
      if ((state === 'done' && t.direction === 'send') || state === 'cancelled') {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.dismiss(key);
        }, FINISHED_TTL_MS);
        this.#timers.add(timer);
      }
    });
  }

  #update(key: string, patch: Partial<DirectTransfer>): void {
    if (this.#closed) return;
    this.#items = this.#items.map((i) => (i.key === key ? { ...i, ...patch } : i));
    this.emit('change');
  }
}
