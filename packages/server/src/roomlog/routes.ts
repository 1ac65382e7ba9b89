import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LIMITS, ParleyError, roomNameSchema } from '@parley-rtc/protocol';
import type { AuthorizeRoomRequest } from '../http/authorizeRoomRequest.ts';
import { invalidPayload } from '../signaling/handler.ts';
import type { LogStore } from './LogStore.ts';

export const roomParamsSchema = z.object({ room: roomNameSchema });

const seqParam = z
  .string()
  .regex(/^\d{1,15}$/, 'expected a non-negative integer')
  .transform(Number);

/** Unknown query keys (`peer`, `token`) are allowed: they carry credentials for links. */
const messagesQuerySchema = z.object({
  after: seqParam.optional(),
  before: seqParam.optional(),
  limit: seqParam.pipe(z.number().int().min(1).max(LIMITS.historyPage)).optional(),
});

/** Parses untrusted input with a schema, turning failures into INVALID_PAYLOAD. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.infer<S> {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw invalidPayload(parsed.error);
  return parsed.data;
}

export interface RoomLogRouteDeps {
  store: LogStore;
  authorize: AuthorizeRoomRequest;
  /** Whether the request carries admin credentials for the room. */
  isAdmin: (req: FastifyRequest, room: string) => Promise<boolean>;
  /** Whether admin calls are possible at all (an adminKey or real tokens are configured). */
  adminEnabled: boolean;
  /** Ends the live sessions of a room and deletes it; returns undefined for an unknown room. */
  deleteRoom: (room: string) => Promise<{ entries: number; filesDeleted: number } | undefined>;
}

/**
 * `GET /api/rooms/:room/messages?after=&before=&limit=`, `GET /api/rooms/:room/stats` and
 * `DELETE /api/rooms/:room`.
 */
export function registerRoomLogRoutes(http: FastifyInstance, deps: RoomLogRouteDeps): void {
  const { store } = deps;

  http.get('/api/rooms/:room/messages', async (req) => {
    const { room } = parseInput(roomParamsSchema, req.params);
    await deps.authorize(req, room);
    const query = parseInput(messagesQuerySchema, req.query);
    if (query.after !== undefined && query.before !== undefined && query.before <= query.after + 1) {
      throw new ParleyError('INVALID_PAYLOAD', 'before must be greater than after + 1');
    }
    const stats = await store.stats(room);
    if (!stats) throw new ParleyError('ROOM_NOT_FOUND', `no room ${room}`);
    const entries = await store.range(room, {
      ...(query.after !== undefined ? { after: query.after } : {}),
      ...(query.before !== undefined ? { before: query.before } : {}),
      limit: query.limit ?? 100,
    });
    return { room, lastSeq: stats.lastSeq, entries };
  });

  http.get('/api/rooms/:room/stats', async (req) => {
    const { room } = parseInput(roomParamsSchema, req.params);
    await deps.authorize(req, room);
    const stats = await store.stats(room);
    if (!stats) throw new ParleyError('ROOM_NOT_FOUND', `no room ${room}`);
    return stats;
  });

  http.delete('/api/rooms/:room', async (req) => {
    const { room } = parseInput(roomParamsSchema, req.params);
    if (!(await deps.isAdmin(req, room))) {
      if (!deps.adminEnabled) throw new ParleyError('FORBIDDEN', 'deleting rooms is disabled: no adminKey is configured');
      if (req.headers.authorization === undefined) throw new ParleyError('UNAUTHORIZED', 'send Authorization: Bearer <adminKey>');
      throw new ParleyError('FORBIDDEN', 'deleting a room needs the admin key or an admin token');
    }
    const result = await deps.deleteRoom(room);
    if (!result) throw new ParleyError('ROOM_NOT_FOUND', `no room ${room}`);
    return { room, deleted: true, ...result };
  });
}
