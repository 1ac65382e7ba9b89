import type { FastifyRequest } from 'fastify';
import { ParleyError, peerIdSchema } from '@parley-rtc/protocol';
import type { TokenService } from '../auth/TokenService.ts';
import type { GrantName } from '../auth/grants.ts';
import type { RoomRegistry } from '../signaling/RoomRegistry.ts';
import { bearerToken } from './tokens.ts';
import { sameSecret } from '../util/sameSecret.ts';

/** Who an HTTP request acts as, for one room. */
export type RoomCaller = { kind: 'member'; peer: { id: string; name: string } } | { kind: 'admin' };

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
export type AuthorizeRoomRequest = (req: FastifyRequest, room: string, grant?: GrantName) => Promise<RoomCaller>;

/**
 * The current rules:
 * - an admin: `Authorization: Bearer <adminKey>`, or a signed token with the `admin` grant
 *   for this room (never in open mode, where every token check passes);
 * - otherwise a current member of the room, by the session credential from its join ack:
 *   `X-Parley-Session: <credential>` (or `?session=` for plain links), whose grants include
 *   `grant` when one is asked for. The credential ends with the member's session (leave, kick,
 *   grace run out). A public peer id alone (the old `X-Parley-Peer` / `?peer=`) is refused.
 * Throws UNAUTHORIZED without a valid credential, FORBIDDEN for a member of another room or
 * without the grant.
 */
export function createRoomAuthorizer(deps: RoomAuthDeps): AuthorizeRoomRequest {
  return async (req, room, grant) => {
    if (await isAdminRequest(req, room, deps)) return { kind: 'admin' };
    const credential = sessionCredential(req);
    if (credential === undefined) {
      throw new ParleyError('UNAUTHORIZED', 'send X-Parley-Session with the session credential from your join ack');
    }
    const live = deps.registry.roomOf(credential.peerId);
    const member = live?.members.get(credential.peerId);
    // One answer for "no such member" and "wrong key": the credential does not tell which.
    if (!live || !member || !sameSecret(member.sessionKey, credential.key)) {
      throw new ParleyError('UNAUTHORIZED', 'the session credential is not valid (it ends when its member leaves the room)');
    }
    if (live.name !== room) throw new ParleyError('FORBIDDEN', `you are not a member of room ${room}`);
    if (grant && member.grants[grant] === false) throw new ParleyError('FORBIDDEN', `the token does not grant ${grant}`);
    return { kind: 'member', peer: { id: member.id, name: member.name } };
  };
}

/** Admin by the configured key, or by a real (not open-mode) token with the admin grant. */
export async function isAdminRequest(req: FastifyRequest, room: string, deps: RoomAuthDeps): Promise<boolean> {
  const bearer = bearerToken(req);
  if (bearer === undefined) return false;
  if (deps.adminKey !== undefined && sameSecret(bearer, deps.adminKey)) return true;
  if (deps.tokens.openMode || bearer.split('.').length !== 3) return false;
  try {
    return (await deps.tokens.verify(bearer, room)).grants.admin;
  } catch {
    return false;
  }
}

/** The `<peer id>.<key>` credential of the request (header first, then `?session=`). */
function sessionCredential(req: FastifyRequest): { peerId: string; key: string } | undefined {
  const header = req.headers['x-parley-session'];
  const query: unknown = req.query;
  const fromQuery =
    typeof query === 'object' && query !== null && 'session' in query && typeof query.session === 'string' ? query.session : undefined;
  const raw = typeof header === 'string' ? header : fromQuery;
  if (raw === undefined) return undefined;
  const dot = raw.lastIndexOf('.');
  const peerId = peerIdSchema.safeParse(raw.slice(0, Math.max(0, dot)));
  const key = raw.slice(dot + 1);
  if (dot <= 0 || !peerId.success || key.length === 0 || key.length > 128) {
    throw new ParleyError('UNAUTHORIZED', 'X-Parley-Session is not a session credential');
  }
  return { peerId: peerId.data, key };
}
