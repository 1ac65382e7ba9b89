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

/** A new member id: sessions, not sockets; '_' first, which no room name can start with. */
const newMemberId = () => `_${randomBytes(9).toString('base64url')}`;
const newSecret = () => randomBytes(18).toString('base64url');
/** Disconnect reasons after which the member is gone for good (no resume grace). */
const FINAL_DISCONNECTS = new Set(['client namespace disconnect', 'server namespace disconnect', 'server shutting down']);

export function registerMembershipHandlers(events: ClientEvents, hub: SignalingHub): void {
  events.on('join', CLIENT_EVENT_SCHEMAS.join, (caller, req) => join(hub, caller, req));

  events.on('leave', CLIENT_EVENT_SCHEMAS.leave, (caller) => {
    const { room, id } = caller.currentRoom();
    void caller.socket.leave(room.name);
    void caller.socket.leave(memberRoom(id));
    caller.memberId = undefined;
    hub.removeMember(id);
    return null;
  });
}

/** A new session, or the resumption of a detached one (same member id, new socket). */
async function join(hub: SignalingHub, caller: Caller, req: JoinRequest): Promise<JoinResult> {
  const { registry, io, options } = hub;
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

  const resumable = req.resume && registry.roomOf(req.resume.peer);
  const old = resumable ? resumable.members.get(req.resume!.peer) : undefined;
  const resumed = !!old && resumable!.name === req.room && sameSecret(old.resumeKey, req.resume!.key);
  let room: LiveRoom;
  let me: Member;
  if (resumed && resumable && old) {
    // Take the session over from its previous socket, if that one is still around.
    clearTimeout(old.graceTimer);
    old.graceTimer = undefined;
    const previous = old.socketId === undefined ? undefined : io.sockets.sockets.get(old.socketId);
    if (previous && previous.id !== socket.id) {
      previous.data.memberId = undefined;
      previous.disconnect(true);
    }
    old.socketId = socket.id;
    room = resumable;
    me = old;
  } else {
    const id = newMemberId();
    room = registry.add(
      req.room,
      { id, name: req.name },
      { identity: principal.identity, grants: principal.grants, resumeKey: newSecret(), sessionKey: newSecret(), socketId: socket.id },
      req.password,
    );
    me = room.members.get(id)!;
  }
  caller.memberId = me.id;
  try {
    await socket.join([room.name, memberRoom(me.id)]);
    const latest = await store.lastSeq(room.name);
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
    } else hub.notify('resumed', { id: me.id, name: me.name, identity: me.identity }, room.name, room.members.size);
    // Everyone's media flags, so the joiner can show mute icons without a link to them.
    for (const m of room.members.values()) if (m.id !== me.id && m.media) socket.emit('peer_media', { id: m.id, ...m.media });
    log.info(
      { room: room.name, memberId: me.id, name: me.name, members: room.members.size, resumed },
      resumed ? 'member resumed' : 'member joined',
    );
    return {
      self: { id: me.id, name: me.name },
      peers: room.peers(me.id),
      iceServers: options.iceServers(me.id),
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
    if (id === undefined || !member || member.socketId !== socket.id) return;
    if (FINAL_DISCONNECTS.has(reason)) {
      hub.removeMember(id);
      log.info({ reason, memberId: id }, 'member disconnected');
      return;
    }
    // The transport dropped: keep the session for a while so the client can resume it.
    const graceMs = options.limits.resumeGraceMs;
    member.socketId = undefined;
    member.graceTimer = setTimeout(() => {
      if (hub.removeMember(id)) log.info({ memberId: id }, 'member did not resume in time');
    }, graceMs);
    member.graceTimer.unref();
    log.info({ reason, memberId: id, graceMs }, 'member detached; waiting for resume');
  });
}
