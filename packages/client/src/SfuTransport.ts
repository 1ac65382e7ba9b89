import type { SfuProducerInfo, SfuSubscribeResult } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import type { LocalTrack, PeerLinkOptions, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { SfuPublisher, type SfuPublisherSignal } from './SfuPublisher.ts';
import { recoveryOptions, retryDelay, watchConnection, type SfuRecoveryOptions } from './sfuRecovery.ts';
import { summarizeStats, type PeerStats, type PublishStats } from './stats.ts';
import { gathered } from './whep.ts';

/**
 * How the transport talks to the server's SFU; the SignalClient implements it.
 * @internal
 */
export interface SfuSignal extends SfuPublisherSignal {
  sfuSubscribe(sdp: string, producerIds: string[]): Promise<SfuSubscribeResult>;
  sfuPause(consumerIds: string[], paused: boolean): Promise<unknown>;
  sfuVideoSize(consumerIds: string[], width: number, height: number): Promise<unknown>;
}

/** Which remote video a request is about: a member's camera or their shared screen. */
export type VideoSource = RemoteTrack['source'];

/** @internal */
export interface SfuTransportOptions {
  signal: SfuSignal;
  /** Our own peer id: our producers are not subscribed to. */
  selfId: string;
  iceServers: RTCIceServer[];
  createPeerConnection: PeerLinkOptions['createPeerConnection'];
  /** How long to wait for ICE gathering before sending an offer (the SFU takes no trickle). */
  gatheringTimeoutMs?: number;
  /** Producer announcements within this window are subscribed with one connection. */
  batchDelayMs?: number;
  /** Send the camera as three simulcast layers (default true). */
  simulcast?: boolean;
  /** Retry timings after a publishing or subscribing connection is lost, or a subscribe fails. */
  recovery?: SfuRecoveryOptions;
}

/** @internal */
export interface SfuTransportEvents {
  track: [track: RemoteTrack];
  trackRemoved: [track: RemoteTrack];
  /** Media from this peer arrived through the SFU (first unmuted track; once per peer and track). */
  flowing: [peerId: string];
  /** The state of the connection that carries this peer's media to us. */
  connectionState: [peerId: string, state: RTCPeerConnectionState];
  error: [error: Error];
}

/** Producers one subscribe request may take (the server's limit). */
const MAX_PER_SUBSCRIBE = 16;
/** Consumers one pause or video-size request may name (the server's limit). */
const MAX_PER_REQUEST = 64;

/** Per-(peer, source) state such as pausing and video size is kept under this key. */
const videoKey = (peerId: string, source: VideoSource) => `${source}:${peerId}`;

interface Subscription {
  pc: RTCPeerConnection;
  peerId: string | undefined;
  /** producer id → what it carries here */
  items: Map<string, { peer: string; mid: string; consumerId: string; remote: RemoteTrack }>;
  /** Producers requested by this subscription (until its answer maps them). */
  requested: string[];
  /** Stops watching the connection's state. */
  unwatch: () => void;
}

/**
 * Media through the room's SFU: the SfuPublisher publishes each local slot (microphone, camera with
 * simulcast, screen) over its own connection (`sfu_publish`: offer → answer in the ack), and one
 * connection per batch of announced producers receives them (`sfu_subscribe`). Remote tracks are
 * labelled with the announcing member's peer id and source, and grouped into one MediaStream per
 * peer and source (camera + microphone, screen), so they look like the mesh path's tracks.
 * The client always offers, with its candidates gathered (the SFU answers completely, no trickle).
 *
 * A subscribing connection that fails after setup (or stays 'disconnected' too long, e.g. because
 * the server closed its side) is closed, its tracks are removed (`trackRemoved`), and the producers
 * that still exist are subscribed again after a backoff delay, as new tracks; a failed subscribe
 * request is retried the same way. Lost publications recover in the SfuPublisher.
 * @internal
 */
export class SfuTransport extends Emitter<SfuTransportEvents> {
  readonly #opts: SfuTransportOptions;
  readonly #publisher: SfuPublisher;
  /** Announced producers of other members that still exist. */
  readonly #producers = new Map<string, SfuProducerInfo>();
  readonly #subs = new Set<Subscription>();
  /** One stream per `videoKey(peer, source)`. */
  readonly #streams = new Map<string, MediaStream>();
  /** `videoKey`s of video we asked the server not to forward (e.g. off-screen tiles). */
  readonly #pausedVideo = new Set<string>();
  /** `videoKey` → the size that video is shown at, in device pixels. */
  readonly #videoSizes = new Map<string, { width: number; height: number }>();
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  readonly #recovery: Required<SfuRecoveryOptions>;
  /** Subscribe attempts that failed (or connections lost) since a subscription last connected. */
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(options: SfuTransportOptions) {
    super();
    this.#opts = options;
    this.#recovery = recoveryOptions(options.recovery);
    this.#publisher = new SfuPublisher({
      signal: options.signal,
      iceServers: options.iceServers,
      createPeerConnection: options.createPeerConnection,
      ...(options.gatheringTimeoutMs !== undefined ? { gatheringTimeoutMs: options.gatheringTimeoutMs } : {}),
      ...(options.simulcast !== undefined ? { simulcast: options.simulcast } : {}),
      ...(options.recovery !== undefined ? { recovery: options.recovery } : {}),
    });
    this.#publisher.on('error', (err) => this.#fail(err));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Every remote track received through the SFU. */
  get remoteTracks(): RemoteTrack[] {
    return [...this.#subs].flatMap((s) => [...s.items.values()].map((i) => i.remote));
  }

  /** Peers whose media we receive (or requested) through the SFU. */
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

  /** Begins publishing and subscribing (tracks and producers given before are kept). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#publisher.start();
    this.#scheduleSubscribe();
  }

  /**
   * Publishes, replaces or withdraws a local track; each slot has its own SFU connection (see
   * SfuPublisher). Withdrawing a slot closes its producers on the server.
   */
  setTrack(slot: TrackSlot, local: LocalTrack | null): void {
    if (this.#closed) return;
    this.#publisher.setTrack(slot, local);
  }

  /**
   * Asks the server to stop (or resume) forwarding `peerId`'s camera (or screen) video to us, e.g.
   * while its tile is off screen. Remembered for later subscriptions; resuming waits for a key frame.
   */
  setVideoPaused(peerId: string, paused: boolean, source: VideoSource = 'camera'): void {
    const key = videoKey(peerId, source);
    if (this.#closed || this.#pausedVideo.has(key) === paused) return;
    if (paused) this.#pausedVideo.add(key);
    else this.#pausedVideo.delete(key);
    const ids = this.#videoConsumers((i) => i.peer === peerId && i.remote.source === source);
    this.#sendPause(ids, paused);
  }

  /** Whether `peerId`'s camera (or screen) video is paused by `setVideoPaused`. */
  isVideoPaused(peerId: string, source: VideoSource = 'camera'): boolean {
    return this.#pausedVideo.has(videoKey(peerId, source));
  }

  /**
   * Tells the server how large `peerId`'s camera (or screen) video is shown, in device pixels
   * (0×0: no preference), so it forwards the smallest simulcast layer that covers it. Remembered
   * for later subscriptions.
   */
  setVideoSize(peerId: string, source: VideoSource, width: number, height: number): void {
    if (this.#closed) return;
    const size = { width: clampSize(width), height: clampSize(height) };
    const key = videoKey(peerId, source);
    const known = this.#videoSizes.get(key) ?? { width: 0, height: 0 };
    if (known.width === size.width && known.height === size.height) return;
    if (size.width === 0 && size.height === 0) this.#videoSizes.delete(key);
    else this.#videoSizes.set(key, size);
    const ids = this.#videoConsumers((i) => i.peer === peerId && i.remote.source === source);
    this.#sendVideoSize(ids, size);
  }

  /** What our publications send, per slot and simulcast layer. */
  publishStats(): Promise<PublishStats[]> {
    return this.#publisher.stats();
  }

  addProducer(info: SfuProducerInfo): void {
    if (this.#closed || info.peer === this.#opts.selfId || this.#producers.has(info.id)) return;
    this.#producers.set(info.id, info);
    if (this.#started) this.#scheduleSubscribe();
  }

  /**
   * A producer closed (`sfu-producer-closed`). If it was one of ours that we did not withdraw, the
   * server closed our publication: the SfuPublisher publishes that slot again.
   */
  removeProducer(id: string): void {
    this.#publisher.producerClosed(id);
    if (!this.#producers.delete(id)) return;
    for (const sub of [...this.#subs]) {
      const item = sub.items.get(id);
      if (!item) continue;
      sub.items.delete(id);
      this.#dropRemote(item.remote);
      if (sub.items.size === 0 && sub.peerId !== undefined) this.#closeSub(sub);
    }
  }

  /** Forgets every producer of a member that left, and what we asked about their video. */
  removePeer(peerId: string): void {
    for (const p of [...this.#producers.values()]) if (p.peer === peerId) this.removeProducer(p.id);
    for (const source of ['camera', 'screen'] as const) {
      this.#pausedVideo.delete(videoKey(peerId, source));
      this.#videoSizes.delete(videoKey(peerId, source));
    }
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

  /** Closes every connection (and tells the server), drops listeners. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#batchTimer);
    clearTimeout(this.#retryTimer);
    this.#batchTimer = undefined;
    this.#retryTimer = undefined;
    const tracks = this.remoteTracks;
    for (const sub of [...this.#subs]) this.#closeSub(sub, false);
    this.#publisher.close();
    this.#producers.clear();
    this.#streams.clear();
    for (const t of tracks) this.emit('trackRemoved', t);
    this.removeAllListeners();
  }

  // --- subscribing ------------------------------------------------------------------------

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
    for (let i = 0; i < pending.length; i += MAX_PER_SUBSCRIBE) {
      void this.#subscribe(pending.slice(i, i + MAX_PER_SUBSCRIBE));
    }
  }

  async #subscribe(producers: SfuProducerInfo[]): Promise<void> {
    const pc = this.#opts.createPeerConnection({ iceServers: this.#opts.iceServers });
    const sub: Subscription = { pc, peerId: undefined, items: new Map(), requested: producers.map((p) => p.id), unwatch: () => undefined };
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
      sub.peerId = res.peerId;
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
        const key = videoKey(producer.peer, source);
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
      this.#applyVideoPreferences(added);
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
    if (sub.peerId !== undefined) this.#opts.signal.sfuClose(sub.peerId).catch(() => undefined);
    if (report) for (const i of items) this.#dropRemote(i.remote);
  }

  #dropRemote(remote: RemoteTrack): void {
    const key = videoKey(remote.peerId, remote.source);
    const stream = this.#streams.get(key);
    if (stream) {
      stream.removeTrack(remote.track);
      if (stream.getTracks().length === 0) this.#streams.delete(key);
    }
    this.emit('trackRemoved', remote);
  }

  // --- per-video preferences ----------------------------------------------------------------

  /** Consumer ids of the received video tracks that match. */
  #videoConsumers(match: (item: { peer: string; remote: RemoteTrack }) => boolean): string[] {
    const ids: string[] = [];
    for (const sub of this.#subs) {
      for (const i of sub.items.values()) if (i.remote.track.kind === 'video' && match(i)) ids.push(i.consumerId);
    }
    return ids;
  }

  /** New video consumers get the pausing and size already asked for their peer and source. */
  #applyVideoPreferences(added: RemoteTrack[]): void {
    const keys = new Set(added.filter((r) => r.track.kind === 'video').map((r) => videoKey(r.peerId, r.source)));
    const fresh = new Set(added.map((r) => r.track));
    for (const key of keys) {
      const ids = this.#videoConsumers((i) => fresh.has(i.remote.track) && videoKey(i.peer, i.remote.source) === key);
      if (this.#pausedVideo.has(key)) this.#sendPause(ids, true);
      const size = this.#videoSizes.get(key);
      if (size) this.#sendVideoSize(ids, size);
    }
  }

  #sendPause(ids: string[], paused: boolean): void {
    for (let i = 0; i < ids.length; i += MAX_PER_REQUEST) {
      void this.#opts.signal.sfuPause(ids.slice(i, i + MAX_PER_REQUEST), paused).catch((e: unknown) => this.#fail(e));
    }
  }

  #sendVideoSize(ids: string[], size: { width: number; height: number }): void {
    for (let i = 0; i < ids.length; i += MAX_PER_REQUEST) {
      void this.#opts.signal.sfuVideoSize(ids.slice(i, i + MAX_PER_REQUEST), size.width, size.height).catch((e: unknown) => this.#fail(e));
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}

/** A size the server accepts: whole device pixels within 0–16384. */
function clampSize(px: number): number {
  return Number.isFinite(px) ? Math.min(16_384, Math.max(0, Math.round(px))) : 0;
}
