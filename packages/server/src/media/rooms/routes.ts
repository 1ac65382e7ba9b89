/**
 * HTTP surface of rooms meet broadcast (docs/media.md, "Rooms over WHIP and WHEP"):
 *   POST /whip/rooms/:room                 WHIP into a room (Bearer: token with publish, or a stream key)
 *   POST /whep/rooms/:room                 WHEP of the room's active speaker
 *   POST /whep/rooms/:room/:member         WHEP of one member (camera, or ?source=screen) + its audio
 *   DELETE|PATCH /whip|whep/rooms/:room/sessions/:id   end / trickle (RFC 9725 §4.3)
 * POST bodies are application/sdp (201 + Location + ETag + SDP answer) or, on the WHEP targets,
 * aiortc-style JSON `{type:"offer", sdp}` (200 + `{type:"answer", sdp}`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { displayNameSchema, LIMITS, ParleyError, peerIdSchema, roomNameSchema } from '@parley-rtc/protocol';
import { canPublish, type Grants } from '../../auth/grants.ts';
import type { TokenService } from '../../auth/TokenService.ts';
import { bearerToken } from '../../http/tokens.ts';
import type { IceServerProvider } from '../../ice/IceServerProvider.ts';
import type { RoomMedia, RoomSessionRole } from './RoomMedia.ts';
import { StreamKeys, streamKeyIdentity } from './StreamKeys.ts';

const roomParams = z.object({ room: roomNameSchema });
const memberParams = z.object({ room: roomNameSchema, member: peerIdSchema });
const sessionParams = z.object({ room: roomNameSchema, id: z.string().uuid() });
const whipQuery = z.object({ name: displayNameSchema.optional() });
const whepQuery = z.object({ source: z.enum(['camera', 'screen']).default('camera') });
const jsonOfferSchema = z.object({ type: z.literal('offer'), sdp: z.string().min(1).max(LIMITS.sdp) });
/** What a stream key may do: join and publish, nothing else. */
const STREAM_KEY_GRANTS: Grants = {
  join: true,
  publish: true,
  subscribe: false,
  chat: false,
  data: false,
  upload: false,
  record: false,
  admin: false,
};

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new ParleyError('INVALID_PAYLOAD', `${what}: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}`);
}

/** The offer of a POST: SDP (WHIP/WHEP) or aiortc-style JSON (WHEP targets only). */
function offerOf(req: FastifyRequest, json: boolean): { sdp: string; json: boolean } {
  const type = req.headers['content-type']?.toLowerCase() ?? '';
  if (json && type.startsWith('application/json')) return { sdp: parse(jsonOfferSchema, req.body, 'offer').sdp, json: true };
  if (!type.startsWith('application/sdp'))
    throw new ParleyError('UNSUPPORTED', `the offer must be sent as application/sdp${json ? ' or JSON {type, sdp}' : ''}`);
  if (typeof req.body !== 'string' || req.body.trim() === '') throw new ParleyError('BAD_SDP', 'the request body must be an SDP offer');
  return { sdp: req.body, json: false };
}

export function registerRoomMediaRoutes(
  http: FastifyInstance,
  deps: { rooms: RoomMedia; tokens: TokenService; ice: IceServerProvider; streamKeys: StreamKeys },
): void {
  const { rooms, tokens, ice, streamKeys } = deps;
  for (const type of ['application/sdp', 'application/trickle-ice-sdpfrag']) {
    http.addContentTypeParser(type, { parseAs: 'string', bodyLimit: LIMITS.sdp }, (_req, body, done) => done(null, body));
  }

  /**
   * Who publishes into `room`: a stream key of that room, or a token with join + publish. `joining`
   * (the POST, not OPTIONS) records the key's use.
   */
  const publisher = async (req: FastifyRequest, room: string, joining = false) => {
    const bearer = bearerToken(req);
    const { name } = parse(whipQuery, req.query ?? {}, 'query');
    if (StreamKeys.isStreamKey(bearer)) {
      const key = await streamKeys.find(room, bearer, { use: joining });
      if (!key) throw new ParleyError('STREAM_KEY_INVALID', `no such stream key for room ${room}`);
      const identity = streamKeyIdentity(key.id);
      return { identity, name: name ?? key.name, grants: STREAM_KEY_GRANTS, expiresAt: undefined, keyId: key.id, key: bearer };
    }
    const principal = await tokens.verify(bearer, room);
    if (!principal.grants.join || !canPublish(principal.grants))
      throw new ParleyError('FORBIDDEN', 'the token does not grant join and publish');
    const display = name ?? principal.name ?? (principal.identity === 'anonymous' ? 'WHIP' : principal.identity);
    const { identity, grants, expiresAt } = principal;
    return { identity, name: display, grants, expiresAt, keyId: undefined, key: undefined };
  };
  const viewer = async (req: FastifyRequest, room: string) => {
    const principal = await tokens.verify(bearerToken(req), room);
    if (!principal.grants.subscribe) throw new ParleyError('FORBIDDEN', 'the token does not grant subscribe');
    return principal;
  };

  const created = (
    reply: FastifyReply,
    role: RoomSessionRole,
    s: { id: string; room: string; etag: string },
    answer: string,
    who: string,
    until: number | undefined,
  ) => {
    const link = ice.linkHeaders(who, until);
    if (link.length > 0) reply.header('link', link);
    return reply
      .status(201)
      .header('location', `/${role}/rooms/${encodeURIComponent(s.room)}/sessions/${s.id}`)
      .header('etag', s.etag)
      .header('accept-patch', 'application/trickle-ice-sdpfrag')
      .header('content-type', 'application/sdp')
      .send(answer);
  };

  const options =
    (role: RoomSessionRole, check: (req: FastifyRequest, room: string) => Promise<{ identity: string; expiresAt: number | undefined }>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      reply.status(204).header('accept-post', role === 'whep' ? 'application/sdp, application/json' : 'application/sdp');
      const room = roomParams.safeParse(req.params);
      if (room.success) {
        // Only an authorized client learns ICE servers (they carry TURN credentials).
        const who = await check(req, room.data.room).catch(() => undefined);
        const link = who ? ice.linkHeaders(who.identity, who.expiresAt) : [];
        if (link.length > 0) reply.header('link', link);
      }
      return reply.send();
    };
  http.options('/whip/rooms/:room', options('whip', publisher));
  http.options('/whep/rooms/:room', options('whep', viewer));
  http.options('/whep/rooms/:room/:member', options('whep', viewer));

  http.post('/whip/rooms/:room', async (req, reply) => {
    const { room } = parse(roomParams, req.params, 'room');
    const who = await publisher(req, room, true);
    const { sdp } = offerOf(req, false);
    const { session, answer } = await rooms.ingest({
      room,
      client: req.ip,
      offer: sdp,
      name: who.name,
      identity: who.identity,
      grants: who.grants,
      ...(who.keyId ? { streamKeyId: who.keyId } : {}),
    });
    // A key revoked while its publisher was joining: the revocation may have missed the session, so look again.
    if (who.key !== undefined) {
      const still = await streamKeys.find(room, who.key).catch((err: unknown) => {
        rooms.stop(session.id, 'stream key unverified');
        throw err;
      });
      if (!still) {
        rooms.stop(session.id, 'stream key revoked');
        throw new ParleyError('STREAM_KEY_INVALID', `the stream key for room ${room} was revoked`);
      }
    }
    return created(reply, 'whip', session, answer, session.memberId ?? session.id, who.expiresAt);
  });

  const watch = async (req: FastifyRequest, reply: FastifyReply, room: string, member: string | undefined) => {
    const principal = await viewer(req, room);
    const { source } = parse(whepQuery, req.query ?? {}, 'query');
    const offer = offerOf(req, true);
    const { session, answer } = await rooms.watch({ room, client: req.ip, member, source, offer: offer.sdp });
    if (offer.json)
      return reply
        .header('location', `/whep/rooms/${encodeURIComponent(room)}/sessions/${session.id}`)
        .send({ type: 'answer', sdp: answer });
    return created(
      reply,
      'whep',
      session,
      answer,
      principal.identity === 'anonymous' ? session.id : principal.identity,
      principal.expiresAt,
    );
  };
  http.post('/whep/rooms/:room', async (req, reply) => watch(req, reply, parse(roomParams, req.params, 'room').room, undefined));
  http.post('/whep/rooms/:room/:member', async (req, reply) => {
    const { room, member } = parse(memberParams, req.params, 'member');
    return watch(req, reply, room, member);
  });

  for (const role of ['whip', 'whep'] as const) {
    const sessionOf = (req: FastifyRequest) => {
      const { room, id } = parse(sessionParams, req.params, 'session');
      const session = rooms.session(id);
      if (!session || session.room !== room || session.role !== role)
        throw new ParleyError('NOT_FOUND', `no ${role.toUpperCase()} session ${id} in room ${room}`);
      return session;
    };
    http.delete(`/${role}/rooms/:room/sessions/:id`, async (req, reply) => {
      rooms.stop(sessionOf(req).id);
      return reply.status(200).send({ ok: true });
    });
    http.patch(`/${role}/rooms/:room/sessions/:id`, async (req, reply) => {
      const session = sessionOf(req);
      const ifMatch = req.headers['if-match'];
      if (typeof ifMatch === 'string' && ifMatch.trim() !== '*' && ifMatch.trim() !== session.etag) {
        throw new ParleyError('PRECONDITION_FAILED', `the session's ETag is ${session.etag}, not ${ifMatch.trim()}`);
      }
      if (!req.headers['content-type']?.toLowerCase().startsWith('application/trickle-ice-sdpfrag') || typeof req.body !== 'string')
        throw new ParleyError('UNSUPPORTED', 'PATCH takes application/trickle-ice-sdpfrag');
      const ufrag = /^a=ice-ufrag:(\S+)/m.exec(req.body)?.[1];
      if (ufrag !== undefined && ufrag !== session.remoteUfrag) {
        // libdatachannel cannot restart ICE on a live connection (its DTLS would have to move too).
        return reply
          .status(501)
          .header('etag', session.etag)
          .send({ error: { code: 'UNSUPPORTED', message: 'ICE restart is not supported; start a new session (POST) instead' } });
      }
      rooms.addCandidates(session.id, req.body);
      return reply.status(204).header('etag', session.etag).send();
    });
  }
}
