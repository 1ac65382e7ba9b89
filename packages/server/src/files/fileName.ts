import { z } from 'zod';
import { LIMITS } from '@parley-rtc/protocol';

/**
 * A user-supplied file name. It is only ever shown and sent back in Content-Disposition, never
 * used as a path; still, anything path-like or invisible is refused with a clear message so the
 * name a client sees is the name that was uploaded.
 */
export const fileNameSchema = z
  .string()
  .transform((s) => s.normalize('NFC').trim())
  .pipe(
    z
      .string()
      .min(1, 'the file name is empty')
      .refine((s) => Buffer.byteLength(s) <= LIMITS.fileName, `the file name is longer than ${LIMITS.fileName} bytes`)
      // eslint-disable-next-line no-control-regex -- refusing control characters is the point
      .refine((s) => !/[\u0000-\u001f\u007f-\u009f]/.test(s), 'the file name contains control characters')
      .refine((s) => !/[\\/]/.test(s), 'the file name contains a slash; send a bare name, not a path')
      .refine((s) => s !== '.' && s !== '..', 'the file name cannot be "." or ".."')
      .refine((s) => !/[\u202a-\u202e\u2066-\u2069\ufeff]/.test(s), 'the file name contains bidirectional controls'),
  );

/** MIME type from a Content-Type header: `type/subtype`, lower-cased, parameters dropped. */
export const mimeTypeSchema = z
  .string()
  .transform((s) => (s.split(';')[0] ?? '').trim().toLowerCase())
  .pipe(
    z
      .string()
      .max(LIMITS.mimeType)
      .regex(/^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/, 'Content-Type is not a valid media type'),
  );

/** `attachment` with an ASCII fallback and the exact name in RFC 8187 `filename*`. */
export function contentDisposition(name: string): string {
  const fallback = name.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
