/** Admin actions on a room: `room_control` (lock, password, size), `kick` and `mute`. */
import { CLIENT_EVENT_SCHEMAS, ParleyError } from '@parley-rtc/protocol';
import type { ClientEvents } from '../ClientEvents.ts';
import { memberRoom, type SignalingHub } from '../types.ts';

export function registerRoomControlHandlers(events: ClientEvents, hub: SignalingHub): void {
  const { io, options } = hub;

  events.on('room_control', CLIENT_EVENT_SCHEMAS.room_control, (caller, req) => {
    const { room, me } = caller.self('admin');
    switch (req.action) {
      case 'lock':
      case 'unlock':
        room.locked = req.action === 'lock';
        break;
      case 'set_password':
        room.setPassword(req.password);
        break;
      case 'clear_password':
        room.setPassword(undefined);
        break;
      case 'set_max_participants':
        room.maxParticipants = Math.min(req.max, options.limits.maxPeersPerRoom);
        break;
    }
    caller.log.info({ room: room.name, action: req.action, by: me.id }, 'room control');
    io.to(room.name).emit('room-state', room.state);
    return room.state;
  });

  events.on('kick', CLIENT_EVENT_SCHEMAS.kick, (caller, req) => {
    const { room, me } = caller.self('admin');
    if (req.peer === me.id || !room.members.has(req.peer)) {
      throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
    }
    io.to(memberRoom(req.peer)).emit('session-ended', { reason: 'kicked', message: req.reason ?? `removed by ${me.name}` });
    caller.log.info({ room: room.name, target: req.peer, by: me.id }, 'member kicked');
    // Removed first, so the kicked member cannot resume; then its sockets are closed.
    hub.removeMember(req.peer);
    io.in(memberRoom(req.peer)).disconnectSockets(true);
    return null;
  });

  events.on('mute', CLIENT_EVENT_SCHEMAS.mute, (caller, req) => {
    const { room, me } = caller.self('admin');
    if (!room.members.has(req.peer)) throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
    io.to(memberRoom(req.peer)).emit('mute-request', { kind: req.kind, by: me.id });
    return null;
  });
}
