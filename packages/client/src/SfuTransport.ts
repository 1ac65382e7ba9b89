import type { SfuProducerInfo } from '@parley-rtc/protocol';
import { Emitter } from './Emitter.ts';
import type { LocalTrack, PeerLinkOptions, RemoteTrack, TrackSlot } from './PeerLink.ts';
import { SfuPublisher, type SfuPublisherSignal } from './SfuPublisher.ts';
import { SfuSubscriber, type SfuSubscriberSignal } from './SfuSubscriber.ts';
import { SfuVideoControl, type SfuVideoControlOptions } from './SfuVideoControl.ts';
import type { SfuRecoveryOptions } from './sfuRecovery.ts';
import type { PeerStats, PublishStats } from './stats.ts';
import { VideoPreferences } from './VideoPreferences.ts';
import type { DataPathSink } from './DataChannels.ts';
import { SfuDataLink, type SfuDataLinkOptions } from './SfuDataLink.ts';

/**
 * How the transport talks to the server's SFU; the SignalClient implements it.
 * @internal
 */
export interface SfuSignal
  extends SfuPublisherSignal, SfuSubscriberSignal, Pick<SfuVideoControlOptions['signal'], 'sfuPause' | 'sfuVideoSize'> {
  /** Opens the app-data connection (absent: no data through the SFU). */
  sfuData?: SfuDataLinkOptions['sfuData'];
}

/**
 * An SfuSignal that asks `get()` for the signal client at each call; async, so a missing client
 * (`get()` throws) rejects the request (the transport catches it) instead of throwing.
 * @internal
 */
export function sfuSignalVia(get: () => SfuSignal): SfuSignal {
  return {
    sfuPublish: async (sdp, source) => get().sfuPublish(sdp, source),
    sfuSubscribe: async (sdp, ids) => get().sfuSubscribe(sdp, ids),
    sfuClose: async (id) => get().sfuClose(id),
    sfuPause: async (ids, paused) => get().sfuPause(ids, paused),
    sfuVideoSize: async (ids, width, height) => get().sfuVideoSize(ids, width, height),
    sfuData: async (sdp) => {
      const signal = get();
      if (!signal.sfuData) throw new Error('no sfu_data');
      return signal.sfuData(sdp);
    },
  };
}

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
  /**
   * What the app asked of remote video (paused, shown size), followed while the transport is
   * open; the Room passes its own so the wishes outlast the transport. Default: a fresh one.
   */
  videoPreferences?: VideoPreferences;
  /** Where the app-data connection's channels go (absent: no data connection). */
  data?: DataPathSink;
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

/**
 * Media through the room's SFU, from three parts: the SfuPublisher publishes each local slot
 * (microphone, camera with simulcast, screen) over its own connection; the SfuSubscriber receives
 * other members' producers; the SfuVideoControl tells the server what the app wants of each
 * received video (VideoPreferences). Lost publications and subscriptions recover in their part.
 * @internal
 */
export class SfuTransport extends Emitter<SfuTransportEvents> {
  readonly #publisher: SfuPublisher;
  readonly #subscriber: SfuSubscriber;
  readonly #video: SfuVideoControl;
  readonly #data: SfuDataLink | undefined;
  #started = false;
  #closed = false;

  constructor(options: SfuTransportOptions) {
    super();
    const common = {
      signal: options.signal,
      iceServers: options.iceServers,
      createPeerConnection: options.createPeerConnection,
      ...(options.gatheringTimeoutMs !== undefined ? { gatheringTimeoutMs: options.gatheringTimeoutMs } : {}),
      ...(options.recovery !== undefined ? { recovery: options.recovery } : {}),
    };
    this.#publisher = new SfuPublisher({ ...common, ...(options.simulcast !== undefined ? { simulcast: options.simulcast } : {}) });
    this.#publisher.on('error', (err) => this.#fail(err));
    const subscriber = new SfuSubscriber({
      ...common,
      selfId: options.selfId,
      ...(options.batchDelayMs !== undefined ? { batchDelayMs: options.batchDelayMs } : {}),
    });
    this.#subscriber = subscriber;
    this.#video = new SfuVideoControl({
      prefs: options.videoPreferences ?? new VideoPreferences(),
      signal: options.signal,
      consumers: () => subscriber.videoConsumers(),
      onError: (err) => this.#fail(err),
    });
    const sfuData = options.signal.sfuData;
    if (options.data && sfuData) {
      this.#data = new SfuDataLink({
        ...common,
        sfuData: (sdp) => sfuData(sdp),
        sink: options.data,
        onError: (err) => this.#fail(err),
      });
    }
    subscriber.on('consumers', (added) => this.#video.applyTo(added));
    subscriber.on('track', (t) => this.emit('track', t));
    subscriber.on('trackRemoved', (t) => this.emit('trackRemoved', t));
    subscriber.on('flowing', (id) => this.emit('flowing', id));
    subscriber.on('connectionState', (id, state) => this.emit('connectionState', id, state));
    subscriber.on('error', (err) => this.#fail(err));
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Every remote track received through the SFU. */
  get remoteTracks(): RemoteTrack[] {
    return this.#subscriber.remoteTracks;
  }

  /** Peers whose media we receive (or requested) through the SFU. */
  hasProducersOf(peerId: string): boolean {
    return this.#subscriber.hasProducersOf(peerId);
  }

  /** The state of the (newest) connection that carries this peer's media, if any. */
  connectionStateOf(peerId: string): RTCPeerConnectionState | undefined {
    return this.#subscriber.connectionStateOf(peerId);
  }

  /** Begins publishing and subscribing (tracks and producers given before are kept). */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#publisher.start();
    this.#subscriber.start();
    this.#data?.start();
  }

  /**
   * Publishes, replaces or withdraws a local track; each slot has its own SFU connection (see
   * SfuPublisher). Withdrawing a slot closes its producers on the server.
   */
  setTrack(slot: TrackSlot, local: LocalTrack | null): void {
    if (this.#closed) return;
    this.#publisher.setTrack(slot, local);
  }

  /** What our publications send, per slot and simulcast layer. */
  publishStats(): Promise<PublishStats[]> {
    return this.#publisher.stats();
  }

  addProducer(info: SfuProducerInfo): void {
    if (this.#closed) return;
    this.#subscriber.addProducer(info);
  }

  /**
   * A producer closed (`sfu_producer_closed`). If it was one of ours that we did not withdraw, the
   * server closed our publication: the SfuPublisher publishes that slot again.
   */
  removeProducer(id: string): void {
    this.#publisher.producerClosed(id);
    this.#subscriber.removeProducer(id);
  }

  /** Forgets every producer of a member that left. */
  removePeer(peerId: string): void {
    this.#subscriber.removePeer(peerId);
  }

  /** Statistics per remote peer, from the subscribing connections. */
  getStats(): Promise<PeerStats[]> {
    return this.#subscriber.getStats();
  }

  /** Closes every connection (and tells the server), drops listeners. Idempotent. */
  /** Fresh ICE servers (TURN credentials) for every SFU connection, present and future. */
  setIceServers(iceServers: RTCIceServer[]): void {
    this.#publisher.setIceServers(iceServers);
    this.#subscriber.setIceServers(iceServers);
    this.#data?.setIceServers(iceServers);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#video.close();
    this.#data?.close();
    this.#publisher.close();
    // Reports each remote track removed (forwarded) before it drops its listeners.
    this.#subscriber.close();
    this.removeAllListeners();
  }

  #fail(err: unknown): void {
    if (this.#closed) return;
    this.emit('error', err instanceof Error ? err : new Error(String(err)));
  }
}
