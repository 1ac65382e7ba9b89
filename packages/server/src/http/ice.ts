import type { FastifyInstance, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { roomNameSchema } from '@parley-rtc/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import type { IceServerProvider } from '../ice/IceServerProvider.ts';
import { ParleyError } from '@parley-rtc/protocol';
import { bearerToken } from './tokens.ts';

const querySchema = z.object({ room: roomNameSchema.optional() });

/**
 * `GET /api/ice-servers[?room=R]`: ICE servers with freshly minted TURN credentials, for a client
 * whose credentials are about to expire or that connects outside a room (WHIP/WHEP, diagnostics).
 * Needs a valid token (for R, or for any room) unless the server is in open mode.
 */
export function registerIceRoutes(http: FastifyInstance, tokens: TokenService, ice: IceServerProvider): void {
  http.get('/api/ice-servers', async (req) => {
    const { who, notAfterSec } = await iceCaller(req, tokens);
    const { iceServers, expiresAt } = ice.forMember(who, notAfterSec);
    return { iceServers, turn: ice.hasTurn, ...(expiresAt !== undefined ? { expiresAt } : {}) };
  });
}

/**
 * The auth rule of the ICE endpoints: a valid token for `?room=R` (or for any room) unless the
 * server is in open mode. Returns the identity TURN credentials are minted for, and the token's
 * expiry, which they must not outlive.
 */
export async function iceCaller(req: FastifyRequest, tokens: TokenService): Promise<{ who: string; notAfterSec: number | undefined }> {
  const query = querySchema.safeParse(req.query);
  if (!query.success) throw new ParleyError('INVALID_PAYLOAD', query.error.issues[0]?.message ?? 'bad query');
  const principal = await tokens.verify(bearerToken(req), query.data.room ?? '*');
  const who = principal.identity === 'anonymous' ? `anon-${randomUUID().slice(0, 8)}` : principal.identity;
  return { who, notAfterSec: principal.expiresAt };
}
