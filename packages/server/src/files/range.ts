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
