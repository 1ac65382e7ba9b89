/**
 * Room recordings in the server API (docs/server-api.md), registered inside its authenticated scope:
 *   POST   /rooms/:room/recordings              start (201; 200 with the running one)
 *   GET    /rooms/:room/recordings              list
 *   GET    /rooms/:room/recordings/:id          state, progress, tracks, files
 *   POST   /rooms/:room/recordings/:id/stop     stop (composition follows)
 *   DELETE /rooms/:room/recordings/:id          delete its files
 *   GET    /rooms/:room/recordings/:id/files/:name   download (Range)
 *   GET    /recordings                          every room's (server scope)
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ParleyError, recordingIdSchema, roomNameSchema } from '@parley-rtc/protocol';
import { sendFileRanged } from '../../../files/range.ts';
import { parseInput } from '../../../roomlog/routes.ts';
import type { RoomRecordings } from './RoomRecordings.ts';

const idParams = z.object({ room: roomNameSchema, id: recordingIdSchema });
const fileParams = idParams.extend({ name: z.string().regex(/^[a-z0-9.-]{1,64}$/) });

export interface RecordingRouteHelpers {
  /** The room of the request, checked against the caller's scope. */
  roomOf(req: { params: unknown; apiCaller: unknown }): string;
  /** Throws unless the caller acts for the whole server. */
  requireServer(req: { apiCaller: unknown }, what: string): void;
}

export function registerRecordingRoutes(api: FastifyInstance, recordings: RoomRecordings, h: RecordingRouteHelpers): void {
  const recordingOf = (req: { params: unknown; apiCaller: unknown }) => {
    const room = h.roomOf(req);
    const { id } = parseInput(idParams, req.params);
    const info = recordings.get(id);
    if (!info || info.room !== room) throw new ParleyError('RECORDING_NOT_FOUND', `no recording ${id} of room ${room}`);
    return info;
  };
  api.get('/recordings', async (req) => {
    h.requireServer(req, 'listing every recording');
    return { recordings: recordings.list() };
  });
  api.post('/rooms/:room/recordings', async (req, reply) => {
    const room = h.roomOf(req);
    const running = recordings.activeIn(room);
    const info = recordings.start(room, 'api');
    return reply.status(running ? 200 : 201).send(info);
  });
  api.get('/rooms/:room/recordings', async (req) => ({ recordings: recordings.list(h.roomOf(req)) }));
  api.get('/rooms/:room/recordings/:id', async (req) => recordingOf(req));
  api.post('/rooms/:room/recordings/:id/stop', async (req) => recordings.stop(recordingOf(req).id, 'api'));
  api.delete('/rooms/:room/recordings/:id', async (req) => {
    const { id } = recordingOf(req);
    recordings.delete(id);
    return { id, deleted: true };
  });
  api.get('/rooms/:room/recordings/:id/files/:name', async (req, reply) => {
    const { id } = recordingOf(req);
    const { name } = parseInput(fileParams, req.params);
    const file = recordings.filePath(id, name);
    if (!file) throw new ParleyError('NOT_FOUND', `recording ${id} has no file ${name}`);
    return sendFileRanged(req, reply.header('content-type', file.contentType), file.path);
  });
}
