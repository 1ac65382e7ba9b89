/**
 * A simulcast video publication: one media section that carries up to three encodings of the
 * same camera (RTP streams told apart by the `rtp-stream-id` header extension), listed low to
 * high. Each encoding is a layer `Producer`; a subscriber's consumer is fed by one layer at a time.
 *
 * Demultiplexing: the first packet of an unknown SSRC names its layer (rid extension); later
 * packets are routed by SSRC alone. Key frames tell each layer's resolution.
 *
 * Layer choice (`select()`, on the router's report timer and when a subscriber reports its tile
 * size): among the layers that currently flow, the smallest whose width/height covers the
 * subscriber's tile (the highest without a size), then lower while its bitrate exceeds the
 * subscriber's bandwidth estimate (REMB). Consumers switch at the new layer's next key frame
 * (`Consumer.switchProducer`), so nobody sees a broken picture. The publisher is asked (REMB) for
 * the full bitrate cap, so it keeps sending every layer.
 */
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { findExtension } from '@parley-rtc/rtc/rtp/headerExtension';
import { writePli, writeRemb, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { vp8KeyFrameSizeInPayload } from '@parley-rtc/rtc/rtp/vp8';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import type { ProducerCloseReason } from './closeReasons.ts';
import type { Consumer } from './Consumer.ts';
import { Producer, type BitrateLimits, type ProducerInit } from './Producer.ts';
import { rtpPayloadOffset } from '@parley-rtc/rtc/rtp/rtp';

export interface SimulcastInit {
  id: string;
  connectionId: string;
  codec: CodecSpec;
  payloadType: number;
  /** The section's rids, low to high. */
  rids: readonly string[];
  /** Negotiated id of the rtp-stream-id header extension. */
  ridExtId: number;
  /** Sends RTCP on the publisher's connection (PLI, receiver reports, REMB). */
  sendRtcp: (packet: Buffer) => boolean;
  /** Our SSRC on the publisher's connection. */
  localSsrc: number;
  keyFrameIntervalMs?: number;
}

/** A layer that sent nothing for this long is not chosen. */
const LAYER_IDLE_MS = 1500;
/** A layer covers a tile if it is at least this fraction of the tile's size. */
const COVER = 0.9;

export interface LayerInfo {
  rid: string;
  ssrc: number | undefined;
  width: number;
  height: number;
  bitrate: number;
  consumers: number;
}

export interface SimulcastEvents {
  /** Emitted once, after its layers closed with the same reason (before its listeners are dropped). */
  close: [reason: ProducerCloseReason];
}

export class Simulcast extends TypedEmitter<SimulcastEvents> {
  readonly id: string;
  readonly connectionId: string;
  readonly kind = 'video' as const;
  readonly codec: CodecSpec;
  readonly payloadType: number;
  /** Layers, low to high (the offer's order). */
  readonly layers: readonly Producer[];
  /** Packets whose SSRC and rid named no layer. */
  droppedUnknown = 0;
  readonly #rids: readonly string[];
  readonly #ridExtId: number;
  readonly #bySsrc = new Map<number, Producer>();
  readonly #sendRtcp: (packet: Buffer) => boolean;
  readonly #localSsrc: number;
  /** Consumers of this publication, with the tile size their subscriber reported. */
  readonly #consumers = new Map<Consumer, { width: number; height: number }>();
  #closeReason: ProducerCloseReason | undefined;

  constructor(init: SimulcastInit) {
    super();
    this.id = init.id;
    this.connectionId = init.connectionId;
    this.codec = init.codec;
    this.payloadType = init.payloadType;
    this.#rids = init.rids;
    this.#ridExtId = init.ridExtId;
    this.#sendRtcp = init.sendRtcp;
    this.#localSsrc = init.localSsrc;
    this.layers = init.rids.map((rid) => {
      const layer: Producer = new Producer({
        id: `${init.id}~${rid}`,
        connectionId: init.connectionId,
        kind: 'video',
        codec: init.codec,
        payloadType: init.payloadType,
        sendKeyFrameRequest: () => this.#pli(layer),
        sendRtcp: init.sendRtcp,
        localSsrc: init.localSsrc,
        ...(init.keyFrameIntervalMs === undefined ? {} : { keyFrameIntervalMs: init.keyFrameIntervalMs }),
      } satisfies ProducerInit);
      return layer;
    });
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why it closed (undefined while open). */
  get closeReason(): ProducerCloseReason | undefined {
    return this.#closeReason;
  }

  /** One RTP packet of the section (untrusted): routed to its layer. Never throws. */
  receiveRtp(buf: Buffer): void {
    if (this.closed || buf.length < 12) return;
    const ssrc = buf.readUInt32BE(8);
    let layer = this.#bySsrc.get(ssrc);
    if (!layer) {
      layer = this.#layerOfRid(buf);
      if (!layer || (layer.ssrc !== undefined && layer.ssrc !== ssrc)) {
        this.droppedUnknown++;
        return;
      }
      this.#bySsrc.set(ssrc, layer);
    }
    if (this.codec.name === 'vp8') {
      const offset = rtpPayloadOffset(buf);
      if (offset !== undefined && offset < buf.length) {
        const size = vp8KeyFrameSizeInPayload(buf.subarray(offset));
        if (size) {
          layer.width = size.width;
          layer.height = size.height;
        }
      }
    }
    layer.receiveRtp(buf);
  }

  /** RTCP from the publisher: sender reports go to their layer. */
  receiveRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (p.type === 'sr') this.#bySsrc.get(p.ssrc)?.receiveRtcp([p]);
    }
  }

  #layerOfRid(buf: Buffer): Producer | undefined {
    const el = findExtension(buf, this.#ridExtId);
    if (!el) return undefined;
    const rid = buf.toString('ascii', el.offset, el.offset + el.length);
    const i = this.#rids.indexOf(rid);
    return i === -1 ? undefined : this.layers[i];
  }

  #pli(layer: Producer): void {
    if (layer.ssrc !== undefined) this.#sendRtcp(writePli(this.#localSsrc, layer.ssrc));
  }

  /** The layer a new consumer starts on (then `select()` refines it). */
  initialLayer(): Producer {
    return this.#choose(undefined, performance.now()) ?? this.layers[this.layers.length - 1]!;
  }

  /** Registers a consumer of this publication (it is fed by one of the layers). */
  track(consumer: Consumer): void {
    if (this.closed) return;
    this.#consumers.set(consumer, { width: 0, height: 0 });
    consumer.once('close', () => this.#consumers.delete(consumer));
  }

  /** The subscriber shows `consumer` at this size (device pixels; 0×0: no preference). */
  setVideoSize(consumer: Consumer, width: number, height: number): void {
    if (!this.#consumers.has(consumer)) return;
    this.#consumers.set(consumer, { width, height });
    this.#apply(consumer, performance.now());
  }

  /** Re-chooses every consumer's layer (the router calls it after each feedback round). */
  select(now = performance.now()): void {
    for (const c of this.#consumers.keys()) this.#apply(c, now);
  }

  #apply(c: Consumer, now: number): void {
    if (!this.layers.includes(c.pendingProducer ?? c.producer)) {
      // switched to another publication (Router.switchConsumer): no longer ours to choose for
      this.#consumers.delete(c);
      return;
    }
    const want = this.#choose(c, now);
    if (!want || want === (c.pendingProducer ?? c.producer)) return;
    try {
      c.switchProducer(want);
    } catch {
      // the layer closed meanwhile: the next round chooses again
    }
  }

  #choose(c: Consumer | undefined, now: number): Producer | undefined {
    const live = this.layers.filter((l) => !l.closed && l.lastPacketAt > 0 && now - l.lastPacketAt < LAYER_IDLE_MS);
    if (live.length === 0) return undefined;
    // by resolution when known (robust against a client listing its layers in another order)
    live.sort((a, b) => a.width * a.height - b.width * b.height || this.layers.indexOf(a) - this.layers.indexOf(b));
    const size = c ? this.#consumers.get(c) : undefined;
    let i = live.length - 1;
    if (size && (size.width > 0 || size.height > 0)) {
      const covering = live.findIndex((l) => l.width === 0 || (l.width >= size.width * COVER && l.height >= size.height * COVER));
      if (covering !== -1) i = covering;
    }
    const bandwidth = c?.bandwidthEstimate(now);
    if (bandwidth !== undefined) while (i > 0 && live[i]!.bitrate > bandwidth) i--;
    return live[i];
  }

  /** Receiver reports for every layer, one REMB (the cap) for all of them; updates layer bitrates. */
  sendFeedback(limits: BitrateLimits, now = performance.now()): void {
    if (this.closed) return;
    for (const l of this.layers) l.sendFeedback(limits, now, false);
    const ssrcs = this.layers.map((l) => l.ssrc).filter((s): s is number => s !== undefined);
    if (ssrcs.length > 0) this.#sendRtcp(writeRemb(this.#localSsrc, limits.max, ssrcs));
  }

  layerInfo(): LayerInfo[] {
    return this.layers.map((l, i) => ({
      rid: this.#rids[i]!,
      ssrc: l.ssrc,
      width: l.width,
      height: l.height,
      bitrate: l.bitrate,
      consumers: l.consumerCount,
    }));
  }

  /** Asks every layer for a key frame (the publisher just connected). */
  requestKeyFrame(): void {
    for (const l of this.layers) l.requestKeyFrame();
  }

  /** An admin mute of every layer (see Producer.setMuted). */
  setMuted(muted: boolean): void {
    for (const l of this.layers) l.setMuted(muted);
  }

  /** Idempotent: closes every layer with `reason` (the forwarding table closes their consumers), then emits `close`. */
  close(reason: ProducerCloseReason = 'close'): void {
    if (this.closed) return;
    this.#closeReason = reason;
    for (const l of this.layers) l.close(reason);
    this.#consumers.clear();
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
