import type { MemberGrants, PeerInfo } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { isPolite } from './negotiation.ts';
import { EMPTY_MEDIA_STATE, type PeerMediaState } from './peerMessages.ts';
import { PeerLink, type LocalTrack, type PeerLinkOptions, type RemoteTrack, type SignalSender, type TrackSlot } from './PeerLink.ts';
import type { PeerStats } from './stats.ts';
import { applyIceServers } from './iceConfig.ts';
import type { DataChannels } from './DataChannels.ts';

/** @internal */
export interface PeerConnectionManagerOptions {
  signal: SignalSender;
  createPeerConnection?: PeerLinkOptions['createPeerConnection'];
  /** Where each link registers its app-data channels. */
  data?: DataChannels;
}

/** @internal */
export interface PeerConnectionManagerEvents {
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  mediaState: [peerId: string, state: PeerMediaState];
  connectionState: [peerId: string, state: RTCPeerConnectionState];
  error: [peerId: string, error: Error];
}

/** @internal */
export function defaultCreatePeerConnection(config: RTCConfiguration): RTCPeerConnection {
  if (typeof RTCPeerConnection === 'undefined') {
    throw new Error('RTCPeerConnection is not available here; pass createPeerConnection');
  }
  return new RTCPeerConnection(config);
}

/**
 * The mesh: one PeerLink per remote peer, all publishing the same local tracks. Knows nothing of
 * sockets or rooms; the Room feeds it peers and relayed signaling.
 * @internal
 */
export class PeerConnectionManager extends Emitter<PeerConnectionManagerEvents> {
  readonly #links = new Map<string, PeerLink>();
  readonly #local = new Map<TrackSlot, LocalTrack>();
  readonly #signal: SignalSender;
  readonly #create: PeerLinkOptions['createPeerConnection'];
  readonly #data: DataChannels | undefined;
  #selfId: string | undefined;
  #iceServers: RTCIceServer[] = [];
  #localState: PeerMediaState = EMPTY_MEDIA_STATE;
  #closed = false;
  #receive = true;
  #publish: MemberGrants['publish'] = true;

  constructor(options: PeerConnectionManagerOptions) {
    super();
    this.#signal = options.signal;
    this.#create = options.createPeerConnection ?? defaultCreatePeerConnection;
    this.#data = options.data;
  }

  /** Sets who we are and which ICE servers to use for links created from now on. */
  configure(selfId: string, iceServers: RTCIceServer[]): void {
    this.#selfId = selfId;
    this.#iceServers = iceServers;
  }

  /** Fresh ICE servers (TURN credentials) for every link, present and future (used by ICE restarts). */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers;
    for (const link of this.#links.values()) applyIceServers(link.pc, iceServers);
  }

  get size(): number {
    return this.#links.size;
  }

  link(peerId: string): PeerLink | undefined {
    return this.#links.get(peerId);
  }

  links(): PeerLink[] {
    return [...this.#links.values()];
  }

  /** Whether there is a link to this peer (the ModeController's view of the mesh). */
  has(peerId: string): boolean {
    return this.#links.has(peerId);
  }

  isConnected(peerId: string): boolean {
    return this.#links.get(peerId)?.connectionState === 'connected';
  }

  ids(): string[] {
    return [...this.#links.keys()];
  }

  /**
   * Creates the link to a peer (idempotent) and publishes the current local tracks on it.
   * `initiator`: true for a peer that joined after us (we offer first), false for peers that
   * were already there when we joined (they offer first).
   */
  add(peer: PeerInfo, initiator: boolean): PeerLink {
    const existing = this.#links.get(peer.id);
    if (existing) return existing;
    if (this.#closed) throw new Error('the peer connection manager is closed');
    if (this.#selfId === undefined) throw new Error('configure() must be called before add()');
    const link = new PeerLink({
      peer,
      polite: isPolite(this.#selfId, peer.id),
      iceServers: this.#iceServers,
      signal: this.#signal,
      createPeerConnection: this.#create,
      initiator,
      receive: this.#receive,
      ...(this.#data ? { data: this.#data } : {}),
    });
    this.#links.set(peer.id, link);
    link.on('track', (t) => this.emit('track', t));
    link.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    link.on('mediaState', (s) => this.emit('mediaState', peer.id, s));
    link.on('connectionState', (s) => this.emit('connectionState', peer.id, s));
    link.on('error', (e) => this.emit('error', peer.id, e));
    link.setLocalState(this.#localState);
    for (const [slot, local] of this.#local) {
      if (this.#mayPublish(slot)) void link.setTrack(slot, local).catch((e: unknown) => this.#fail(peer.id, e));
    }
    return link;
  }

  /** Closes and forgets the link to a peer; its remote tracks are reported removed. */
  remove(peerId: string): void {
    const link = this.#links.get(peerId);
    if (!link) return;
    this.#links.delete(peerId);
    const tracks = link.remoteTracks;
    link.close();
    for (const t of tracks) this.emit('trackRemoved', t);
  }

  /** Closes every link (e.g. before rejoining under a new peer id). */
  removeAll(): void {
    for (const id of [...this.#links.keys()]) this.remove(id);
  }

  /** Publishes (or withdraws, with null) a local track on every link, present and future. */
  async setTrack(slot: TrackSlot, local: LocalTrack | null): Promise<void> {
    if (local) this.#local.set(slot, local);
    else this.#local.delete(slot);
    await this.#pushSlot(slot);
  }

  /** Sends the slot's track on every link, or withdraws it when the publish grant does not allow it. */
  async #pushSlot(slot: TrackSlot): Promise<void> {
    const local = this.#mayPublish(slot) ? (this.#local.get(slot) ?? null) : null;
    await Promise.all(this.links().map((link) => link.setTrack(slot, local).catch((e: unknown) => this.#fail(link.peer.id, e))));
  }

  #mayPublish(slot: TrackSlot): boolean {
    return typeof this.#publish === 'boolean' ? this.#publish : this.#publish.includes(slot);
  }

  localTrack(slot: TrackSlot): LocalTrack | undefined {
    return this.#local.get(slot);
  }

  /** Every published slot and its track: audio, video, screen. */
  localTracks(): Array<[TrackSlot, LocalTrack]> {
    const slots: TrackSlot[] = ['audio', 'video', 'screen'];
    return slots.flatMap((slot) => {
      const local = this.#local.get(slot);
      return local ? [[slot, local] as [TrackSlot, LocalTrack]] : [];
    });
  }

  /**
   * Follows our grants on every link, present and future (the server refuses mesh SDPs beyond
   * them): only the slots `publish` allows are sent (the others are kept and sent again when the
   * grant returns), and without `subscribe` the links receive nothing.
   */
  applyGrants(grants: Pick<MemberGrants, 'publish' | 'subscribe'> & Partial<Pick<MemberGrants, 'data'>>): void {
    this.#data?.setAllowed(grants.data !== false);
    const before = this.#publish;
    this.#publish = grants.publish;
    this.#receive = grants.subscribe;
    for (const link of this.#links.values()) link.setReceive(grants.subscribe);
    for (const slot of this.#local.keys()) {
      const was = typeof before === 'boolean' ? before : before.includes(slot);
      if (was !== this.#mayPublish(slot)) void this.#pushSlot(slot);
    }
  }

  setLocalState(state: PeerMediaState): void {
    this.#localState = state;
    for (const link of this.#links.values()) link.setLocalState(state);
  }

  async getStats(): Promise<PeerStats[]> {
    return Promise.all(this.links().map((l) => l.getStats()));
  }

  /** Closes every link and drops listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const link of this.#links.values()) link.close();
    this.#links.clear();
    this.#local.clear();
    this.removeAllListeners();
  }

  #fail(peerId: string, err: unknown): void {
    this.emit('error', peerId, err instanceof Error ? err : new Error(String(err)));
  }
}
