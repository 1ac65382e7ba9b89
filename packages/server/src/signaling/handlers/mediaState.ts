/** `media_state`: a member's own media flags, relayed to its room as `peer-media`. */
import { CLIENT_EVENT_SCHEMAS } from '@parley-rtc/protocol';
import type { ClientEvents } from '../ClientEvents.ts';

export function registerMediaStateHandlers(events: ClientEvents): void {
  events.on('media_state', CLIENT_EVENT_SCHEMAS.media_state, (caller, req) => {
    const { room, me } = caller.self();
    me.media = req;
    caller.socket.to(room.name).emit('peer-media', { id: me.id, ...req });
    return null;
  });
}
