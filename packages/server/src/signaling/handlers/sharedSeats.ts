/**
 * Cluster mode's side of `join`: seats are found, admitted and moved through the room's shared
 * membership (Redis), so a member may resume on any node and limits hold for the whole room.
 */
import { ParleyError, type JoinRequest } from '@parley-rtc/protocol';
import { sameSecret } from '../../util/sameSecret.ts';
import type { Caller } from '../Caller.ts';
import type { LiveRoom, Member } from '../RoomRegistry.ts';
import type { SharedMembership } from '../SharedMembership.ts';
import { memberRoom, type SignalingHub } from '../types.ts';

/** A seat a join may take: its member, its room, and whether the client kept nothing of it. */
export interface Seat {
  room: LiveRoom;
  member: Member;
  /** The client starts over (page reload, another device): the others rebuild their links to it. */
  restarted: boolean;
}

/** As `seatFor`, but reading the seat from the cluster: it may have been carried by any node. */
export async function sharedSeatFor(
  hub: SignalingHub,
  shared: SharedMembership,
  req: JoinRequest,
  identity: string,
): Promise<Seat | undefined> {
  const { options } = hub;
  if (req.resume) {
    const member = await shared.seat(req.room, req.resume.peer);
    const sameUser = options.tokens.openMode || member?.identity === identity;
    const room = hub.registry.room(req.room);
    if (room && member && sameUser && sameSecret(member.resumeKey, req.resume.key)) {
      return { room, member, restarted: req.resume.restarted === true };
    }
    const ended = member ? undefined : await shared.endedReason(req.resume.peer);
    if (ended) throw new ParleyError('FORBIDDEN', `this session was ended (${ended}); it cannot be resumed`);
  }
  if (options.tokens.openMode) return undefined;
  const member = await shared.seatOfIdentity(req.room, identity);
  const room = hub.registry.room(req.room);
  return room && member ? { room, member, restarted: true } : undefined;
}

/**
 * Moves a seat to the caller's socket on this node; the connection that held it, on whichever
 * node, is told why and closed. FORBIDDEN when another connection took the seat meanwhile.
 */
export async function takeOverShared(hub: SignalingHub, shared: SharedMembership, seat: Seat, caller: Caller): Promise<void> {
  const { member, room } = seat;
  const previous = member.node === undefined && member.socketId !== undefined ? hub.io.sockets.sockets.get(member.socketId) : undefined;
  if (!(await shared.claim(room.name, member))) {
    throw new ParleyError('FORBIDDEN', 'this session moved to another connection meanwhile; join again');
  }
  if (previous && previous.id !== caller.socket.id) previous.data.memberId = undefined;
  // Across nodes these run once the message is in Redis, when the caller's socket may have joined
  // the member's room already: it is excepted.
  const others = caller.socket.id;
  hub.io
    .to(memberRoom(member.id))
    .except(others)
    .emit('session_ended', { reason: 'replaced', message: 'this session continues on another connection' });
  hub.io.in(memberRoom(member.id)).except(others).disconnectSockets(true);
  member.socketId = caller.socket.id;
}

/**
 * Admits a new member (a join, or a server-side member such as a WHIP publisher) for the whole
 * cluster: the room's settings as Redis has them (lock, password), then one atomic step for lock
 * and capacity (releasing the oldest detached seats).
 */
export async function admitShared(
  hub: SignalingHub,
  shared: SharedMembership,
  req: Pick<JoinRequest, 'room' | 'password'>,
  member: Member,
): Promise<LiveRoom> {
  const room = await shared.loadRoom(req.room);
  if (!member.grants.admin) {
    if (room.locked) throw new ParleyError('ROOM_LOCKED', `room ${req.room} is locked`);
    if (!room.passwordMatches(req.password)) {
      throw new ParleyError('BAD_PASSWORD', req.password === undefined ? 'this room needs a password' : 'wrong room password');
    }
  }
  const released = await shared.admit(room, member, member.grants.admin, hub.options.limits.maxPeersPerRoom);
  if (released.length > 0) hub.options.log.info({ room: req.room, released }, 'released detached seats for a joiner');
  return room;
}
