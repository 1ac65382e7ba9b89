import { LIMITS, type SfuProducerInfo, type SfuSubscribeResult } from '@parley-rtc/protocol';
import { applyIceServers } from './iceConfig.ts';
import { Emitter } from './Emitter.ts';
import type { PeerLinkOptions, RemoteTrack } from './PeerLink.ts';
import type { VideoConsumer } from './SfuVideoControl.ts';
import { recoveryOptions, retryDelay, watchConnection, type SfuRecoveryOptions } from './sfuRecovery.ts';
import { summarizeStats, type PeerStats } from './stats.ts';
import type { VideoSource } from './VideoPreferences.ts';
import { gathered } from './whep.ts';

/** @internal */
export interface SfuSubscriberSignal {
  sfuSubscribe(sdp: string, producerIds: string[]): Promise<SfuSubscribeResult>;
  sfuClose(connectionId: string): Promise<unknown>;
}

/** @internal */
export interface SfuSubscriberOptions {
  signal: SfuSubscriberSignal;
  /** Our own peer id: our producers are not subscribed to. */
  selfId: string;
  iceServers: RTCIceServer[];
  createPeerConnection: PeerLinkOptions['createPeerConnection'];
  /** How long to wait for ICE gathering before sending an offer (the SFU takes no trickle). */
  gatheringTimeoutMs?: number;
  /** Producer announcements within this window are subscribed with one connection. */
  batchDelayMs?: number;
  /** Retry timings after a subscribing connection is lost, or a subscribe fails. */
  recovery?: SfuRecoveryOptions;
}

/** @internal */
export interface SfuSubscriberEvents {
  /** New consumers, before their `track` events (so preferences reach them first). */
  consumers: [added: RemoteTrack[]];
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** Media from this peer arrived through the SFU (first unmuted track; once per peer and track). */
  flowing: [peerId: string];
  /** The state of the connection that carries this peer's media to us. */
  connectionState: [peerId: string, state: RTCPeerConnectionState];
  error: [error: Error];
}

interface Subscription {
  pc: RTCPeerConnection;
  connectionId: string | undefined;
  /** producer id → what it carries here */
  items: Map<string, { peer: string; mid: string; consumerId: string; remote: RemoteTrack }>;
  /** Producers requested by this subscription (until its answer maps them). */
  requested: string[];
  /** Stops watching the connection's state. */
  unwatch: () => void;
}

/**
 * The subscribing half of the SFU path: one connection per batch of announced producers receives
 * them (`sfu_subscribe`, at most the protocol's limit per request). Remote tracks are labelled
 * with the announcing member's peer id and source, and grouped into one MediaStream per peer and
 * source (camera + microphone, screen), so they look like the mesh path's tracks. The client
 * always offers, with its candidates gathered (the SFU answers completely, no trickle).
 *
 * A subscribing connection that fails after setup (or stays 'disconnected' too long, e.g. because
 * the server closed its side) is closed, its tracks are removed (`trackRemoved`), and the producers
 * that still exist are subscribed again after a backoff delay, as new tracks; a failed subscribe
 * request is retried the same way.
 * @internal
 */
export class SfuSubscriber extends Emitter<SfuSubscriberEvents> {
  readonly #opts: SfuSubscriberOptions;
  #iceServers: RTCIceServer[];
  /** Announced producers of other members that still exist. */
  readonly #producers = new Map<string, SfuProducerInfo>();
  readonly #subs = new Set<Subscription>();
  /** One stream per peer and source. */
  readonly #streams = new Map<string, MediaStream>();
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #recovery: Required<SfuRecoveryOptions>;
  /** Subscribe attempts that failed (or connections lost) since a subscription last connected. */
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(options: SfuSubscriberOptions) {
    super();
    this.#opts = options;
    this.#iceServers = options.iceServers;
    this.#recovery = recoveryOptions(options.recovery);
  }

  /** Every remote track received through the SFU. */
  get remoteTracks(): RemoteTrack[] {
    return [...this.#subs].flatMap((s) => [...s.items.values()].map((i) => i.remote));
  }

  /** The video consumers we receive now. */
  videoConsumers(): VideoConsumer[] {
    const out: VideoConsumer[] = [];
    for (const sub of this.#subs) {
      for (const i of sub.items.values()) if (i.remote.track.kind === 'video') out.push({ consumerId: i.consumerId, remote: i.remote });
    }
    return out;
  }

  /** Whether this peer has producers we receive (or requested). */
  hasProducersOf(peerId: string): boolean {
    for (const p of this.#producers.values()) if (p.peer === peerId) return true;
    return false;
  }

  /** The state of the (newest) connection that carries this peer's media, if any. */
  connectionStateOf(peerId: string): RTCPeerConnectionState | undefined {
    let state: RTCPeerConnectionState | undefined;
    for (const sub of this.#subs) for (const i of sub.items.values()) if (i.peer === peerId) state = sub.pc.connectionState;
    return state;
  }

  /** Begins subscribing (producers added before are kept). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#scheduleSubscribe();
  }

  addProducer(info: SfuProducerInfo): void {
    if (this.#closed || info.peer === this.#opts.selfId || this.#producers.has(info.id)) return;
    this.#producers.set(info.id, info);
    if (this.#started) this.#scheduleSubscribe();
  }

  /** A producer closed: its track goes, and a subscription left with nothing closes. */
  removeProducer(id: string): void {
    if (!this.#producers.delete(id)) return;
    for (const sub of [...this.#subs]) {
      const item = sub.items.get(id);
      if (!item) continue;
      sub.items.delete(id);
      this.#dropRemote(item.remote);
      if (sub.items.size === 0 && sub.connectionId !== undefined) this.#closeSub(sub);
    }
  }

  /** Forgets every producer of a member that left. */
  removePeer(peerId: string): void {
    for (const p of [...this.#producers.values()]) if (p.peer === peerId) this.removeProducer(p.id);
  }

  /** Statistics per remote peer, from the subscribing connections. */
  async getStats(): Promise<PeerStats[]> {
    const out: PeerStats[] = [];
    for (const sub of [...this.#subs]) {
      const report = await sub.pc.getStats().catch(() => undefined);
      if (!report) continue;
      const items: Record<string, unknown>[] = [];
      report.forEach((value: unknown) => {
        if (typeof value === 'object' && value !== null) items.push({ ...value });
      });
      const peerOfMid = new Map([...sub.items.values()].map((i) => [i.mid, i.peer]));
      for (const peer of new Set(peerOfMid.values())) {
        const mine = items.filter((s) => s['type'] !== 'inbound-rtp' || (typeof s['mid'] === 'string' && peerOfMid.get(s['mid']) === peer));
        out.push(summarizeStats(peer, mine));
      }
    }
    return out;
  }

  /**
   * Closes every subscribing connection (and tells the server), reports each remote track removed
   * and drops listeners. Idempotent.
   */
  /** ICE servers for connections created from now on and for the next ICE restart of the live ones. */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers;
    for (const sub of this.#subs) applyIceServers(sub.pc, iceServers);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#batchTimer);
    clearTimeout(this.#retryTimer);
    this.#batchTimer = undefined;
    this.#retryTimer = undefined;
    const tracks = this.remoteTracks;
    for (const sub of [...this.#subs]) this.#closeSub(sub, false);
    this.#producers.clear();
    this.#streams.clear();
    for (const t of tracks) this.emit('trackRemoved', t);
    this.removeAllListeners();
  }
  #scheduleSubscribe(): void {
    if (this.#batchTimer !== undefined || this.#closed) return;
    this.#batchTimer = setTimeout(() => {
      this.#batchTimer = undefined;
      this.#subscribePending();
    }, this.#opts.batchDelayMs ?? 150);
  }

  #subscribePending(): void {
    if (this.#closed) return;
    const taken = new Set<string>();
    for (const sub of this.#subs) {
      for (const id of sub.items.keys()) taken.add(id);
      for (const id of sub.requested) taken.add(id);
    }
    const pending = [...this.#producers.values()].filter((p) => !taken.has(p.id));
    for (let i = 0; i < pending.length; i += LIMITS.sfuSubscribeProducers) {
      void this.#subscribe(pending.slice(i, i + LIMITS.sfuSubscribeProducers));
    }
  }

  async #subscribe(producers: SfuProducerInfo[]): Promise<void> {
    const pc = this.#opts.createPeerConnection({ iceServers: this.#iceServers });
    const sub: Subscription = {
      pc,
      connectionId: undefined,
      items: new Map(),
      requested: producers.map((p) => p.id),
      unwatch: () => undefined,
    };
    this.#subs.add(sub);
    sub.unwatch = watchConnection(pc, this.#recovery.disconnectedTimeoutMs, {
      change: (state) => {
        for (const peer of new Set([...sub.items.values()].map((i) => i.peer))) this.emit('connectionState', peer, state);
      },
      connected: () => {
        this.#failures = 0;
      },
      lost: (state) => this.#lostSub(sub, state),
    });
    try {
      // The SFU gives each receiving section, in order, the next requested producer of its kind.
      for (const p of producers) pc.addTransceiver(p.kind, { direction: 'recvonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, this.#opts.gatheringTimeoutMs ?? 2000);
      if (!this.#subs.has(sub)) return;
      const wanted = sub.requested.filter((id) => this.#producers.has(id));
      if (wanted.length === 0) {
        this.#closeSub(sub);
        return;
      }
      const res = await this.#opts.signal.sfuSubscribe(pc.localDescription?.sdp ?? '', wanted);
      sub.connectionId = res.connectionId;
      if (this.#closed || !this.#subs.has(sub)) {
        this.#closeSub(sub);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: res.answer });
      const added: RemoteTrack[] = [];
      for (const c of res.consumers) {
        const producer = this.#producers.get(c.producerId);
        const transceiver = pc.getTransceivers().find((t) => t.mid === c.mid);
        if (!producer || !transceiver) continue;
        const track = transceiver.receiver.track;
        // Camera and microphone share a stream; a screen share has its own (as in the mesh).
        const source: VideoSource = producer.source === 'screen' ? 'screen' : 'camera';
        const key = streamKey(producer.peer, source);
        let stream = this.#streams.get(key);
        if (!stream) this.#streams.set(key, (stream = new MediaStream()));
        stream.addTrack(track);
        const remote: RemoteTrack = { peerId: producer.peer, track, stream, source };
        sub.items.set(c.producerId, { peer: producer.peer, mid: c.mid, consumerId: c.id, remote });
        const peer = producer.peer;
        const onFlowing = () => {
          if (sub.items.get(c.producerId)?.remote === remote) this.emit('flowing', peer);
        };
        if (track.muted) track.addEventListener('unmute', onFlowing, { once: true });
        else queueMicrotask(onFlowing);
        added.push(remote);
      }
      sub.requested = [];
      this.emit('consumers', added);
      for (const r of added) this.emit('track', r);
      for (const peer of new Set(added.map((r) => r.peerId))) this.emit('connectionState', peer, pc.connectionState);
      // Producers that closed while we subscribed.
      for (const id of [...sub.items.keys()]) if (!this.#producers.has(id)) this.removeProducer(id);
      if (sub.items.size === 0) this.#closeSub(sub);
    } catch (err) {
      if (this.#subs.has(sub)) this.#closeSub(sub);
      this.#fail(err);
      // E.g. a producer closed while we asked for it: try the others again, a little later.
      this.#retryLater();
    }
  }

  /**
   * A subscription's connection is gone: drop its tracks and subscribe what still exists again,
   * after the backoff delay, on a fresh connection.
   */
  #lostSub(sub: Subscription, state: RTCPeerConnectionState): void {
    if (this.#closed || !this.#subs.has(sub)) return;
    const what = state === 'disconnected' ? 'stayed disconnected' : state === 'failed' ? 'failed' : 'was closed';
    this.#closeSub(sub);
    this.#fail(new Error(`an SFU subscribing connection ${what}; subscribing again`));
    this.#retryLater();
  }

  /** Subscribes whatever is pending after the backoff delay (one timer for all subscriptions). */
  #retryLater(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(
      () => {
        this.#retryTimer = undefined;
        this.#scheduleSubscribe();
      },
      retryDelay(this.#failures++, this.#recovery),
    );
  }

  #closeSub(sub: Subscription, report = true): void {
    if (!this.#subs.delete(sub)) return;
    sub.unwatch();
    const items = [...sub.items.values()];
    sub.items.clear();
    sub.requested = [];
    sub.pc.close();
    if (sub.connectionId !== undefined) this.#opts.signal.sfuClose(sub.connectionId).catch(() => undefined);
    if (report) for (const i of items) this.#dropRemote(i.remote);
  }

  #dropRemote(remote: RemoteTrack): void {
    const key = streamKey(remote.peerId, remote.source);
    const stream = this.#streams.get(key);
    if (stream) {
      stream.removeTrack(remote.track);
      if (stream.getTracks().length === 0) this.#streams.delete(key);
    }
    this.emit('trackRemoved', remote);
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}

/** Per-(peer, source) streams are kept under this key. */
const streamKey = (peerId: string, source: VideoSource) => `${source}:${peerId}`;
