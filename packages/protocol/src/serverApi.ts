import * as z from 'zod';
import { wireErrorSchema } from './errors.ts';
import { displayNameSchema, mediaFlagsSchema, peerIdSchema, roomNameSchema } from './messages/room.ts';
import { chatRequestSchema, roomEventRequestSchema } from './messages/log.ts';
import { MEDIA_KINDS, memberGrantsSchema } from './messages/grants.ts';
import { roomRecordingSchema } from './messages/recording.ts';

/**
 * The server API (`/api/v1/…`, docs/server-api.md): what a backend uses to manage rooms, members
 * and tokens. Requests authenticate with `Authorization: Basic base64(apiKey:apiSecret)`, the
 * server's `adminKey` as a Bearer token, or (for one room's endpoints) an access token whose
 * grants include `admin` for that room. Every body below is validated on the server with these
 * schemas; responses are validated by `createServerClient`.
 */

export const API_PREFIX = '/api/v1';

export { MEDIA_KINDS };

export const grantsInputSchema = z.object({
  join: z.boolean().optional(),
  publish: z.union([z.boolean(), z.array(z.enum(MEDIA_KINDS)).max(3)]).optional(),
  subscribe: z.boolean().optional(),
  chat: z.boolean().optional(),
  upload: z.boolean().optional(),
  data: z.boolean().optional(),
  record: z.boolean().optional(),
  admin: z.boolean().optional(),
});
export type GrantsInput = z.infer<typeof grantsInputSchema>;

export const grantsViewSchema = memberGrantsSchema;

export const roomSettingsSchema = z.object({
  /** Most members at once (at most the server's limits.maxPeersPerRoom). */
  maxMembers: z.number().int().min(1).max(10_000).optional(),
  /** The room switches from mesh to the SFU above this many members (0: always SFU). */
  meshLimit: z.number().int().min(0).max(100).optional(),
  /** The room password; members without the admin grant must present it. */
  password: z.string().min(1).max(128).optional(),
  locked: z.boolean().optional(),
  /** Room-log retention for this room (overrides the server's). */
  retention: z.object({ maxAgeMs: z.number().int().min(1).optional(), maxBytes: z.number().int().min(1).optional() }).optional(),
  /** Record the room whenever someone is in it (docs/recording.md); false stops a recording this policy started. */
  alwaysRecord: z.boolean().optional(),
});
export type RoomSettings = z.infer<typeof roomSettingsSchema>;

export const createRoomRequestSchema = roomSettingsSchema.extend({ name: roomNameSchema });
export type CreateRoomRequest = z.infer<typeof createRoomRequestSchema>;

export const roomSummarySchema = z.object({
  name: roomNameSchema,
  /** Members in the room now (connected or within their resume grace). */
  members: z.number().int(),
  mode: z.enum(['mesh', 'sfu']),
  /** When the room became live on this server (ms since epoch), or when it was created by the API. */
  createdAt: z.number(),
  locked: z.boolean(),
  hasPassword: z.boolean(),
  maxMembers: z.number().int(),
  meshLimit: z.number().int(),
  /** True when the room was created through the API (it stays until deleted, even when empty). */
  managed: z.boolean(),
  /** Present (true) when the room's policy is to record whenever someone is in it. */
  alwaysRecord: z.literal(true).optional(),
  log: z.object({ entries: z.number().int(), bytes: z.number().int(), lastSeq: z.number().int() }),
});
export type RoomSummary = z.infer<typeof roomSummarySchema>;

export const memberViewSchema = z.object({
  id: peerIdSchema,
  name: z.string(),
  identity: z.string(),
  joinedAt: z.number(),
  /** False while the member's connection is down and it may still resume. */
  connected: z.boolean(),
  grants: grantsViewSchema,
  media: mediaFlagsSchema.optional(),
});
export type MemberView = z.infer<typeof memberViewSchema>;

export const roomDetailSchema = roomSummarySchema.extend({ memberList: z.array(memberViewSchema) });
export type RoomDetail = z.infer<typeof roomDetailSchema>;

export const listRoomsResponseSchema = z.object({ rooms: z.array(roomSummarySchema) });
export const listMembersResponseSchema = z.object({ members: z.array(memberViewSchema) });

export const removeMemberRequestSchema = z.object({ reason: z.string().max(200).optional() });
export const muteMemberRequestSchema = z.object({ kind: z.enum(MEDIA_KINDS) });
export const updateMemberRequestSchema = z.object({ grants: grantsInputSchema });
export type UpdateMemberRequest = z.infer<typeof updateMemberRequestSchema>;

/** The same limits as `chat_message` and `room_event` from members (the server also caps the event body's bytes). */
export const sendMessageRequestSchema = z.union([
  z.object({ kind: z.literal('chat'), text: chatRequestSchema.shape.text }),
  z.object({ kind: z.literal('event'), type: roomEventRequestSchema.shape.type, body: roomEventRequestSchema.shape.body }),
]);
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;
export const sendMessageResponseSchema = z.object({ seq: z.number().int(), ts: z.number() });

export const mintTokenRequestSchema = z.object({
  room: roomNameSchema,
  identity: z.string().min(1).max(128),
  name: displayNameSchema.optional(),
  grants: grantsInputSchema.optional(),
  ttlSec: z
    .number()
    .int()
    .min(60)
    .max(30 * 86_400)
    .optional(),
});
export type MintTokenRequest = z.infer<typeof mintTokenRequestSchema>;
export const mintTokenResponseSchema = z.object({ token: z.string(), expiresAt: z.number() });

export const okResponseSchema = z.object({ ok: z.literal(true) });
export const apiErrorResponseSchema = z.object({ error: wireErrorSchema });
export const deleteRoomResponseSchema = z.object({
  room: z.string(),
  deleted: z.literal(true),
  entries: z.number().int(),
  filesDeleted: z.number().int(),
});

/** A stream key for WHIP into a room (`POST /whip/rooms/:room`, Bearer <key>): the publisher joins as `name`. */
export const createStreamKeyRequestSchema = z.object({ name: displayNameSchema.optional() });
export type CreateStreamKeyRequest = z.infer<typeof createStreamKeyRequestSchema>;
export const streamKeyViewSchema = z.object({
  id: z.string(),
  room: z.string(),
  name: z.string(),
  createdAt: z.number(),
  /** When a WHIP POST last authenticated with it (ms since epoch), whether or not its offer was good; absent until then. */
  lastUsedAt: z.number().optional(),
});
export type StreamKeyView = z.infer<typeof streamKeyViewSchema>;
/** The secret is returned once, at creation. */
export const createStreamKeyResponseSchema = streamKeyViewSchema.extend({ key: z.string() });
export const listStreamKeysResponseSchema = z.object({ streamKeys: z.array(streamKeyViewSchema) });
export { recordingIdSchema, roomRecordingSchema, roomRecordingTrackSchema, recordingFileSchema } from './messages/recording.ts';
export type { RoomRecording, RoomRecordingTrack, RecordingFile } from './messages/recording.ts';
export const listRoomRecordingsResponseSchema = z.object({ recordings: z.array(roomRecordingSchema) });
export const deleteRecordingResponseSchema = z.object({ id: z.string(), deleted: z.literal(true) });
