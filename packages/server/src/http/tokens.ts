import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ParleyError, roomNameSchema } from '@parley-rtc/protocol';
import { grantsSchema } from '../auth/grants.ts';
import type { Principal, TokenService } from '../auth/TokenService.ts';
import { sameSecret } from '../util/sameSecret.ts';

/** The bearer token of a request (Authorization header, or `?token=` for links such as downloads). */
export function bearerToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (typeof header === 'string' && header.startsWith('Bearer ')) return header.slice(7).trim();
  const query: unknown = req.query;
  if (typeof query === 'object' && query !== null && 'token' in query && typeof query.token === 'string') return query.token;
  return undefined;
}

/** Verifies the request's token for `room` and requires a grant. Open mode allows everything. */
export async function authorize(
  tokens: TokenService,
  req: FastifyRequest,
  room: string,
  grant?: keyof Principal['grants'],
): Promise<Principal> {
  const principal = await tokens.verify(bearerToken(req), room);
  if (grant && principal.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
  return principal;
}

const mintSchema = z.strictObject({
  identity: z.string().min(1).max(128),
  room: z.union([roomNameSchema, z.literal('*')]),
  name: z.string().max(64).optional(),
  grants: grantsSchema.partial().optional(),
  ttlSec: z
    .number()
    .int()
    .min(60)
    .max(30 * 24 * 3600)
    .optional(),
});

/**
 * `POST /api/tokens`: mints an access token. The caller proves it is an admin with a token that
 * has the `admin` grant for any room ('*'), or with an API key and its secret (`X-Api-Key`,
 * `X-Api-Secret`). Unavailable in open mode.
 */
export function registerTokenRoutes(http: FastifyInstance, tokens: TokenService, apiKeys: Record<string, string>): void {
  http.post('/api/tokens', async (req, reply) => {
    if (tokens.openMode) throw new ParleyError('UNSUPPORTED', 'no auth secret is configured: the server is in open mode');
    const key = req.headers['x-api-key'];
    const secret = req.headers['x-api-secret'];
    let apiKey: string | undefined;
    if (typeof key === 'string' && typeof secret === 'string') {
      const expected = Object.hasOwn(apiKeys, key) ? apiKeys[key] : undefined;
      // Compare even for an unknown key, so the answer takes as long either way.
      const ok = sameSecret(expected ?? '\u0000unknown', secret) && expected !== undefined;
      if (!ok) throw new ParleyError('UNAUTHORIZED', 'unknown API key or wrong secret');
      apiKey = key;
    } else {
      const principal = await tokens.verify(bearerToken(req), '*');
      if (!principal.grants.admin) throw new ParleyError('FORBIDDEN', 'minting tokens needs the admin grant');
    }
    const body = mintSchema.safeParse(req.body);
    if (!body.success) throw new ParleyError('INVALID_PAYLOAD', body.error.issues[0]?.message ?? 'invalid body');
    const token = tokens.mint(body.data, apiKey);
    return reply.status(201).send({ token });
  });
}
