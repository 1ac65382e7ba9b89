import * as z from 'zod';
import { memberGrantsSchema } from './grants.ts';

const peer = z.string().min(1).max(64);

/** Room settings an admin may change while the room is live. */
export const roomControlRequestSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('lock') }),
  z.object({ action: z.literal('unlock') }),
  z.object({ action: z.literal('set_password'), password: z.string().min(1).max(128) }),
  z.object({ action: z.literal('clear_password') }),
  z.object({ action: z.literal('set_max_participants'), max: z.number().int().min(1).max(10_000) }),
]);
export type RoomControlRequest = z.infer<typeof roomControlRequestSchema>;

/** The room's current settings, sent to every member when they change and in ack of a change. */
export const roomStateSchema = z.object({
  locked: z.boolean(),
  hasPassword: z.boolean(),
  maxParticipants: z.number().int(),
});
export type RoomState = z.infer<typeof roomStateSchema>;

export const kickRequestSchema = z.object({ peer, reason: z.string().max(200).optional() });
export type KickRequest = z.infer<typeof kickRequestSchema>;

export const muteRequestSchema = z.object({ peer, kind: z.enum(['audio', 'video', 'screen']) });
export type MuteRequest = z.infer<typeof muteRequestSchema>;

/** Sent to a peer an admin asked to mute; a conforming client stops sending that kind. */
export const muteNoticeSchema = z.object({ kind: z.enum(['audio', 'video', 'screen']), by: peer });
export type MuteNotice = z.infer<typeof muteNoticeSchema>;

/** Sent to a member whose grants the server API changed while it is in the room: its grants now. */
export const grantsChangedSchema = z.object({ grants: memberGrantsSchema });
export type GrantsChanged = z.infer<typeof grantsChangedSchema>;
