/**
 * VP8 RTP payload format (RFC 7741): packetizer (frame → payloads) and depacketizer
 * (RTP packets → frames, dropping incomplete frames).
 */
import { seqDelta, type RtpPacket } from './rtp.ts';
import { RtpParseError } from './rtp.ts';

export interface Vp8Descriptor {
  /** S bit: first packet of a VP8 partition. */
  start: boolean;
  partitionId: number;
  pictureId: number | undefined;
  /** Offset of the VP8 payload after the descriptor. */
  headerBytes: number;
}

/** Parses the VP8 payload descriptor at the start of an RTP payload. */
export function parseVp8Descriptor(payload: Uint8Array): Vp8Descriptor {
  if (payload.length < 1) throw new RtpParseError('empty VP8 payload');
  const b0 = payload[0]!;
  let offset = 1;
  let pictureId: number | undefined;
  if (b0 & 0x80) {
    if (payload.length < 2) throw new RtpParseError('VP8 descriptor truncated (X)');
    const x = payload[1]!;
    offset = 2;
    if (x & 0x80) {
      if (payload.length < offset + 1) throw new RtpParseError('VP8 descriptor truncated (I)');
      const m = payload[offset]!;
      if (m & 0x80) {
        if (payload.length < offset + 2) throw new RtpParseError('VP8 descriptor truncated (M)');
        pictureId = ((m & 0x7f) << 8) | payload[offset + 1]!;
        offset += 2;
      } else {
        pictureId = m & 0x7f;
        offset += 1;
      }
    }
    if (x & 0x40) offset += 1; // L: TL0PICIDX
    if (x & 0x30) offset += 1; // T or K: TID/Y/KEYIDX
  }
  if (payload.length < offset) throw new RtpParseError('VP8 descriptor longer than the payload');
  return { start: (b0 & 0x10) !== 0, partitionId: b0 & 0x0f, pictureId, headerBytes: offset };
}

/** True for a VP8 key frame (bit 0 of the frame tag is 0). */
export function isVp8KeyFrame(frame: Uint8Array): boolean {
  return frame.length >= 3 && (frame[0]! & 0x01) === 0;
}

/** Width and height from a VP8 key frame header, if it is one. */
export function vp8KeyFrameSize(frame: Uint8Array): { width: number; height: number } | undefined {
  if (!isVp8KeyFrame(frame) || frame.length < 10) return undefined;
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  return { width: (frame[6]! | (frame[7]! << 8)) & 0x3fff, height: (frame[8]! | (frame[9]! << 8)) & 0x3fff };
}

/** The frame size if this RTP payload starts a VP8 key frame, else undefined. */
export function vp8KeyFrameSizeInPayload(payload: Uint8Array): { width: number; height: number } | undefined {
  try {
    const d = parseVp8Descriptor(payload);
    if (!d.start || d.partitionId !== 0) return undefined;
    return vp8KeyFrameSize(payload.subarray(d.headerBytes));
  } catch {
    return undefined;
  }
}

/** True when this RTP packet starts a VP8 key frame (usable to pick a join point). */
export function isVp8KeyFrameStart(payload: Uint8Array): boolean {
  try {
    const d = parseVp8Descriptor(payload);
    return d.start && d.partitionId === 0 && isVp8KeyFrame(payload.subarray(d.headerBytes));
  } catch {
    return false;
  }
}

/** Splits one VP8 frame into RTP payloads of at most `maxPayload` bytes (1-byte descriptor). */
export function packetizeVp8(frame: Uint8Array, maxPayload = 1188): Buffer[] {
  if (maxPayload < 2) throw new RangeError('maxPayload too small');
  const chunk = maxPayload - 1;
  const out: Buffer[] = [];
  for (let off = 0; off < frame.length; off += chunk) {
    const part = frame.subarray(off, Math.min(off + chunk, frame.length));
    const p = Buffer.allocUnsafe(1 + part.length);
    p[0] = off === 0 ? 0x10 : 0x00;
    p.set(part, 1);
    out.push(p);
  }
  return out;
}

export interface DepacketizedFrame {
  data: Buffer;
  timestamp: number;
  keyFrame: boolean;
}

/**
 * Reassembles VP8 frames from RTP packets arriving in order. A frame with a missing packet is
 * dropped, and then every frame until the next key frame (`needKeyFrame` tells the caller to send
 * a PLI).
 */
export class Vp8Depacketizer {
  #parts: Buffer[] = [];
  #timestamp = 0;
  #lastSeq: number | undefined;
  #inFrame = false;
  #broken = false;
  /** True from a loss until the next key frame arrives. */
  needKeyFrame = true;

  push(p: RtpPacket): DepacketizedFrame | undefined {
    let d: Vp8Descriptor;
    try {
      d = parseVp8Descriptor(p.payload);
    } catch {
      this.#reset();
      return undefined;
    }
    if (this.#lastSeq !== undefined) {
      const delta = seqDelta(this.#lastSeq, p.sequenceNumber);
      if (delta <= 0) return undefined; // duplicate or reordered-late: ignore
      if (delta > 1) this.#reset();
    }
    this.#lastSeq = p.sequenceNumber;
    const body = p.payload.subarray(d.headerBytes);
    if (d.start && d.partitionId === 0) {
      this.#parts = [];
      this.#inFrame = true;
      this.#broken = false;
      this.#timestamp = p.timestamp;
    } else if (!this.#inFrame || p.timestamp !== this.#timestamp) {
      this.#broken = true;
    }
    if (this.#inFrame && !this.#broken) this.#parts.push(Buffer.from(body));
    if (!p.marker) return undefined;
    const ok = this.#inFrame && !this.#broken;
    this.#inFrame = false;
    if (!ok) {
      this.needKeyFrame = true;
      return undefined;
    }
    const data = Buffer.concat(this.#parts);
    this.#parts = [];
    const keyFrame = isVp8KeyFrame(data);
    if (keyFrame) this.needKeyFrame = false;
    if (this.needKeyFrame) return undefined;
    return { data, timestamp: p.timestamp, keyFrame };
  }

  #reset(): void {
    this.#parts = [];
    this.#inFrame = false;
    this.#broken = true;
    this.needKeyFrame = true;
  }
}
