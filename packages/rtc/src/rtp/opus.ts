/** Opus RTP payload format (RFC 7587): one Opus packet per RTP payload, 48 kHz clock. */
import type { RtpPacket } from './rtp.ts';

export const OPUS_CLOCK_RATE = 48_000;

/** An Opus packet is carried unchanged; the payload is the frame. */
export function packetizeOpus(frame: Uint8Array): Buffer[] {
  return [Buffer.from(frame)];
}

/** Returns the Opus frame in an RTP packet, or undefined for an empty payload. */
export function depacketizeOpus(p: RtpPacket): { data: Buffer; timestamp: number } | undefined {
  if (p.payload.length === 0) return undefined;
  return { data: Buffer.from(p.payload), timestamp: p.timestamp };
}

/** The `OpusHead` identification header (RFC 7845) that Matroska/WebM wants as CodecPrivate. */
export function opusHead(channels = 2, inputSampleRate = OPUS_CLOCK_RATE, preSkip = 312): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'ascii');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(inputSampleRate, 12);
  b.writeInt16LE(0, 16);
  b[18] = 0;
  return b;
}
