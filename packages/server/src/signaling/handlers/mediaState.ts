/** `media_state`: a member's own media flags, relayed to its room as `peer_media`. */
import { CLIENT_EVENT_SCHEMAS } from '@parley-rtc/protocol';
import type { ClientEvents } from '../ClientEvents.ts';
import type { SignalingHub } from '../types.ts';

export function registerMediaStateHandlers(events: ClientEvents, hub: SignalingHub): void {
  events.on('media_state', CLIENT_EVENT_SCHEMAS.media_state, (caller, req) => {
    const { room, me } = caller.self();
    me.media = req;
    hub.shared?.save(room.name, me);
    caller.socket.to(room.name).emit('peer_media', { id: me.id, ...req });
    hub.mediaChanged(me.id, room.name, req);
    return null;
  });
}
