/**
 * One incoming track of a publisher in an SFU router. It validates each RTP packet from the
 * network, keeps it in a retransmission buffer (to answer subscribers' NACKs) and forwards it to
 * the consumers the router's forwarding table gave it (`setSinks`). Key-frame requests from consumers reach the publisher at most once per
 * `keyFrameIntervalMs` (later requests inside the interval are coalesced into one, never lost; a
 * key frame that arrives while one waits answers it). Video producers keep their latest key frame
 * and the packets after it (`keyFrameCache`) so a new consumer can start without waiting for one.
 *
 * Hot path: no allocation for plain packets (no CSRCs, no header extension). The same Buffer is
 * handed to each consumer, which rewrites its header in place and sends it (libdatachannel copies
 * synchronously); the original header is restored afterwards, so the buffered copy stays as
 * received. Packets with CSRCs or a header extension are copied once, without them (their ids were
 * negotiated with the publisher, not with the subscribers).
 */
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { readAudioLevel } from '@parley-rtc/rtc/rtp/headerExtension';
import { ReceptionStats } from '@parley-rtc/rtc/rtp/ReceptionStats';
import { RetransmitBuffer } from '@parley-rtc/rtc/rtp/RetransmitBuffer';
import { writeReceiverReport, writeRemb, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { normalizeRtp, restoreHeader } from '@parley-rtc/rtc/rtp/rtp';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';
import type { ProducerCloseReason } from './closeReasons.ts';
import { isKeyFrameStart } from '@parley-rtc/rtc/rtp/keyFrame';
import { KEY_FRAME_CACHE_PACKETS, KeyFrameCache } from './KeyFrameCache.ts';
import { CoalescingThrottle } from '../util/CoalescingThrottle.ts';

export interface ProducerInit {
  id: string;
  /** Id of the publisher's SFU connection in the router. */
  connectionId: string;
  kind: 'audio' | 'video';
  codec: CodecSpec;
  /** Payload type the publisher sends this codec with; other payload types are dropped. */
  payloadType: number;
  /**
   * The publisher's media SSRC if known for sure; otherwise the first packet with the negotiated
   * payload type locks it in (the Router does that: SDP ssrc lines may list RTX/FEC SSRCs first).
   */
  ssrc?: number | undefined;
  /** Sends a PLI to the publisher. */
  sendKeyFrameRequest: () => void;
  /** Minimum spacing of key-frame requests to the publisher (default 500 ms). */
  keyFrameIntervalMs?: number;
  /** Packets kept for NACK answers (video; default 1024, 0 = none). */
  retransmitPackets?: number;
  /** Bound of the key-frame cache (video; default 400 packets, 0 = no cache): see KeyFrameCache. */
  keyFrameCachePackets?: number;
  /** Sends RTCP to the publisher (receiver reports, REMB); without it no feedback is sent. */
  sendRtcp?: (packet: Buffer) => boolean;
  /** Our SSRC on the publisher's connection (the sender of our RTCP). */
  localSsrc?: number;
  /** A NACKed packet is not in the buffer (a producer fed by another node asks that node for it). */
  onRetransmitMiss?: (seq: number) => void;
  /** Audio: the negotiated id of the RFC 6464 audio-level extension, and where levels go. */
  audioLevel?: { extId: number; observe: (level: number) => void };
}

export interface ProducerStats {
  packetsIn: number;
  bytesIn: number;
  /** Packets handed to consumers (sum over consumers of successful sends). */
  packetsForwarded: number;
  droppedMalformed: number;
  droppedUnknownSsrc: number;
  droppedPayloadType: number;
  keyFrameRequests: number;
  keyFrameRequestsSent: number;
  /** Coalesced requests dropped because a key frame arrived while they waited (it answers them). */
  keyFrameRequestsAnswered: number;
  senderReports: number;
  /** Consumers whose output threw while forwarding (the packet went on to the others). */
  consumerErrors: number;
  receiverReportsSent: number;
  /** The latest REMB sent to the publisher (bits/s), 0 before the first. */
  rembSent: number;
}

/** Bounds for the bitrate the SFU asks a video publisher for (REMB). */
export interface BitrateLimits {
  min: number;
  max: number;
}

export interface LastSenderReport {
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
}

/** What a Producer asks of the consumers it forwards to (the Consumer implements it). */
export interface ProducerSink {
  /** Forwards one packet (header fields already read); false when it was not sent. */
  forward(pkt: Buffer, seq: number, ts: number, b1: number, from: Producer): boolean;
  /** The subscriber's bandwidth estimate (REMB share), if fresh. */
  bandwidthEstimate(now: number): number | undefined;
}

export interface ProducerEvents {
  /** Emitted once, when it closes (before its listeners are dropped). */
  close: [reason: ProducerCloseReason];
}

export class Producer extends TypedEmitter<ProducerEvents> {
  readonly id: string;
  readonly connectionId: string;
  readonly kind: 'audio' | 'video';
  readonly codec: CodecSpec;
  readonly payloadType: number;
  readonly retransmit: RetransmitBuffer | undefined;
  /** The latest key frame and what followed it (video), for consumers that start. */
  readonly keyFrameCache: KeyFrameCache | undefined;
  readonly stats: ProducerStats = {
    packetsIn: 0,
    bytesIn: 0,
    packetsForwarded: 0,
    droppedMalformed: 0,
    droppedUnknownSsrc: 0,
    droppedPayloadType: 0,
    keyFrameRequests: 0,
    keyFrameRequestsSent: 0,
    keyFrameRequestsAnswered: 0,
    senderReports: 0,
    consumerErrors: 0,
    receiverReportsSent: 0,
    rembSent: 0,
  };
  /** Incoming bitrate (bits/s) over the last feedback interval. */
  bitrate = 0;
  /** Video frame size from the latest key frame, when known (simulcast layers). */
  width = 0;
  height = 0;
  /** The publisher's latest sender report (NTP ↔ RTP time), if it sends any. */
  lastSenderReport: LastSenderReport | undefined;
  /** performance.now() when `lastSenderReport` arrived. */
  lastSenderReportAt = 0;
  /** performance.now() of the latest forwarded packet. */
  lastPacketAt = 0;
  /** RTP timestamp of the newest packet (input clock). */
  lastTimestamp: number | undefined;
  #ssrc: number | undefined;
  /** Who this producer feeds, set by the router's forwarding table (a new array per change). */
  #sinks: readonly ProducerSink[] = [];
  readonly #sendKeyFrameRequest: () => void;
  /** Key-frame requests to the publisher: at most one per interval, later ones coalesced. */
  readonly #keyFrameRequests: CoalescingThrottle;
  readonly #audioLevel: ProducerInit['audioLevel'];
  readonly #sendRtcp: ProducerInit['sendRtcp'];
  readonly #onRetransmitMiss: ProducerInit['onRetransmitMiss'];
  readonly #localSsrc: number;
  readonly #reception: ReceptionStats;
  #bytesAtFeedback = 0;
  #feedbackAt: number | undefined;
  #closeReason: ProducerCloseReason | undefined;

  #muted = false;
  /** Read-only observers of every packet that is forwarded (a room recording): see `addTap()`. */
  #taps: ReadonlyArray<(pkt: Buffer, from: Producer) => void> = [];

  constructor(init: ProducerInit) {
    super();
    this.id = init.id;
    this.connectionId = init.connectionId;
    this.kind = init.kind;
    this.codec = init.codec;
    this.payloadType = init.payloadType;
    this.#ssrc = init.ssrc === undefined ? undefined : init.ssrc >>> 0;
    this.#sendKeyFrameRequest = init.sendKeyFrameRequest;
    this.#keyFrameRequests = new CoalescingThrottle(() => this.#sendNow(), init.keyFrameIntervalMs ?? 500);
    this.#audioLevel = init.audioLevel;
    this.#sendRtcp = init.sendRtcp;
    this.#onRetransmitMiss = init.onRetransmitMiss;
    this.#localSsrc = init.localSsrc ?? 1;
    this.#reception = new ReceptionStats(init.codec.clockRate);
    const keep = init.retransmitPackets ?? (init.kind === 'video' ? 1024 : 0);
    this.retransmit = keep > 0 ? new RetransmitBuffer(keep) : undefined;
    const cached = init.kind === 'video' ? (init.keyFrameCachePackets ?? KEY_FRAME_CACHE_PACKETS) : 0;
    this.keyFrameCache = cached > 0 ? new KeyFrameCache(cached) : undefined;
  }

  get ssrc(): number | undefined {
    return this.#ssrc;
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why it closed (undefined while open). */
  get closeReason(): ProducerCloseReason | undefined {
    return this.#closeReason;
  }

  /**
   * An admin mute (server API, `mute`): while muted, nothing is forwarded, whatever the publisher
   * sends. Unmuting asks the publisher for a key frame so video resumes cleanly.
   */
  setMuted(muted: boolean): void {
    if (this.#muted === muted || this.closed) return;
    this.#muted = muted;
    this.keyFrameCache?.clear();
    if (!muted && this.kind === 'video') this.requestKeyFrame();
  }

  get muted(): boolean {
    return this.#muted;
  }

  get consumerCount(): number {
    return this.#sinks.length;
  }

  /** One RTP packet from the publisher (untrusted). Never throws. */
  receiveRtp(buf: Buffer): void {
    if (this.closed) return;
    const len = buf.length;
    if (len < 12 || buf[0]! >> 6 !== 2) {
      this.stats.droppedMalformed++;
      return;
    }
    const b1 = buf[1]!;
    if ((b1 & 0x7f) !== this.payloadType) {
      this.stats.droppedPayloadType++;
      return;
    }
    const ssrc = buf.readUInt32BE(8);
    if (this.#ssrc === undefined) this.#ssrc = ssrc;
    else if (ssrc !== this.#ssrc) {
      this.stats.droppedUnknownSsrc++;
      return;
    }
    if (this.#audioLevel && !this.#muted && buf[0]! & 0x10) {
      const level = readAudioLevel(buf, this.#audioLevel.extId);
      if (level) this.#audioLevel.observe(level.level);
    }
    let pkt = buf;
    if ((buf[0]! & 0x3f) !== 0) {
      const normalized = normalizeRtp(buf);
      if (!normalized) {
        this.stats.droppedMalformed++;
        return;
      }
      pkt = normalized;
    }
    this.stats.packetsIn++;
    this.stats.bytesIn += len;
    const seq = (pkt[2]! << 8) | pkt[3]!;
    const ts = pkt.readUInt32BE(4);
    this.lastPacketAt = performance.now();
    this.#reception.packet(seq, ts, this.lastPacketAt);
    // Muted by an admin: reception stats stay current (no false loss for the publisher), but
    // nothing is kept for retransmission or forwarded.
    if (this.#muted) return;
    this.lastTimestamp = ts;
    this.retransmit?.store(pkt);
    if (this.keyFrameCache) {
      const key = isKeyFrameStart(this.codec.name, pkt);
      this.keyFrameCache.push(pkt, key, this.lastPacketAt);
      // a coalesced request still waiting: this key frame answers whoever asked
      if (key && this.#keyFrameRequests.cancel()) this.stats.keyFrameRequestsAnswered++;
    }
    const taps = this.#taps;
    for (let i = 0; i < taps.length; i++) {
      try {
        taps[i]!(pkt, this);
      } catch {
        this.stats.consumerErrors++;
      }
    }
    const list = this.#sinks;
    let sent = 0;
    for (let i = 0; i < list.length; i++) {
      try {
        if (list[i]!.forward(pkt, seq, ts, b1, this)) sent++;
      } catch {
        // an output that throws must not stop the fan-out nor escape the packet path
        this.stats.consumerErrors++;
      }
    }
    this.stats.packetsForwarded += sent;
    if (list.length > 0) restoreHeader(pkt, b1, seq, ts, ssrc);
  }

  /** RTCP from the publisher on this track: remembers sender reports for per-consumer rewriting. */
  receiveRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (p.type !== 'sr') continue;
      if (this.#ssrc !== undefined && p.ssrc !== this.#ssrc) {
        this.stats.droppedUnknownSsrc++;
        continue;
      }
      this.stats.senderReports++;
      this.lastSenderReport = { ntpSec: p.ntpSec, ntpFrac: p.ntpFrac, rtpTimestamp: p.rtpTimestamp };
      this.lastSenderReportAt = performance.now();
      this.#reception.senderReport(p.ntpSec, p.ntpFrac, performance.now());
    }
  }

  /**
   * The bitrate to ask the publisher for: the lowest estimate among the subscribers that report
   * one (REMB), within `limits`; `limits.max` when none does.
   */
  targetBitrate(limits: BitrateLimits, now = performance.now()): number {
    let target = Infinity;
    for (const c of this.#sinks) {
      const estimate = c.bandwidthEstimate(now);
      if (estimate !== undefined && estimate < target) target = estimate;
    }
    return Math.round(Math.max(limits.min, Math.min(limits.max, target)));
  }

  /**
   * Periodic feedback to the publisher (the router's report timer): a receiver report (loss,
   * jitter, last SR for its RTT) and, for video, a REMB with `targetBitrate()`. Also updates
   * `bitrate`. Returns whether anything was sent.
   */
  sendFeedback(limits: BitrateLimits, now = performance.now(), withRemb = this.kind === 'video'): boolean {
    if (this.closed) return false;
    if (this.#feedbackAt !== undefined && now > this.#feedbackAt) {
      this.bitrate = Math.round(((this.stats.bytesIn - this.#bytesAtFeedback) * 8000) / (now - this.#feedbackAt));
    }
    this.#feedbackAt = now;
    this.#bytesAtFeedback = this.stats.bytesIn;
    if (!this.#sendRtcp || this.#ssrc === undefined) return false;
    const block = this.#reception.reportBlock(this.#ssrc, now);
    if (!block) return false;
    const parts = [writeReceiverReport({ ssrc: this.#localSsrc, reports: [block] })];
    let remb = 0;
    if (withRemb) {
      remb = this.targetBitrate(limits, now);
      parts.push(writeRemb(this.#localSsrc, remb, [this.#ssrc]));
    }
    try {
      if (!this.#sendRtcp(Buffer.concat(parts))) return false;
    } catch {
      return false;
    }
    this.stats.receiverReportsSent++;
    if (remb > 0) this.stats.rembSent = remb;
    return true;
  }

  /** Asks the publisher for a key frame: at most one PLI per interval, later ones coalesced. */
  requestKeyFrame(): void {
    if (this.closed || this.kind !== 'video') return;
    this.stats.keyFrameRequests++;
    this.#keyFrameRequests.request();
  }

  #sendNow(): void {
    if (this.closed) return;
    this.stats.keyFrameRequestsSent++;
    try {
      this.#sendKeyFrameRequest();
    } catch {
      // the publisher's transport is gone; its close handler cleans up
    }
  }

  /** A consumer's NACK asked for a packet no longer (or never) in the buffer. */
  retransmitMiss(seq: number): void {
    if (!this.closed) this.#onRetransmitMiss?.(seq);
  }

  /**
   * Adds an observer of every packet this producer forwards (not while muted), called before the
   * consumers with the packet as received (normalized); it must not change or keep the Buffer.
   * Returns the function that removes it.
   */
  addTap(tap: (pkt: Buffer, from: Producer) => void): () => void {
    if (this.closed) return () => undefined;
    this.#taps = [...this.#taps, tap];
    return () => {
      this.#taps = this.#taps.filter((t) => t !== tap);
    };
  }

  /**
   * The consumers this producer forwards to. Only the forwarding table calls it (the Router owns
   * who is fed by whom); a fan-out in progress keeps the array it started with.
   */
  setSinks(sinks: readonly ProducerSink[]): void {
    this.#sinks = this.closed ? [] : sinks;
  }

  /**
   * Idempotent: stops, emits `close` (the forwarding table closes its consumers with
   * `producerclose`, the router forgets it), then drops its listeners.
   */
  close(reason: ProducerCloseReason = 'close'): void {
    if (this.closed) return;
    this.#closeReason = reason;
    this.#keyFrameRequests.close();
    this.retransmit?.clear();
    this.keyFrameCache?.clear();
    this.emit('close', reason);
    this.#sinks = [];
    this.#taps = [];
    this.removeAllListeners();
  }
}
