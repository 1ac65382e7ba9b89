/**
 * H.264 RTP (RFC 6184) helpers: key-frame detection for choosing a join point, and a
 * depacketizer that turns RTP packets into AVC samples (for recording without transcoding).
 */
import { RtpParseError, seqDelta, type RtpPacket } from './rtp.ts';

/** True when the RTP payload starts (or contains, for STAP-A) an IDR slice or an SPS. */
export function isH264KeyFrameStart(payload: Uint8Array): boolean {
  if (payload.length < 2) return false;
  const type = payload[0]! & 0x1f;
  if (type === 5 || type === 7) return true;
  if (type === 28) {
    // FU-A: start bit and the fragmented NAL's type
    const fu = payload[1]!;
    return (fu & 0x80) !== 0 && ((fu & 0x1f) === 5 || (fu & 0x1f) === 7);
  }
  if (type === 24) {
    // STAP-A: walk the aggregated NAL units
    let o = 1;
    while (o + 2 < payload.length) {
      const size = (payload[o]! << 8) | payload[o + 1]!;
      const nal = payload[o + 2]! & 0x1f;
      if (nal === 5 || nal === 7) return true;
      o += 2 + size;
    }
  }
  return false;
}

/** One H.264 access unit reassembled from RTP, as an AVC sample (4-byte length-prefixed NAL units). */
export interface H264Frame {
  data: Buffer;
  timestamp: number;
  /** Contains an IDR slice. */
  keyFrame: boolean;
}

/**
 * Reassembles H.264 access units (RFC 6184, packetization-mode 1: single NAL units, STAP-A, FU-A)
 * from RTP packets arriving in order; an access unit ends at the marker bit. An access unit with a
 * missing packet is dropped, and then every one until the next IDR (`needKeyFrame` tells the
 * caller to send a PLI). The last SPS and PPS seen are kept for the decoder configuration.
 */
export class H264Depacketizer {
  #nalus: Buffer[] = [];
  #fu: Buffer[] | undefined;
  #timestamp = 0;
  #lastSeq: number | undefined;
  #inFrame = false;
  #broken = false;
  /** True from a loss until the next IDR arrives. */
  needKeyFrame = true;
  sps: Buffer | undefined;
  pps: Buffer | undefined;

  push(p: RtpPacket): H264Frame | undefined {
    let gap = false;
    if (this.#lastSeq !== undefined) {
      const delta = seqDelta(this.#lastSeq, p.sequenceNumber);
      if (delta <= 0) return undefined; // duplicate or reordered-late: ignore
      gap = delta > 1;
    }
    this.#lastSeq = p.sequenceNumber;
    if (!this.#inFrame || p.timestamp !== this.#timestamp) {
      if (this.#inFrame) this.needKeyFrame = true; // the previous access unit lost its marker packet
      this.#nalus = [];
      this.#fu = undefined;
      this.#inFrame = true;
      this.#broken = false;
      this.#timestamp = p.timestamp;
    }
    if (gap) this.#broken = true;
    if (!this.#broken && !this.#payload(p.payload)) this.#broken = true;
    if (!p.marker) return undefined;
    const ok = !this.#broken && this.#fu === undefined && this.#nalus.length > 0;
    const nalus = this.#nalus;
    this.#inFrame = false;
    this.#nalus = [];
    this.#fu = undefined;
    if (!ok) {
      this.needKeyFrame = true;
      return undefined;
    }
    const keyFrame = nalus.some((n) => (n[0]! & 0x1f) === 5);
    if (keyFrame) this.needKeyFrame = false;
    if (this.needKeyFrame) return undefined;
    return { data: avcSample(nalus), timestamp: p.timestamp, keyFrame };
  }

  /** Adds one RTP payload's NAL units; false when it is malformed or out of place. */
  #payload(payload: Uint8Array): boolean {
    if (payload.length < 1 || (payload[0]! & 0x80) !== 0) return false;
    const type = payload[0]! & 0x1f;
    if (type >= 1 && type <= 23) {
      if (this.#fu) return false;
      this.#nal(Buffer.from(payload));
      return true;
    }
    if (type === 24) {
      if (this.#fu) return false;
      let o = 1;
      while (o < payload.length) {
        if (o + 2 > payload.length) return false;
        const size = (payload[o]! << 8) | payload[o + 1]!;
        if (size === 0 || o + 2 + size > payload.length) return false;
        this.#nal(Buffer.from(payload.subarray(o + 2, o + 2 + size)));
        o += 2 + size;
      }
      return true;
    }
    if (type === 28) {
      if (payload.length < 3) return false;
      const fu = payload[1]!;
      const start = (fu & 0x80) !== 0;
      const end = (fu & 0x40) !== 0;
      if (start) {
        if (this.#fu) return false;
        this.#fu = [Buffer.from([(payload[0]! & 0xe0) | (fu & 0x1f)])];
      } else if (!this.#fu) return false;
      this.#fu.push(Buffer.from(payload.subarray(2)));
      if (end) {
        this.#nal(Buffer.concat(this.#fu));
        this.#fu = undefined;
      }
      return true;
    }
    return false; // STAP-B, MTAP, FU-B: not in packetization-mode 1
  }

  #nal(nal: Buffer): void {
    const type = nal[0]! & 0x1f;
    if (type === 7) this.sps = nal;
    else if (type === 8) this.pps = nal;
    if (type === 9) return; // access unit delimiters are not needed in a sample
    this.#nalus.push(nal);
  }
}

/** NAL units as one AVC sample: each prefixed by its 4-byte big-endian length. */
export function avcSample(nalus: readonly Buffer[]): Buffer {
  const out = Buffer.allocUnsafe(nalus.reduce((n, x) => n + 4 + x.length, 0));
  let o = 0;
  for (const n of nalus) {
    out.writeUInt32BE(n.length, o);
    n.copy(out, o + 4);
    o += 4 + n.length;
  }
  return out;
}

/** The AVCDecoderConfigurationRecord (ISO 14496-15 `avcC`) for one SPS and one PPS, 4-byte lengths. */
export function avcDecoderConfig(sps: Buffer, pps: Buffer): Buffer {
  if (sps.length < 4) throw new RtpParseError('SPS too short');
  return Buffer.concat([
    Buffer.from([1, sps[1]!, sps[2]!, sps[3]!, 0xff, 0xe1]),
    Buffer.from([sps.length >> 8, sps.length & 0xff]),
    sps,
    Buffer.from([1, pps.length >> 8, pps.length & 0xff]),
    pps,
  ]);
}
