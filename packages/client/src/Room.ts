import {
  ParleyError,
  type AppendResult,
  type HistoryRequest,
  type LogEntry,
  type MediaFlags,
  type MemberGrants,
  type PeerInfo,
} from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import { ClientError } from './errors.ts';
import { DataChannels, type SendDataOptions } from './DataChannels.ts';
import type { LocalMedia } from './LocalMedia.ts';
import { applyJoinGrants, bindMemberControls, RecordingControl } from './memberControls.ts';
import { bindSfuSignals } from './sfuSignals.ts';
import { IceRefresher } from './IceRefresher.ts';
import { bindLocalMedia, type LocalMediaSink } from './localMediaBinding.ts';
import { createRoomSfu } from './roomSfu.ts';
import { Membership } from './Membership.ts';
import { ModeController } from './ModeController.ts';
import type { PeerMediaState } from './peerMessages.ts';
import { defaultCreatePeerConnection, PeerConnectionManager } from './PeerConnectionManager.ts';
import type { LocalTrack, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { RoomLog } from './RoomLog.ts';
import { RosterManager } from './RosterManager.ts';
import { sfuSignalVia, type SfuTransport } from './SfuTransport.ts';
import { SignalClient } from './SignalClient.ts';
import { VideoPreferences, type VideoSource } from './VideoPreferences.ts';
import type { PeerStats, PublishStats } from './stats.ts';
import type { ConnectOptions, MediaMode, RemotePeer, RoomConnectionState, RoomEvents, RoomOptions } from './roomTypes.ts';

export type { ConnectOptions, MediaMode, RemotePeer, RoomConnectionState, RoomEvents, RoomOptions } from './roomTypes.ts';
/**
 * The public face of the SDK: one call in one room. It joins through the SignalClient and wires
 * the parts that do the work — the mesh of PeerLinks (PeerConnectionManager), the mesh↔SFU
 * handover (ModeController), who is here (RosterManager), the RoomLog, the app's video wishes
 * (VideoPreferences) and an optional LocalMedia — and emits RoomEvents.
 */
export class Room extends Emitter<RoomEvents> {
  readonly log: RoomLog;
  readonly media: LocalMedia | undefined;
  readonly recording = new RecordingControl(() => this.#signal);
  readonly #options: RoomOptions;
  readonly #pcs: PeerConnectionManager;
  readonly #roster = new RosterManager();
  readonly #modes: ModeController<SfuTransport>;
  readonly #unsubscribe: Array<() => void> = [];
  #signal: SignalClient | undefined;
  #state: RoomConnectionState = 'idle';
  #self: PeerInfo | undefined;
  readonly #membership: Membership;
  readonly #ice: IceRefresher;
  #localFlags: MediaFlags | undefined;
  /** Paused video and tile sizes asked for with setVideoPaused / setVideoSize. */
  readonly #videoPrefs = new VideoPreferences();
  readonly #data = new DataChannels({ selfId: () => this.#self?.id, members: () => this.#roster.ids });

  constructor(options: RoomOptions = {}) {
    super();
    this.#options = options;
    this.log = new RoomLog(options.logCapacity);
    this.media = options.media;
    this.#membership = new Membership(options.resumeStorage);
    this.#ice = new IceRefresher({
      fetch: () => this.#requireSignal().iceServers(this.token),
      apply: (servers) => [this.#pcs, this.#modes.sfu].forEach((target) => target?.setIceServers(servers)),
      onError: (err) => this.emit('error', err),
    });
    this.#pcs = new PeerConnectionManager({
      signal: {
        offer: (to, sdp) => this.#requireSignal().offer(to, sdp),
        answer: (to, sdp) => this.#requireSignal().answer(to, sdp),
        candidate: (to, c) => this.#requireSignal().candidate(to, c),
      },
      ...(options.createPeerConnection ? { createPeerConnection: options.createPeerConnection } : {}),
      data: this.#data,
    });
    this.#modes = new ModeController({
      mesh: this.#pcs,
      peers: () => this.#roster.peers,
      createSfu: (selfId) => this.#createSfu(selfId),
      ...(options.handoverTimeoutMs !== undefined ? { handoverTimeoutMs: options.handoverTimeoutMs } : {}),
    });
    this.#bindPeers();
    this.#bindRoster();
    this.#bindModes();
    this.#data.on('data', (m) => this.emit('data', m));
    this.#data.on('error', (err) => this.emit('error', err));
    const sink: LocalMediaSink = { setMediaState: (s) => this.setMediaState(s), setTrack: (slot, t) => void this.publish(slot, t) };
    if (options.media) this.#unsubscribe.push(...bindLocalMedia(options.media, sink));
  }

  get state(): RoomConnectionState {
    return this.#state;
  }

  get self(): PeerInfo | undefined {
    return this.#self;
  }

  get roomName(): string | undefined {
    return this.#membership.args?.room;
  }

  /** The server URL given to the last `connect()` (the base for HTTP calls such as file uploads). */
  get serverUrl(): string | undefined {
    return this.#membership.url;
  }

  /** This member's credential for the room's HTTP routes (uploads, file links), while joined. */
  get session(): string | undefined {
    return this.#self ? this.#membership.session : undefined;
  }

  /** The access token given to the last `connect()`, if any. */
  get token(): string | undefined {
    return this.#membership.args?.token;
  }

  /** A newer access token (same identity and room) for rejoins; TURN credentials are refreshed with it at once. */
  updateToken(token: string): void {
    this.#membership.setToken(token);
    if (this.#self) this.#ice.refreshNow();
  }

  /** How media flows now: `mesh` (a link per peer) or `sfu` (through the server). */
  get mode(): MediaMode {
    return this.#modes.mode;
  }

  get peers(): RemotePeer[] {
    return this.#roster.peers;
  }

  /** Every remote track currently received, from every peer. */
  get remoteTracks(): RemoteTrack[] {
    return [...this.#pcs.links().flatMap((l) => l.remoteTracks), ...(this.#modes.sfu?.remoteTracks ?? [])];
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
    this.#membership.target(url, options);
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
    this.#ice.close();
    this.#modes.close();
    this.#pcs.close();
    this.#roster.close();
    this.#videoPrefs.close();
    this.#data.close();
    this.removeAllListeners();
  }

  async sendChat(text: string, options: { id?: string } = {}): Promise<AppendResult> {
    return this.#requireSignal().chat(text, options.id);
  }
  async sendEvent(type: string, body: unknown): Promise<AppendResult> {
    return this.#requireSignal().roomEvent(type, body);
  }

  /** App data over the data channels to everyone or `to` (docs/client.md, "App data"); see DataChannels.send. */
  sendData(payload: string | Uint8Array, options?: SendDataOptions): Promise<void> {
    return this.#data.send(payload, options);
  }

  /** Whether a data channel reaches `memberId` now (omitted: every member); else chat should use signaling. */
  dataPathOpen(memberId?: string): boolean {
    return this.#data.pathOpen(memberId);
  }

  /** Loads older entries into the log (e.g. scrolling up); returns the ones that were new. */
  async loadHistory(req: HistoryRequest = {}): Promise<LogEntry[]> {
    const res = await this.#requireSignal().history(req);
    return this.#addEntries(res.entries);
  }

  /** The active speaker's peer id (SFU mode), or null. */
  get activeSpeaker(): string | null {
    return this.#roster.activeSpeaker;
  }

  /**
   * Stops (or resumes) receiving a peer's camera (or screen) video through the SFU, e.g. while its
   * tile is off screen: the server stops forwarding it, which saves its bandwidth and our decoder.
   * Kept across reconnects and mode switches; in mesh mode the peer's link keeps sending.
   */
  setVideoPaused(peerId: string, paused: boolean, source: VideoSource = 'camera'): void {
    this.#videoPrefs.setPaused(peerId, source, paused);
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
  }

  /** What we publish through the SFU, per slot and simulcast layer (empty in mesh mode). */
  async publishStats(): Promise<PublishStats[]> {
    return (await this.#modes.sfu?.publishStats()) ?? [];
  }

  /** Publishes a track without LocalMedia (bots, canvases). `null` withdraws the slot. */
  publish(slot: TrackSlot, local: LocalTrack | null): Promise<void> {
    this.#modes.sfu?.setTrack(slot, local);
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
    const [mesh, sfu] = await Promise.all([this.#pcs.getStats(), this.#modes.sfu?.getStats() ?? []]);
    return [...mesh, ...sfu];
  }

  #requireSignal(): SignalClient {
    if (!this.#signal) throw new ClientError('disconnected', 'not connected to a room');
    return this.#signal;
  }

  async #join(signal: SignalClient): Promise<PeerInfo> {
    const res = await this.#membership.join((req) => signal.join(req), this.log.lastSeq);
    const kept = res.resumed && !this.#membership.restarted; // same seat, and our links are intact
    // Our media flags for the room (peers without a link to us show mute icons from them).
    if (this.#localFlags) void signal.mediaState(this.#localFlags).catch(() => undefined);
    if (kept) {
      // Same peer id, links intact: drop peers that left while we were away (and below, make the
      // first offer to those who joined meanwhile: they saw us in their peer list and wait for us).
      const present = new Set(res.peers.map((p) => p.id));
      for (const id of this.#roster.ids) if (!present.has(id)) this.#roster.remove(id);
    } else {
      // A new session: every old link is dead, and the others saw us leave.
      this.#roster.removeAll();
      this.#resetSfu();
    }
    this.#self = res.self;
    this.#pcs.configure(res.self.id, res.iceServers);
    applyJoinGrants(res.grants, { pcs: this.#pcs, recording: this.recording });
    this.#ice.use(res.iceServers, res.iceExpiresAt);
    this.emit('joined', res.self);
    // The mode came with the join: a room in SFU mode gets no mesh links at all.
    const announced = this.#membership.announcedMode;
    if (!kept && announced) this.#modes.setMode(announced, res.self.id);
    // Back in our seat (resumed or restarted), we make the first offers: the others wait for them.
    for (const peer of res.peers) this.#addPeer(peer, res.resumed);
    for (const entry of this.log.applyJoin(res)) this.#emitEntry(entry);
    this.#membership.flush();
    return res.self;
  }

  #bindSignal(signal: SignalClient): void {
    const whenJoined = (fn: () => void) => this.#membership.whenJoined(fn, this.#self !== undefined);
    signal.on('peerJoined', ({ restarted, ...p }) => whenJoined(() => this.#addPeer(p, !restarted, restarted)));
    signal.on('peerLeft', ({ id }) => whenJoined(() => this.#roster.remove(id)));
    signal.on('offer', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleDescription(m.description)));
    signal.on('answer', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleDescription(m.description)));
    signal.on('candidate', (m) => whenJoined(() => void this.#pcs.link(m.from)?.handleCandidate(m.candidate)));
    signal.on('chat', (e) => this.#addEntries([e]));
    signal.on('roomEvent', (e) => this.#addEntries([e]));
    signal.on('sessionEnded', (m) => this.emit('sessionEnded', m.reason, m.message));
    bindMemberControls(signal, {
      media: this.media,
      apply: this.#options.applyMuteRequests !== false,
      applyGrants: (g: MemberGrants) => this.#pcs.applyGrants(g),
      muteRequested: (r) => this.emit('muteRequested', r),
      grantsChanged: (g) => this.emit('grantsChanged', g),
      recording: { control: this.recording, changed: (r) => this.emit('recording', r) },
    });
    const self = () => this.#self?.id;
    bindSfuSignals(signal, { whenJoined, membership: this.#membership, selfId: self, modes: this.#modes, roster: this.#roster });
    signal.on('invalidMessage', (event, error) =>
      this.emit('error', new ClientError('invalid-response', `dropped an invalid ${event} message`, { cause: error })),
    );
    signal.on('disconnect', (reason, willReconnect) => {
      this.#membership.dropBuffered();
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
      this.#roster.setConnectionState(id, connectionState);
      if (connectionState === 'connected') this.#modes.linkConnected();
    });
    pcs.on('mediaState', (id, media) => this.#roster.meshMediaState(id, media));
    pcs.on('error', (_id, err) => {
      // A peer that left while we were still signaling to it is not worth an error.
      if (err instanceof ParleyError && err.code === 'PEER_NOT_FOUND') return;
      if (err instanceof ClientError && err.reason === 'disconnected') return;
      this.emit('error', err);
    });
  }

  #bindRoster(): void {
    const roster = this.#roster;
    roster.on('peerJoined', (peer) => this.emit('peerJoined', peer));
    roster.on('peerUpdated', (peer) => this.emit('peerUpdated', peer));
    roster.on('speakers', (active, speakers) => this.emit('speakers', active, speakers));
    roster.on('peerLeft', (peer) => {
      this.#pcs.remove(peer.id);
      this.#modes.sfu?.removePeer(peer.id);
      this.#videoPrefs.forget(peer.id);
      this.emit('peerLeft', peer);
    });
  }

  #bindModes(): void {
    const modes = this.#modes;
    modes.on('mode', (mode) => this.emit('mode', mode));
    modes.on('track', (t) => this.emit('track', t));
    modes.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    modes.on('connectionState', (id, state) => this.#roster.setConnectionState(id, state));
    modes.on('sfuStopped', () => this.#roster.setSpeakers(null, []));
    modes.on('error', (err) => this.emit('error', err));
  }

  /**
   * `initiator`: whether we make the first offer (true for peers who joined after us).
   * `restarted`: a peer took its seat back without its connections (a reload): rebuild our link.
   */
  #addPeer(info: PeerInfo, initiator: boolean, restarted = false): void {
    if (restarted && this.#roster.has(info.id) && this.#modes.mode === 'mesh') {
      this.#pcs.remove(info.id);
      this.#pcs.add(info, initiator);
    }
    if (this.#roster.has(info.id) || info.id === this.#self?.id) return;
    // In SFU mode the peer's media comes through the SFU's connections, not a link of its own.
    if (this.#modes.mode === 'mesh') this.#pcs.add(info, initiator);
    this.#roster.add(info);
  }

  /** An SFU transport for the ModeController, with our tracks and the producers known so far. */
  #createSfu(selfId: string): SfuTransport {
    const { createPeerConnection = defaultCreatePeerConnection, simulcast } = this.#options;
    const common = { signal: sfuSignalVia(() => this.#requireSignal()), selfId, iceServers: this.#ice.servers, createPeerConnection };
    const options = { ...common, videoPreferences: this.#videoPrefs, data: this.#data, ...(simulcast !== undefined ? { simulcast } : {}) };
    return createRoomSfu(options, this.#pcs.localTracks(), this.#roster.producers);
  }

  /** A new session: nothing of the old SFU state is valid. */
  #resetSfu(): void {
    this.#modes.reset();
    this.#roster.resetMedia();
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
    this.#ice.stop();
    this.#membership.end();
    this.#roster.removeAll();
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
