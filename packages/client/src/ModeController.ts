import type { PeerInfo } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';
import { isPolite } from './negotiation.ts';
import type { RemoteTrack } from './PeerLink.ts';
import type { MediaMode } from './roomTypes.ts';
import type { SfuTransportEvents } from './SfuTransport.ts';

/** What the controller needs of an SFU transport (SfuTransport, or a stand-in in tests). @internal */
export interface ModeSfu extends Pick<Emitter<SfuTransportEvents>, 'on'> {
  /** The state of the connection that carries this peer's media, if any. */
  connectionStateOf(peerId: string): RTCPeerConnectionState | undefined;
  start(): void;
  close(): void;
}

/** The mesh links, as the controller opens and closes them (the PeerConnectionManager). @internal */
export interface ModeMesh {
  /** Opens a link; `initiator`: we make the first offer. Idempotent. */
  add(peer: PeerInfo, initiator: boolean): void;
  remove(peerId: string): void;
  has(peerId: string): boolean;
  isConnected(peerId: string): boolean;
  ids(): string[];
}

/** @internal */
export interface ModeControllerOptions<S extends ModeSfu> {
  mesh: ModeMesh;
  /** The remote peers in the room now. */
  peers(): PeerInfo[];
  /** A new SFU transport for us, with the local tracks and known producers given (not started). */
  createSfu(selfId: string): S;
  /** The old path to a peer closes at the latest this long after a switch (default 10 000 ms). */
  handoverTimeoutMs?: number;
}

/** @internal */
export interface ModeControllerEvents {
  /** The media path changed. */
  mode: [mode: MediaMode];
  /** A track arrived (or went) through the SFU. */
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** The state of the path that now carries this peer's media (the SFU, once its link is gone). */
  connectionState: [peerId: string, state: RTCPeerConnectionState];
  /** The SFU transport closed (its active-speaker reports end with it). */
  sfuStopped: [];
  error: [error: Error];
}

/**
 * Which path media takes — a mesh link per peer or the server's SFU — and the handover between
 * them when the server advises a switch. Mesh → SFU: publish and subscribe through the SFU, and
 * close each mesh link once that peer's media arrives through the SFU (or at the handover
 * deadline). SFU → mesh: open mesh links again and close the SFU transport once every link is
 * connected (or at the deadline). Knows no sockets: the Room feeds it the mode and link states.
 * @internal
 */
export class ModeController<S extends ModeSfu> extends Emitter<ModeControllerEvents> {
  readonly #opts: ModeControllerOptions<S>;
  #mode: MediaMode = 'mesh';
  #sfu: S | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(options: ModeControllerOptions<S>) {
    super();
    this.#opts = options;
  }

  get mode(): MediaMode {
    return this.#mode;
  }

  /** The SFU transport while there is one (in SFU mode, and during a handover back to mesh). */
  get sfu(): S | undefined {
    return this.#sfu;
  }

  /** Follows the server's advice (`selfId`: who we are in this session). */
  setMode(mode: MediaMode, selfId: string): void {
    if (this.#closed || mode === this.#mode) return;
    this.#mode = mode;
    clearTimeout(this.#timer);
    const timeout = this.#opts.handoverTimeoutMs ?? 10_000;
    const mesh = this.#opts.mesh;
    if (mode === 'sfu') {
      this.#startSfu(selfId);
      // Peers without SFU media (no camera, no publish grant) lose their link at the deadline.
      this.#timer = setTimeout(() => {
        if (this.#mode === 'sfu') for (const id of mesh.ids()) mesh.remove(id);
      }, timeout);
    } else {
      // One side offers at once, the other waits for it (as when someone joins).
      for (const peer of this.#opts.peers()) mesh.add(peer, !isPolite(selfId, peer.id));
      this.#timer = setTimeout(() => {
        if (this.#mode === 'mesh') this.#stopSfu();
      }, timeout);
      this.linkConnected();
    }
    this.emit('mode', mode);
  }

  /** A mesh link reached 'connected': in a handover to mesh, the SFU may be done with. */
  linkConnected(): void {
    if (this.#mode !== 'mesh' || !this.#sfu) return;
    const mesh = this.#opts.mesh;
    for (const peer of this.#opts.peers()) if (!mesh.isConnected(peer.id)) return;
    this.#stopSfu();
  }

  /** A new session: nothing of the old SFU state is valid; back to mesh. */
  reset(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopSfu();
    if (this.#mode !== 'mesh') {
      this.#mode = 'mesh';
      this.emit('mode', 'mesh');
    }
  }

  /** Stops the SFU transport and the timer, drops listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stopSfu();
    this.removeAllListeners();
  }

  #startSfu(selfId: string): void {
    if (this.#sfu) return;
    const sfu = this.#opts.createSfu(selfId);
    const mesh = this.#opts.mesh;
    this.#sfu = sfu;
    sfu.on('track', (t) => this.emit('track', t));
    sfu.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    sfu.on('error', (err) => {
      if (err instanceof ClientError && (err.reason === 'disconnected' || err.reason === 'closed')) return;
      this.emit('error', err);
    });
    sfu.on('connectionState', (id, state) => {
      if (!mesh.has(id)) this.emit('connectionState', id, state);
    });
    sfu.on('flowing', (id) => {
      if (this.#mode !== 'sfu' || !mesh.has(id)) return;
      mesh.remove(id);
      const state = this.#sfu?.connectionStateOf(id);
      if (state) this.emit('connectionState', id, state);
    });
    sfu.start();
  }

  #stopSfu(): void {
    const sfu = this.#sfu;
    this.#sfu = undefined;
    sfu?.close();
    this.emit('sfuStopped');
  }
}
