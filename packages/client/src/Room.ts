import {
  PROTOCOL_VERSION,
  ParleyError,
  type AppendResult,
  type HistoryRequest,
  type JoinResult,
  type LogEntry,
  type MediaFlags,
  type PeerInfo,
  type SfuProducerInfo,
  type Speaker,
} from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';
import type { LocalMedia } from './LocalMedia.ts';
import { EMPTY_MEDIA_STATE, type PeerMediaState } from './peerMessages.ts';
import { isPolite } from './negotiation.ts';
import { defaultCreatePeerConnection, PeerConnectionManager } from './PeerConnectionManager.ts';
import type { LocalTrack, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { RoomLog } from './RoomLog.ts';
import { SfuTransport, type VideoSource } from './SfuTransport.ts';
import { SignalClient } from './SignalClient.ts';
import { VideoPreferences } from './VideoPreferences.ts';
import type { PeerStats, PublishStats } from './stats.ts';
import type { ConnectOptions, MediaMode, RemotePeer, RoomConnectionState, RoomEvents, RoomOptions } from './roomTypes.ts';

export type { ConnectOptions, MediaMode, RemotePeer, RoomConnectionState, RoomEvents, RoomOptions } from './roomTypes.ts';

type Buffered = () => void;

/**
 * The public face of the SDK: one call in one room. It wires the SignalClient, the mesh of
 * PeerLinks, the SFU path, the RoomLog and an optional LocalMedia, and emits RoomEvents.
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
  /** Peer id and secret to resume this session after a signaling reconnect, and its HTTP credential. */
  #resume: { peer: string; key: string } | undefined;
  #session: string | undefined;
  #joinArgs: ConnectOptions | undefined;
  #url: string | undefined;
  #joinedOnce = false;
  /** Signaling that arrives while a join is in flight waits here until the peer list is known. */
  #buffer: Buffered[] | undefined;
  #iceServers: RTCIceServer[] = [];
  #mode: MediaMode = 'mesh';
  /** The mode the server announced while a join was in flight (applied before peers are added). */
  #announcedMode: MediaMode | undefined;
  #sfu: SfuTransport | undefined;
  /** Producers other members publish through the SFU (kept in mesh mode too, for a later switch). */
  readonly #producers = new Map<string, SfuProducerInfo>();
  /** Peers whose media state came from a mesh link (otherwise it is inferred from SFU producers). */
  readonly #stateFromMesh = new Set<string>();
  /** Media flags peers sent through the server (`peer-media`). */
  readonly #serverFlags = new Map<string, MediaFlags>();
  #localFlags: MediaFlags | undefined;
  #handoverTimer: ReturnType<typeof setTimeout> | undefined;
  /** Paused video and tile sizes asked for with setVideoPaused / setVideoSize. */
  readonly #videoPrefs = new VideoPreferences();
  #activeSpeaker: string | null = null;
  #speakerCount = 0;

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

  /** This member's credential for the room's HTTP routes (uploads, file links), while joined. */
  get session(): string | undefined {
    return this.#self ? this.#session : undefined;
  }

  /** The access token given to the last `connect()`, if any. */
  get token(): string | undefined {
    return this.#joinArgs?.token;
  }

  /** How media flows now: `mesh` (a link per peer) or `sfu` (through the server). */
  get mode(): MediaMode {
    return this.#mode;
  }

  get peers(): RemotePeer[] {
    return [...this.#peers.values()];
  }

  /** Every remote track currently received, from every peer. */
  get remoteTracks(): RemoteTrack[] {
    return [...this.#pcs.links().flatMap((l) => l.remoteTracks), ...(this.#sfu?.remoteTracks ?? [])];
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
    if (signal.connected && this.#self) await signal.leave().catch(() => null);
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

  /** The active speaker's peer id (SFU mode), or null. */
  get activeSpeaker(): string | null {
    return this.#activeSpeaker;
  }

  /**
   * Stops (or resumes) receiving a peer's camera (or screen) video through the SFU, e.g. while its
   * tile is off screen: the server stops forwarding it, which saves its bandwidth and our decoder.
   * Kept across reconnects and mode switches; in mesh mode the peer's link keeps sending.
   */
  setVideoPaused(peerId: string, paused: boolean, source: VideoSource = 'camera'): void {
    this.#videoPrefs.setPaused(peerId, source, paused);
    this.#sfu?.setVideoPaused(peerId, paused, source);
  }

  /**
   * How large a peer's camera (or screen) video is shown, in device pixels (0×0: no preference).
   * In SFU mode the server then forwards the smallest simulcast layer that covers it. Kept across
   * mode switches; in mesh mode it has no effect.
   *
   * @example
   * const r = tile.getBoundingClientRect();
   * room.setVideoSize(peerId, 'camera', r.width * devicePixelRatio, r.height * devicePixelRatio);
   */
  setVideoSize(peerId: string, source: VideoSource, width: number, height: number): void {
    this.#videoPrefs.setSize(peerId, source, width, height);
    this.#sfu?.setVideoSize(peerId, source, width, height);
  }

  /** What we publish through the SFU, per slot and simulcast layer (empty in mesh mode). */
  async publishStats(): Promise<PublishStats[]> {
    return (await this.#sfu?.publishStats()) ?? [];
  }

  #setSpeakers(active: string | null, speakers: Speaker[]): void {
    if (active === this.#activeSpeaker && speakers.length === 0 && this.#speakerCount === 0) return;
    this.#activeSpeaker = active;
    this.#speakerCount = speakers.length;
    this.emit('speakers', active, speakers);
  }

  /** Publishes a track without LocalMedia (bots, canvases). `null` withdraws the slot. */
  publish(slot: TrackSlot, local: LocalTrack | null): Promise<void> {
    this.#sfu?.setTrack(slot, local);
    return this.#pcs.setTrack(slot, local);
  }

  /**
   * Tells peers our mute flags and stream ids (automatic when a LocalMedia is attached): over
   * each mesh link, and the flags through the server for peers we reach through the SFU.
   */
  setMediaState(state: PeerMediaState): void {
    this.#pcs.setLocalState(state);
    const flags: MediaFlags = { audio: state.audio, video: state.video, screen: state.screenStream !== null };
    const prev = this.#localFlags;
    if (prev && prev.audio === flags.audio && prev.video === flags.video && prev.screen === flags.screen) return;
    this.#localFlags = flags;
    if (this.#self) void this.#signal?.mediaState(flags).catch(() => undefined);
  }

  async getStats(): Promise<PeerStats[]> {
    const [mesh, sfu] = await Promise.all([this.#pcs.getStats(), this.#sfu?.getStats() ?? []]);
    return [...mesh, ...sfu];
  }

  #requireSignal(): SignalClient {
    if (!this.#signal) throw new ClientError('disconnected', 'not connected to a room');
    return this.#signal;
  }

  async #join(signal: SignalClient): Promise<PeerInfo> {
    const args = this.#joinArgs;
    if (!args) throw new ClientError('invalid-state', 'no room to join');
    this.#buffer = [];
    this.#announcedMode = undefined;
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
    this.#session = res.session;
    // Our media flags for the room (peers without a link to us show mute icons from them).
    if (this.#localFlags) void signal.mediaState(this.#localFlags).catch(() => undefined);
    if (res.resumed) {
      // Same peer id, links intact: drop peers that left while we were away, and make the first
      // offer to those who joined meanwhile (they saw us in their peer list and wait for us).
      const present = new Set(res.peers.map((p) => p.id));
      for (const id of [...this.#peers.keys()]) if (!present.has(id)) this.#removePeer(id);
      this.#self = res.self;
      this.#iceServers = res.iceServers;
      this.#pcs.configure(res.self.id, res.iceServers);
      this.emit('joined', res.self);
      for (const peer of res.peers) if (!this.#peers.has(peer.id)) this.#addPeer(peer, true);
    } else {
      // A new session: every old link is dead, and the others saw us leave.
      for (const id of [...this.#peers.keys()]) this.#removePeer(id);
      this.#resetSfu();
      this.#self = res.self;
      this.#iceServers = res.iceServers;
      this.#pcs.configure(res.self.id, res.iceServers);
      this.emit('joined', res.self);
      // The mode came with the join: a room in SFU mode gets no mesh links at all.
      if (this.#announcedMode) this.#setMode(this.#announcedMode);
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
    signal.on('sfuMode', (m) => {
      if (this.#buffer) this.#announcedMode = m.mode;
      whenJoined(() => this.#setMode(m.mode));
    });
    signal.on('sfuProducer', (p) =>
      whenJoined(() => {
        if (p.peer === this.#self?.id) return;
        this.#producers.set(p.id, p);
        this.#sfu?.addProducer(p);
        this.#inferMediaState(p.peer);
      }),
    );
    signal.on('sfuProducerClosed', (p) =>
      whenJoined(() => {
        this.#producers.delete(p.id);
        this.#sfu?.removeProducer(p.id);
        this.#inferMediaState(p.peer);
      }),
    );
    signal.on('peerMedia', ({ id, ...flags }) =>
      whenJoined(() => {
        this.#serverFlags.set(id, flags);
        this.#inferMediaState(id);
      }),
    );
    signal.on('sfuSpeakers', (m) => whenJoined(() => this.#setSpeakers(m.active?.peer ?? null, m.speakers)));
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
    pcs.on('connectionState', (id, connectionState) => {
      this.#updatePeer(id, { connectionState });
      if (connectionState === 'connected') this.#maybeFinishMeshHandover();
    });
    pcs.on('mediaState', (id, media) => {
      this.#stateFromMesh.add(id);
      this.#updatePeer(id, { media });
    });
    pcs.on('error', (_id, err) => {
      // A peer that left while we were still signaling to it is not worth an error.
      if (err instanceof ParleyError && err.code === 'PEER_NOT_FOUND') return;
      if (err instanceof ClientError && err.reason === 'disconnected') return;
      this.emit('error', err);
    });
  }

  #bindMedia(media: LocalMedia): void {
    const publishState = () =>
      this.setMediaState({
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
        this.#sfu?.setTrack(slot, local);
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
    // In SFU mode the peer's media comes through the SFU's connections, not a link of its own.
    if (this.#mode === 'mesh') this.#pcs.add(info, initiator);
    this.emit('peerJoined', peer);
    this.#inferMediaState(info.id);
  }

  #removePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    this.#stateFromMesh.delete(id);
    this.#serverFlags.delete(id);
    this.#pcs.remove(id);
    this.#sfu?.removePeer(id);
    this.#videoPrefs.forget(id);
    for (const [pid, p] of this.#producers) if (p.peer === id) this.#producers.delete(pid);
    this.emit('peerLeft', peer);
  }

  /**
   * Without a mesh link, a peer's mute flags come from the server (`peer-media`); before they
   * arrive, what it publishes through the SFU is the best guess.
   */
  #inferMediaState(peerId: string): void {
    if (this.#stateFromMesh.has(peerId) || !this.#peers.has(peerId)) return;
    // A shared screen is no camera.
    const kinds = new Set([...this.#producers.values()].filter((p) => p.peer === peerId && p.source !== 'screen').map((p) => p.kind));
    const flags = this.#serverFlags.get(peerId);
    const audio = flags ? flags.audio : kinds.has('audio');
    const video = flags ? flags.video : kinds.has('video');
    const media = this.#peers.get(peerId)?.media;
    if (media && media.audio === audio && media.video === video) return;
    this.#updatePeer(peerId, { media: { ...EMPTY_MEDIA_STATE, audio, video } });
  }

  /**
   * Follows the server's advice. Mesh → SFU: publish and subscribe through the SFU, and close each
   * mesh link once that peer's media arrives through the SFU (or after the handover timeout).
   * SFU → mesh: open mesh links again and close the SFU connections once every link is connected
   * (or after the timeout).
   */
  #setMode(mode: MediaMode): void {
    if (mode === this.#mode || !this.#self) return;
    this.#mode = mode;
    clearTimeout(this.#handoverTimer);
    const timeout = this.#options.handoverTimeoutMs ?? 10_000;
    if (mode === 'sfu') {
      this.#startSfu(this.#self.id);
      // Peers without SFU media (no camera, no publish grant) lose their link at the deadline.
      this.#handoverTimer = setTimeout(() => {
        if (this.#mode === 'sfu') for (const link of this.#pcs.links()) this.#pcs.remove(link.peer.id);
      }, timeout);
    } else {
      const selfId = this.#self.id;
      for (const peer of this.#peers.values()) {
        // One side offers at once, the other waits for it (as when someone joins).
        this.#pcs.add(peer, !isPolite(selfId, peer.id));
      }
      this.#handoverTimer = setTimeout(() => {
        if (this.#mode === 'mesh') this.#stopSfu();
      }, timeout);
      this.#maybeFinishMeshHandover();
    }
    this.emit('mode', mode);
  }

  #startSfu(selfId: string): void {
    if (this.#sfu) return;
    const sfu = new SfuTransport({
      // Async, so a missing signal client rejects (the transport catches it) instead of throwing.
      signal: {
        sfuPublish: async (sdp, source) => this.#requireSignal().sfuPublish(sdp, source),
        sfuSubscribe: async (sdp, ids) => this.#requireSignal().sfuSubscribe(sdp, ids),
        sfuClose: async (id) => this.#requireSignal().sfuClose(id),
        sfuPause: async (ids, paused) => this.#requireSignal().sfuPause(ids, paused),
        sfuVideoSize: async (ids, width, height) => this.#requireSignal().sfuVideoSize(ids, width, height),
      },
      selfId,
      iceServers: this.#iceServers,
      createPeerConnection: this.#options.createPeerConnection ?? defaultCreatePeerConnection,
      ...(this.#options.simulcast !== undefined ? { simulcast: this.#options.simulcast } : {}),
    });
    this.#sfu = sfu;
    sfu.on('track', (t) => this.emit('track', t));
    sfu.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    sfu.on('error', (err) => {
      if (err instanceof ClientError && (err.reason === 'disconnected' || err.reason === 'closed')) return;
      this.emit('error', err);
    });
    sfu.on('connectionState', (id, connectionState) => {
      if (!this.#pcs.link(id)) this.#updatePeer(id, { connectionState });
    });
    sfu.on('flowing', (id) => {
      if (this.#mode !== 'sfu' || !this.#pcs.link(id)) return;
      this.#pcs.remove(id);
      const state = this.#sfu?.connectionStateOf(id);
      if (state) this.#updatePeer(id, { connectionState: state });
    });
    for (const slot of ['audio', 'video', 'screen'] as const) {
      const local = this.#pcs.localTrack(slot);
      if (local) sfu.setTrack(slot, local);
    }
    for (const p of this.#producers.values()) sfu.addProducer(p);
    this.#videoPrefs.applyTo(sfu);
    sfu.start();
  }

  #maybeFinishMeshHandover(): void {
    if (this.#mode !== 'mesh' || !this.#sfu) return;
    for (const peer of this.#peers.values()) if (this.#pcs.link(peer.id)?.connectionState !== 'connected') return;
    this.#stopSfu();
  }

  #stopSfu(): void {
    const sfu = this.#sfu;
    this.#sfu = undefined;
    sfu?.close();
    this.#setSpeakers(null, []);
  }

  /** A new session: nothing of the old SFU state is valid. */
  #resetSfu(): void {
    clearTimeout(this.#handoverTimer);
    this.#handoverTimer = undefined;
    this.#stopSfu();
    this.#producers.clear();
    this.#stateFromMesh.clear();
    this.#serverFlags.clear();
    if (this.#mode !== 'mesh') {
      this.#mode = 'mesh';
      this.emit('mode', 'mesh');
    }
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
    this.#resetSfu();
    signal?.close();
    this.#setState(state, reason);
  }

  #setState(state: RoomConnectionState, reason?: string): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('connectionState', state, reason);
  }
}
