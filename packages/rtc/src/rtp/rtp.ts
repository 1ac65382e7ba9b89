/**
 * RTP packet parsing and writing (RFC 3550), with length checks on every field: input comes from
 * the network. Packets stay `Buffer`s on the hot path; `parseRtp` gives a view with offsets into
 * the same buffer (no copy), `writeRtp` builds a new packet.
 */

export const RTP_VERSION = 2;
export const RTP_HEADER_BYTES = 12;

export interface RtpHeader {
  marker: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs: number[];
  /** Header extension (profile and raw data, without the 4-byte extension header), if any. */
  extension: { profile: number; data: Buffer } | undefined;
  /** Number of padding bytes at the end (0 when the P bit is clear). */
  padding: number;
}

export interface RtpPacket extends RtpHeader {
  /** The payload (a view into the original buffer, padding removed). */
  payload: Buffer;
}

export class RtpParseError extends Error {
  override name = 'RtpParseError';
}

/** True when a packet on an rtcp-mux transport is RTCP (RFC 5761 §4: PT 64–95 after the M bit). */
export function isRtcp(buf: Uint8Array): boolean {
  if (buf.length < 2) return false;
  const pt = buf[1]!;
  return pt >= 192 && pt <= 223;
}

/** Parses one RTP packet; throws `RtpParseError` on anything malformed. */
export function parseRtp(buf: Buffer): RtpPacket {
  if (buf.length < RTP_HEADER_BYTES) throw new RtpParseError(`RTP packet too short (${buf.length} bytes)`);
  const b0 = buf[0]!;
  const b1 = buf[1]!;
  if (b0 >> 6 !== RTP_VERSION) throw new RtpParseError(`RTP version ${b0 >> 6}, expected 2`);
  if (isRtcp(buf)) throw new RtpParseError('packet is RTCP, not RTP');
  const hasPadding = (b0 & 0x20) !== 0;
  const hasExtension = (b0 & 0x10) !== 0;
  const csrcCount = b0 & 0x0f;
  let offset = RTP_HEADER_BYTES + csrcCount * 4;
  if (buf.length < offset) throw new RtpParseError('RTP packet shorter than its CSRC list');
  const csrcs: number[] = [];
  for (let i = 0; i < csrcCount; i++) csrcs.push(buf.readUInt32BE(RTP_HEADER_BYTES + i * 4));
  let extension: RtpHeader['extension'];
  if (hasExtension) {
    if (buf.length < offset + 4) throw new RtpParseError('RTP header extension truncated');
    const profile = buf.readUInt16BE(offset);
    const words = buf.readUInt16BE(offset + 2);
    const end = offset + 4 + words * 4;
    if (buf.length < end) throw new RtpParseError('RTP header extension longer than the packet');
    extension = { profile, data: buf.subarray(offset + 4, end) };
    offset = end;
  }
  let padding = 0;
  if (hasPadding) {
    padding = buf[buf.length - 1]!;
    if (padding === 0 || offset + padding > buf.length) throw new RtpParseError('bad RTP padding length');
  }
  return {
    marker: (b1 & 0x80) !== 0,
    payloadType: b1 & 0x7f,
    sequenceNumber: buf.readUInt16BE(2),
    timestamp: buf.readUInt32BE(4),
    ssrc: buf.readUInt32BE(8),
    csrcs,
    extension,
    padding,
    payload: buf.subarray(offset, buf.length - padding),
  };
}

/** Parses, or returns undefined instead of throwing (for hot paths that drop bad packets). */
export function tryParseRtp(buf: Buffer): RtpPacket | undefined {
  try {
    return parseRtp(buf);
  } catch {
    return undefined;
  }
}

export interface RtpWriteInput {
  marker?: boolean;
  payloadType: number;
  sequenceNumber: number;
  timestamp: number;
  ssrc: number;
  csrcs?: readonly number[];
  extension?: { profile: number; data: Uint8Array } | undefined;
  payload: Uint8Array;
  /** Pad the packet to a multiple of 4 bytes plus this many extra padding bytes (0 = none). */
  padding?: number;
}

/** Serializes an RTP packet. */
export function writeRtp(p: RtpWriteInput): Buffer {
  const csrcs = p.csrcs ?? [];
  if (csrcs.length > 15) throw new RangeError('at most 15 CSRCs');
  if (p.payloadType < 0 || p.payloadType > 127) throw new RangeError('payload type out of range');
  const ext = p.extension;
  if (ext && ext.data.length % 4 !== 0) throw new RangeError('extension data must be a multiple of 4 bytes');
  const padding = p.padding ?? 0;
  if (padding < 0 || padding > 255) throw new RangeError('padding out of range');
  const extBytes = ext ? 4 + ext.data.length : 0;
  const headerBytes = RTP_HEADER_BYTES + csrcs.length * 4 + extBytes;
  const buf = Buffer.alloc(headerBytes + p.payload.length + padding);
  buf[0] = (RTP_VERSION << 6) | (padding > 0 ? 0x20 : 0) | (ext ? 0x10 : 0) | csrcs.length;
  buf[1] = (p.marker ? 0x80 : 0) | p.payloadType;
  buf.writeUInt16BE(p.sequenceNumber & 0xffff, 2);
  buf.writeUInt32BE(p.timestamp >>> 0, 4);
  buf.writeUInt32BE(p.ssrc >>> 0, 8);
  let offset = RTP_HEADER_BYTES;
  for (const c of csrcs) {
    buf.writeUInt32BE(c >>> 0, offset);
    offset += 4;
  }
  if (ext) {
    buf.writeUInt16BE(ext.profile, offset);
    buf.writeUInt16BE(ext.data.length / 4, offset + 2);
    buf.set(ext.data, offset + 4);
    offset += 4 + ext.data.length;
  }
  buf.set(p.payload, offset);
  if (padding > 0) buf[buf.length - 1] = padding;
  return buf;
}

/** Where an RTP packet's payload starts (after CSRCs and extension), or undefined if they overrun it. */
export function rtpPayloadOffset(buf: Buffer): number | undefined {
  const b0 = buf[0]!;
  let offset = 12 + (b0 & 0x0f) * 4;
  if (buf.length < offset) return undefined;
  if (b0 & 0x10) {
    if (buf.length < offset + 4) return undefined;
    offset += 4 + buf.readUInt16BE(offset + 2) * 4;
    if (buf.length < offset) return undefined;
  }
  return offset;
}

/**
 * The packet without CSRCs and header extension (a copy), the packet itself when it has neither,
 * or undefined when it is malformed (fields overrun it, bad padding). Forwarders use it because the
 * extension ids and CSRCs were negotiated with the sender, not with the receivers.
 */
export function normalizeRtp(buf: Buffer): Buffer | undefined {
  const b0 = buf[0]!;
  const len = buf.length;
  const offset = rtpPayloadOffset(buf);
  if (offset === undefined) return undefined;
  if (b0 & 0x20) {
    const pad = buf[len - 1]!;
    if (pad === 0 || offset + pad > len) return undefined;
  }
  if (offset === 12) return buf;
  const out = Buffer.allocUnsafe(12 + len - offset);
  buf.copy(out, 0, 0, 12);
  out[0] = b0 & 0xe0; // keep V and P, clear X and CC
  buf.copy(out, 12, offset);
  return out;
}

/**
 * Writes header values back into a fixed 12-byte header (byte 1 = M bit and payload type): a
 * forwarder that rewrote a packet in place for each receiver restores what it received.
 */
export function restoreHeader(pkt: Buffer, b1: number, seq: number, ts: number, ssrc: number): void {
  pkt[1] = b1;
  pkt[2] = seq >>> 8;
  pkt[3] = seq & 0xff;
  pkt.writeUInt32BE(ts, 4);
  pkt.writeUInt32BE(ssrc, 8);
}

/**
 * Copies a packet with a new SSRC, payload type, sequence number and timestamp, dropping the
 * header extension and CSRCs (their ids were negotiated with the sender, not with the receiver).
 * Returns undefined for a malformed input packet.
 */
export function rewriteRtp(
  buf: Buffer,
  out: { ssrc: number; payloadType: number; sequenceNumber?: number; timestamp?: number },
): Buffer | undefined {
  const p = tryParseRtp(buf);
  if (!p) return undefined;
  if (p.extension === undefined && p.csrcs.length === 0 && p.padding === 0) {
    const copy = Buffer.from(buf);
    copy[1] = (copy[1]! & 0x80) | out.payloadType;
    if (out.sequenceNumber !== undefined) copy.writeUInt16BE(out.sequenceNumber & 0xffff, 2);
    if (out.timestamp !== undefined) copy.writeUInt32BE(out.timestamp >>> 0, 4);
    copy.writeUInt32BE(out.ssrc >>> 0, 8);
    return copy;
  }
  return writeRtp({
    marker: p.marker,
    payloadType: out.payloadType,
    sequenceNumber: out.sequenceNumber ?? p.sequenceNumber,
    timestamp: out.timestamp ?? p.timestamp,
    ssrc: out.ssrc,
    payload: p.payload,
  });
}

/** Signed distance from sequence number `a` to `b` modulo 2^16 (positive when b is newer). */
export function seqDelta(a: number, b: number): number {
  return (((b - a) & 0xffff) << 16) >> 16;
}

/**
 * Keeps one outgoing RTP stream continuous while its input changes (a publisher reconnects, a
 * looping file restarts, an SFU switches layers): sequence numbers and timestamps continue from
 * where the previous input stopped. `switchInput()` marks the next packet as the start of a new
 * input.
 */
export class RtpRewriter {
  readonly ssrc: number;
  readonly payloadType: number;
  #seqOffset = 0;
  #tsOffset = 0;
  #lastOutSeq: number | undefined;
  #lastOutTs: number | undefined;
  #newInput = true;
  readonly #tsGap: number;

  /** `tsGap`: timestamp step inserted between two inputs (e.g. one frame at 90 kHz / 30 fps). */
  constructor(ssrc: number, payloadType: number, tsGap = 3000) {
    this.ssrc = ssrc >>> 0;
    this.payloadType = payloadType;
    this.#tsGap = tsGap;
  }

  switchInput(): void {
    this.#newInput = true;
  }

  /** Returns the rewritten copy, or undefined for a malformed packet. */
  rewrite(buf: Buffer): Buffer | undefined {
    if (buf.length < RTP_HEADER_BYTES) return undefined;
    const inSeq = buf.readUInt16BE(2);
    const inTs = buf.readUInt32BE(4);
    if (this.#newInput) {
      this.#newInput = false;
      const nextSeq = this.#lastOutSeq === undefined ? inSeq : (this.#lastOutSeq + 1) & 0xffff;
      const nextTs = this.#lastOutTs === undefined ? inTs : (this.#lastOutTs + this.#tsGap) >>> 0;
      this.#seqOffset = (nextSeq - inSeq) & 0xffff;
      this.#tsOffset = (nextTs - inTs) >>> 0;
    }
    const seq = (inSeq + this.#seqOffset) & 0xffff;
    const ts = (inTs + this.#tsOffset) >>> 0;
    const out = rewriteRtp(buf, { ssrc: this.ssrc, payloadType: this.payloadType, sequenceNumber: seq, timestamp: ts });
    if (!out) return undefined;
    if (this.#lastOutSeq === undefined || seqDelta(this.#lastOutSeq, seq) > 0) {
      this.#lastOutSeq = seq;
      this.#lastOutTs = ts;
    }
    return out;
  }
}

/** A random 32-bit SSRC. */
export function randomSsrc(): number {
  return (Math.random() * 0xffffffff) >>> 0 || 1;
}
