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

/** Reads bits (and Exp-Golomb codes) from an RBSP. */
class BitReader {
  #bit = 0;
  constructor(readonly bytes: Buffer) {}
  u(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) {
      const byte = this.bytes[this.#bit >> 3];
      if (byte === undefined) throw new RtpParseError('SPS truncated');
      v = v * 2 + ((byte >> (7 - (this.#bit & 7))) & 1);
      this.#bit++;
    }
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) if (++zeros > 31) throw new RtpParseError('bad Exp-Golomb code');
    return 2 ** zeros - 1 + this.u(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -k / 2;
  }
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** The coded picture size from an SPS NAL unit (after cropping), or undefined if it cannot be read. */
export function h264SpsSize(sps: Buffer): { width: number; height: number } | undefined {
  try {
    const rbsp: number[] = [];
    for (let i = 1; i < sps.length; i++) {
      if (i >= 3 && sps[i] === 3 && sps[i - 1] === 0 && sps[i - 2] === 0 && rbsp.length >= 2) continue; // emulation prevention
      rbsp.push(sps[i]!);
    }
    const r = new BitReader(Buffer.from(rbsp));
    const profile = r.u(8);
    r.u(16); // constraint flags, level
    r.ue(); // seq_parameter_set_id
    let chroma = 1;
    if (HIGH_PROFILES.has(profile)) {
      chroma = r.ue();
      if (chroma === 3) r.u(1);
      r.ue();
      r.ue();
      r.u(1);
      if (r.u(1)) {
        for (let i = 0; i < (chroma === 3 ? 12 : 8); i++) {
          if (!r.u(1)) continue;
          let last = 8;
          let next = 8;
          for (let j = 0; j < (i < 6 ? 16 : 64); j++) {
            if (next !== 0) next = (last + r.se() + 256) % 256;
            last = next === 0 ? last : next;
          }
        }
      }
    }
    r.ue(); // log2_max_frame_num_minus4
    const poc = r.ue();
    if (poc === 0) r.ue();
    else if (poc === 1) {
      r.u(1);
      r.se();
      r.se();
      const n = r.ue();
      for (let i = 0; i < n; i++) r.se();
    }
    r.ue(); // max_num_ref_frames
    r.u(1);
    const wMbs = r.ue() + 1;
    const hMaps = r.ue() + 1;
    const frameMbsOnly = r.u(1);
    if (!frameMbsOnly) r.u(1);
    r.u(1);
    let crop = [0, 0, 0, 0];
    if (r.u(1)) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
    const cropX = chroma === 0 || chroma === 3 ? 1 : 2;
    const cropY = (chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
    return {
      width: wMbs * 16 - cropX * (crop[0]! + crop[1]!),
      height: (2 - frameMbsOnly) * hMaps * 16 - cropY * (crop[2]! + crop[3]!),
    };
  } catch {
    return undefined;
  }
}
