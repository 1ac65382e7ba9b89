import type { MediaFlags, PeerInfo, SfuProducerInfo, Speaker } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { EMPTY_MEDIA_STATE, type PeerMediaState } from './peerMessages.ts';
import type { RemotePeer } from './roomTypes.ts';

/** @internal */
export interface RosterEvents {
  peerJoined: [peer: RemotePeer];
  /** After the roster forgot the peer (its producers and flags too). */
  peerLeft: [peer: RemotePeer];
  /** A peer's connection state or media state changed. */
  peerUpdated: [peer: RemotePeer];
  /** Who speaks changed (see RoomEvents). */
  speakers: [active: string | null, speakers: Speaker[]];
}

/**
 * Who else is in the room, as the Room shows them: each remote peer with its connection state and
 * media flags, plus what the flags are inferred from. A peer's flags come from its mesh link while
 * it has one (`meshMediaState`); without one, from the flags it sent through the server
 * (`serverFlags`), or before those arrive, from the producers it publishes through the SFU (kept
 * in mesh mode too, for a later switch). Also who speaks, as the SFU reports it. Pure
 * bookkeeping: no connections, no timers.
 * @internal
 */
export class RosterManager extends Emitter<RosterEvents> {
  readonly #peers = new Map<string, RemotePeer>();
  /** Producers other members publish through the SFU. */
  readonly #producers = new Map<string, SfuProducerInfo>();
  /** Peers whose media state came from a mesh link. */
  readonly #stateFromMesh = new Set<string>();
  /** Media flags peers sent through the server (`peer_media`). */
  readonly #serverFlags = new Map<string, MediaFlags>();
  #activeSpeaker: string | null = null;
  #speakerCount = 0;

  get peers(): RemotePeer[] {
    return [...this.#peers.values()];
  }

  get ids(): string[] {
    return [...this.#peers.keys()];
  }

  has(id: string): boolean {
    return this.#peers.has(id);
  }

  get(id: string): RemotePeer | undefined {
    return this.#peers.get(id);
  }

  /** The active speaker's peer id (SFU mode), or null. */
  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /** The SFU producers of the peers in the room, as announced. */
  get producers(): SfuProducerInfo[] {
    return [...this.#producers.values()];
  }

  /** Adds a peer (not yet connected, no media); false if it is already here. */
  add(info: PeerInfo): boolean {
    if (this.#peers.has(info.id)) return false;
    const peer: RemotePeer = { ...info, connectionState: 'new', media: EMPTY_MEDIA_STATE };
    this.#peers.set(info.id, peer);
    this.emit('peerJoined', peer);
    this.#infer(info.id);
    return true;
  }

  /** Forgets a peer and everything known about it; emits `peerLeft`. */
  remove(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    this.#stateFromMesh.delete(id);
    this.#serverFlags.delete(id);
    for (const [pid, p] of this.#producers) if (p.peer === id) this.#producers.delete(pid);
    this.emit('peerLeft', peer);
  }

  /** Every peer leaves (in the order they came). */
  removeAll(): void {
    for (const id of this.ids) this.remove(id);
  }

  /** A new session: the producers and flags of the old one mean nothing (the peers stay). */
  resetMedia(): void {
    this.#producers.clear();
    this.#stateFromMesh.clear();
    this.#serverFlags.clear();
  }

  setConnectionState(id: string, connectionState: RTCPeerConnectionState): void {
    this.#update(id, { connectionState });
  }

  /** The peer's mesh link told us its media state: that wins from now on. */
  meshMediaState(id: string, media: PeerMediaState): void {
    this.#stateFromMesh.add(id);
    this.#update(id, { media });
  }

  /** The peer's mute flags, relayed by the server. */
  serverFlags(id: string, flags: MediaFlags): void {
    this.#serverFlags.set(id, flags);
    this.#infer(id);
  }

  producerAdded(p: SfuProducerInfo): void {
    this.#producers.set(p.id, p);
    this.#infer(p.peer);
  }

  producerClosed(p: Pick<SfuProducerInfo, 'id' | 'peer'>): void {
    this.#producers.delete(p.id);
    this.#infer(p.peer);
  }

  /** The SFU's report of who speaks; `speakers` fires only when it says something new. */
  setSpeakers(active: string | null, speakers: Speaker[]): void {
    if (active === this.#activeSpeaker && speakers.length === 0 && this.#speakerCount === 0) return;
    this.#activeSpeaker = active;
    this.#speakerCount = speakers.length;
    this.emit('speakers', active, speakers);
  }

  /** Forgets everyone without events and drops listeners (the Room is closing). Idempotent. */
  close(): void {
    this.#peers.clear();
    this.resetMedia();
    this.#activeSpeaker = null;
    this.#speakerCount = 0;
    this.removeAllListeners();
  }

  /**
   * Without a mesh link, a peer's mute flags come from the server (`peer_media`); before they
   * arrive, what it publishes through the SFU is the best guess.
   */
  #infer(peerId: string): void {
    if (this.#stateFromMesh.has(peerId) || !this.#peers.has(peerId)) return;
    // A shared screen is no camera.
    const kinds = new Set([...this.#producers.values()].filter((p) => p.peer === peerId && p.source !== 'screen').map((p) => p.kind));
    const flags = this.#serverFlags.get(peerId);
    const audio = flags ? flags.audio : kinds.has('audio');
    const video = flags ? flags.video : kinds.has('video');
    const media = this.#peers.get(peerId)?.media;
    if (media && media.audio === audio && media.video === video) return;
    this.#update(peerId, { media: { ...EMPTY_MEDIA_STATE, audio, video } });
  }

  #update(id: string, patch: Partial<RemotePeer>): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    const next = { ...peer, ...patch };
    this.#peers.set(id, next);
    this.emit('peerUpdated', next);
  }
}
