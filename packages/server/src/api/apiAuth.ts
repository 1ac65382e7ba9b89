import type { FastifyRequest } from 'fastify';
import { ParleyError } from '@parley-rtc/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import { sameSecret } from '../util/sameSecret.ts';

/** Who is calling the server API: the whole server, or the admin of one room. */
export type ApiCaller = { scope: 'server'; via: 'api-key' | 'admin-key' | 'token'; apiKey?: string } | { scope: 'room'; room: string };

export interface ApiAuthDeps {
  tokens: TokenService;
  apiKeys: Readonly<Record<string, string>>;
  adminKey: string | undefined;
}

/**
 * Authenticates a server API request:
 * - `Authorization: Basic base64(apiKey:apiSecret)` with a pair from auth.apiKeys → the server;
 * - `Authorization: Bearer <adminKey>` → the server;
 * - `Authorization: Bearer <token>` with the admin grant → the server for room `*`, else that room.
 * Secrets are compared in constant time. Open mode without an adminKey has no credentials to
 * check, so the API answers FORBIDDEN rather than trusting anyone.
 */
export async function authenticateApi(req: FastifyRequest, deps: ApiAuthDeps): Promise<ApiCaller> {
  const header = req.headers.authorization;
  if (typeof header !== 'string' || header.trim() === '') {
    if (deps.tokens.openMode && deps.adminKey === undefined) {
      throw new ParleyError('FORBIDDEN', 'the server API is disabled: configure auth.apiKeys, auth.secret or adminKey');
    }
    throw new ParleyError('UNAUTHORIZED', 'send Authorization: Basic <apiKey:apiSecret> or Bearer <admin token>');
  }
  const [scheme, value = ''] = header.trim().split(/\s+/, 2);
  if (scheme?.toLowerCase() === 'basic') {
    const decoded = Buffer.from(value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const key = colon > 0 ? decoded.slice(0, colon) : '';
    const secret = colon > 0 ? decoded.slice(colon + 1) : '';
    const expected = Object.hasOwn(deps.apiKeys, key) ? deps.apiKeys[key] : undefined;
    // Compare even for an unknown key, so the answer takes as long either way.
    const ok = sameSecret(expected ?? '\u0000unknown', secret) && expected !== undefined;
    if (!ok) throw new ParleyError('UNAUTHORIZED', 'unknown API key or wrong secret');
    return { scope: 'server', via: 'api-key', apiKey: key };
  }
  if (scheme?.toLowerCase() !== 'bearer' || value === '') {
    throw new ParleyError('UNAUTHORIZED', 'send Authorization: Basic <apiKey:apiSecret> or Bearer <admin token>');
  }
  if (deps.adminKey !== undefined && sameSecret(value, deps.adminKey)) return { scope: 'server', via: 'admin-key' };
  if (deps.tokens.openMode) throw new ParleyError('UNAUTHORIZED', 'wrong admin key');
  const principal = await deps.tokens.verifyAnyRoom(value);
  if (!principal.grants.admin) throw new ParleyError('FORBIDDEN', 'the server API needs a token with the admin grant');
  return principal.room === '*' ? { scope: 'server', via: 'token' } : { scope: 'room', room: principal.room };
}

/** Throws FORBIDDEN unless the caller may act on `room`. */
export function requireRoom(caller: ApiCaller, room: string): void {
  if (caller.scope === 'room' && caller.room !== room)
    throw new ParleyError('FORBIDDEN', `your token is the admin of room ${caller.room} only`);
}

/** Throws FORBIDDEN unless the caller acts for the whole server. */
export function requireServer(caller: ApiCaller, what: string): void {
  if (caller.scope !== 'server') throw new ParleyError('FORBIDDEN', `${what} needs an API key, the admin key or a token for room "*"`);
}
