import { createReadStream, statSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ParleyError } from '@parley-rtc/protocol';

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a `Range` header against a file size. Returns undefined when there is no header (send
 * the whole file). Supports one range: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Anything else, and
 * ranges that start past the end, throw RANGE_NOT_SATISFIABLE (416).
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  if (header === undefined) return undefined;
  const m = /^bytes=(\d{0,15})-(\d{0,15})$/.exec(header.trim());
  if (!m) {
    throw new ParleyError('RANGE_NOT_SATISFIABLE', 'Range must be a single "bytes=start-end", "bytes=start-" or "bytes=-suffix"', { size });
  }
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') throw new ParleyError('RANGE_NOT_SATISFIABLE', 'Range has neither start nor end', { size });
  if (a === '') {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) throw new ParleyError('RANGE_NOT_SATISFIABLE', 'empty suffix range', { size });
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  if (b !== '' && Number(b) < start) throw new ParleyError('RANGE_NOT_SATISFIABLE', 'Range end is before its start', { size });
  if (start >= size) throw new ParleyError('RANGE_NOT_SATISFIABLE', `Range starts at ${start}, the file has ${size} bytes`, { size });
  return { start, end };
}

/**
 * Answers a GET with Range support: 200 with the whole body, 206 with `Content-Range` for one
 * satisfiable range, 416 RANGE_NOT_SATISFIABLE (with `Content-Range: bytes *\/size`) otherwise;
 * always `Accept-Ranges: bytes` and the length. `read` streams the whole content or the range.
 * Set the other headers (type, disposition) before calling it.
 */
export function sendRanged(
  req: FastifyRequest,
  reply: FastifyReply,
  size: number,
  read: (range: ByteRange | undefined) => Readable | string,
): FastifyReply {
  let range;
  try {
    range = parseRange(typeof req.headers.range === 'string' ? req.headers.range : undefined, size);
  } catch (err) {
    reply.header('content-range', `bytes */${size}`);
    throw err;
  }
  reply.header('accept-ranges', 'bytes');
  if (!range) return reply.status(200).header('content-length', size).send(read(undefined));
  return reply
    .status(206)
    .header('content-range', `bytes ${range.start}-${range.end}/${size}`)
    .header('content-length', range.end - range.start + 1)
    .send(read(range));
}

/** A file on disk with Range support (sendRanged). */
export function sendFileRanged(req: FastifyRequest, reply: FastifyReply, path: string): FastifyReply {
  return sendRanged(req, reply, statSync(path).size, (range) => createReadStream(path, range ?? {}));
}
