import * as z from 'zod';
import { LIMITS } from '../limits.ts';
import { chatMessageIdSchema } from './log.ts';

/**
 * Chat over the app data channel (topic `parley.chat`, reliable): the low-latency copy of a chat
 * message whose durable copy the sender also appends to the room log (`chat_message` with the
 * same `id`). Receivers show it at once and match the log copy to it by (sender, id). `retract`
 * withdraws a copy whose log append failed.
 */
export const CHAT_DATA_TOPIC = 'parley.chat';

export const chatDataMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('chat'), id: chatMessageIdSchema, text: z.string().trim().min(1).max(LIMITS.chatText) }),
  z.object({ type: z.literal('retract'), id: chatMessageIdSchema }),
]);
export type ChatDataMessage = z.infer<typeof chatDataMessageSchema>;
