import type { SfuProducerInfo, SfuPublishResult, SfuSubscribeResult } from '@parley/protocol';
import { Emitter } from './Emitter.ts';
import type { LocalTrack, PeerLinkOptions, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { summarizeStats, type PeerStats } from './stats.ts';
import { gathered } from './whep.ts';

/** How the transport talks to the server's SFU; the SignalClient implements it. */
export interface SfuSignal {
  sfuPublish(sdp: string): Promise<SfuPublishResult>;
  sfuSubscribe(sdp: string, producerIds: string[]): Promise<SfuSubscribeResult>;
  sfuClose(peerId: string): Promise<unknown>;
  sfuPause(consumerIds: string[], paused: boolean): Promise<unknown>;
}

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
}

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
const KINDS = ['audio', 'video'] as const;
type Kind = (typeof KINDS)[number];

interface Publication {
  pc: RTCPeerConnection;
  /** The server-side connection, once the answer arrived. */
  peerId: string | undefined;
  senders: Map<Kind, RTCRtpSender>;
}

interface Subscription {
  pc: RTCPeerConnection;
  peerId: string | undefined;
  /** producer id → what it carries here */
  items: Map<string, { peer: string; mid: string; consumerId: string; remote: RemoteTrack }>;
  /** Producers requested by this subscription (until its answer maps them). */
  requested: string[];
}

/**
 * Media through the room's SFU: one RTCPeerConnection publishes the local camera and microphone
 * (`sfu_publish`: offer → answer in the ack), and one connection per batch of announced producers
 * receives them (`sfu_subscribe`). Remote tracks are labelled with the announcing member's peer id
 * and grouped into one MediaStream per peer, so they look like the mesh path's tracks.
 * The client always offers, with its candidates gathered (the SFU answers completely, no trickle).
 */
export class SfuTransport extends Emitter<SfuTransportEvents> {
  readonly #opts: SfuTransportOptions;
  readonly #local = new Map<Kind, LocalTrack>();
  /** Announced producers of other members that still exist. */
  readonly #producers = new Map<string, SfuProducerInfo>();
  readonly #subs = new Set<Subscription>();
  readonly #streams = new Map<string, MediaStream>();
  /** Peers whose video we asked the server not to forward (e.g. off-screen tiles). */
  readonly #pausedVideo = new Set<string>();
  #pub: Publication | undefined;
  #publishing: Promise<void> = Promise.resolve();
  #republish = false;
  #batchTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #started = false;
  #closed = false;

  constructor(options: SfuTransportOptions) {
    super();
    this.#opts = options;
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
    this.#schedulePublish();
    this.#scheduleSubscribe();
  }

  /** Publishes, replaces or withdraws a local track. The screen slot is not sent through the SFU (yet). */
  setTrack(slot: TrackSlot, local: LocalTrack | null): void {
    if (this.#closed || slot === 'screen') return;
    const prev = this.#local.get(slot);
    if (local) this.#local.set(slot, local);
    else this.#local.delete(slot);
    if (!this.#started) return;
    const sender = this.#pub?.senders.get(slot);
    if (sender) {
      // The section stays; a replaced device needs no renegotiation, a removed one sends nothing.
      if (sender.track !== (local?.track ?? null)) void sender.replaceTrack(local?.track ?? null).catch((e: unknown) => this.#fail(e));
      return;
    }
    if (local && !prev) this.#schedulePublish();
  }

  /**
   * Asks the server to stop (or resume) forwarding `peerId`'s video to us, e.g. while its tile is
   * off screen. Remembered for later subscriptions to that peer; resuming waits for a key frame.
   */
  setVideoPaused(peerId: string, paused: boolean): void {
    if (this.#closed || this.#pausedVideo.has(peerId) === paused) return;
    if (paused) this.#pausedVideo.add(peerId);
    else this.#pausedVideo.delete(peerId);
    const ids: string[] = [];
    for (const sub of this.#subs) {
      for (const i of sub.items.values()) if (i.peer === peerId && i.remote.track.kind === 'video') ids.push(i.consumerId);
    }
    if (ids.length > 0) void this.#opts.signal.sfuPause(ids, paused).catch((e: unknown) => this.#fail(e));
  }

  /** Whether `peerId`'s video is paused by `setVideoPaused`. */
  isVideoPaused(peerId: string): boolean {
    return this.#pausedVideo.has(peerId);
  }

  addProducer(info: SfuProducerInfo): void {
    if (this.#closed || info.peer === this.#opts.selfId || this.#producers.has(info.id)) return;
    this.#producers.set(info.id, info);
    if (this.#started) this.#scheduleSubscribe();
  }

  removeProducer(id: string): void {
    if (!this.#producers.delete(id)) return;
    for (const sub of [...this.#subs]) {
      const item = sub.items.get(id);
      if (!item) continue;
      sub.items.delete(id);
      this.#dropRemote(item.remote);
      if (sub.items.size === 0 && sub.peerId !== undefined) this.#closeSub(sub);
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
    if (this.#pub) this.#closePub(this.#pub);
    this.#pub = undefined;
    this.#local.clear();
    this.#producers.clear();
    this.#streams.clear();
    for (const t of tracks) this.emit('trackRemoved', t);
    this.removeAllListeners();
  }

  // --- publishing -------------------------------------------------------------------------

  #schedulePublish(): void {
    if (this.#republish) return;
    this.#republish = true;
    this.#publishing = this.#publishing.then(async () => {
      this.#republish = false;
      if (this.#closed) return;
      await this.#publish().catch((e: unknown) => this.#fail(e));
    });
  }

  /** A new publishing connection carrying every current local track; the old one closes after. */
  async #publish(): Promise<void> {
    const kinds = KINDS.filter((k) => this.#local.has(k));
    const old = this.#pub;
    if (kinds.length === 0) return;
    const pc = this.#opts.createPeerConnection({ iceServers: this.#opts.iceServers });
    const pub: Publication = { pc, peerId: undefined, senders: new Map() };
    this.#pub = pub;
    try {
      for (const kind of kinds) {
        const local = this.#local.get(kind);
        if (!local) continue;
        const t = pc.addTransceiver(local.track, { direction: 'sendonly', streams: local.stream ? [local.stream] : [] });
        pub.senders.set(kind, t.sender);
      }
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, this.#opts.gatheringTimeoutMs ?? 2000);
      const res = await this.#opts.signal.sfuPublish(pc.localDescription?.sdp ?? '');
      pub.peerId = res.peerId;
      if (this.#closed || this.#pub !== pub) {
        this.#closePub(pub);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: res.answer });
      // Tracks replaced while the offer was in flight.
      for (const [kind, sender] of pub.senders) {
        const track = this.#local.get(kind)?.track ?? null;
        if (sender.track !== track) await sender.replaceTrack(track);
      }
    } catch (err) {
      if (this.#pub === pub) this.#pub = old;
      this.#closePub(pub);
      throw err;
    }
    if (old) this.#closePub(old);
  }

  #closePub(pub: Publication): void {
    pub.pc.close();
    if (pub.peerId !== undefined) this.#opts.signal.sfuClose(pub.peerId).catch(() => undefined);
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
    const sub: Subscription = { pc, peerId: undefined, items: new Map(), requested: producers.map((p) => p.id) };
    this.#subs.add(sub);
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      for (const peer of new Set([...sub.items.values()].map((i) => i.peer))) this.emit('connectionState', peer, state);
      if (state === 'failed' && this.#subs.has(sub)) {
        // Ask again with a fresh connection for whatever still exists.
        this.#closeSub(sub);
        this.#scheduleSubscribe();
      }
    };
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
        let stream = this.#streams.get(producer.peer);
        if (!stream) this.#streams.set(producer.peer, (stream = new MediaStream()));
        stream.addTrack(track);
        const remote: RemoteTrack = { peerId: producer.peer, track, stream, source: 'camera' };
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
      this.#failures = 0;
      const paused = res.consumers.filter((c) => c.kind === 'video' && this.#pausedVideo.has(sub.items.get(c.producerId)?.peer ?? '')).map((c) => c.id);
      if (paused.length > 0) void this.#opts.signal.sfuPause(paused, true).catch((e: unknown) => this.#fail(e));
      for (const r of added) this.emit('track', r);
      for (const peer of new Set(added.map((r) => r.peerId))) this.emit('connectionState', peer, pc.connectionState);
      // Producers that closed while we subscribed.
      for (const id of [...sub.items.keys()]) if (!this.#producers.has(id)) this.removeProducer(id);
      if (sub.items.size === 0) this.#closeSub(sub);
    } catch (err) {
      if (this.#subs.has(sub)) this.#closeSub(sub);
      this.#fail(err);
      // E.g. a producer closed while we asked for it: try the others again, a little later.
      if (!this.#closed && this.#retryTimer === undefined && ++this.#failures <= 5) {
        this.#retryTimer = setTimeout(() => {
          this.#retryTimer = undefined;
          this.#scheduleSubscribe();
        }, 1000);
      }
    }
  }

  #closeSub(sub: Subscription, report = true): void {
    if (!this.#subs.delete(sub)) return;
    sub.pc.onconnectionstatechange = null;
    const items = [...sub.items.values()];
    sub.items.clear();
    sub.requested = [];
    sub.pc.close();
    if (sub.peerId !== undefined) this.#opts.signal.sfuClose(sub.peerId).catch(() => undefined);
    if (report) for (const i of items) this.#dropRemote(i.remote);
  }

  #dropRemote(remote: RemoteTrack): void {
    const stream = this.#streams.get(remote.peerId);
    if (stream) {
      stream.removeTrack(remote.track);
      if (stream.getTracks().length === 0) this.#streams.delete(remote.peerId);
    }
    this.emit('trackRemoved', remote);
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
