/**
 * HTTP surface of the media server:
 *   POST /offer                       aiortc examples/server style JSON offer/answer
 *   POST /whep/:stream                WHEP playback (application/sdp), DELETE/PATCH the Location
 *   POST /whip/:stream                WHIP ingest (RFC 9725), DELETE/PATCH the Location
 *   GET  /api/streams                 streams a viewer can pick
 *   GET|POST /api/recordings, DELETE /api/recordings/:id (stop), GET|DELETE /api/recordings/:id/file (Range)
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { LIMITS, ParleyError } from '@parley-rtc/protocol';
import type { TokenService } from '../../auth/TokenService.ts';
import type { GrantName } from '../../auth/grants.ts';
import type { IceServerProvider } from '../../ice/IceServerProvider.ts';
import { bearerToken } from '../../http/tokens.ts';
import { contentDisposition } from '../../files/fileName.ts';
import { sendFileRanged } from '../../files/range.ts';
import type { Logger } from '../../util/logger.ts';
import { streamNameSchema } from '../config.ts';
import type { MediaService } from '../MediaService.ts';
import { recordingIdSchema } from '../recording/RecordingManager.ts';

const viewableNameSchema = z.union([streamNameSchema, z.string().regex(/^recording:[a-z0-9-]{1,64}$/)]);
const offerBodySchema = z.object({
  sdp: z.string().min(1).max(LIMITS.sdp),
  type: z.literal('offer'),
  stream: viewableNameSchema.optional(),
});
const sessionIdSchema = z.string().uuid();

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new ParleyError('INVALID_PAYLOAD', `${what}: ${issue ? `${issue.path.join('.') || '(root)'} ${issue.message}` : 'invalid'}`);
  }
  return r.data;
}

function sdpBody(contentType: string | undefined, body: unknown): string {
  if (!contentType?.toLowerCase().startsWith('application/sdp'))
    throw new ParleyError('UNSUPPORTED', 'the offer must be sent as application/sdp');
  if (typeof body !== 'string' || body.trim().length === 0) throw new ParleyError('BAD_SDP', 'the request body must be an SDP offer');
  return body;
}

export function registerMediaRoutes(
  http: FastifyInstance,
  deps: { media: MediaService; tokens: TokenService; ice: IceServerProvider; log: Logger },
): void {
  const { media, tokens, ice, log } = deps;
  /**
   * ICE servers for the client of one request, as RFC 9725 §4.4 Link headers (TURN minted per
   * client, expiring with its token at the latest).
   */
  const links = (who: string, notAfterSec: number | undefined) => ice.linkHeaders(who, notAfterSec);
  /**
   * Media routes check tokens like the rest of the server: the token's room is the stream name
   * (or '*'); WHIP needs `publish`, playback `subscribe`, recordings `record`. Open mode allows all.
   */
  const allow = async (req: FastifyRequest, stream: string, grant: GrantName) => {
    const principal = await tokens.verify(bearerToken(req), stream.startsWith('recording:') ? '*' : stream);
    if (principal.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
    return principal;
  };
  const anyRoom = async (req: FastifyRequest, grant?: GrantName) => {
    const principal = await tokens.verifyAnyRoom(bearerToken(req));
    if (grant && principal.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
    return principal;
  };

  for (const type of ['application/sdp', 'application/trickle-ice-sdpfrag']) {
    http.addContentTypeParser(type, { parseAs: 'string', bodyLimit: LIMITS.sdp }, (_req, body, done) => done(null, body));
  }

  http.post('/offer', { bodyLimit: LIMITS.sdp + 4096 }, async (req) => {
    const body = parse(offerBodySchema, req.body, 'offer');
    await allow(req, body.stream ?? media.defaultStream, 'subscribe');
    const { answer } = await media.view(body.stream ?? media.defaultStream, body.sdp, req.ip);
    return { sdp: answer, type: 'answer' as const };
  });

  const created = (reply: FastifyReply, location: string, answer: string, who: string, notAfterSec: number | undefined) => {
    reply
      .status(201)
      .header('location', location)
      .header('content-type', 'application/sdp')
      .header('etag', `"${location.split('/').pop()}"`);
    reply.header('accept-patch', 'application/trickle-ice-sdpfrag');
    const link = links(who, notAfterSec);
    if (link.length > 0) reply.header('link', link);
    return reply.send(answer);
  };

  for (const role of ['whep', 'whip'] as const) {
    const nameSchema = role === 'whep' ? viewableNameSchema : streamNameSchema;

    http.options<{ Params: { stream: string } }>(`/${role}/:stream`, async (req, reply) => {
      reply.status(204).header('accept-post', 'application/sdp');
      // Only an authorized client learns ICE servers (they carry TURN credentials).
      const stream = nameSchema.safeParse(req.params.stream);
      if (stream.success) {
        try {
          const principal = await allow(req, stream.data, role === 'whip' ? 'publish' : 'subscribe');
          const link = links(principal.identity, principal.expiresAt);
          if (link.length > 0) reply.header('link', link);
        } catch {
          // No Link headers for an unauthorized pre-flight; the POST will say why.
        }
      }
      return reply.send();
    });

    http.post<{ Params: { stream: string } }>(`/${role}/:stream`, async (req, reply) => {
      const stream = parse(nameSchema, req.params.stream, 'stream name');
      const principal = await allow(req, stream, role === 'whip' ? 'publish' : 'subscribe');
      const offer = sdpBody(req.headers['content-type'], req.body);
      const { id, answer } = role === 'whep' ? await media.view(stream, offer, req.ip) : await media.publish(stream, offer, req.ip);
      return created(
        reply,
        `/${role}/${encodeURIComponent(stream)}/${id}`,
        answer,
        principal.identity === 'anonymous' ? id : principal.identity,
        principal.expiresAt,
      );
    });

    http.delete<{ Params: { stream: string; id: string } }>(`/${role}/:stream/:id`, async (req, reply) => {
      const stream = parse(nameSchema, req.params.stream, 'stream name');
      const id = parse(sessionIdSchema, req.params.id, 'session id');
      media.stop(role, stream, id);
      return reply.status(200).send({ ok: true });
    });

    http.patch<{ Params: { stream: string; id: string } }>(`/${role}/:stream/:id`, async (req, reply) => {
      const stream = parse(nameSchema, req.params.stream, 'stream name');
      const id = parse(sessionIdSchema, req.params.id, 'session id');
      const session = media.session(role, stream, id);
      if (!session) throw new ParleyError('NOT_FOUND', `no ${role.toUpperCase()} session ${id} on ${stream}`);
      const ifMatch = req.headers['if-match']?.trim();
      if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== `"${id}"`)
        throw new ParleyError('PRECONDITION_FAILED', `the session's ETag is "${id}", not ${ifMatch}`);
      if (typeof req.body !== 'string') throw new ParleyError('UNSUPPORTED', 'PATCH takes application/trickle-ice-sdpfrag');
      const lines = req.body.split(/\r?\n/);
      const ufrag = lines.find((l) => l.startsWith('a=ice-ufrag:'))?.slice(12);
      if (ufrag !== undefined && ufrag !== media.remoteUfrag(id)) {
        return reply
          .status(501)
          .send({ error: { code: 'UNSUPPORTED', message: 'ICE restart is not supported; start a new session (POST) instead' } });
      }
      let mid = session.peer.tracks[0]?.mid ?? '0';
      for (const line of lines) {
        if (line.startsWith('a=mid:')) mid = line.slice(6).trim();
        else if (line.startsWith('a=candidate:') && line.length < LIMITS.candidate) {
          try {
            session.peer.addRemoteCandidate(line.trim(), mid);
          } catch (err) {
            throw new ParleyError('INVALID_PAYLOAD', `bad candidate: ${(err as Error).message}`);
          }
        }
      }
      return reply.status(204).send();
    });
  }

  http.get('/api/streams', async (req) => {
    await anyRoom(req, 'subscribe');
    return { streams: media.streams.list() };
  });

  http.get('/api/recordings', async (req) => {
    await anyRoom(req, 'record');
    return { recordings: media.recordings.list() };
  });

  http.post('/api/recordings', async (req, reply) => {
    const body = parse(z.object({ stream: streamNameSchema }), req.body, 'recording request');
    await allow(req, body.stream, 'record');
    const recording = await media.startRecording(body.stream);
    return reply.status(201).send({ recording });
  });

  http.delete<{ Params: { id: string } }>('/api/recordings/:id', async (req) => {
    await anyRoom(req, 'record');
    const id = parse(recordingIdSchema, req.params.id, 'recording id');
    return { recording: media.recordings.stop(id) };
  });

  http.delete<{ Params: { id: string } }>('/api/recordings/:id/file', async (req, reply) => {
    await anyRoom(req, 'record');
    const id = parse(recordingIdSchema, req.params.id, 'recording id');
    if (!media.recordings.remove(id)) throw new ParleyError('NOT_FOUND', `no recording ${id}`);
    return reply.status(204).send();
  });

  http.get<{ Params: { id: string } }>('/api/recordings/:id/file', async (req, reply) => {
    await anyRoom(req, 'record');
    const id = parse(recordingIdSchema, req.params.id, 'recording id');
    const file = media.recordings.fileOf(id);
    if (!file) throw new ParleyError('NOT_FOUND', `no finished recording ${id}`);
    reply.header('content-type', file.contentType).header('content-disposition', contentDisposition(file.filename));
    return sendFileRanged(req, reply, file.path);
  });

  log.debug('media routes registered');
}
