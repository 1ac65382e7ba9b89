/**
 * One outgoing track to one subscriber, fed by a Producer. Each consumer has its own SSRC,
 * payload type, sequence-number and timestamp space: when it starts, resumes after a pause or
 * switches to another producer it continues from where it stopped (next sequence number, a
 * timestamp advanced by the wall time in between), and video waits for a key frame first so the
 * subscriber's decoder never sees a broken reference chain. Video asks for a key frame at subscribe
 * time (`prime()`) and starts with its producer's cached GOP (Producer.keyFrameCache) when fresh;
 * a PLI in its first seconds gets that GOP again as new packets (SRTP replay protection drops resent ones).
 *
 * RTCP from the subscriber: PLI/FIR → the producer's (rate-limited) key-frame request; generic
 * NACK → the lost packets from the producer's retransmission buffer, mapped back from this
 * consumer's sequence space; RR counted. Feedback for an SSRC other than ours is dropped and
 * counted. `senderReport()` builds this consumer's SR, mapping the publisher's SR (or the wall
 * clock) into its timestamp space.
 */
import { TypedEmitter } from '@parley-rtc/rtc/emitter';
import { ntpNow, writeSenderReport, RTCP_PSFB, type RtcpPacket } from '@parley-rtc/rtc/rtp/rtcp';
import { restoreHeader, seqDelta } from '@parley-rtc/rtc/rtp/rtp';
import type { ConsumerCloseReason } from './closeReasons.ts';
import { isKeyFrameStart } from '@parley-rtc/rtc/rtp/keyFrame';
import { squeezedTimestamps } from './KeyFrameCache.ts';
import type { Producer, ProducerSink } from './Producer.ts';

/** Where a consumer sends (a send-only MediaTrack satisfies this). */
export interface RtpOutput {
  readonly ssrc: number;
  readonly isOpen: boolean;
  sendRtp(packet: Buffer): boolean;
  sendRtcp(packet: Buffer): boolean;
}

export interface ConsumerInit {
  id: string;
  /** Id of the subscriber's SFU connection in the router. */
  connectionId: string;
  producer: Producer;
  output: RtpOutput;
  /** Payload type negotiated with the subscriber for the producer's codec. */
  payloadType: number;
  /** Start paused (default false). */
  paused?: boolean;
}

export interface ConsumerEvents {
  /** Its producers changed: a switch started (`pendingProducer`), took over or was dropped (the forwarding table re-wires it). */
  sourcechange: [];
  /** Emitted once, when it closes (before its listeners are dropped). */
  close: [reason: ConsumerCloseReason];
}

export interface ConsumerStats {
  packetsSent: number;
  octetsSent: number;
  sendFailures: number;
  /** Packets not sent while waiting for a key frame after start/resume/switch. */
  skippedWaitingForKeyFrame: number;
  nacksReceived: number;
  retransmitted: number;
  /** NACKed packets no longer in the buffer or outside the current mapping. */
  retransmitMissed: number;
  keyFrameRequests: number;
  /** Times it sent its producer's cached key frame and the packets after it (start, resume, early PLI). */
  keyFrameReplays: number;
  receiverReports: number;
  droppedUnknownSsrc: number;
}

const MAX_NACK_PER_PACKET = 64;
const KEY_FRAME_RETRY_MS = 1000;
/** How long after start a PLI gets the cached key frame again (as new packets), at most every REPLAY_INTERVAL_MS. */
const REPLAY_WINDOW_MS = 3000;
const REPLAY_INTERVAL_MS = 500;
const FIR = 4;
/** A REMB older than this no longer limits the publisher. */
const REMB_MAX_AGE_MS = 5000;

export class Consumer extends TypedEmitter<ConsumerEvents> implements ProducerSink {
  readonly id: string;
  readonly connectionId: string;
  readonly output: RtpOutput;
  readonly payloadType: number;
  readonly stats: ConsumerStats = {
    packetsSent: 0,
    octetsSent: 0,
    sendFailures: 0,
    skippedWaitingForKeyFrame: 0,
    nacksReceived: 0,
    retransmitted: 0,
    retransmitMissed: 0,
    keyFrameRequests: 0,
    keyFrameReplays: 0,
    receiverReports: 0,
    droppedUnknownSsrc: 0,
  };
  #producer: Producer;
  readonly #ssrc: number;
  readonly #isVideo: boolean;
  readonly #clockRate: number;
  #started = false;
  #paused: boolean;
  #closeReason: ConsumerCloseReason | undefined;
  /** forward() sends only when started, not paused, not closed (one check on the hot path). */
  #active = false;
  #needsSync = true;
  #seqOffset = 0;
  #tsOffset = 0;
  /** First output sequence number of the current mapping (NACKs before it cannot be mapped). */
  #mapStartSeq = 0;
  #lastOutSeq: number | undefined;
  #lastOutTs: number | undefined;
  #lastOutAt = 0;
  #lastKeyFrameAskAt = -Infinity;
  #startedAt = -Infinity;
  /** When a PLI last got the cache replayed. */
  #replayedAt = -Infinity;
  #remb: number | undefined;
  #rembAt = 0;
  #pending: Producer | undefined;
  /**
   * Set by an owner that keeps this consumer across producers (a WHEP view of a room's active
   * speaker): called when its producer ends, to move it to another one (`Router.switchConsumer`);
   * returns whether it did. Otherwise (or when unset) the consumer closes with `producerclose`.
   */
  onProducerEnd: (() => boolean) | undefined;
  /** Called once, after the first packet went out (debug timelines: subscribeSetup.ts). */
  onFirstPacket: (() => void) | undefined;

  /** Not fed by anyone until the router's forwarding table adds it (`Forwarding.add`). */
  constructor(init: ConsumerInit) {
    super();
    this.id = init.id;
    this.connectionId = init.connectionId;
    this.output = init.output;
    this.payloadType = init.payloadType & 0x7f;
    this.#producer = init.producer;
    this.#ssrc = init.output.ssrc >>> 0;
    this.#isVideo = init.producer.kind === 'video';
    this.#clockRate = init.producer.codec.clockRate;
    this.#paused = init.paused ?? false;
  }

  get producer(): Producer {
    return this.#producer;
  }

  get paused(): boolean {
    return this.#paused;
  }

  get closed(): boolean {
    return this.#closeReason !== undefined;
  }

  /** Why it closed (undefined while open). */
  get closeReason(): ConsumerCloseReason | undefined {
    return this.#closeReason;
  }

  get ssrc(): number {
    return this.#ssrc;
  }

  /**
   * Subscribe time (before the transport opens): a video consumer asks its producer for a key
   * frame now, so a fresh one is cached (or on its way) when `start()` comes.
   */
  prime(): void {
    if (!this.closed && this.#isVideo && !this.#started) this.#askKeyFrame(performance.now());
  }

  /** The subscriber's transport is open: start forwarding (from the cached or the next key frame). */
  start(): void {
    if (this.closed || this.#started) return;
    this.#started = true;
    this.#startedAt = performance.now();
    this.#resync(true);
  }

  pause(): void {
    if (this.closed || this.#paused) return;
    this.#paused = true;
    this.#active = false;
  }

  resume(): void {
    if (this.closed || !this.#paused) return;
    this.#paused = false;
    this.#resync();
  }

  /**
   * Feeds this consumer from another producer of the same kind and codec; the stream continues.
   * A flowing video consumer switches seamlessly: it keeps forwarding the current producer until
   * the new one sends a key frame (which it asks for), then takes the new one from that frame on
   * (simulcast layer changes). Otherwise (audio, not flowing yet) it switches at once.
   */
  switchProducer(producer: Producer): void {
    if (this.closed) return;
    if (producer === this.#producer) {
      this.#dropPending();
      return;
    }
    if (producer.closed) throw new Error('producer is closed');
    if (producer.kind !== this.#producer.kind || producer.codec.name !== this.#producer.codec.name) {
      throw new Error(`cannot switch a ${this.#producer.codec.name} consumer to a ${producer.codec.name} producer`);
    }
    if (producer === this.#pending) return;
    this.#dropPending();
    if (this.#isVideo && this.#active && !this.#needsSync) {
      this.#pending = producer;
      this.emit('sourcechange');
      this.stats.keyFrameRequests++;
      producer.requestKeyFrame();
      return;
    }
    this.#producer = producer;
    this.emit('sourcechange');
    this.#resync();
  }

  /** The producer this consumer is switching to (until its next key frame), if any. */
  get pendingProducer(): Producer | undefined {
    return this.#pending;
  }

  #dropPending(): void {
    if (!this.#pending) return;
    this.#pending = undefined;
    this.emit('sourcechange');
  }

  /** The source's stream jumps (its admin mute ended): continue from its next packet (video: key frame) without a gap. */
  resync(): void {
    if (!this.closed) this.#resync();
  }

  #resync(starting = false): void {
    this.#needsSync = true;
    this.#active = this.#started && !this.#paused && !this.closed;
    if (!this.#active || !this.#isVideo) return;
    const now = performance.now();
    if (this.#replay(now)) return;
    // asked moments ago (prime()): its key frame goes into the cache or straight to us
    if (starting && this.#producer.keyFrameCache && now - this.#lastKeyFrameAskAt < KEY_FRAME_RETRY_MS) return;
    this.#askKeyFrame(now);
  }

  /**
   * Sends the producer's cached key frame and what followed (`squeezedTimestamps`: one tick apart,
   * the newest where the live stream goes on), mapped like any new start. NACKs for them go
   * unanswered (a loss ends in a PLI). False when nothing fresh is cached.
   */
  #replay(now: number): boolean {
    const cached = this.#producer.keyFrameCache?.replayable(now);
    if (!cached || !this.#active) return false;
    this.#needsSync = true;
    const stamps = squeezedTimestamps(cached);
    for (let i = 0; i < cached.length; i++) {
      const pkt = cached[i]!;
      const [b1, seq, ts, ssrc] = [pkt[1]!, pkt.readUInt16BE(2), pkt.readUInt32BE(4), pkt.readUInt32BE(8)];
      this.forward(pkt, seq, stamps[i]!, b1);
      restoreHeader(pkt, b1, seq, ts, ssrc);
    }
    if (this.#needsSync) return false;
    if (this.#lastOutSeq !== undefined) this.#mapStartSeq = (this.#lastOutSeq + 1) & 0xffff;
    this.stats.keyFrameReplays++;
    return true;
  }

  /** A PLI: in the first seconds, the cached key frame again as new packets; and a fresh one from the publisher. */
  #onPli(now: number): void {
    if (now - this.#startedAt < REPLAY_WINDOW_MS && now - this.#replayedAt >= REPLAY_INTERVAL_MS && this.#replay(now))
      this.#replayedAt = now;
    this.#askKeyFrame(now);
  }

  #askKeyFrame(now: number): void {
    this.#lastKeyFrameAskAt = now;
    this.stats.keyFrameRequests++;
    this.#producer.requestKeyFrame();
  }

  /**
   * Rewrites `pkt`'s header in place for this subscriber and sends it. `seq`, `ts` and `b1` are the
   * producer's values (the caller restores them afterwards); `from` is the producer it came from
   * (default: the current one). Returns whether it was sent.
   */
  forward(pkt: Buffer, seq: number, ts: number, b1: number, from?: Producer): boolean {
    if (!this.#active) return false;
    if (from !== undefined && from !== this.#producer) {
      // a switch in progress: the new producer takes over at its first key frame
      if (from !== this.#pending || !isKeyFrameStart(from.codec.name, pkt)) return false;
      this.#producer = from;
      this.#pending = undefined;
      this.#needsSync = true;
      this.emit('sourcechange');
    }
    if (this.#needsSync && !this.#sync(pkt, seq, ts)) return false;
    const outSeq = (seq + this.#seqOffset) & 0xffff;
    const outTs = (ts + this.#tsOffset) >>> 0;
    pkt[1] = (b1 & 0x80) | this.payloadType;
    pkt[2] = outSeq >>> 8;
    pkt[3] = outSeq & 0xff;
    pkt.writeUInt32BE(outTs, 4);
    pkt.writeUInt32BE(this.#ssrc, 8);
    if (!this.output.sendRtp(pkt)) {
      this.stats.sendFailures++;
      return false;
    }
    if (this.stats.packetsSent++ === 0) this.onFirstPacket?.();
    this.stats.octetsSent += pkt.length - 12;
    const last = this.#lastOutSeq;
    if (last === undefined || ((outSeq - last) & 0xffff) < 0x8000) {
      this.#lastOutSeq = outSeq;
      this.#lastOutTs = outTs;
      this.#lastOutAt = this.#producer.lastPacketAt;
    }
    return true;
  }

  /** Starts a new mapping at this packet, if it may start one (video: a key frame start). */
  #sync(pkt: Buffer, seq: number, ts: number): boolean {
    if (this.#isVideo && !isKeyFrameStart(this.#producer.codec.name, pkt)) {
      this.stats.skippedWaitingForKeyFrame++;
      const now = performance.now();
      if (now - this.#lastKeyFrameAskAt >= KEY_FRAME_RETRY_MS) this.#askKeyFrame(now);
      return false;
    }
    this.#needsSync = false;
    const lastSeq = this.#lastOutSeq;
    const lastTs = this.#lastOutTs;
    const nextSeq = lastSeq === undefined ? seq : (lastSeq + 1) & 0xffff;
    let nextTs = ts;
    if (lastTs !== undefined) {
      const elapsedMs = Math.max(0, this.#producer.lastPacketAt - this.#lastOutAt);
      nextTs = (lastTs + Math.max(1, Math.round((elapsedMs * this.#clockRate) / 1000))) >>> 0;
    }
    this.#seqOffset = (nextSeq - seq) & 0xffff;
    this.#tsOffset = (nextTs - ts) >>> 0;
    this.#mapStartSeq = nextSeq;
    return true;
  }

  /** RTCP from the subscriber for this track (already parsed; malformed compounds never get here). */
  receiveRtcp(packets: readonly RtcpPacket[]): void {
    if (this.closed) return;
    for (const p of packets) {
      if (p.type === 'pli') {
        if (p.mediaSsrc !== this.#ssrc) this.stats.droppedUnknownSsrc++;
        else this.#onPli(performance.now());
      } else if (p.type === 'other' && p.packetType === RTCP_PSFB && p.fmt === FIR) {
        this.#askKeyFrame(performance.now());
      } else if (p.type === 'nack') {
        if (p.mediaSsrc !== this.#ssrc) this.stats.droppedUnknownSsrc++;
        else this.#answerNack(p.lost);
      } else if (p.type === 'rr') {
        this.stats.receiverReports++;
      } else if (p.type === 'remb') {
        // The estimate covers every listed stream of the subscriber's connection: take a share.
        if (p.ssrcs.includes(this.#ssrc)) {
          this.#remb = p.bitrate / p.ssrcs.length;
          this.#rembAt = performance.now();
        }
      }
    }
  }

  #answerNack(lost: readonly number[]): void {
    this.stats.nacksReceived++;
    const buffer = this.#producer.retransmit;
    const last = this.#lastOutSeq;
    const n = Math.min(lost.length, MAX_NACK_PER_PACKET);
    for (let i = 0; i < n; i++) {
      const outSeq = lost[i]! & 0xffff;
      // only sequence numbers sent under the current mapping can be mapped back
      if (!buffer || last === undefined || this.#needsSync || seqDelta(this.#mapStartSeq, outSeq) < 0 || seqDelta(outSeq, last) < 0) {
        this.stats.retransmitMissed++;
        continue;
      }
      const inSeq = (outSeq - this.#seqOffset) & 0xffff;
      const pkt = buffer.get(inSeq);
      if (!pkt) {
        this.stats.retransmitMissed++;
        this.#producer.retransmitMiss(inSeq); // a relayed producer asks its node for it
        continue;
      }
      const b1 = pkt[1]!;
      const ts = pkt.readUInt32BE(4);
      const ssrc = pkt.readUInt32BE(8);
      const wasActive = this.#active;
      this.#active = true;
      const sent = this.forward(pkt, inSeq, ts, b1);
      this.#active = wasActive;
      restoreHeader(pkt, b1, inSeq, ts, ssrc);
      if (sent) {
        this.stats.retransmitted++;
        // a retransmission is not new media: do not count it twice in the SR counters
        this.stats.packetsSent--;
        this.stats.octetsSent -= pkt.length - 12;
      }
    }
  }

  /**
   * The subscriber's bandwidth for this stream (its latest REMB share, bits/s), or undefined when
   * it sent none in the last 5 s or the consumer is paused (then it should not hold anyone back).
   */
  bandwidthEstimate(now = performance.now()): number | undefined {
    if (!this.#active || this.#remb === undefined || now - this.#rembAt > REMB_MAX_AGE_MS) return undefined;
    return this.#remb;
  }

  /** This consumer's RTCP sender report, or undefined before its first packet. */
  senderReport(nowMs = Date.now()): Buffer | undefined {
    if (this.closed || this.#lastOutTs === undefined) return undefined;
    const sr = this.#producer.lastSenderReport;
    let ntp: { ntpSec: number; ntpFrac: number };
    let rtpTimestamp: number;
    if (sr && !this.#needsSync) {
      ntp = { ntpSec: sr.ntpSec, ntpFrac: sr.ntpFrac };
      rtpTimestamp = (sr.rtpTimestamp + this.#tsOffset) >>> 0;
    } else {
      ntp = ntpNow(nowMs);
      const elapsedMs = Math.max(0, performance.now() - this.#lastOutAt);
      rtpTimestamp = (this.#lastOutTs + Math.round((elapsedMs * this.#clockRate) / 1000)) >>> 0;
    }
    return writeSenderReport({
      ssrc: this.#ssrc,
      ...ntp,
      rtpTimestamp,
      packetCount: this.stats.packetsSent,
      octetCount: this.stats.octetsSent,
    });
  }

  /**
   * Idempotent: stops forwarding and emits `close` (the forwarding table detaches it, the router
   * closes its output track), then drops its listeners.
   */
  close(reason: ConsumerCloseReason = 'close'): void {
    if (this.closed) return;
    this.#closeReason = reason;
    this.#active = false;
    this.#pending = undefined;
    this.emit('close', reason);
    this.removeAllListeners();
  }
}
