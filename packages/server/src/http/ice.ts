import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { roomNameSchema } from '@parley/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import type { IceServerProvider } from '../ice/IceServerProvider.ts';
import { ParleyError } from '@parley/protocol';
import { bearerToken } from './tokens.ts';

const querySchema = z.object({ room: roomNameSchema.optional() });

/**
 * `GET /api/ice-servers[?room=R]`: ICE servers with freshly minted TURN credentials, for a client
 * whose credentials are about to expire or that connects outside a room (WHIP/WHEP, diagnostics).
 * Needs a valid token (for R, or for any room) unless the server is in open mode.
 */
export function registerIceRoutes(http: FastifyInstance, tokens: TokenService, ice: IceServerProvider): void {
  http.get('/api/ice-servers', async (req) => {
    const query = querySchema.safeParse(req.query);
    if (!query.success) throw new ParleyError('INVALID_PAYLOAD', query.error.issues[0]?.message ?? 'bad query');
    const token = bearerToken(req);
    const principal = tokens.verify(token, query.data.room ?? '*');
    const who = principal.identity === 'anonymous' ? `anon-${randomUUID().slice(0, 8)}` : principal.identity;
    return { iceServers: ice.forPeer(who), turn: ice.hasTurn };
  });
}
