import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ParleyError, type FileInfo } from '@parley-rtc/protocol';
import type { AuthorizeRoomRequest } from '../http/authorizeRoomRequest.ts';
import type { LogStore, NewEntry } from '../roomlog/LogStore.ts';
import { parseInput, roomParamsSchema } from '../roomlog/routes.ts';
import type { BlobStore } from './BlobStore.ts';
import { contentDisposition, fileNameSchema, mimeTypeSchema } from './fileName.ts';
import { sendRanged } from './range.ts';
import type { LogEntry } from '@parley-rtc/protocol';

export interface FileRouteDeps {
  store: LogStore;
  blobs: BlobStore;
  authorize: AuthorizeRoomRequest;
  /** Appends to the room log and delivers live (Signaling.publish). */
  publish: (room: string, entry: NewEntry) => Promise<LogEntry>;
  maxBytes: number;
}

const fileParamsSchema = roomParamsSchema.extend({
  sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected a lower-case hex SHA-256'),
});

const uploadQuerySchema = z.object({ name: z.string().optional() });

/** Decodes a percent-encoded X-Filename header (plain ASCII names pass through unchanged). */
function headerFileName(value: string | string[] | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  try {
    return decodeURIComponent(value);
  } catch {
    throw new ParleyError('INVALID_PAYLOAD', 'X-Filename is not valid percent-encoding');
  }
}

/**
 * `POST /api/rooms/:room/files` (raw body, streamed to disk) and
 * `GET /api/rooms/:room/files/:sha256` (with Range). Registered as an encapsulated plugin so
 * its pass-through body parser does not affect other routes.
 */
export async function registerFileRoutes(http: FastifyInstance, deps: FileRouteDeps): Promise<void> {
  const { store, blobs } = deps;
  const isReferenced = (shas: readonly string[]) => store.referencedFiles(shas);

  await http.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    // Hand the untouched request stream to the handler, whatever the type.
    scope.addContentTypeParser('*', (_req, _payload, done) => done(null, undefined));

    scope.post('/api/rooms/:room/files', async (req, reply) => {
      const { room } = parseInput(roomParamsSchema, req.params);
      const caller = await deps.authorize(req, room, 'upload');
      const query = parseInput(uploadQuerySchema, req.query);
      const rawName = query.name ?? headerFileName(req.headers['x-filename']);
      if (rawName === undefined) throw new ParleyError('INVALID_PAYLOAD', 'name the file with ?name= or an X-Filename header');
      const name = parseInput(fileNameSchema, rawName);
      const contentType = req.headers['content-type'];
      const type = contentType === undefined ? 'application/octet-stream' : parseInput(mimeTypeSchema, contentType);
      const declared = Number(req.headers['content-length'] ?? Number.NaN);
      if (declared > deps.maxBytes) {
        reply.header('connection', 'close');
        throw new ParleyError('PAYLOAD_TOO_LARGE', `the upload is ${declared} bytes; the limit is ${deps.maxBytes}`, {
          maxBytes: deps.maxBytes,
        });
      }
      let blob;
      try {
        blob = await blobs.ingest(req.raw, deps.maxBytes);
      } catch (err) {
        // Stop reading the rest of an oversized body; the connection closes after the reply.
        reply.header('connection', 'close');
        throw err;
      }
      const from = caller.kind === 'member' ? caller.peer : { id: 'admin', name: 'admin' };
      const file: FileInfo = { id: randomUUID(), name, size: blob.size, type, sha256: blob.sha256 };
      const entry = await blobs.commit(blob, () => deps.publish(room, { kind: 'file', from, file }), isReferenced);
      return reply.status(201).send({ file, entry });
    });

    scope.get('/api/rooms/:room/files/:sha256', async (req, reply) => {
      const { room, sha256 } = parseInput(fileParamsSchema, req.params);
      await deps.authorize(req, room);
      const found = await store.findFile(room, sha256);
      const size = found ? await blobs.size(sha256) : undefined;
      if (!found || size === undefined) throw new ParleyError('NOT_FOUND', `room ${room} has no file ${sha256}`);
      reply
        .header('content-type', found.file.type)
        .header('content-disposition', contentDisposition(found.file.name))
        .header('x-content-type-options', 'nosniff')
        .header('content-security-policy', "sandbox; default-src 'none'")
        .header('etag', `"${sha256}"`)
        .header('cache-control', 'private, max-age=31536000, immutable');
      return sendRanged(req, reply, size, (range) => (range ? blobs.read(sha256, range) : size === 0 ? '' : blobs.read(sha256)));
    });
  });
}
