import {
  PROTOCOL_VERSION,
  ParleyError,
  type AppendResult,
  type ChatEntry,
  type HistoryRequest,
  type JoinResult,
  type LogEntry,
  type PeerInfo,
  type SessionEndReason,
} from '@parley/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';
import type { LocalMedia } from './LocalMedia.ts';
import { EMPTY_MEDIA_STATE, type PeerMediaState } from './peerMessages.ts';
import { PeerConnectionManager } from './PeerConnectionManager.ts';
import type { LocalTrack, PeerLinkOptions, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { RoomLog } from './RoomLog.ts';
import { SignalClient, type SignalClientOptions } from './SignalClient.ts';
import type { PeerStats } from './stats.ts';

export type RoomConnectionState = 'idle' | 'connecting' | 'connected' | 'reconnecting' | 'disconnected' | 'closed';

/** A remote participant as the Room sees it. */
export interface RemotePeer {
  id: string;
  name: string;
  /** The state of our peer connection to them. */
  connectionState: RTCPeerConnectionState;
  /** What they told us about their media (mute flags, screen share). */
  media: PeerMediaState;
}

export interface RoomEvents {
  connectionState: [state: RoomConnectionState, reason: string | undefined];
  /** Joined (or rejoined after a reconnect) with this identity. */
  joined: [self: PeerInfo];
  peerJoined: [peer: RemotePeer];
  peerLeft: [peer: RemotePeer];
  /** A peer's connection state or media state changed. */
  peerUpdated: [peer: RemotePeer];
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** A new chat entry (deduplicated, once per seq). */
  chat: [entry: ChatEntry];
  /** Any new room-log entry: chat, event or file (deduplicated). */
  entry: [entry: LogEntry];
  sessionEnded: [reason: SessionEndReason, message: string];
  error: [error: Error];
}

export interface ConnectOptions {
  room: string;
  name: string;
  token?: string;
}

export interface RoomOptions {
  /** Local camera/mic/screen to publish; the Room follows its track changes. */
  media?: LocalMedia;
  createPeerConnection?: PeerLinkOptions['createPeerConnection'];
  ackTimeoutMs?: number;
  socket?: SignalClientOptions['socket'];
  /** How many log entries to keep in memory. */
  logCapacity?: number;
}

type Buffered = () => void;

/**
 * The public face of the SDK: one call in one room. Thin on purpose; it wires the SignalClient
 * (server), the PeerConnectionManager (mesh of PeerLinks), the RoomLog (chat and events) and an
 * optional LocalMedia together, and turns their events into RoomEvents.
 */
export class Room extends Emitter<RoomEvents> {
  readonly log: RoomLog;
  readonly media: LocalMedia | undefined;
  readonly #options: RoomOptions;
  readonly #pcs: PeerConnectionManager;
  readonly #peers = new Map<string, RemotePeer>();
  readonly #unsubscribe: Array<() => void> = [];
  #signal: SignalClient | undefined;
  #state: RoomConnectionState = 'idle';
  #self: PeerInfo | undefined;
  /** Peer id and secret to resume this session after a signaling reconnect. */
  #resume: { peer: string; key: string } | undefined;
  #joinArgs: ConnectOptions | undefined;
  #url: string | undefined;
  #joinedOnce = false;
  /** Signaling that arrives while a join is in flight waits here until the peer list is known. */
  #buffer: Buffered[] | undefined;

  constructor(options: RoomOptions = {}) {
    super();
    this.#options = options;
    this.log = new RoomLog(options.logCapacity);
    this.media = options.media;
    this.#pcs = new PeerConnectionManager({
      signal: {
        offer: (to, sdp) => this.#requireSignal().offer(to, sdp),
        answer: (to, sdp) => this.#requireSignal().answer(to, sdp),
        candidate: (to, c) => this.#requireSignal().candidate(to, c),
      },
      ...(options.createPeerConnection ? { createPeerConnection: options.createPeerConnection } : {}),
    });
    this.#bindPeers();
    if (options.media) this.#bindMedia(options.media);
  }

  get state(): RoomConnectionState {
    return this.#state;
  }

  get self(): PeerInfo | undefined {
    return this.#self;
  }

  get roomName(): string | undefined {
    return this.#joinArgs?.room;
  }

  /** The server URL given to the last `connect()` (the base for HTTP calls such as file uploads). */
  get serverUrl(): string | undefined {
    return this.#url;
  }

  /** The access token given to the last `connect()`, if any. */
  get token(): string | undefined {
    return this.#joinArgs?.token;
  }

  get peers(): RemotePeer[] {
    return [...this.#peers.values()];
  }

  /** Every remote track currently received, from every peer. */
  get remoteTracks(): RemoteTrack[] {
    return this.#pcs.links().flatMap((l) => l.remoteTracks);
  }

  /** The underlying RTCPeerConnection to a peer, for advanced use (stats, debugging). */
  peerConnection(peerId: string): RTCPeerConnection | undefined {
    return this.#pcs.link(peerId)?.pc;
  }

  /** Connects to a Parley server and joins a room. Rejects with ParleyError or ClientError. */
  async connect(url: string, options: ConnectOptions): Promise<PeerInfo> {
    if (this.#state === 'closed') throw new ClientError('closed', 'the room is closed');
    if (this.#state !== 'idle' && this.#state !== 'disconnected') {
      throw new ClientError('invalid-state', `connect() while ${this.#state}`);
    }
    this.#joinArgs = options;
    this.#url = url;
    if (this.log.size > 0 && this.roomName !== options.room) this.log.clear();
    this.#setState('connecting');
    const signal = new SignalClient(url, {
      ...(this.#options.ackTimeoutMs !== undefined ? { ackTimeoutMs: this.#options.ackTimeoutMs } : {}),
      ...(this.#options.socket ? { socket: this.#options.socket } : {}),
    });
    this.#signal = signal;
    this.#bindSignal(signal);
    try {
      await signal.connect();
      const self = await this.#join(signal);
      this.#setState('connected');
      return self;
    } catch (err) {
      if (this.#signal === signal) this.#teardown('disconnected', err instanceof Error ? err.message : String(err));
      throw err;
    }
  }

  /** Leaves the room politely and disconnects. The Room can connect again afterwards. */
  async leave(): Promise<void> {
    const signal = this.#signal;
    if (!signal) return;
    if (signal.connected && this.#self) {
      await signal.leave().catch(() => null);
    }
    if (this.#signal === signal) this.#teardown('disconnected', 'left');
  }

  /** Disconnects without ceremony, stops listening to the media and drops every listener. Idempotent. */
  close(): void {
    if (this.#state === 'closed') return;
    this.#teardown('closed', 'closed');
    for (const off of this.#unsubscribe.splice(0)) off();
    this.#pcs.close();
    this.removeAllListeners();
  }

  async sendChat(text: string): Promise<AppendResult> {
    return this.#requireSignal().chat(text);
  }

  async sendEvent(type: string, body: unknown): Promise<AppendResult> {
    return this.#requireSignal().roomEvent(type, body);
  }

  /** Loads older entries into the log (e.g. scrolling up); returns the ones that were new. */
  async loadHistory(req: HistoryRequest = {}): Promise<LogEntry[]> {
    const res = await this.#requireSignal().history(req);
    return this.#addEntries(res.entries);
  }

  /** Publishes a track without LocalMedia (bots, canvases). `null` withdraws the slot. */
  publish(slot: TrackSlot, local: LocalTrack | null): Promise<void> {
    return this.#pcs.setTrack(slot, local);
  }

  /** Tells peers our mute flags and stream ids (automatic when a LocalMedia is attached). */
  setMediaState(state: PeerMediaState): void {
    this.#pcs.setLocalState(state);
  }

  getStats(): Promise<PeerStats[]> {
    return this.#pcs.getStats();
  }

  #requireSignal(): SignalClient {
    if (!this.#signal) throw new ClientError('disconnected', 'not connected to a room');
    return this.#signal;
  }

  async #join(signal: SignalClient): Promise<PeerInfo> {
    const args = this.#joinArgs;
    if (!args) throw new ClientError('invalid-state', 'no room to join');
    this.#buffer = [];
    let res: JoinResult;
    try {
      res = await signal.join({
        room: args.room,
        name: args.name,
        ...(args.token !== undefined ? { token: args.token } : {}),
        ...(this.#joinedOnce ? { lastSeq: this.log.lastSeq } : {}),
        ...(this.#resume ? { resume: this.#resume } : {}),
        protocol: PROTOCOL_VERSION,
      });
    } catch (err) {
      this.#buffer = undefined;
      throw err;
    }
    this.#joinedOnce = true;
    this.#resume = { peer: res.self.id, key: res.resumeKey };
    if (res.resumed) {
      // Same peer id, links intact: drop peers that left while we were away, and make the first
      // offer to those who joined meanwhile (they saw us in their peer list and wait for us).
      const present = new Set(res.peers.map((p) => p.id));
      for (const id of [...this.#peers.keys()]) if (!present.has(id)) this.#removePeer(id);
      this.#self = res.self;
      this.#pcs.configure(res.self.id, res.iceServers);
      this.emit('joined', res.self);
      for (const peer of res.peers) if (!this.#peers.has(peer.id)) this.#addPeer(peer, true);
    } else {
      // A new session: every old link is dead, and the others saw us leave.
      for (const id of [...this.#peers.keys()]) this.#removePeer(id);
      this.#self = res.self;
      this.#pcs.configure(res.self.id, res.iceServers);
      this.emit('joined', res.self);
      for (const peer of res.peers) this.#addPeer(peer, false);
    }
    for (const entry of this.log.applyJoin(res)) this.#emitEntry(entry);
    const buffered = this.#buffer;
    this.#buffer = undefined;
    for (const fn of buffered) fn();
    return res.self;
  }

  #bindSignal(signal: SignalClient): void {
    const whenJoined = (fn: Buffered) => {
      if (this.#buffer) this.#buffer.push(fn);
      else if (this.#self) fn();
    };
    signal.on('peerJoined', (p) => whenJoined(() => this.#addPeer(p, true)));
    signal.on('peerLeft', ({ id }) => whenJoined(() => this.#removePeer(id)));
    signal.on('offer', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleDescription(m.description)));
    signal.on('answer', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleDescription(m.description)));
    signal.on('candidate', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleCandidate(m.candidate)));
    signal.on('chat', (e) => this.#addEntries([e]));
    signal.on('roomEvent', (e) => this.#addEntries([e]));
    signal.on('sessionEnded', (m) => this.emit('sessionEnded', m.reason, m.message));
    signal.on('invalidMessage', (event, error) =>
      this.emit('error', new ClientError('invalid-response', `dropped an invalid ${event} message`, { cause: error })),
    );
    signal.on('disconnect', (reason, willReconnect) => {
      this.#buffer = undefined;
      if (willReconnect) {
        // The server keeps our session for a grace period: peers and media links stay up, and
        // the rejoin resumes the same peer id (or starts a new session if the grace ran out).
        this.#setState('reconnecting', reason);
        return;
      }
      this.#teardown('disconnected', reason);
    });
    signal.on('connect', (reconnect) => {
      if (!reconnect) return;
      this.#join(signal).then(
        () => this.#setState('connected'),
        (err: unknown) => {
          this.emit('error', err instanceof Error ? err : new Error(String(err)));
          if (this.#signal === signal) this.#teardown('disconnected', 'rejoin failed');
        },
      );
    });
  }

  #bindPeers(): void {
    const pcs = this.#pcs;
    pcs.on('track', (t) => this.emit('track', t));
    pcs.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    pcs.on('connectionState', (id, connectionState) => this.#updatePeer(id, { connectionState }));
    pcs.on('mediaState', (id, media) => this.#updatePeer(id, { media }));
    pcs.on('error', (_id, err) => {
      // A peer that left while we were still signaling to it is not worth an error.
      if (err instanceof ParleyError && err.code === 'PEER_NOT_FOUND') return;
      if (err instanceof ClientError && err.reason === 'disconnected') return;
      this.emit('error', err);
    });
  }

  #bindMedia(media: LocalMedia): void {
    const publishState = () =>
      this.#pcs.setLocalState({
        audio: media.state.audio.enabled,
        video: media.state.video.enabled,
        cameraStream: media.cameraStream?.id ?? null,
        screenStream: media.screenStream?.id ?? null,
      });
    for (const [slot, local] of media.published()) void this.#pcs.setTrack(slot, local);
    publishState();
    this.#unsubscribe.push(
      media.on('track', (slot, local) => {
        publishState();
        void this.#pcs.setTrack(slot, local);
      }),
      media.on('state', publishState),
    );
  }

  /** `initiator`: whether we make the first offer (true for peers who joined after us). */
  #addPeer(info: PeerInfo, initiator: boolean): void {
    if (this.#peers.has(info.id) || info.id === this.#self?.id) return;
    const peer: RemotePeer = { ...info, connectionState: 'new', media: EMPTY_MEDIA_STATE };
    this.#peers.set(info.id, peer);
    this.#pcs.add(info, initiator);
    this.emit('peerJoined', peer);
  }

  #removePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    this.#pcs.remove(id);
    this.emit('peerLeft', peer);
  }

  #updatePeer(id: string, patch: Partial<RemotePeer>): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    const next = { ...peer, ...patch };
    this.#peers.set(id, next);
    this.emit('peerUpdated', next);
  }

  #addEntries(entries: LogEntry[]): LogEntry[] {
    const fresh = this.log.add(entries);
    for (const entry of fresh) this.#emitEntry(entry);
    return fresh;
  }

  #emitEntry(entry: LogEntry): void {
    this.emit('entry', entry);
    if (entry.kind === 'chat') this.emit('chat', entry);
  }

  #teardown(state: 'disconnected' | 'closed', reason: string): void {
    const signal = this.#signal;
    this.#signal = undefined;
    this.#self = undefined;
    this.#resume = undefined;
    this.#buffer = undefined;
    for (const id of [...this.#peers.keys()]) this.#removePeer(id);
    this.#pcs.removeAll();
    signal?.close();
    this.#setState(state, reason);
  }

  #setState(state: RoomConnectionState, reason?: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('connectionState', state, reason);
  }
}
