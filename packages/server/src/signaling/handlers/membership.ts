/** Membership and presence: `join` (new session or resume), `leave`, and what a dropped socket means. */
import { randomBytes } from 'node:crypto';
import {
  CLIENT_EVENT_SCHEMAS,
  ParleyError,
  PROTOCOL_VERSION,
  type JoinRequest,
  type JoinResult,
  type LogEntry,
} from '@parley-rtc/protocol';
import { sameSecret } from '../../util/sameSecret.ts';
import type { Caller } from '../Caller.ts';
import type { ClientEvents } from '../ClientEvents.ts';
import type { LiveRoom, Member } from '../RoomRegistry.ts';
import { memberRoom, type SignalingHub } from '../types.ts';
import { admitShared, sharedSeatFor, takeOverShared, type Seat } from './sharedSeats.ts';

/** A new member id: sessions, not sockets; '_' first, which no room name can start with. */
const newMemberId = () => `_${randomBytes(9).toString('base64url')}`;
const newSecret = () => randomBytes(18).toString('base64url');
/** Disconnect reasons after which the member is gone for good (no resume grace). */
const FINAL_DISCONNECTS = new Set(['client namespace disconnect', 'server namespace disconnect', 'server shutting down']);

export function registerMembershipHandlers(events: ClientEvents, hub: SignalingHub): void {
  events.on('join', CLIENT_EVENT_SCHEMAS.join, (caller, req) => join(hub, caller, req));

  events.on('ice_servers', CLIENT_EVENT_SCHEMAS.ice_servers, async (caller, req) => {
    const { room, me } = caller.self();
    if (req.token !== undefined) {
      // A newer token of the same identity extends how long this member's TURN credentials may last.
      const principal = await hub.options.tokens.verify(req.token, room.name);
      if (principal.identity !== me.identity) throw new ParleyError('FORBIDDEN', 'the token is for another identity');
      me.expiresAt = principal.expiresAt;
    }
    const ice = hub.options.iceServers(me.id, me.expiresAt);
    return { iceServers: ice.iceServers, ...(ice.expiresAt !== undefined ? { expiresAt: ice.expiresAt } : {}) };
  });

  events.on('leave', CLIENT_EVENT_SCHEMAS.leave, (caller) => {
    const { room, id } = caller.currentRoom();
    void caller.socket.leave(room.name);
    void caller.socket.leave(memberRoom(id));
    caller.memberId = undefined;
    hub.removeMember(id);
    return null;
  });
}

/**
 * The seat a join takes over, if any: the session named in `resume` (with its key, in this room),
 * or — with auth on — the seat of the token's identity in this room. Seats follow identity, not
 * sockets: a reload or a second connection of the same user replaces the seat instead of leaving
 * a ghost. In open mode everyone is 'anonymous', so only the resume key names a seat.
 */
function seatFor(hub: SignalingHub, req: JoinRequest, identity: string): Seat | undefined {
  const { registry, options } = hub;
  if (req.resume) {
    const room = registry.roomOf(req.resume.peer);
    const member = room?.members.get(req.resume.peer);
    // With auth on, a resume key works only with a token of the seat's own identity.
    const sameUser = options.tokens.openMode || member?.identity === identity;
    if (room && member && room.name === req.room && sameUser && sameSecret(member.resumeKey, req.resume.key)) {
      return { room, member, restarted: req.resume.restarted === true };
    }
    const ended = room ? undefined : registry.endedReason(req.resume.peer);
    if (ended) throw new ParleyError('FORBIDDEN', `this session was ended (${ended}); it cannot be resumed`);
  }
  if (options.tokens.openMode) return undefined;
  const room = registry.room(req.room);
  const member = room?.seatOf(identity);
  return room && member ? { room, member, restarted: true } : undefined;
}

/** Moves a seat to the caller's socket; the socket that held it, if any, is told why and closed. */
function takeOver(hub: SignalingHub, seat: Seat, caller: Caller): void {
  const { member } = seat;
  clearTimeout(member.graceTimer);
  member.graceTimer = undefined;
  member.detachedAt = undefined;
  const previous = member.socketId === undefined ? undefined : hub.io.sockets.sockets.get(member.socketId);
  if (previous && previous.id !== caller.socket.id) {
    previous.data.memberId = undefined;
    previous.emit('session_ended', { reason: 'replaced', message: 'this session continues on another connection' });
    previous.disconnect(true);
  }
  member.socketId = caller.socket.id;
}

/** A new session, the resumption of a detached one, or the takeover of this identity's seat. */
async function join(hub: SignalingHub, caller: Caller, req: JoinRequest): Promise<JoinResult> {
  const { registry, options } = hub;
  const { store, limits, tokens } = options;
  const { socket, log } = caller;
  if (!hub.isAdmitting()) throw new ParleyError('SHUTTING_DOWN');
  if (req.protocol !== undefined && req.protocol.split('.')[0] !== PROTOCOL_VERSION.split('.')[0]) {
    throw new ParleyError('VERSION_MISMATCH', `server speaks protocol ${PROTOCOL_VERSION}`);
  }
  const principal = await tokens.verify(req.token, req.room);
  if (!principal.grants.join) throw new ParleyError('FORBIDDEN', 'the token does not grant join');
  const current = caller.memberId;
  if (current !== undefined && registry.roomOf(current)) throw new ParleyError('ALREADY_IN_ROOM');

  const { shared } = hub;
  const seat = shared ? await sharedSeatFor(hub, shared, req, principal.identity) : seatFor(hub, req, principal.identity);
  const resumed = seat !== undefined;
  const restarted = seat?.restarted === true;
  let room: LiveRoom;
  let me: Member;
  if (seat) {
    if (shared) await takeOverShared(hub, shared, seat, caller);
    else takeOver(hub, seat, caller);
    ({ room, member: me } = seat);
    // The token just verified bounds the TURN credentials from now on.
    me.expiresAt = principal.expiresAt;
    if (restarted) {
      me.name = req.name;
      if (!req.resume) {
        // A new connection of this identity: its token rules (unless the server API set the
        // grants: that decision stands for the seat's life), and the old connection's secrets die.
        if (!me.grantsFromApi) me.grants = principal.grants;
        me.resumeKey = newSecret();
        me.sessionKey = newSecret();
      }
    }
    shared?.save(room.name, me);
  } else {
    // A new seat: who the token says, fresh secrets, this socket.
    const id = newMemberId();
    const fresh = {
      identity: principal.identity,
      grants: principal.grants,
      expiresAt: principal.expiresAt,
      resumeKey: newSecret(),
      sessionKey: newSecret(),
      socketId: socket.id,
    };
    if (shared) {
      const joiner: Member = { id, name: req.name, ...fresh, joinedAt: Date.now() };
      room = await admitShared(hub, shared, req, joiner);
      me = room.members.get(id) ?? joiner;
    } else {
      room = registry.add(req.room, { id, name: req.name }, fresh, req.password, (ghost) => {
        log.info({ room: req.room, memberId: ghost }, 'released a detached seat for a joiner');
        hub.removeMember(ghost);
      });
      me = room.members.get(id)!;
    }
  }
  caller.memberId = me.id;
  try {
    await socket.join([room.name, memberRoom(me.id)]);
    const latest = await store.lastSeq(room.name);
    await options.primeDelivery?.(room.name, latest);
    let entries: LogEntry[];
    let truncated: boolean;
    if (req.lastSeq !== undefined) {
      const from = Math.min(req.lastSeq, latest);
      entries = await store.range(room.name, { after: from, limit: limits.maxReplay });
      // Also true when retention removed entries the client has not seen.
      truncated = latest - from > limits.maxReplay || (entries[0]?.seq ?? latest + 1) > from + 1;
    } else {
      entries = limits.joinCatchUp > 0 ? await store.range(room.name, { limit: limits.joinCatchUp }) : [];
      truncated = (entries[0]?.seq ?? 1) > 1;
    }
    if (!resumed) {
      await store.noteParticipant(room.name, me.id, me.name);
      // Features first: a mode switch (mesh → SFU) reaches the room before the joiner does,
      // so nobody starts a mesh link to a peer it will reach through the SFU.
      hub.notify('joined', { id: me.id, name: me.name, identity: me.identity }, room.name, room.members.size);
      socket.to(room.name).emit('peer_joined', { id: me.id, name: me.name });
    } else if (restarted) {
      // Same peer id, nothing kept: the others drop their links to it and wait for its offers.
      hub.notify('restarted', { id: me.id, name: me.name, identity: me.identity }, room.name, room.members.size);
      socket.to(room.name).emit('peer_joined', { id: me.id, name: me.name, restarted: true });
    } else hub.notify('resumed', { id: me.id, name: me.name, identity: me.identity }, room.name, room.members.size);
    // Everyone's media flags, so the joiner can show mute icons without a link to them.
    for (const m of room.members.values()) if (m.id !== me.id && m.media) socket.emit('peer_media', { id: m.id, ...m.media });
    log.info(
      { room: room.name, memberId: me.id, name: me.name, members: room.members.size, resumed, restarted },
      restarted ? 'member took its seat over' : resumed ? 'member resumed' : 'member joined',
    );
    const ice = options.iceServers(me.id, me.expiresAt);
    return {
      self: { id: me.id, name: me.name },
      peers: room.peers(me.id),
      iceServers: ice.iceServers,
      ...(ice.expiresAt !== undefined ? { iceExpiresAt: ice.expiresAt } : {}),
      lastSeq: latest,
      entries,
      truncated,
      resumeKey: me.resumeKey,
      session: `${me.id}.${me.sessionKey}`,
      resumed,
      grants: me.grants,
    };
  } catch (err) {
    hub.removeMember(me.id);
    caller.memberId = undefined;
    throw err;
  }
}

/**
 * When the caller's socket drops: a final disconnect (the client left, the server shuts down)
 * ends the session; a transport drop keeps it for `resumeGraceMs` so the client can resume it.
 */
export function watchDisconnect(hub: SignalingHub, caller: Caller): void {
  const { registry, options } = hub;
  const { socket, log } = caller;
  socket.on('disconnect', (reason) => {
    const id = caller.memberId;
    const room = id === undefined ? undefined : registry.roomOf(id);
    const member = id === undefined ? undefined : room?.members.get(id);
    if (id === undefined || !room || !member || member.socketId !== socket.id) return;
    if (FINAL_DISCONNECTS.has(reason)) {
      hub.removeMember(id);
      log.info({ reason, memberId: id }, 'member disconnected');
      return;
    }
    // The transport dropped: keep the session for a while so the client can resume it.
    const graceMs = options.limits.resumeGraceMs;
    member.socketId = undefined;
    member.detachedAt = Date.now();
    member.graceTimer = setTimeout(() => {
      if (hub.removeMember(id)) log.info({ memberId: id }, 'member did not resume in time');
    }, graceMs);
    member.graceTimer.unref();
    hub.shared?.save(room.name, member);
    log.info({ reason, memberId: id, graceMs }, 'member detached; waiting for resume');
  });
}
