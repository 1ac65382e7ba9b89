import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { ParleyError, peerIdSchema, roomNameSchema } from '@parley-rtc/protocol';
import {
  API_PREFIX,
  createRoomRequestSchema,
  createStreamKeyRequestSchema,
  mintTokenRequestSchema,
  muteMemberRequestSchema,
  removeMemberRequestSchema,
  roomSettingsSchema,
  sendMessageRequestSchema,
  updateMemberRequestSchema,
} from '@parley-rtc/protocol/serverApi';
import type { TokenService } from '../auth/TokenService.ts';
import { parseInput } from '../roomlog/routes.ts';
import { authenticateApi, requireRoom, requireServer, type ApiAuthDeps, type ApiCaller } from './apiAuth.ts';
import type { RoomDirectory } from './RoomDirectory.ts';
import type { StreamKeys } from '../media/rooms/StreamKeys.ts';
import type { RoomRecordings } from '../media/recording/room/RoomRecordings.ts';
import { registerRecordingRoutes } from '../media/recording/room/routes.ts';

const roomParams = z.object({ room: roomNameSchema });
const memberParams = z.object({ room: roomNameSchema, member: peerIdSchema });

export interface ServerApiDeps extends ApiAuthDeps {
  directory: RoomDirectory;
  tokens: TokenService;
  /** Default token lifetime (auth.tokenTtlSec), for the expiry the mint call reports. */
  tokenTtlSec: number;
  /** WHIP stream keys for rooms (media/rooms). */
  streamKeys: StreamKeys;
  /** Room recordings (docs/recording.md); their routes are absent without. */
  recordings?: RoomRecordings | undefined;
}

/** The server API under /api/v1 (docs/server-api.md). Registered as one encapsulated plugin. */
export async function registerServerApi(http: FastifyInstance, deps: ServerApiDeps): Promise<void> {
  const { directory } = deps;
  await http.register(
    async (api) => {
      api.decorateRequest('apiCaller', null);
      api.addHook('onRequest', async (req) => {
        req.apiCaller = await authenticateApi(req, deps);
      });
      const caller = (req: { apiCaller: ApiCaller | null }): ApiCaller => {
        if (!req.apiCaller) throw new ParleyError('UNAUTHORIZED', 'not authenticated');
        return req.apiCaller;
      };
      const roomOf = (req: { params: unknown; apiCaller: ApiCaller | null }): string => {
        const { room } = parseInput(roomParams, req.params);
        requireRoom(caller(req), room);
        return room;
      };
      const memberOf = (req: { params: unknown; apiCaller: ApiCaller | null }): { room: string; member: string } => {
        const params = parseInput(memberParams, req.params);
        requireRoom(caller(req), params.room);
        return params;
      };
      const noRoom = (room: string) => new ParleyError('ROOM_NOT_FOUND', `no room ${room}`);
      const noMember = (room: string, member: string) => new ParleyError('PEER_NOT_FOUND', `no member ${member} in room ${room}`);

      api.get('/rooms', async (req) => {
        requireServer(caller(req), 'listing rooms');
        return { rooms: await directory.list() };
      });
      api.post('/rooms', async (req, reply) => {
        const body = parseInput(createRoomRequestSchema, req.body ?? {});
        requireRoom(caller(req), body.name);
        const { room, created } = await directory.create(body);
        return reply.status(created ? 201 : 200).send(room);
      });
      api.get('/rooms/:room', async (req) => {
        const room = roomOf(req);
        return (await directory.get(room)) ?? Promise.reject(noRoom(room));
      });
      api.patch('/rooms/:room', async (req) => {
        const room = roomOf(req);
        const settings = parseInput(roomSettingsSchema, req.body ?? {});
        return (await directory.update(room, settings)) ?? Promise.reject(noRoom(room));
      });
      api.delete('/rooms/:room', async (req) => {
        const room = roomOf(req);
        const result = await directory.delete(room);
        if (!result) throw noRoom(room);
        return { room, deleted: true, ...result };
      });
      api.get('/rooms/:room/members', async (req) => {
        const room = roomOf(req);
        const members = directory.members(room);
        if (!members) throw noRoom(room);
        return { members };
      });
      api.delete('/rooms/:room/members/:member', async (req) => {
        const { room, member } = memberOf(req);
        const { reason } = parseInput(removeMemberRequestSchema, req.body ?? {});
        if (!directory.removeMember(room, member, reason)) throw noMember(room, member);
        return { ok: true };
      });
      api.post('/rooms/:room/members/:member/mute', async (req) => {
        const { room, member } = memberOf(req);
        const { kind } = parseInput(muteMemberRequestSchema, req.body ?? {});
        if (!directory.muteMember(room, member, kind)) throw noMember(room, member);
        return { ok: true };
      });
      api.patch('/rooms/:room/members/:member', async (req) => {
        const { room, member } = memberOf(req);
        const update = parseInput(updateMemberRequestSchema, req.body ?? {});
        return directory.updateMember(room, member, update) ?? Promise.reject(noMember(room, member));
      });
      api.post('/rooms/:room/messages', async (req, reply) => {
        const room = roomOf(req);
        const message = parseInput(sendMessageRequestSchema, req.body ?? {});
        const sent = await directory.send(room, message);
        if (!sent) throw noRoom(room);
        return reply.status(201).send(sent);
      });
      api.post('/rooms/:room/stream-keys', async (req, reply) => {
        const room = roomOf(req);
        const body = parseInput(createStreamKeyRequestSchema, req.body ?? {});
        // RATE_LIMITED past the per-room cap, STORAGE_FAILED when the database fails
        return reply.status(201).send(await deps.streamKeys.create(room, body.name ?? 'Stream'));
      });
      api.get('/rooms/:room/stream-keys', async (req) => ({ streamKeys: await deps.streamKeys.list(roomOf(req)) }));
      api.delete('/rooms/:room/stream-keys/:id', async (req) => {
        const room = roomOf(req);
        const { id } = parseInput(z.object({ id: z.string().max(64) }), { id: (req.params as { id?: unknown }).id });
        if (!(await deps.streamKeys.delete(room, id))) throw new ParleyError('NOT_FOUND', `no stream key ${id} in room ${room}`);
        return { ok: true };
      });
      if (deps.recordings)
        registerRecordingRoutes(api, deps.recordings, {
          roomOf: (req) => roomOf(req as { params: unknown; apiCaller: ApiCaller | null }),
          requireServer: (req, what) => requireServer(caller(req as { apiCaller: ApiCaller | null }), what),
        });
      api.post('/tokens', async (req, reply) => {
        const who = caller(req);
        // A room admin's token may not mint others (longer-lived, or with more grants than its own).
        requireServer(who, 'minting tokens');
        const body = parseInput(mintTokenRequestSchema, req.body ?? {});
        if (deps.tokens.openMode) throw new ParleyError('UNSUPPORTED', 'no auth secret is configured: the server is in open mode');
        const ttlSec = body.ttlSec;
        const token = deps.tokens.mint(
          { identity: body.identity, room: body.room, name: body.name, grants: body.grants, ttlSec },
          who.scope === 'server' && who.via === 'api-key' ? who.apiKey : undefined,
        );
        const expiresAt = Math.floor(Date.now() / 1000) + (ttlSec ?? deps.tokenTtlSec);
        return reply.status(201).send({ token, expiresAt });
      });
    },
    { prefix: API_PREFIX },
  );
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the server API's onRequest hook (api/routes.ts); null elsewhere. */
    apiCaller: ApiCaller | null;
  }
}
