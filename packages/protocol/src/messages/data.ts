import * as z from 'zod';
import { errorCodeSchema } from '../errors.ts';
import { LIMITS } from '../limits.ts';

/**
 * App data (`room.sendData`) travels in one binary envelope on both data channels, peer to peer
 * (mesh) and through the SFU (docs/protocol.md, "Data channels"):
 *
 * ```
 * 0   u8   version (1)
 * 1   u8   flags: 0x01 payload is bytes (else UTF-8 text), 0x02 reliable, 0x04 control (an error report)
 * 2   u32  epoch: the sender's random session number (big endian)
 * 6   u32  seq: the sender's message number in that epoch
 * 10  u8   topic length T, then T bytes of UTF-8
 *     u8   from length F, then F bytes (empty from a sender; set by the receiver in mesh, by the SFU)
 *     u8   recipient count N, then N × (u8 length + UTF-8 member id); 0 = everyone
 *     …    payload (the rest)
 * ```
 */
export const DATA_ENVELOPE_VERSION = 1;
/** The reliable (ordered, retransmitted) and lossy (unordered, no retransmits) channels. */
export const DATA_CHANNELS = {
  reliable: { label: 'parley-data', id: 1 },
  lossy: { label: 'parley-data-lossy', id: 2 },
} as const;

const FLAG_BINARY = 0x01;
const FLAG_RELIABLE = 0x02;
const FLAG_CONTROL = 0x04;
const KNOWN_FLAGS = FLAG_BINARY | FLAG_RELIABLE | FLAG_CONTROL;
const MAX_ID_BYTES = 64;

export interface DataEnvelope {
  reliable: boolean;
  /** A control message (the SFU reporting a refused message); its payload is a DataErrorReport as JSON. */
  control: boolean;
  epoch: number;
  seq: number;
  topic: string;
  /** The sender's member id; empty on the way to the SFU. */
  from: string;
  /** Addressed members; empty for everyone. */
  to: string[];
  payload: string | Uint8Array;
}

/** What the SFU sends back (a control envelope on the reliable channel) when it refuses a message. */
export const dataErrorReportSchema = z.object({
  code: errorCodeSchema,
  message: z.string().max(500),
  /** The refused message's epoch and seq. */
  epoch: z.number().int().min(0).max(0xffff_ffff),
  seq: z.number().int().min(0).max(0xffff_ffff),
});
export type DataErrorReport = z.infer<typeof dataErrorReportSchema>;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** The payload's size as it travels (a string counts as its UTF-8 bytes). */
export function dataPayloadBytes(payload: string | Uint8Array): number {
  return typeof payload === 'string' ? encoder.encode(payload).byteLength : payload.byteLength;
}

/** The largest payload for a channel (LIMITS). */
export function dataPayloadLimit(reliable: boolean): number {
  return reliable ? LIMITS.dataReliableBytes : LIMITS.dataLossyBytes;
}

/** Encodes an envelope. Throws a RangeError for a field over its limit (callers check sizes first). */
export function encodeDataEnvelope(e: DataEnvelope): Uint8Array {
  const topic = encoder.encode(e.topic);
  const from = encoder.encode(e.from);
  const to = e.to.map((id) => encoder.encode(id));
  const payload = typeof e.payload === 'string' ? encoder.encode(e.payload) : e.payload;
  if (topic.byteLength > LIMITS.dataTopicBytes) throw new RangeError('topic too long');
  if (from.byteLength > MAX_ID_BYTES || to.some((b) => b.byteLength > MAX_ID_BYTES || b.byteLength === 0)) {
    throw new RangeError('member id too long');
  }
  if (to.length > LIMITS.dataRecipients) throw new RangeError('too many recipients');
  const head = 10 + 1 + topic.byteLength + 1 + from.byteLength + 1 + to.reduce((n, b) => n + 1 + b.byteLength, 0);
  const out = new Uint8Array(head + payload.byteLength);
  const view = new DataView(out.buffer);
  out[0] = DATA_ENVELOPE_VERSION;
  out[1] = (typeof e.payload === 'string' ? 0 : FLAG_BINARY) | (e.reliable ? FLAG_RELIABLE : 0) | (e.control ? FLAG_CONTROL : 0);
  view.setUint32(2, e.epoch >>> 0);
  view.setUint32(6, e.seq >>> 0);
  let at = 10;
  const put = (bytes: Uint8Array) => {
    out[at++] = bytes.byteLength;
    out.set(bytes, at);
    at += bytes.byteLength;
  };
  put(topic);
  put(from);
  out[at++] = to.length;
  for (const id of to) put(id);
  out.set(payload, at);
  return out;
}

/** An envelope's header, validated, without its payload decoded (what the SFU needs to forward it). */
export interface DataEnvelopeHead {
  reliable: boolean;
  control: boolean;
  /** The payload is bytes (else UTF-8 text, not yet checked: see scanDataEnvelope). */
  binary: boolean;
  epoch: number;
  seq: number;
  topic: string;
  from: string;
  to: string[];
  /** Where the topic field ends (the from field's length byte). */
  fromAt: number;
  /** Where the payload begins. */
  bodyAt: number;
}

/** Reads one length-prefixed UTF-8 field at `at`; undefined if it runs past the end, is over `max` or is not UTF-8. */
function field(data: Uint8Array, at: number, max: number): string | undefined {
  const len = data[at];
  if (len === undefined || len > max || at + 1 + len > data.byteLength) return undefined;
  if (len === 0) return '';
  try {
    return decoder.decode(data.subarray(at + 1, at + 1 + len));
  } catch {
    return undefined;
  }
}

/**
 * Validates an envelope from the network like decodeDataEnvelope — version, flags (the reliable
 * flag must match the channel it arrived on), every length, the UTF-8 of topic and member ids,
 * the payload size — except the UTF-8 of a text payload, which the caller checks (or decodes).
 */
export function scanDataEnvelope(data: Uint8Array, reliable: boolean): DataEnvelopeHead | undefined {
  if (data.byteLength < 13 || data[0] !== DATA_ENVELOPE_VERSION) return undefined;
  const flags = data[1] ?? 0;
  if ((flags & ~KNOWN_FLAGS) !== 0 || ((flags & FLAG_RELIABLE) !== 0) !== reliable) return undefined;
  const topic = field(data, 10, LIMITS.dataTopicBytes);
  if (topic === undefined) return undefined;
  const fromAt = 11 + (data[10] ?? 0);
  const from = field(data, fromAt, MAX_ID_BYTES);
  if (from === undefined) return undefined;
  let at = fromAt + 1 + (data[fromAt] ?? 0);
  const count = data[at++];
  if (count === undefined || count > LIMITS.dataRecipients) return undefined;
  const to: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = field(data, at, MAX_ID_BYTES);
    if (!id) return undefined;
    to.push(id);
    at += 1 + (data[at] ?? 0);
  }
  const control = (flags & FLAG_CONTROL) !== 0;
  // Control messages carry a short JSON report; app payloads obey the channel's limit.
  if (data.byteLength - at > (control ? 1024 : dataPayloadLimit(reliable))) return undefined;
  const epoch = ((data[2] ?? 0) * 0x100_0000 + (((data[3] ?? 0) << 16) | ((data[4] ?? 0) << 8) | (data[5] ?? 0))) >>> 0;
  const seq = ((data[6] ?? 0) * 0x100_0000 + (((data[7] ?? 0) << 16) | ((data[8] ?? 0) << 8) | (data[9] ?? 0))) >>> 0;
  return { reliable, control, binary: (flags & FLAG_BINARY) !== 0, epoch, seq, topic, from, to, fromAt, bodyAt: at };
}

/**
 * Decodes and validates one envelope from the network; undefined for anything malformed: wrong
 * version, unknown flags, a length past the end, bad UTF-8, a field or payload over its limit.
 * `reliable` is the channel it arrived on: the flag must match it.
 */
export function decodeDataEnvelope(data: Uint8Array, reliable: boolean): DataEnvelope | undefined {
  const head = scanDataEnvelope(data, reliable);
  if (!head) return undefined;
  const body = data.subarray(head.bodyAt);
  let payload: string | Uint8Array;
  if (head.binary) payload = body.slice();
  else {
    try {
      payload = decoder.decode(body);
    } catch {
      return undefined;
    }
  }
  const { control, epoch, seq, topic, from, to } = head;
  return { reliable, control, epoch, seq, topic, from, to, payload };
}

/**
 * The envelope as the SFU forwards it: the original bytes with `from` replaced by `from` (UTF-8,
 * at most 64 bytes) and the recipient list emptied; topic, numbers and payload are copied as they
 * came, never decoded and re-encoded. `head` is the scan of `data`.
 */
export function forwardDataEnvelope(data: Uint8Array, head: DataEnvelopeHead, from: Uint8Array): Uint8Array {
  if (from.byteLength > MAX_ID_BYTES) throw new RangeError('member id too long');
  const bodyLength = data.byteLength - head.bodyAt;
  const out = new Uint8Array(head.fromAt + 2 + from.byteLength + bodyLength);
  out.set(data.subarray(0, head.fromAt));
  let at = head.fromAt;
  out[at++] = from.byteLength;
  out.set(from, at);
  at += from.byteLength;
  out[at++] = 0;
  out.set(data.subarray(head.bodyAt), at);
  return out;
}

/** Bytes of an incoming data-channel message (ArrayBuffer, a typed array or a Node Buffer); undefined for text. */
export function dataBytes(data: unknown): Uint8Array | undefined {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** The report inside a control envelope, validated; undefined if it is not one. */
export function parseDataErrorReport(payload: string | Uint8Array): DataErrorReport | undefined {
  if (typeof payload !== 'string') return undefined;
  try {
    const parsed = dataErrorReportSchema.safeParse(JSON.parse(payload));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
