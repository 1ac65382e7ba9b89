import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ParleyError, peerIdSchema } from '@parley/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import type { GrantName } from '../auth/grants.ts';
import type { RoomRegistry } from '../signaling/RoomRegistry.ts';
import { bearerToken } from './tokens.ts';

/** Who an HTTP request acts as, for one room. */
export type RoomCaller =
  | { kind: 'member'; peer: { id: string; name: string } }
  | { kind: 'admin' };

export interface RoomAuthDeps {
  registry: Pick<RoomRegistry, 'roomOf'>;
  tokens: Pick<TokenService, 'openMode' | 'verify'>;
  /** `config.adminKey`; admin calls are disabled when unset (and no admin token is presented). */
  adminKey: string | undefined;
}

/**
 * Decides whether a request may act on `room`, and as whom. Swap this one function to change
 * the HTTP access rules of the room log and files.
 */
export type AuthorizeRoomRequest = (req: FastifyRequest, room: string, grant?: GrantName) => RoomCaller;

/**
 * The current rules:
 * - an admin: `Authorization: Bearer <adminKey>`, or a signed token with the `admin` grant
 *   for this room (never in open mode, where every token check passes);
 * - otherwise a current member of the room: `X-Parley-Peer: <socket id>` (or `?peer=` for
 *   plain links) naming a socket that has joined `room` on this node, whose grants include
 *   `grant` when one is asked for.
 * Throws UNAUTHORIZED without any credential and FORBIDDEN when it does not fit.
 */
export function createRoomAuthorizer(deps: RoomAuthDeps): AuthorizeRoomRequest {
  return (req, room, grant) => {
    if (isAdminRequest(req, room, deps)) return { kind: 'admin' };
    const peerId = peerHeader(req);
    if (peerId === undefined) {
      throw new ParleyError('UNAUTHORIZED', 'send X-Parley-Peer with the id of a socket that joined the room');
    }
    const live = deps.registry.roomOf(peerId);
    const member = live?.name === room ? live.members.get(peerId) : undefined;
    if (!member) throw new ParleyError('FORBIDDEN', `peer ${peerId} is not a member of room ${room}`);
    if (grant && member.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
    return { kind: 'member', peer: { id: member.id, name: member.name } };
  };
}

/** Admin by the configured key, or by a real (not open-mode) token with the admin grant. */
export function isAdminRequest(req: FastifyRequest, room: string, deps: RoomAuthDeps): boolean {
  const bearer = bearerToken(req);
  if (bearer === undefined) return false;
  if (deps.adminKey !== undefined && sameSecret(bearer, deps.adminKey)) return true;
  if (deps.tokens.openMode || bearer.split('.').length !== 3) return false;
  try {
    return deps.tokens.verify(bearer, room).grants.admin;
  } catch {
    return false;
  }
}

function peerHeader(req: FastifyRequest): string | undefined {
  const header = req.headers['x-parley-peer'];
  const query: unknown = req.query;
  const fromQuery =
    typeof query === 'object' && query !== null && 'peer' in query && typeof query.peer === 'string' ? query.peer : undefined;
  const raw = typeof header === 'string' ? header : fromQuery;
  if (raw === undefined) return undefined;
  const parsed = peerIdSchema.safeParse(raw);
  if (!parsed.success) throw new ParleyError('UNAUTHORIZED', 'X-Parley-Peer is not a valid peer id');
  return parsed.data;
}

function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest();
  const hb = createHash('sha256').update(b).digest();
  return timingSafeEqual(ha, hb);
}
