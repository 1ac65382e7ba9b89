/**
 * What a headless participant receives on one remote track, counted without decoding: packets,
 * bytes, frames (RTP marker bits for video; one packet is one frame for audio), VP8 key frames,
 * packets lost (sequence gaps, RFC 3550 A.3) and interarrival jitter (RFC 3550 A.8).
 */
import { ReceptionStats } from '@parley-rtc/rtc/rtp/ReceptionStats';
import { rtpPayloadOffset } from '@parley-rtc/rtc/rtp/rtp';
import { isVp8KeyFrameStart } from '@parley-rtc/rtc/rtp/vp8';
import { BOT_CODECS } from '../codecs.ts';

export interface InboundSnapshot {
  kind: 'audio' | 'video';
  packets: number;
  bytes: number;
  frames: number;
  keyFrames: number;
  /** Packets never received (sequence numbers skipped), cumulative. */
  lost: number;
  jitterMs: number;
  /** performance.now() of the first packet and of the first complete frame. */
  firstPacketAt: number | undefined;
  firstFrameAt: number | undefined;
}

export class InboundStream {
  readonly kind: 'audio' | 'video';
  readonly #clockRate: number;
  readonly #reception: ReceptionStats;
  #packets = 0;
  #bytes = 0;
  #frames = 0;
  #keyFrames = 0;
  #firstPacketAt: number | undefined;
  #firstFrameAt: number | undefined;

  constructor(kind: 'audio' | 'video') {
    this.kind = kind;
    this.#clockRate = BOT_CODECS[kind].codec.clockRate;
    this.#reception = new ReceptionStats(this.#clockRate);
  }

  /** One incoming RTP packet (already checked to be RTP version 2, at least 12 bytes). */
  packet(pkt: Buffer): void {
    const now = performance.now();
    this.#packets++;
    this.#bytes += pkt.length;
    this.#firstPacketAt ??= now;
    this.#reception.packet(pkt.readUInt16BE(2), pkt.readUInt32BE(4), now);
    const marker = (pkt[1]! & 0x80) !== 0;
    if (this.kind === 'audio' || marker) {
      this.#frames++;
      this.#firstFrameAt ??= now;
    }
    if (this.kind === 'video') {
      const offset = rtpPayloadOffset(pkt);
      if (offset !== undefined && isVp8KeyFrameStart(pkt.subarray(offset))) this.#keyFrames++;
    }
  }

  snapshot(): InboundSnapshot {
    // reportBlock() also advances the fraction-lost interval, which nothing here reads.
    const block = this.#reception.reportBlock(0, performance.now());
    return {
      kind: this.kind,
      packets: this.#packets,
      bytes: this.#bytes,
      frames: this.#frames,
      keyFrames: this.#keyFrames,
      lost: Math.max(0, block?.packetsLost ?? 0),
      jitterMs: block ? (block.jitter * 1000) / this.#clockRate : 0,
      firstPacketAt: this.#firstPacketAt,
      firstFrameAt: this.#firstFrameAt,
    };
  }
}
