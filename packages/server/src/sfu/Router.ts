/**
 * The SFU of one room: publishers' producers and subscribers' consumers, over server-side
 * MediaPeers. Signaling is the caller's business: `publish()` answers a publisher's offer (one
 * producer per sending VP8/H.264/Opus section), `subscribe()` answers a subscriber's offer (its
 * receiving sections, in order, get the requested producers of the same kind). The router owns the
 * forwarding table (which consumers each producer feeds) and sends each consumer's RTCP sender
 * reports from one timer.
 *
 * Closing (docs/lifecycle.md): closing a connection closes its consumers, or its producers (whose
 * consumers close with `producerclose`), with `transportclose`; `close()` closes every connection,
 * subscribers first, with `routerclose`, then emits `close` and drops its listeners. Each closing
 * is logged at info level with its reason chain ("consumer closed: producer closed (publisher left)").
 */
import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { ParleyError } from '@parley-rtc/protocol';
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { MediaPeer } from '@parley-rtc/rtc/MediaPeer';
import type { MediaTrack } from '@parley-rtc/rtc/MediaTrack';
import { chooseIngestCodec, matchCodec, parseSdp, type SdpMedia } from '@parley-rtc/rtc/sdp';
import type { Logger } from '../util/logger.ts';
import { ActiveSpeaker } from './ActiveSpeaker.ts';
import {
  describeConsumerClose,
  describeConnectionClose,
  describeProducerClose,
  describeRouterClose,
  type ConnectionCloseReason,
  type RouterCloseReason,
} from './closeReasons.ts';
import { Consumer } from './Consumer.ts';
import { Forwarding } from './Forwarding.ts';
import { Producer, type BitrateLimits } from './Producer.ts';
import { createPublication } from './publication.ts';
import { collectRouterStats } from './routerStats.ts';
import type { ConsumerInfo, ProducerInfo, Publication, RouterEvents, RouterLimits, RouterOptions, RouterStats } from './RouterTypes.ts';
import { Simulcast } from './Simulcast.ts';
import { subscribeTimeline, traceSubscription } from './subscribeSetup.ts';

export type { ConsumerInfo, ProducerInfo, Publication, RouterEvents, RouterLimits, RouterOptions, RouterStats } from './RouterTypes.ts';

interface ConnectionEntry {
  peer: MediaPeer;
  role: 'publisher' | 'subscriber';
  producers: Publication[];
  consumers: Consumer[];
  timers: Set<NodeJS.Timeout>;
  /** Set when closeConnection() starts (the entry stays listed until its children closed). */
  closing: ConnectionCloseReason | undefined;
}

const ID_RE = /^[\w-]{1,64}$/;

export class Router extends TypedEmitter<RouterEvents> {
  readonly id: string;
  readonly #opts: RouterOptions;
  readonly #log: Logger;
  readonly #forwarding = new Forwarding();
  readonly #limits: RouterLimits;
  readonly #connections = new Map<string, ConnectionEntry>();
  readonly #producers = new Map<string, Publication>();
  readonly #consumers = new Map<string, Consumer>();
  readonly #speaker: ActiveSpeaker;
  readonly #bitrate: BitrateLimits;
  #srTimer: NodeJS.Timeout | undefined;
  #closeReason: RouterCloseReason | undefined;
  #rejected = 0;
  #retransmittedClosed = 0;

  constructor(opts: RouterOptions) {
    super();
    this.id = opts.id;
    this.#opts = opts;
    this.#log = opts.log ?? pino({ enabled: false });
    this.#limits = { maxProducers: 32, maxConsumers: 2000, maxConsumersPerConnection: 16, ...opts.limits };
    this.#srTimer = setInterval(() => this.#sendReports(), opts.senderReportIntervalMs ?? 1000);
    this.#srTimer.unref();
    this.#speaker = new ActiveSpeaker(opts.activeSpeaker);
    this.#bitrate = { min: 150_000, max: 2_500_000, ...opts.publishBitrate };
    this.#speaker.on('change', (active, speakers) => this.emit('speakers', active, speakers));
  }

  /** The current active speaker's producer id, if anyone speaks. */
  get activeSpeaker(): string | undefined {
    return this.#speaker.active;
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why it closed (undefined while open). */
  get closeReason(): RouterCloseReason | undefined {
    return this.#closeReason;
  }

  /** A single-stream producer (not simulcast) by id. */
  producer(id: string): Producer | undefined {
    const p = this.#producers.get(id);
    return p instanceof Producer ? p : undefined;
  }

  /** A publication (single stream or simulcast) by id. */
  publication(id: string): Publication | undefined {
    return this.#producers.get(id);
  }

  /** Stops (or resumes) forwarding a publication whatever its publisher sends (admin mute). */
  setMuted(publicationId: string, muted: boolean): boolean {
    const p = this.#producers.get(publicationId);
    if (!p) return false;
    p.setMuted(muted);
    // Nothing was forwarded while muted: the subscribers' streams continue without a gap.
    if (!muted)
      for (const layer of p instanceof Simulcast ? p.layers : [p]) for (const c of this.#forwarding.consumersOf(layer)) c.resync();
    return true;
  }

  consumer(id: string): Consumer | undefined {
    return this.#consumers.get(id);
  }

  producers(): ProducerInfo[] {
    return [...this.#producers.values()].map(producerInfo);
  }

  /** The MediaPeer of one SFU connection (undefined once it closed). */
  connection(connectionId: string): MediaPeer | undefined {
    return this.#connections.get(connectionId)?.peer;
  }

  #reject(code: 'NOT_FOUND' | 'UNSUPPORTED' | 'BAD_SDP' | 'ROOM_FULL' | 'SHUTTING_DOWN' | 'INVALID_PAYLOAD', message: string): never {
    this.#rejected++;
    throw new ParleyError(code, message);
  }

  /** Answers a publisher's offer: one producer per sending VP8/H.264/Opus section. */
  async publish(offerSdp: unknown): Promise<{ connectionId: string; answer: string; producers: ProducerInfo[] }> {
    if (this.closed) this.#reject('SHUTTING_DOWN', 'the router is closed');
    if (typeof offerSdp !== 'string') this.#reject('INVALID_PAYLOAD', 'the offer must be an SDP string');
    const offer = this.#parse(offerSdp);
    const connectionId = `pub-${randomUUID()}`;
    const entry = this.#newConnection(connectionId, 'publisher');
    try {
      for (const m of offer.media) {
        if (m.kind === 'application') continue;
        const sends = m.port !== 0 && (m.direction === 'sendonly' || m.direction === 'sendrecv');
        const match = sends ? chooseIngestCodec(m) : undefined;
        if (!match || this.#producers.size >= this.#limits.maxProducers) {
          refuseSection(entry.peer, m, m.kind);
          continue;
        }
        const pub = createPublication(entry.peer, m, match, {
          connectionId,
          keyFrameIntervalMs: this.#opts.keyFrameIntervalMs,
          observeLevel: (producerId, level) => this.#speaker.observe(producerId, level),
        });
        this.#register(entry, pub);
      }
      if (entry.producers.length === 0)
        this.#reject('UNSUPPORTED', 'the offer sends no VP8/H.264/Opus media (or the room has its maximum of producers)');
      const answer = await entry.peer.answer(offerSdp);
      if (entry.peer.closed) throw new ParleyError('INTERNAL', 'the connection closed during setup');
      this.#watch(entry);
      const producers = entry.producers.map(producerInfo);
      for (const p of producers) this.emit('producer', p);
      return { connectionId, answer, producers };
    } catch (err) {
      this.closeConnection(connectionId, 'setupfailed');
      throw err;
    }
  }

  #register(entry: ConnectionEntry | undefined, pub: Publication): void {
    entry?.producers.push(pub);
    this.#producers.set(pub.id, pub);
    // the forwarding table hears of a producer's end first: its consumers close before it is gone
    for (const p of pub instanceof Simulcast ? pub.layers : [pub]) this.#forwarding.addProducer(p);
    pub.once('close', (reason) => {
      this.#speaker.remove(pub.id);
      this.#producers.delete(pub.id);
      this.#log.info(
        { producerId: pub.id, connectionId: pub.connectionId, kind: pub.kind, reason },
        `producer closed: ${this.#whyProducer(pub)}`,
      );
      this.emit('producerclose', pub.id, reason);
    });
  }

  /** Inter-node relay hook (relay/, docs/sfu.md): a producer fed by another node (announced, consumed and reported like a local one), or a consumer feeding one. `announce: false`: a producer fed in-process, without a `producer` event (the room audio mix, mix/). */
  attachRelay(item: Producer | Consumer, opts: { announce?: boolean } = {}): void {
    if (this.closed) this.#reject('SHUTTING_DOWN', 'the router is closed');
    if (item instanceof Consumer) return this.#forwarding.add(item);
    this.#register(undefined, item);
    if (opts.announce !== false) this.emit('producer', producerInfo(item));
  }

  /** Why a producer (or simulcast layer) closed, with its publisher's reason. */
  #whyProducer(p: Publication): string {
    return describeProducerClose(p.closeReason ?? 'close', this.#connections.get(p.connectionId)?.closing, this.#closeReason);
  }

  /**
   * Answers a subscriber's offer: its receiving sections, in order, consume `producerIds` (first
   * unused producer of the section's kind whose codec the section offers). Unknown producers → NOT_FOUND.
   */
  async subscribe(
    offerSdp: unknown,
    producerIds: unknown,
    opts: { paused?: boolean } = {},
  ): Promise<{ connectionId: string; answer: string; consumers: ConsumerInfo[] }> {
    if (this.closed) this.#reject('SHUTTING_DOWN', 'the router is closed');
    if (typeof offerSdp !== 'string') this.#reject('INVALID_PAYLOAD', 'the offer must be an SDP string');
    const setup = subscribeTimeline(this.#log);
    if (!Array.isArray(producerIds) || producerIds.length === 0 || producerIds.length > this.#limits.maxConsumersPerConnection) {
      this.#reject('INVALID_PAYLOAD', `producerIds must be a list of 1–${this.#limits.maxConsumersPerConnection} ids`);
    }
    const wanted: Publication[] = [];
    for (const id of producerIds) {
      if (typeof id !== 'string' || !ID_RE.test(id))
        this.#reject('INVALID_PAYLOAD', 'producer ids are strings of letters, digits, - and _');
      const p = this.#producers.get(id);
      if (!p) this.#reject('NOT_FOUND', `no producer ${id} in this room`);
      if (!wanted.includes(p)) wanted.push(p);
    }
    if (this.#consumers.size + wanted.length > this.#limits.maxConsumers)
      this.#reject('ROOM_FULL', 'the room has its maximum of consumers');
    const offer = this.#parse(offerSdp);
    const connectionId = `sub-${randomUUID()}`;
    const entry = this.#newConnection(connectionId, 'subscriber');
    const infos: ConsumerInfo[] = [];
    let video: { consumer: Consumer; track: MediaTrack } | undefined;
    try {
      const pending = [...wanted];
      for (const m of offer.media) {
        if (m.kind === 'application') continue;
        const receives = m.port !== 0 && (m.direction === 'recvonly' || m.direction === 'sendrecv');
        const idx = receives ? pending.findIndex((p) => p.kind === m.kind && matchCodec(m, p.codec) !== undefined) : -1;
        const producer = idx === -1 ? undefined : pending.splice(idx, 1)[0];
        const offered = producer ? matchCodec(m, producer.codec) : undefined;
        if (!producer || !offered) {
          refuseSection(entry.peer, m, m.kind);
          continue;
        }
        const track = entry.peer.addTrack({
          mid: m.mid,
          kind: m.kind,
          direction: 'send',
          codec: producer.codec,
          payloadType: offered.payloadType,
          streamId: producer.connectionId,
        });
        const source = producer instanceof Simulcast ? producer.initialLayer() : producer;
        const consumer = new Consumer({
          id: `c-${randomUUID()}`,
          connectionId,
          producer: source,
          output: track,
          payloadType: offered.payloadType,
          paused: opts.paused ?? false,
        });
        if (producer instanceof Simulcast) producer.track(consumer);
        this.#attachConsumer(entry, consumer, track);
        if (m.kind === 'video') video ??= { consumer, track };
        infos.push({ id: consumer.id, producerId: producer.id, kind: m.kind, mid: m.mid, ssrc: track.ssrc });
      }
      if (pending.length > 0) {
        this.#reject(
          'UNSUPPORTED',
          `the offer has no receiving ${pending.map((p) => `${p.kind} section with ${p.codec.name}`).join(', ')} for the requested producers`,
        );
      }
      const answer = await entry.peer.answer(offerSdp);
      if (entry.peer.closed) throw new ParleyError('INTERNAL', 'the connection closed during setup');
      this.#watch(entry);
      traceSubscription(setup, this.#log, entry.peer, video);
      return { connectionId, answer, consumers: infos };
    } catch (err) {
      this.closeConnection(connectionId, 'setupfailed');
      throw err;
    }
  }

  #attachConsumer(entry: ConnectionEntry, consumer: Consumer, track: MediaTrack): void {
    entry.consumers.push(consumer);
    this.#consumers.set(consumer.id, consumer);
    this.#forwarding.add(consumer);
    track.on('open', () => consumer.start());
    if (!consumer.paused) consumer.prime(); // a fresh key frame is cached by the time the transport opens
    track.on('rtcp', (p) => consumer.receiveRtcp(p));
    track.on('close', () => consumer.close('transportclose'));
    consumer.once('close', (reason) => {
      this.#retransmittedClosed += consumer.stats.retransmitted;
      this.#consumers.delete(consumer.id);
      const i = entry.consumers.indexOf(consumer);
      if (i !== -1) entry.consumers.splice(i, 1);
      track.close();
      const why = describeConsumerClose(reason, {
        producer: reason === 'producerclose' ? this.#whyProducer(consumer.producer) : undefined,
        connection: entry.closing,
        router: this.#closeReason,
      });
      this.#log.info(
        { consumerId: consumer.id, producerId: consumer.producer.id, connectionId: consumer.connectionId, reason },
        `consumer closed: ${why}`,
      );
      this.emit('consumerclose', consumer.id, reason);
    });
  }

  /** The subscriber shows this consumer at `width`×`height` device pixels (simulcast layer choice). */
  setVideoSize(consumerId: string, width: number, height: number): void {
    const c = this.#consumers.get(consumerId);
    if (!c) this.#reject('NOT_FOUND', `no consumer ${consumerId}`);
    for (const p of this.#producers.values()) if (p instanceof Simulcast) p.setVideoSize(c, width, height);
  }

  /** Feeds a consumer from another producer (same kind/codec); its stream stays continuous. */
  switchConsumer(consumerId: string, producerId: string): void {
    const c = this.#consumers.get(consumerId);
    const p = this.#producers.get(producerId);
    if (!c) this.#reject('NOT_FOUND', `no consumer ${consumerId}`);
    if (!p) this.#reject('NOT_FOUND', `no producer ${producerId}`);
    try {
      c.switchProducer(p instanceof Simulcast ? p.initialLayer() : p);
      if (p instanceof Simulcast) p.track(c);
    } catch (err) {
      this.#reject('UNSUPPORTED', (err as Error).message);
    }
  }

  #parse(sdp: string): ReturnType<typeof parseSdp> {
    try {
      return parseSdp(sdp);
    } catch (err) {
      this.#rejected++;
      throw err;
    }
  }

  #newConnection(connectionId: string, role: ConnectionEntry['role']): ConnectionEntry {
    const entry: ConnectionEntry = {
      peer: new MediaPeer(connectionId, this.#opts.connectionOptions(connectionId)),
      role,
      producers: [],
      consumers: [],
      timers: new Set(),
      closing: undefined,
    };
    this.#connections.set(connectionId, entry);
    return entry;
  }

  #watch(entry: ConnectionEntry): void {
    const id = entry.peer.id;
    const connectTimer = setTimeout(() => this.closeConnection(id, 'connecttimeout'), this.#opts.connectTimeoutMs ?? 30_000);
    entry.timers.add(connectTimer);
    entry.peer.on('state', (s) => {
      if (s === 'connected') {
        for (const t of entry.timers) clearTimeout(t);
        entry.timers.clear();
        for (const p of entry.producers) p.requestKeyFrame();
      } else if (s === 'disconnected') {
        entry.timers.add(setTimeout(() => this.closeConnection(id, 'disconnected'), this.#opts.disconnectGraceMs ?? 10_000));
      }
    });
    entry.peer.on('close', () => this.closeConnection(id, 'transportclose'));
  }

  /**
   * Closes one SFU connection: its consumers, or its producers (and so their consumers), with
   * `transportclose` (`routerclose` when the router closes), then the connection. Idempotent.
   */
  closeConnection(connectionId: string, reason: ConnectionCloseReason = 'close'): void {
    const entry = this.#connections.get(connectionId);
    if (!entry || entry.closing) return;
    entry.closing = reason;
    for (const t of entry.timers) clearTimeout(t);
    entry.timers.clear();
    const childReason = reason === 'routerclose' ? 'routerclose' : 'transportclose';
    for (const c of [...entry.consumers]) c.close(childReason);
    for (const p of [...entry.producers]) p.close(childReason);
    entry.peer.close();
    this.#connections.delete(connectionId);
    this.#log.info(
      { connectionId, role: entry.role, reason },
      `sfu connection closed: ${describeConnectionClose(entry.role, reason, this.#closeReason)}`,
    );
    this.emit('connectionclose', connectionId, reason);
  }

  #sendReports(): void {
    const now = Date.now();
    for (const c of this.#consumers.values()) {
      if (!c.output.isOpen) continue;
      const sr = c.senderReport(now);
      if (sr) c.output.sendRtcp(sr);
    }
    const mono = performance.now();
    for (const p of this.#producers.values()) {
      p.sendFeedback(this.#bitrate, mono);
      if (p instanceof Simulcast) p.select(mono);
    }
  }

  stats(): RouterStats {
    return collectRouterStats({
      connections: this.#connections.values(),
      publications: this.#producers.values(),
      consumers: this.#consumers.values(),
      retransmittedClosed: this.#retransmittedClosed,
      rejected: this.#rejected,
    });
  }

  /**
   * Idempotent: closes every connection (subscribers first) with `routerclose`, stops the timers, emits
   * `close` and then drops its listeners.
   */
  close(reason: RouterCloseReason = 'close'): void {
    if (this.#closeReason) return;
    this.#closeReason = reason;
    const subscribers = [...this.#connections.values()].filter((e) => e.role === 'subscriber');
    const publishers = [...this.#connections.values()].filter((e) => e.role === 'publisher');
    for (const e of [...subscribers, ...publishers]) this.closeConnection(e.peer.id, 'routerclose');
    for (const relayed of [...this.#producers.values()]) relayed.close('routerclose'); // producers fed by other nodes
    if (this.#srTimer) clearInterval(this.#srTimer);
    this.#srTimer = undefined;
    this.#speaker.close();
    this.#log.info({ reason }, describeRouterClose(reason));
    this.emit('close', reason);
    this.removeAllListeners();
  }
}

/** Answers an offered section the router will not use as inactive (`kind`: `m.kind`, data sections skipped). */
function refuseSection(peer: MediaPeer, m: SdpMedia, kind: 'audio' | 'video'): void {
  peer.addTrack({ mid: m.mid, kind, direction: 'inactive', codec: undefined, payloadType: m.codecs[0]?.payloadType ?? 96 });
}

function producerInfo(p: Publication): ProducerInfo {
  return {
    id: p.id,
    connectionId: p.connectionId,
    kind: p.kind,
    codec: p.codec.name,
    layers: p instanceof Simulcast ? p.layers.length : 1,
  };
}
