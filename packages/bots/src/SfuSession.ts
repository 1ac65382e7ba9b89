/**
 * A headless participant's media through the room's SFU, with the same requests as the SDK's
 * SfuTransport: each source is published on its own connection (`sfu_publish`, source camera or
 * microphone), and announced producers of other members are received in batches of at most 16 per
 * connection (`sfu_subscribe`). Each connection is a MediaPeer that offers and takes the answer
 * from the ack. A publication or subscription whose connection fails is set up again with backoff
 * (1, 2, 4 … 10 s), for the producers that still exist.
 */
import type { IceServer, MediaSource, SfuProducerInfo, SfuPublishResult, SfuSubscribeResult } from '@parley-rtc/protocol';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import { BOT_CODECS } from './codecs.ts';
import { asksForKeyFrame, type Playout } from './media/Playout.ts';
import type { InboundStream } from './stats/InboundStream.ts';

/** What the session asks of the signaling connection (the SignalClient implements it). */
export interface SfuRequests {
  sfuPublish(sdp: string, source?: MediaSource): Promise<SfuPublishResult>;
  sfuSubscribe(sdp: string, producerIds: string[]): Promise<SfuSubscribeResult>;
  sfuClose(connectionId: string): Promise<unknown>;
}

export interface SfuSessionOptions {
  signal: SfuRequests;
  sources: readonly Playout[];
  streamId: string;
  iceServers: readonly IceServer[];
  bindAddress?: string | undefined;
  inbound: (peerId: string, kind: 'audio' | 'video', key: string) => InboundStream;
  /** How long to collect announcements before one subscribe request. */
  batchDelayMs?: number;
}

export interface SfuSessionEvents {
  /** The first media packet from this member arrived through the SFU. */
  flowing: [peerId: string];
  error: [error: Error];
}

const MAX_PER_SUBSCRIBE = 16;

const backoff = (failures: number): number => Math.min(10_000, 1000 * 2 ** Math.max(0, failures - 1));

export class SfuSession extends TypedEmitter<SfuSessionEvents> {
  readonly #opts: SfuSessionOptions;
  /** Producers of other members that still exist. */
  readonly #producers = new Map<string, SfuProducerInfo>();
  /** Producers that are received (or being set up) on some connection. */
  readonly #covered = new Set<string>();
  /** Our connections, with the server's id of each once its request succeeded (for `sfu_close`). */
  readonly #peers = new Map<MediaPeer, string | undefined>();
  readonly #flowing = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #batchTimer: NodeJS.Timeout | undefined;
  #subscribeFailures = 0;
  #closed = false;

  constructor(options: SfuSessionOptions) {
    super();
    this.#opts = options;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Publishes every source and subscribes to the producers known so far. */
  start(): void {
    for (const source of this.#opts.sources) void this.#publish(source, 0);
    this.#scheduleSubscribe();
  }

  addProducer(info: SfuProducerInfo): void {
    if (this.#closed || this.#producers.has(info.id)) return;
    this.#producers.set(info.id, info);
    this.#scheduleSubscribe();
  }

  removeProducer(id: string): void {
    this.#producers.delete(id);
  }

  /** Whether media from this member has arrived through the SFU. */
  isFlowing(peerId: string): boolean {
    return this.#flowing.has(peerId);
  }

  /** Closes every connection and timer (the server closes its side when we leave). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#batchTimer);
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    for (const [peer, serverId] of this.#peers) {
      if (serverId !== undefined) void this.#opts.signal.sfuClose(serverId).catch(() => undefined);
      peer.close();
    }
    this.#peers.clear();
    this.removeAllListeners();
  }

  #later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.#timers.delete(t);
      if (!this.#closed) fn();
    }, ms);
    this.#timers.add(t);
  }

  async #publish(source: Playout, failures: number): Promise<void> {
    const kind = source.kind;
    const what: MediaSource = kind === 'video' ? 'camera' : 'microphone';
    const peer = new MediaPeer(`sfu-pub-${what}`, { iceServers: this.#opts.iceServers, bindAddress: this.#opts.bindAddress });
    this.#peers.set(peer, undefined);
    const track = peer.addTrack({
      mid: '0',
      kind,
      direction: 'send',
      ...BOT_CODECS[kind],
      ssrc: source.ssrc,
      streamId: this.#opts.streamId,
    });
    track.on('rtcp', (packets) => {
      if (asksForKeyFrame(packets)) source.requestKeyFrame();
    });
    let serverId: string | undefined;
    try {
      const res = await this.#opts.signal.sfuPublish(await peer.createOffer(), what);
      serverId = res.connectionId;
      if (this.#peers.has(peer)) this.#peers.set(peer, serverId);
      peer.setAnswer(res.answer);
      await peer.waitConnected(10_000);
    } catch (err) {
      this.#drop(peer, serverId);
      if (this.#closed) return;
      this.emit('error', new Error(`publishing the ${what} through the SFU failed: ${(err as Error).message}`, { cause: err }));
      this.#later(() => void this.#publish(source, failures + 1), backoff(failures + 1));
      return;
    }
    const detach = source.attach(track);
    peer.on('close', () => {
      detach();
      this.#peers.delete(peer);
      if (!this.#closed) this.#later(() => void this.#publish(source, 0), backoff(1));
    });
  }

  #scheduleSubscribe(delayMs = this.#opts.batchDelayMs ?? 50): void {
    if (this.#batchTimer || this.#closed) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      const wanted = [...this.#producers.keys()].filter((id) => !this.#covered.has(id));
      for (let i = 0; i < wanted.length; i += MAX_PER_SUBSCRIBE) void this.#subscribe(wanted.slice(i, i + MAX_PER_SUBSCRIBE));
    }, delayMs);
  }

  async #subscribe(ids: string[]): Promise<void> {
    const infos = ids.map((id) => this.#producers.get(id)).filter((p): p is SfuProducerInfo => p !== undefined);
    if (infos.length === 0) return;
    for (const p of infos) this.#covered.add(p.id);
    const peer = new MediaPeer('sfu-sub', { iceServers: this.#opts.iceServers, bindAddress: this.#opts.bindAddress });
    this.#peers.set(peer, undefined);
    const tracks = infos.map((p, i) => peer.addTrack({ mid: String(i), kind: p.kind, direction: 'recv', ...BOT_CODECS[p.kind] }));
    let serverId: string | undefined;
    try {
      const res = await this.#opts.signal.sfuSubscribe(
        await peer.createOffer(),
        infos.map((p) => p.id),
      );
      serverId = res.connectionId;
      if (this.#peers.has(peer)) this.#peers.set(peer, serverId);
      peer.setAnswer(res.answer);
      const byMid = new Map(res.consumers.map((c) => [c.mid, c.producerId]));
      tracks.forEach((track, i) => {
        const info = infos[i]!;
        if (byMid.get(track.mid) !== info.id) return;
        const inbound = this.#opts.inbound(info.peer, info.kind, `sfu:${info.id}`);
        track.on('rtp', (pkt) => {
          inbound.packet(pkt);
          if (!this.#flowing.has(info.peer)) {
            this.#flowing.add(info.peer);
            this.emit('flowing', info.peer);
          }
        });
      });
      await peer.waitConnected(10_000);
      this.#subscribeFailures = 0;
    } catch (err) {
      for (const p of infos) this.#covered.delete(p.id);
      this.#drop(peer, serverId);
      if (this.#closed) return;
      this.#subscribeFailures++;
      this.emit('error', new Error(`subscribing through the SFU failed: ${(err as Error).message}`, { cause: err }));
      this.#later(() => this.#scheduleSubscribe(0), backoff(this.#subscribeFailures));
      return;
    }
    peer.on('close', () => {
      this.#peers.delete(peer);
      for (const p of infos) this.#covered.delete(p.id);
      // The producers that still exist are received again, on a new connection.
      if (!this.#closed) this.#later(() => this.#scheduleSubscribe(0), backoff(1));
    });
  }

  #drop(peer: MediaPeer, serverId: string | undefined): void {
    this.#peers.delete(peer);
    peer.close();
    if (serverId !== undefined && !this.#closed) void this.#opts.signal.sfuClose(serverId).catch(() => undefined);
  }
}
