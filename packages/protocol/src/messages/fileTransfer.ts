import * as z from 'zod';
import { LIMITS } from '../limits.ts';

/**
 * Direct (peer-to-peer) file transfer over the app data channel, topic `parley.file`
 * (docs/client.md, "Sending a file directly"). Control messages are JSON text; chunks are binary
 * frames (`encodeFileChunk`). The receiver drives the transfer: it accepts with an offset, and
 * after a dropped data path it resumes with the offset it has.
 */
export const FILE_TRANSFER_TOPIC = 'parley.file';

/** Bytes of file data in one chunk frame (well below the 64 KiB reliable data limit). */
export const FILE_CHUNK_BYTES = 16 * 1024;

const transferId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'transfer ids are 8–64 letters, digits, "_" or "-"');
const offset = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** Why a transfer ended without a verified file. */
export const fileTransferEndReasonSchema = z.enum(['cancelled', 'declined', 'too-large', 'hash-mismatch', 'timeout', 'error']);
export type FileTransferEndReason = z.infer<typeof fileTransferEndReasonSchema>;

export const fileTransferMessageSchema = z.discriminatedUnion('type', [
  /** Sender → receiver: a file is on offer. */
  z.object({
    type: z.literal('offer'),
    id: transferId,
    name: z.string().min(1).max(LIMITS.fileName),
    size: offset,
    mime: z.string().max(LIMITS.mimeType),
  }),
  /** Receiver → sender: send from `offset` (0 at first; the bytes it holds when resuming after a drop). */
  z.object({ type: z.literal('accept'), id: transferId, offset }),
  /** Sender → receiver: every byte was sent; the SHA-256 (hex) of the whole file. */
  z.object({ type: z.literal('done'), id: transferId, sha256: z.string().regex(/^[0-9a-f]{64}$/) }),
  /** Receiver → sender: the hash matched, the file is complete. */
  z.object({ type: z.literal('verified'), id: transferId }),
  /** Either side: the transfer is over without a verified file. */
  z.object({ type: z.literal('cancel'), id: transferId, reason: fileTransferEndReasonSchema }),
]);
export type FileTransferMessage = z.infer<typeof fileTransferMessageSchema>;

/** A chunk as decoded from its binary frame. */
export interface FileChunk {
  id: string;
  offset: number;
  data: Uint8Array;
}

const CHUNK_MAGIC = 0x46; // 'F'
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Frame: magic 'F', id length (1 byte), id (ASCII), offset (float64 big-endian), data. */
export function encodeFileChunk(id: string, offsetBytes: number, data: Uint8Array): Uint8Array {
  const idBytes = textEncoder.encode(id);
  const frame = new Uint8Array(2 + idBytes.length + 8 + data.length);
  frame[0] = CHUNK_MAGIC;
  frame[1] = idBytes.length;
  frame.set(idBytes, 2);
  new DataView(frame.buffer).setFloat64(2 + idBytes.length, offsetBytes);
  frame.set(data, 2 + idBytes.length + 8);
  return frame;
}

/** Parses a chunk frame; undefined when the bytes are not one (wrong magic, bad id, bad offset). */
export function decodeFileChunk(frame: Uint8Array): FileChunk | undefined {
  if (frame.length < 2 || frame[0] !== CHUNK_MAGIC) return undefined;
  const idLength = frame[1] ?? 0;
  const dataStart = 2 + idLength + 8;
  if (frame.length < dataStart) return undefined;
  const id = transferId.safeParse(textDecoder.decode(frame.subarray(2, 2 + idLength)));
  const at = offset.safeParse(new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getFloat64(2 + idLength));
  if (!id.success || !at.success) return undefined;
  return { id: id.data, offset: at.data, data: frame.subarray(dataStart) };
}
