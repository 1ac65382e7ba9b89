/** The room log's live side: `chat_message`, `room_event` (stored, then delivered to the room) and `history`. */
import { CLIENT_EVENT_SCHEMAS } from '@parley-rtc/protocol';
import type { ClientEvents } from '../ClientEvents.ts';
import type { SignalingHub } from '../types.ts';

export function registerRoomLogHandlers(events: ClientEvents, hub: SignalingHub): void {
  const { store } = hub.options;

  events.on('chat_message', CLIENT_EVENT_SCHEMAS.chat_message, async (caller, req) => {
    const { room, from } = caller.self('chat');
    const entry = await hub.publish(room.name, { kind: 'chat', from, text: req.text, ...(req.id !== undefined ? { id: req.id } : {}) });
    return { seq: entry.seq, ts: entry.ts };
  });

  events.on('room_event', CLIENT_EVENT_SCHEMAS.room_event, async (caller, req) => {
    const { room, from } = caller.self('chat');
    const entry = await hub.publish(room.name, { kind: 'event', from, type: req.type, body: req.body });
    return { seq: entry.seq, ts: entry.ts };
  });

  events.on('history', CLIENT_EVENT_SCHEMAS.history, async (caller, req) => {
    const { room } = caller.currentRoom();
    const entries = await store.range(room.name, {
      ...(req.before !== undefined ? { before: req.before } : {}),
      limit: req.limit ?? 100,
    });
    return { entries, lastSeq: await store.lastSeq(room.name) };
  });
}
