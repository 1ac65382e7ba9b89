/** Admin actions on a room: `room_control` (lock, password, size), `kick` and `mute`. */
import { CLIENT_EVENT_SCHEMAS, ParleyError } from '@parley-rtc/protocol';
import type { ClientEvents } from '../ClientEvents.ts';
import type { SignalingHub } from '../types.ts';

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
    hub.shared?.saveSettings(room);
    caller.log.info({ room: room.name, action: req.action, by: me.id }, 'room control');
    io.to(room.name).emit('room_state', room.state);
    return room.state;
  });

  events.on('kick', CLIENT_EVENT_SCHEMAS.kick, (caller, req) => {
    const { room, me } = caller.self('admin');
    if (req.peer === me.id || !room.members.has(req.peer)) {
      throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
    }
    caller.log.info({ room: room.name, target: req.peer, by: me.id }, 'member kicked');
    hub.endSession(req.peer, 'kicked', req.reason ?? `removed by ${me.name}`);
    return null;
  });

  events.on('mute', CLIENT_EVENT_SCHEMAS.mute, (caller, req) => {
    const { room, me } = caller.self('admin');
    if (!room.members.has(req.peer)) throw new ParleyError('PEER_NOT_FOUND', `peer ${req.peer} is not in room ${room.name}`);
    hub.requestMute(req.peer, req.kind, me.id);
    return null;
  });
}
