/**
 * A headless room member: joins through the real signaling (token, join, resume after a dropped
 * connection), takes part in mesh and SFU rooms as the web app does (links to every member in
 * mesh mode, publish/subscribe through the SFU otherwise, and the handover between the two),
 * sends pre-encoded media, counts what it receives without decoding, chats, and leaves cleanly.
 *
 *   const bot = new Bot({ url, room: 'demo', name: 'bot-1', video, audio });
 *   await bot.join();
 *   console.log(bot.stats());
 *   await bot.leave();
 */
import { randomUUID } from 'node:crypto';
import {
  PROTOCOL_VERSION,
  type ChatEntry,
  type IceServer,
  type JoinResult,
  type PeerInfo,
  type SfuProducerInfo,
} from '@parley-rtc/protocol';
import { ClientError } from '@parley-rtc/client';
import { isPolite, SignalClient, type SignalClientOptions } from '@parley-rtc/client/internal';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import type { EncodedClip } from './media/clip.ts';
import { Playout } from './media/Playout.ts';
import { MeshLink } from './MeshLink.ts';
import { SfuSession } from './SfuSession.ts';
import { Receivers } from './stats/Receivers.ts';
import type { BotStats } from './stats/report.ts';

export type BotMode = 'mesh' | 'sfu';
export type BotState = 'idle' | 'joining' | 'joined' | 'reconnecting' | 'closed';

export interface BotOptions {
  /** The Parley server, e.g. http://127.0.0.1:8080. */
  url: string;
  room: string;
  name: string;
  /** An access token (when the server is not in open mode). */
  token?: string | undefined;
  /** Video to send (VP8); none when undefined. */
  video?: EncodedClip | undefined;
  /** Audio to send (Opus); none when undefined. */
  audio?: EncodedClip | undefined;
  /** Audio and video on one clock (clip position due now, sender reports): in sync as a browser's. */
  syncedMedia?: boolean;
  /** Local address for ICE (e.g. 127.0.0.1 on a loopback-only test). */
  bindAddress?: string | undefined;
  /** Deadline for each signaling request and for the connect. */
  ackTimeoutMs?: number;
  /** After a mode switch, how long the old path may stay up while the new one comes. */
  handoverTimeoutMs?: number;
  /** Extra socket.io-client options. */
  socket?: SignalClientOptions['socket'];
}

export interface BotEvents {
  joined: [self: PeerInfo];
  peerJoined: [peer: PeerInfo];
  peerLeft: [peer: PeerInfo];
  mode: [mode: BotMode];
  chat: [entry: ChatEntry];
  /** Something failed that the bot works around (a link, a publication); kept in stats().errors too. */
  error: [error: Error];
  /** The bot is closed for good (left, kicked, the server went away, or close()). */
  closed: [reason: string];
}

export class Bot extends TypedEmitter<BotEvents> {
  readonly options: BotOptions;
  readonly #sources: Playout[];
  readonly #streamId = `bot-${randomUUID()}`;
  readonly #receivers = new Receivers();
  readonly #peers = new Map<string, PeerInfo>();
  readonly #links = new Map<string, MeshLink>();
  readonly #producers = new Map<string, SfuProducerInfo>();
  readonly #errors: string[] = [];
  #signal: SignalClient | undefined;
  #self: PeerInfo | undefined;
  #resume: { peer: string; key: string } | undefined;
  #lastSeq = 0;
  #iceServers: IceServer[] = [];
  #mode: BotMode = 'mesh';
  #announcedMode: BotMode | undefined;
  #sfu: SfuSession | undefined;
  #handoverTimer: NodeJS.Timeout | undefined;
  /** Server events that arrive while a join is in flight wait here for its result. */
  #buffer: Array<() => void> | undefined;
  #state: BotState = 'idle';
  #joinedAt: number | undefined;
  #chatSent = 0;
  #chatReceived = 0;
  #closeReason: string | undefined;

  constructor(options: BotOptions) {
    super();
    this.options = options;
    const epoch = options.syncedMedia ? performance.now() : undefined;
    this.#sources = [options.video, options.audio]
      .filter((c): c is EncodedClip => c !== undefined)
      .map((c) => new Playout(c, epoch === undefined ? {} : { epoch }));
  }

  get state(): BotState {
    return this.#state;
  }

  get self(): PeerInfo | undefined {
    return this.#self;
  }

  get mode(): BotMode {
    return this.#mode;
  }

  get peers(): PeerInfo[] {
    return [...this.#peers.values()];
  }

  /** Why the bot closed, once it has. */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** Mutes (or unmutes) the bot's audio or video: nothing of it is sent meanwhile; its RTP clock keeps running. */
  setPaused(kind: 'audio' | 'video', paused: boolean): void {
    for (const s of this.#sources) if (s.kind === kind) s.setPaused(paused);
  }

  /** Connects and joins the room. Rejects with the server's ParleyError (e.g. ROOM_FULL) or a ClientError. */
  async join(): Promise<PeerInfo> {
    if (this.#state !== 'idle') throw new ClientError('invalid-state', `join() while ${this.#state}`);
    this.#state = 'joining';
    const signal = new SignalClient(this.options.url, {
      ackTimeoutMs: this.options.ackTimeoutMs ?? 10_000,
      socket: { transports: ['websocket'], ...this.options.socket },
    });
    this.#signal = signal;
    this.#bindSignal(signal);
    try {
      await signal.connect();
      return await this.#join(signal);
    } catch (err) {
      this.close(`join failed: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    }
  }

  /** Sends a chat message to the room (stored in the room log). */
  async sendChat(text: string): Promise<number> {
    const signal = this.#signal;
    if (!signal || this.#state !== 'joined') throw new ClientError('disconnected', 'not in a room');
    const res = await signal.chat(text);
    this.#chatSent++;
    return res.seq;
  }

  /** What the bot sent and received so far. */
  stats(): BotStats {
    const joinedAt = this.#joinedAt;
    const since = (t: number | undefined) => (t === undefined || joinedAt === undefined ? undefined : Math.max(0, t - joinedAt));
    return {
      id: this.#self?.id,
      name: this.options.name,
      room: this.options.room,
      state: this.#state,
      mode: this.#mode,
      members: this.#peers.size,
      joinedMsAgo: joinedAt === undefined ? undefined : performance.now() - joinedAt,
      sent: Object.fromEntries(this.#sources.map((s) => [s.kind, { frames: s.framesSent, packets: s.packetsSent }])),
      received: this.#receivers.totals().map((m) => ({
        peerId: m.peerId,
        name: this.#peers.get(m.peerId)?.name,
        video: { ...m.video, firstFrameMs: since(m.video.firstFrameAt) },
        audio: { ...m.audio, firstFrameMs: since(m.audio.firstFrameAt) },
      })),
      chat: { sent: this.#chatSent, received: this.#chatReceived },
      errors: [...this.#errors],
      closeReason: this.#closeReason,
    };
  }

  /** Leaves politely (others see peer_left at once) and closes. */
  async leave(): Promise<void> {
    const signal = this.#signal;
    if (signal?.connected && this.#state === 'joined') await signal.leave().catch(() => null);
    this.close('left');
  }

  /** Closes signaling, media and timers without ceremony. Idempotent. */
  close(reason = 'closed'): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeReason = reason;
    clearTimeout(this.#handoverTimer);
    for (const link of this.#links.values()) link.close(reason);
    this.#links.clear();
    this.#sfu?.close();
    this.#sfu = undefined;
    for (const s of this.#sources) s.close();
    this.#signal?.close();
    this.#signal = undefined;
    this.#buffer = undefined;
    this.emit('closed', reason);
    this.removeAllListeners();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.leave();
  }

  #sends(kind: 'audio' | 'video'): boolean {
    return this.#sources.some((s) => s.kind === kind);
  }

  #fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    if (this.#errors.length < 50) this.#errors.push(e.message);
    this.emit('error', e);
  }

  async #join(signal: SignalClient): Promise<PeerInfo> {
    this.#buffer = [];
    this.#announcedMode = undefined;
    let res: JoinResult;
    try {
      res = await signal.join({
        room: this.options.room,
        name: this.options.name,
        ...(this.options.token !== undefined ? { token: this.options.token } : {}),
        ...(this.#resume ? { resume: this.#resume, lastSeq: this.#lastSeq } : {}),
        protocol: PROTOCOL_VERSION,
      });
    } catch (err) {
      this.#buffer = undefined;
      throw err;
    }
    if (this.#state === 'closed') return res.self;
    // After a reconnect the ack replays what we missed; on a first join its entries are old history.
    const missed = this.#resume ? res.entries.filter((e) => e.seq > this.#lastSeq) : [];
    this.#resume = { peer: res.self.id, key: res.resumeKey };
    this.#lastSeq = Math.max(this.#lastSeq, res.lastSeq);
    this.#iceServers = res.iceServers;
    this.#joinedAt ??= performance.now();
    void signal.mediaState({ audio: this.#sends('audio'), video: this.#sends('video'), screen: false }).catch(() => undefined);
    if (res.resumed) {
      const present = new Set(res.peers.map((p) => p.id));
      for (const id of [...this.#peers.keys()]) if (!present.has(id)) this.#removePeer(id);
      this.#self = res.self;
      for (const peer of res.peers) if (!this.#peers.has(peer.id)) this.#addPeer(peer, true);
    } else {
      for (const id of [...this.#peers.keys()]) this.#removePeer(id);
      this.#resetMedia();
      this.#self = res.self;
      if (this.#announcedMode) this.#setMode(this.#announcedMode);
      for (const peer of res.peers) this.#addPeer(peer, false);
    }
    this.#state = 'joined';
    this.emit('joined', res.self);
    for (const entry of missed) {
      if (entry.kind !== 'chat') continue;
      this.#chatReceived++;
      this.emit('chat', entry);
    }
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const fn of buffered) fn();
    return res.self;
  }

  #bindSignal(signal: SignalClient): void {
    const whenJoined = (fn: () => void) => {
      if (this.#buffer) this.#buffer.push(fn);
      else if (this.#self) fn();
    };
    // A restarted peer (same id, new connections) makes the first offer itself, as the SDK's Room does.
    signal.on('peerJoined', ({ restarted, ...p }) => whenJoined(() => this.#addPeer(p, !restarted, restarted)));
    signal.on('peerLeft', ({ id }) => whenJoined(() => this.#removePeer(id)));
    signal.on('offer', (m) => whenJoined(() => void this.#links.get(m.from)?.handleDescription(m.description)));
    signal.on('answer', (m) => whenJoined(() => void this.#links.get(m.from)?.handleDescription(m.description)));
    signal.on('candidate', (m) => whenJoined(() => void this.#links.get(m.from)?.handleCandidate(m.candidate)));
    signal.on('chat', (entry) => {
      this.#lastSeq = Math.max(this.#lastSeq, entry.seq);
      this.#chatReceived++;
      this.emit('chat', entry);
    });
    signal.on('roomEvent', (entry) => {
      this.#lastSeq = Math.max(this.#lastSeq, entry.seq);
    });
    signal.on('sfuMode', (m) => {
      if (this.#buffer) this.#announcedMode = m.mode;
      whenJoined(() => this.#setMode(m.mode));
    });
    signal.on('sfuProducer', (p) =>
      whenJoined(() => {
        if (p.peer === this.#self?.id) return;
        this.#producers.set(p.id, p);
        this.#sfu?.addProducer(p);
      }),
    );
    signal.on('sfuProducerClosed', (p) =>
      whenJoined(() => {
        this.#producers.delete(p.id);
        this.#sfu?.removeProducer(p.id);
      }),
    );
    signal.on('sessionEnded', (m) => this.close(`session ended by the server: ${m.reason} (${m.message})`));
    signal.on('invalidMessage', (event) => this.#fail(new Error(`dropped an invalid ${event} message from the server`)));
    signal.on('disconnect', (reason, willReconnect) => {
      if (this.#state === 'closed') return;
      if (!willReconnect) {
        this.close(`disconnected: ${reason}`);
        return;
      }
      // The server keeps our seat for its resume grace; links stay up and the rejoin resumes.
      this.#buffer = undefined;
      this.#state = 'reconnecting';
    });
    signal.on('connect', (reconnect) => {
      if (!reconnect || this.#state === 'closed') return;
      this.#join(signal).catch((err: unknown) => this.close(`rejoin failed: ${err instanceof Error ? err.message : String(err)}`));
    });
  }

  /** `restarted`: the peer took its seat back without its connections (a reload): relink. */
  #addPeer(info: PeerInfo, initiator: boolean, restarted = false): void {
    if (restarted && this.#peers.has(info.id)) {
      // Its old link is dead (and may already have closed itself): a new one, whatever is left.
      this.#links.get(info.id)?.close('peer restarted');
      this.#links.delete(info.id);
      if (this.#mode === 'mesh') this.#link(info, initiator);
    }
    if (this.#peers.has(info.id) || info.id === this.#self?.id) return;
    this.#peers.set(info.id, info);
    if (this.#mode === 'mesh') this.#link(info, initiator);
    this.emit('peerJoined', info);
  }

  #removePeer(id: string): void {
    const peer = this.#peers.get(id);
    if (!peer) return;
    this.#peers.delete(id);
    this.#links.get(id)?.close('peer left');
    this.#links.delete(id);
    for (const [pid, p] of this.#producers) if (p.peer === id) this.#producers.delete(pid);
    this.emit('peerLeft', peer);
  }

  #link(peer: PeerInfo, initiator: boolean): void {
    const self = this.#self;
    const signal = this.#signal;
    if (!self || !signal || this.#links.has(peer.id)) return;
    const link = new MeshLink({
      peer,
      polite: isPolite(self.id, peer.id),
      initiator,
      signal,
      sources: this.#sources,
      state: {
        audio: this.#sends('audio'),
        video: this.#sends('video'),
        cameraStream: this.#sources.length > 0 ? this.#streamId : null,
        screenStream: null,
      },
      streamId: this.#streamId,
      iceServers: this.#iceServers,
      bindAddress: this.options.bindAddress,
      inbound: (kind, key) => this.#receivers.stream(peer.id, kind, key),
    });
    this.#links.set(peer.id, link);
    link.on('error', (err) => this.#fail(new Error(`link to ${peer.name}: ${err.message}`, { cause: err })));
    link.on('state', (s) => {
      if (s === 'connected') this.#maybeFinishMeshHandover();
    });
    link.on('close', () => {
      if (this.#links.get(peer.id) === link) this.#links.delete(peer.id);
    });
  }

  /** The server's advice, followed as the web app does (see the SDK's Room). */
  #setMode(mode: BotMode): void {
    const self = this.#self;
    if (mode === this.#mode || !self) return;
    this.#mode = mode;
    clearTimeout(this.#handoverTimer);
    const timeout = this.options.handoverTimeoutMs ?? 10_000;
    if (mode === 'sfu') {
      this.#startSfu();
      this.#handoverTimer = setTimeout(() => {
        if (this.#mode !== 'sfu') return;
        for (const link of this.#links.values()) link.close('handover to the SFU');
        this.#links.clear();
      }, timeout);
    } else {
      for (const peer of this.#peers.values()) this.#link(peer, !isPolite(self.id, peer.id));
      this.#handoverTimer = setTimeout(() => {
        if (this.#mode === 'mesh') this.#stopSfu();
      }, timeout);
      this.#maybeFinishMeshHandover();
    }
    this.emit('mode', mode);
  }

  #startSfu(): void {
    const signal = this.#signal;
    if (this.#sfu || !signal) return;
    const sfu = new SfuSession({
      signal,
      sources: this.#sources,
      streamId: this.#streamId,
      iceServers: this.#iceServers,
      bindAddress: this.options.bindAddress,
      inbound: (peerId, kind, key) => this.#receivers.stream(peerId, kind, key),
    });
    this.#sfu = sfu;
    sfu.on('error', (err) => {
      if (!(err.cause instanceof ClientError && (err.cause.reason === 'closed' || err.cause.reason === 'disconnected'))) this.#fail(err);
    });
    sfu.on('flowing', (peerId) => {
      if (this.#mode !== 'sfu') return;
      this.#links.get(peerId)?.close('media arrives through the SFU');
      this.#links.delete(peerId);
    });
    for (const p of this.#producers.values()) sfu.addProducer(p);
    sfu.start();
  }

  #maybeFinishMeshHandover(): void {
    if (this.#mode !== 'mesh' || !this.#sfu) return;
    for (const id of this.#peers.keys()) if (this.#links.get(id)?.state !== 'connected') return;
    this.#stopSfu();
  }

  #stopSfu(): void {
    this.#sfu?.close();
    this.#sfu = undefined;
  }

  /** A new session: no link, publication or producer of the old one is valid. */
  #resetMedia(): void {
    clearTimeout(this.#handoverTimer);
    for (const link of this.#links.values()) link.close('new session');
    this.#links.clear();
    this.#stopSfu();
    this.#producers.clear();
    this.#mode = 'mesh';
  }
}
