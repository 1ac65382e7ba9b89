/**
 * RTCP (RFC 3550, RFC 4585) parsing and writing for the packets a media server needs: sender
 * reports, receiver reports, generic NACK and picture loss indication. Everything else in a
 * compound packet is returned as `{ type: 'other' }`. Length fields are checked against the
 * buffer before use.
 */
import { RtpParseError } from './rtp.ts';

export const RTCP_SR = 200;
export const RTCP_RR = 201;
export const RTCP_SDES = 202;
export const RTCP_BYE = 203;
export const RTCP_RTPFB = 205;
export const RTCP_PSFB = 206;

export interface ReportBlock {
  ssrc: number;
  fractionLost: number;
  /** Cumulative packets lost (signed 24-bit). */
  packetsLost: number;
  highestSeq: number;
  jitter: number;
  lastSr: number;
  delaySinceLastSr: number;
}

export interface SenderReport {
  type: 'sr';
  ssrc: number;
  /** NTP timestamp, seconds and fraction (two 32-bit words). */
  ntpSec: number;
  ntpFrac: number;
  rtpTimestamp: number;
  packetCount: number;
  octetCount: number;
  reports: ReportBlock[];
}

export interface ReceiverReport {
  type: 'rr';
  ssrc: number;
  reports: ReportBlock[];
}

export interface Nack {
  type: 'nack';
  senderSsrc: number;
  mediaSsrc: number;
  /** The lost sequence numbers, expanded from PID/BLP pairs. */
  lost: number[];
}

export interface Pli {
  type: 'pli';
  senderSsrc: number;
  mediaSsrc: number;
}

/** Receiver estimated maximum bitrate (draft-alvestrand-rmcat-remb): PSFB, FMT 15, "REMB". */
export interface Remb {
  type: 'remb';
  senderSsrc: number;
  /** Bits per second the receiver can take for the listed streams together. */
  bitrate: number;
  ssrcs: number[];
}

export interface OtherRtcp {
  type: 'other';
  packetType: number;
  fmt: number;
}

export type RtcpPacket = SenderReport | ReceiverReport | Nack | Pli | Remb | OtherRtcp;

const REMB_FMT = 15;
const REMB_ID = 0x52454d42; // "REMB"

function parseReportBlocks(buf: Buffer, offset: number, count: number, end: number): ReportBlock[] {
  if (offset + count * 24 > end) throw new RtpParseError('RTCP report blocks exceed the packet');
  const blocks: ReportBlock[] = [];
  for (let i = 0; i < count; i++) {
    const o = offset + i * 24;
    blocks.push({
      ssrc: buf.readUInt32BE(o),
      fractionLost: buf[o + 4]!,
      packetsLost: buf.readIntBE(o + 5, 3),
      highestSeq: buf.readUInt32BE(o + 8),
      jitter: buf.readUInt32BE(o + 12),
      lastSr: buf.readUInt32BE(o + 16),
      delaySinceLastSr: buf.readUInt32BE(o + 20),
    });
  }
  return blocks;
}

/** Parses a (compound) RTCP packet; throws `RtpParseError` when any length is inconsistent. */
export function parseRtcp(buf: Buffer): RtcpPacket[] {
  const out: RtcpPacket[] = [];
  let offset = 0;
  if (buf.length < 4) throw new RtpParseError(`RTCP packet too short (${buf.length} bytes)`);
  while (offset < buf.length) {
    if (buf.length - offset < 4) throw new RtpParseError('trailing bytes after RTCP packet');
    const b0 = buf[offset]!;
    if (b0 >> 6 !== 2) throw new RtpParseError(`RTCP version ${b0 >> 6}, expected 2`);
    const count = b0 & 0x1f;
    const packetType = buf[offset + 1]!;
    const end = offset + (buf.readUInt16BE(offset + 2) + 1) * 4;
    if (end > buf.length) throw new RtpParseError('RTCP length field exceeds the packet');
    const body = offset + 4;
    switch (packetType) {
      case RTCP_SR: {
        if (end - body < 24) throw new RtpParseError('RTCP SR too short');
        out.push({
          type: 'sr',
          ssrc: buf.readUInt32BE(body),
          ntpSec: buf.readUInt32BE(body + 4),
          ntpFrac: buf.readUInt32BE(body + 8),
          rtpTimestamp: buf.readUInt32BE(body + 12),
          packetCount: buf.readUInt32BE(body + 16),
          octetCount: buf.readUInt32BE(body + 20),
          reports: parseReportBlocks(buf, body + 24, count, end),
        });
        break;
      }
      case RTCP_RR: {
        if (end - body < 4) throw new RtpParseError('RTCP RR too short');
        out.push({ type: 'rr', ssrc: buf.readUInt32BE(body), reports: parseReportBlocks(buf, body + 4, count, end) });
        break;
      }
      case RTCP_RTPFB:
      case RTCP_PSFB: {
        if (end - body < 8) throw new RtpParseError('RTCP feedback packet too short');
        const senderSsrc = buf.readUInt32BE(body);
        const mediaSsrc = buf.readUInt32BE(body + 4);
        if (packetType === RTCP_RTPFB && count === 1) {
          const lost: number[] = [];
          for (let o = body + 8; o + 4 <= end; o += 4) {
            const pid = buf.readUInt16BE(o);
            const blp = buf.readUInt16BE(o + 2);
            lost.push(pid);
            for (let bit = 0; bit < 16; bit++) if (blp & (1 << bit)) lost.push((pid + bit + 1) & 0xffff);
          }
          out.push({ type: 'nack', senderSsrc, mediaSsrc, lost });
        } else if (packetType === RTCP_PSFB && count === 1) {
          out.push({ type: 'pli', senderSsrc, mediaSsrc });
        } else if (packetType === RTCP_PSFB && count === REMB_FMT && end - body >= 16 && buf.readUInt32BE(body + 8) === REMB_ID) {
          const n = buf[body + 12]!;
          if (body + 16 + n * 4 > end) throw new RtpParseError('REMB SSRC list exceeds the packet');
          const exp = buf[body + 13]! >> 2;
          const mantissa = ((buf[body + 13]! & 0x03) << 16) | buf.readUInt16BE(body + 14);
          const ssrcs: number[] = [];
          for (let i = 0; i < n; i++) ssrcs.push(buf.readUInt32BE(body + 16 + i * 4));
          out.push({ type: 'remb', senderSsrc, bitrate: mantissa * 2 ** exp, ssrcs });
        } else {
          out.push({ type: 'other', packetType, fmt: count });
        }
        break;
      }
      default:
        out.push({ type: 'other', packetType, fmt: count });
    }
    offset = end;
  }
  return out;
}

/** Parses, or returns an empty list for malformed input. */
export function tryParseRtcp(buf: Buffer): RtcpPacket[] {
  try {
    return parseRtcp(buf);
  } catch {
    return [];
  }
}

function header(fmtOrCount: number, packetType: number, lengthWords: number): Buffer {
  const buf = Buffer.alloc((lengthWords + 1) * 4);
  buf[0] = 0x80 | (fmtOrCount & 0x1f);
  buf[1] = packetType;
  buf.writeUInt16BE(lengthWords, 2);
  return buf;
}

function writeReportBlocks(buf: Buffer, offset: number, reports: readonly ReportBlock[]): void {
  for (const [i, r] of reports.entries()) {
    const o = offset + i * 24;
    buf.writeUInt32BE(r.ssrc >>> 0, o);
    buf[o + 4] = r.fractionLost & 0xff;
    buf.writeIntBE(Math.max(-0x800000, Math.min(0x7fffff, r.packetsLost)), o + 5, 3);
    buf.writeUInt32BE(r.highestSeq >>> 0, o + 8);
    buf.writeUInt32BE(r.jitter >>> 0, o + 12);
    buf.writeUInt32BE(r.lastSr >>> 0, o + 16);
    buf.writeUInt32BE(r.delaySinceLastSr >>> 0, o + 20);
  }
}

export function writeSenderReport(sr: Omit<SenderReport, 'type' | 'reports'> & { reports?: ReportBlock[] }): Buffer {
  const reports = sr.reports ?? [];
  if (reports.length > 31) throw new RangeError('at most 31 report blocks');
  const buf = header(reports.length, RTCP_SR, 6 + reports.length * 6);
  buf.writeUInt32BE(sr.ssrc >>> 0, 4);
  buf.writeUInt32BE(sr.ntpSec >>> 0, 8);
  buf.writeUInt32BE(sr.ntpFrac >>> 0, 12);
  buf.writeUInt32BE(sr.rtpTimestamp >>> 0, 16);
  buf.writeUInt32BE(sr.packetCount >>> 0, 20);
  buf.writeUInt32BE(sr.octetCount >>> 0, 24);
  writeReportBlocks(buf, 28, reports);
  return buf;
}

export function writeReceiverReport(rr: { ssrc: number; reports?: ReportBlock[] }): Buffer {
  const reports = rr.reports ?? [];
  if (reports.length > 31) throw new RangeError('at most 31 report blocks');
  const buf = header(reports.length, RTCP_RR, 1 + reports.length * 6);
  buf.writeUInt32BE(rr.ssrc >>> 0, 4);
  writeReportBlocks(buf, 8, reports);
  return buf;
}

export function writePli(senderSsrc: number, mediaSsrc: number): Buffer {
  const buf = header(1, RTCP_PSFB, 2);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  return buf;
}

/** REMB: the most the sender of `ssrcs` should send, in bits per second (rounded down). */
export function writeRemb(senderSsrc: number, bitrate: number, ssrcs: readonly number[]): Buffer {
  if (ssrcs.length > 255) throw new RangeError('at most 255 SSRCs');
  let exp = 0;
  let mantissa = Math.max(0, Math.floor(bitrate));
  while (mantissa >= 1 << 18) {
    mantissa = Math.floor(mantissa / 2);
    exp++;
  }
  if (exp > 63) throw new RangeError('bitrate out of range');
  const buf = header(REMB_FMT, RTCP_PSFB, 4 + ssrcs.length);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(0, 8);
  buf.writeUInt32BE(REMB_ID, 12);
  buf[16] = ssrcs.length;
  buf[17] = (exp << 2) | (mantissa >> 16);
  buf.writeUInt16BE(mantissa & 0xffff, 18);
  for (const [i, ssrc] of ssrcs.entries()) buf.writeUInt32BE(ssrc >>> 0, 20 + i * 4);
  return buf;
}

/** Generic NACK for the given lost sequence numbers, packed into PID/BLP pairs. */
export function writeNack(senderSsrc: number, mediaSsrc: number, lost: readonly number[]): Buffer {
  const pairs: Array<[number, number]> = [];
  for (const seq of [...new Set(lost.map((s) => s & 0xffff))]) {
    const last = pairs[pairs.length - 1];
    const d = last ? (seq - last[0]) & 0xffff : 0;
    if (last && d >= 1 && d <= 16) last[1] |= 1 << (d - 1);
    else pairs.push([seq, 0]);
  }
  const buf = header(1, RTCP_RTPFB, 2 + pairs.length);
  buf.writeUInt32BE(senderSsrc >>> 0, 4);
  buf.writeUInt32BE(mediaSsrc >>> 0, 8);
  for (const [i, [pid, blp]] of pairs.entries()) {
    buf.writeUInt16BE(pid, 12 + i * 4);
    buf.writeUInt16BE(blp, 14 + i * 4);
  }
  return buf;
}

const NTP_EPOCH_OFFSET = 2_208_988_800;

/** Wall-clock time as an NTP timestamp (for sender reports). */
export function ntpNow(nowMs = Date.now()): { ntpSec: number; ntpFrac: number } {
  const sec = Math.floor(nowMs / 1000);
  const frac = Math.floor(((nowMs % 1000) / 1000) * 0x100000000);
  return { ntpSec: (sec + NTP_EPOCH_OFFSET) >>> 0, ntpFrac: frac >>> 0 };
}
