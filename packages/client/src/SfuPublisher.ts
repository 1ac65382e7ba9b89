import type { MediaSource as ProducerSource, SfuPublishResult } from '@parley-rtc/protocol';
import { applyIceServers } from './iceConfig.ts';
import { Emitter } from './Emitter.ts';
import type { LocalTrack, PeerLinkOptions, TrackSlot } from './PeerLink.ts';
import { isPermanent, recoveryOptions, retryDelay, watchConnection, type SfuRecoveryOptions } from './sfuRecovery.ts';
import { summarizePublishStats, type PublishStats } from './stats.ts';
import { gathered } from './whep.ts';

/**
 * How the publisher talks to the server's SFU; the SignalClient implements it.
 * @internal
 */
export interface SfuPublisherSignal {
  sfuPublish(sdp: string, source: ProducerSource): Promise<SfuPublishResult>;
  sfuClose(connectionId: string): Promise<unknown>;
}

/** @internal */
export interface SfuPublisherOptions {
  signal: SfuPublisherSignal;
  iceServers: RTCIceServer[];
  createPeerConnection: PeerLinkOptions['createPeerConnection'];
  /** How long to wait for ICE gathering before sending an offer (the SFU takes no trickle). */
  gatheringTimeoutMs?: number;
  /** Send the camera as three simulcast layers (default true). */
  simulcast?: boolean;
  /** Retry timings after a publication's connection is lost. */
  recovery?: SfuRecoveryOptions;
}

/** @internal */
export interface SfuPublisherEvents {
  error: [error: Error];
}

/**
 * The camera's simulcast layers, lowest first: the SFU takes the offer's rid order as the layer
 * order.
 * @internal
 */
export const CAMERA_SIMULCAST: readonly Readonly<RTCRtpEncodingParameters>[] = [
  { rid: 'q', scaleResolutionDownBy: 4, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 500_000 },
  { rid: 'f', maxBitrate: 2_000_000 },
];

/**
 * The simulcast layers for a camera of this size, lowest first, or undefined for a single
 * encoding. Chromium encodes only as many layers as the size allows (3 from 960×540 pixels, 2 from
 * 480×270, else 1) and drops the *highest* ones beyond that, so a 640×480 camera offered all three
 * would never send full resolution. Offering only the top layers that fit keeps the full-size one.
 * An unknown size gets all three.
 * @internal
 */
export function cameraEncodings(width: number | undefined, height: number | undefined): RTCRtpEncodingParameters[] | undefined {
  const pixels = width && height ? width * height : Infinity;
  const count = pixels >= 960 * 540 ? 3 : pixels >= 480 * 270 ? 2 : 1;
  return count === 1 ? undefined : CAMERA_SIMULCAST.slice(-count).map((e) => ({ ...e }));
}

/** The capture size of a track, when the browser tells it. */
function trackSize(track: MediaStreamTrack): { width: number | undefined; height: number | undefined } {
  const settings = typeof track.getSettings === 'function' ? track.getSettings() : {};
  return { width: settings.width, height: settings.height };
}

/**
 * What the SFU is told each slot carries.
 * @internal
 */
export const SLOT_SOURCE: Readonly<Record<TrackSlot, ProducerSource>> = { audio: 'microphone', video: 'camera', screen: 'screen' };

const SLOTS: readonly TrackSlot[] = ['audio', 'video', 'screen'];

interface Publication {
  slot: TrackSlot;
  pc: RTCPeerConnection;
  sender: RTCRtpSender;
  /** The simulcast layers' rids, lowest first (empty without simulcast). */
  rids: string[];
  /** The SFU connection id, once the answer arrived. */
  connectionId: string | undefined;
  /** The producers the server made of it (from the answer). */
  producerIds: string[];
  /** Stops watching the connection's state. */
  unwatch: () => void;
  /** The connection is closed (withdrawn, failed or the publisher closed). */
  closed: boolean;
  /** `sfu_close` was sent for `connectionId`. */
  released: boolean;
}

/**
 * Publishes local tracks through the SFU, one RTCPeerConnection (and one `sfu_publish`) per slot:
 * microphone, camera, screen. Separate connections keep a slot's changes from disturbing the
 * others, and the SFU (libdatachannel) forwards a simulcast section only when its connection has
 * no other media track. A replaced device swaps the sender's track without renegotiation; a
 * withdrawn one closes its connection, so the SFU closes the producer and others lose the tile.
 *
 * A connection lost after setup (ICE/DTLS failure, 'disconnected' for too long, or the server
 * closing its side, which also announces our producers as closed) is released and the slot is
 * published again with its current track, with backoff (see SfuRecoveryOptions); an `error` is
 * emitted each time, for visibility.
 * @internal
 */
export class SfuPublisher extends Emitter<SfuPublisherEvents> {
  readonly #opts: SfuPublisherOptions;
  #iceServers: RTCIceServer[];
  readonly #local = new Map<TrackSlot, LocalTrack>();
  readonly #pubs = new Map<TrackSlot, Publication>();
  /** Each slot's publishing work runs in order (a publish, then maybe another after a withdrawal). */
  readonly #queues = new Map<TrackSlot, Promise<void>>();
  readonly #scheduled = new Set<TrackSlot>();
  readonly #recovery: Required<SfuRecoveryOptions>;
  /** Slots whose publication was lost → failed attempts to publish them again since. */
  readonly #attempts = new Map<TrackSlot, number>();
  readonly #retryTimers = new Map<TrackSlot, ReturnType<typeof setTimeout>>();
  #started = false;
  #closed = false;

  constructor(options: SfuPublisherOptions) {
    super();
    this.#opts = options;
    this.#iceServers = options.iceServers;
    this.#recovery = recoveryOptions(options.recovery);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Begins publishing (tracks given before are kept). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const slot of this.#local.keys()) this.#schedule(slot);
  }

  /**
   * Publishes, replaces or withdraws a local track. A failed publish is reported as an `error` and
   * tried again on the slot's next change (or, while the slot recovers from a lost connection,
   * after the next backoff delay).
   */
  setTrack(slot: TrackSlot, local: LocalTrack | null): void {
    if (this.#closed) return;
    if (local) this.#local.set(slot, local);
    else {
      this.#local.delete(slot);
      this.#stopRecovering(slot);
    }
    if (!this.#started) return;
    const pub = this.#pubs.get(slot);
    if (!local) {
      if (pub) this.#unpublish(pub);
      return;
    }
    if (!pub) {
      this.#schedule(slot);
      return;
    }
    if (pub.sender.track === local.track) return;
    if (this.#encodingsFor(slot, local.track).length !== pub.rids.length) {
      // Another camera size needs another number of simulcast layers: publish it anew.
      this.#unpublish(pub);
      this.#schedule(slot);
      return;
    }
    void pub.sender.replaceTrack(local.track).catch((e: unknown) => this.#fail(e));
  }

  /**
   * The server closed one of our producers (`sfu_producer_closed`). Unless we withdrew it, its
   * connection is gone on the server: publish that slot again.
   */
  producerClosed(producerId: string): void {
    for (const pub of [...this.#pubs.values()]) {
      if (pub.producerIds.includes(producerId)) this.#lost(pub, 'was closed by the server');
    }
  }

  /** What each publication sends, per simulcast layer (for tests and diagnostics). */
  async stats(): Promise<PublishStats[]> {
    const out: PublishStats[] = [];
    for (const slot of SLOTS) {
      const pub = this.#pubs.get(slot);
      if (!pub) continue;
      const report = await pub.pc.getStats().catch(() => undefined);
      if (!report) continue;
      const items: Record<string, unknown>[] = [];
      report.forEach((value: unknown) => {
        if (typeof value === 'object' && value !== null) items.push({ ...value });
      });
      out.push(summarizePublishStats(slot, items, pub.rids));
    }
    return out;
  }

  /** Closes every publication (and tells the server), drops listeners. Idempotent. */
  /** ICE servers for connections created from now on and for the next ICE restart of the live ones. */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#iceServers = iceServers;
    for (const pub of this.#pubs.values()) applyIceServers(pub.pc, iceServers);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#attempts.clear();
    for (const pub of this.#pubs.values()) this.#closePub(pub);
    this.#pubs.clear();
    this.#local.clear();
    this.#scheduled.clear();
    this.removeAllListeners();
  }

  #schedule(slot: TrackSlot): void {
    if (this.#scheduled.has(slot)) return;
    this.#scheduled.add(slot);
    const previous = this.#queues.get(slot) ?? Promise.resolve();
    this.#queues.set(
      slot,
      previous.then(async () => {
        this.#scheduled.delete(slot);
        if (this.#closed || !this.#local.has(slot) || this.#pubs.has(slot)) return;
        await this.#publish(slot).catch((e: unknown) => {
          this.#fail(e);
          // Recovering from a lost connection: keep trying (a refusal that cannot change ends it).
          if (this.#attempts.has(slot) && !isPermanent(e)) this.#retryLater(slot);
          else this.#stopRecovering(slot);
        });
      }),
    );
  }

  /** A new connection for the slot's current track: offer (with candidates) → answer in the ack. */
  async #publish(slot: TrackSlot): Promise<void> {
    const local = this.#local.get(slot);
    if (!local) return;
    const pc = this.#opts.createPeerConnection({ iceServers: this.#iceServers });
    const encodings = this.#encodingsFor(slot, local.track);
    const init: RTCRtpTransceiverInit = { direction: 'sendonly', streams: local.stream ? [local.stream] : [] };
    if (encodings.length > 0) init.sendEncodings = encodings;
    let pub: Publication | undefined;
    try {
      const { sender } = pc.addTransceiver(local.track, init);
      const created: Publication = {
        slot,
        pc,
        sender,
        rids: encodings.map((e) => e.rid ?? ''),
        connectionId: undefined,
        producerIds: [],
        unwatch: () => undefined,
        closed: false,
        released: false,
      };
      pub = created;
      created.unwatch = watchConnection(pc, this.#recovery.disconnectedTimeoutMs, {
        // A new connection works: the next loss starts the backoff over.
        connected: () => {
          if (this.#pubs.get(slot) === created) this.#attempts.delete(slot);
        },
        lost: (state) =>
          this.#lost(created, state === 'disconnected' ? 'stayed disconnected' : state === 'failed' ? 'failed' : 'was closed'),
      });
      this.#pubs.set(slot, pub);
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc, this.#opts.gatheringTimeoutMs ?? 2000);
      if (pub.closed) return;
      const res = await this.#opts.signal.sfuPublish(pc.localDescription?.sdp ?? '', SLOT_SOURCE[slot]);
      pub.connectionId = res.connectionId;
      pub.producerIds = res.producers.map((p) => p.id);
      // Withdrawn (or everything closed) while the offer was in flight: release the server side too.
      if (pub.closed) {
        this.#closePub(pub);
        return;
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: res.answer });
      // A device replaced while the offer was in flight.
      const track = this.#local.get(slot)?.track ?? null;
      if (!pub.closed && track && pub.sender.track !== track) await pub.sender.replaceTrack(track);
    } catch (err) {
      if (pub) {
        if (this.#pubs.get(slot) === pub) this.#pubs.delete(slot);
        this.#closePub(pub);
      } else {
        pc.close();
      }
      throw err;
    }
  }

  /** The simulcast encodings for a slot's track (empty: a single encoding). */
  #encodingsFor(slot: TrackSlot, track: MediaStreamTrack): RTCRtpEncodingParameters[] {
    if (slot !== 'video' || !(this.#opts.simulcast ?? true)) return [];
    const { width, height } = trackSize(track);
    return cameraEncodings(width, height) ?? [];
  }

  #unpublish(pub: Publication): void {
    if (this.#pubs.get(pub.slot) === pub) this.#pubs.delete(pub.slot);
    this.#closePub(pub);
  }

  /**
   * A publication's connection is gone (it failed, stayed disconnected, or the server closed it):
   * release it, report it, and publish the slot again after the backoff delay.
   */
  #lost(pub: Publication, what: string): void {
    if (this.#closed || pub.closed || this.#pubs.get(pub.slot) !== pub) return;
    this.#unpublish(pub);
    this.#fail(new Error(`the SFU connection publishing ${SLOT_SOURCE[pub.slot]} ${what}; publishing it again`));
    if (!this.#attempts.has(pub.slot)) this.#attempts.set(pub.slot, 0);
    this.#retryLater(pub.slot);
  }

  /** Publishes the slot again after the backoff delay (unless its track is withdrawn meanwhile). */
  #retryLater(slot: TrackSlot): void {
    if (this.#closed || !this.#local.has(slot) || this.#retryTimers.has(slot)) return;
    const attempt = this.#attempts.get(slot) ?? 0;
    this.#attempts.set(slot, attempt + 1);
    const timer = setTimeout(
      () => {
        this.#retryTimers.delete(slot);
        this.#schedule(slot);
      },
      retryDelay(attempt, this.#recovery),
    );
    this.#retryTimers.set(slot, timer);
  }

  #stopRecovering(slot: TrackSlot): void {
    clearTimeout(this.#retryTimers.get(slot));
    this.#retryTimers.delete(slot);
    this.#attempts.delete(slot);
  }

  /** Closes the connection and, once its server-side id is known, tells the server. */
  #closePub(pub: Publication): void {
    if (!pub.closed) {
      pub.closed = true;
      pub.unwatch();
      pub.pc.close();
    }
    if (pub.connectionId !== undefined && !pub.released) {
      pub.released = true;
      this.#opts.signal.sfuClose(pub.connectionId).catch(() => undefined);
    }
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
