import * as z from 'zod';
import { LIMITS } from '../limits.ts';
import { memberGrantsSchema } from './grants.ts';
import { logEntrySchema } from './log.ts';

/** Room names: letters, digits, `-`, `_`, `.`; must start with a letter or digit. */
export const roomNameSchema = z
  .string()
  .min(1)
  .max(LIMITS.roomName)
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'room names use letters, digits, "-", "_" and "."');

/** Display names: 1–64 printable characters after trimming; no control characters. */
export const displayNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(LIMITS.displayName)
  // eslint-disable-next-line no-control-regex -- refusing control characters is the point
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'display names cannot contain control characters');

export const peerIdSchema = z.string().min(1).max(64);

export const peerInfoSchema = z.object({ id: peerIdSchema, name: displayNameSchema });
export type PeerInfo = z.infer<typeof peerInfoSchema>;

/** `peer_joined`: a member joined, or (`restarted`) took its seat back without its old connections. */
export const peerJoinedSchema = peerInfoSchema.extend({
  /**
   * Same peer id as before (a reloaded page, or the same identity on another device): drop the
   * link to it and wait for its offer (it offers to everyone, as after a resume). It never left,
   * so no `peer_left` came before.
   */
  restarted: z.boolean().optional(),
});
export type PeerJoined = z.infer<typeof peerJoinedSchema>;

/** What a member sends of its own media: microphone on, camera on, sharing a screen. */
export const mediaFlagsSchema = z.object({ audio: z.boolean(), video: z.boolean(), screen: z.boolean() });
export type MediaFlags = z.infer<typeof mediaFlagsSchema>;

/** `peer_media`: a member's media flags (sent when they change, and to joiners for every member). */
export const peerMediaSchema = z.object({ id: peerIdSchema, audio: z.boolean(), video: z.boolean(), screen: z.boolean() });
export type PeerMedia = z.infer<typeof peerMediaSchema>;

export const iceServerSchema = z.object({
  urls: z.union([z.string(), z.array(z.string())]),
  username: z.string().optional(),
  credential: z.string().optional(),
});
export type IceServer = z.infer<typeof iceServerSchema>;

export const seqSchema = z.number().int().nonnegative();

export const joinRequestSchema = z.object({
  room: roomNameSchema,
  name: displayNameSchema,
  token: z.string().max(LIMITS.token).optional(),
  /** Last sequence number this client has seen; the server replays everything after it. */
  lastSeq: seqSchema.optional(),
  protocol: z.string().max(16).optional(),
  /** The room password, when an admin has set one. */
  password: z.string().max(128).optional(),
  /**
   * Resume an earlier session after a signaling reconnect: the peer id and resume key from that
   * session's join ack. Within the grace period the peer keeps its id and nobody sees it leave.
   */
  resume: z
    .object({
      peer: peerIdSchema,
      key: z.string().min(1).max(128),
      /**
       * The client kept nothing of the session but this key (a page reload): the server takes the
       * seat over as a new connection of the same peer id, so the others rebuild their links to it
       * (they get `peer_joined` again, never `peer_left`) and its SFU connections are dropped.
       */
      restarted: z.boolean().optional(),
    })
    .optional(),
});
export type JoinRequest = z.infer<typeof joinRequestSchema>;

export const joinResultSchema = z.object({
  self: peerInfoSchema,
  peers: z.array(peerInfoSchema),
  iceServers: z.array(iceServerSchema),
  /** The latest sequence number in the room log (0 when empty). */
  lastSeq: seqSchema,
  /** Catch-up entries: those after `lastSeq` of the request, or the room's most recent N. */
  entries: z.array(logEntrySchema),
  /** True when `entries` does not reach back to the requested point (older ones were cut off). */
  truncated: z.boolean(),
  /** Secret for `resume` after a signaling reconnect; keep it in memory only. */
  resumeKey: z.string(),
  /**
   * This member's credential for the room's HTTP routes (room log, files, uploads): send it as
   * `X-Parley-Session` (or `?session=` in a link). Valid while the member is in the room; the
   * public peer id alone is never accepted.
   */
  session: z.string().min(1).max(256),
  /**
   * True when this join kept an existing seat: the session named in `resume`, or (with auth on) the
   * seat of the same token identity in this room, which this join took over. Same peer id, and the
   * others never see it leave.
   */
  resumed: z.boolean(),
  /** What this member may do (from its token, or open mode); later changes come as `grants_changed`. */
  grants: memberGrantsSchema.optional(),
  /**
   * When the TURN credentials in `iceServers` expire (seconds since epoch; never after the token's
   * `exp`). Absent when no TURN credentials were minted. Ask `ice_servers` for fresh ones before.
   */
  iceExpiresAt: z.number().int().optional(),
});
export type JoinResult = z.infer<typeof joinResultSchema>;

export const peerLeftSchema = z.object({ id: peerIdSchema });
export type PeerLeft = z.infer<typeof peerLeftSchema>;

/**
 * Why the server ended a session. `replaced`: another connection took this seat over (the same token
 * identity joined the room again, or a reloaded page resumed the session); the seat lives on there.
 */
export const sessionEndReasonSchema = z.enum(['server-shutdown', 'kicked', 'room-closed', 'replaced']);
export type SessionEndReason = z.infer<typeof sessionEndReasonSchema>;

/** `session_ended`: sent before the server disconnects the socket. */
export const sessionEndedSchema = z.object({ reason: sessionEndReasonSchema, message: z.string() });
export type SessionEnded = z.infer<typeof sessionEndedSchema>;

/** `ice_servers`: fresh ICE servers (TURN credentials) for the member, e.g. before the old ones expire. */
export const iceServersRequestSchema = z.object({
  /** A newer access token for the same identity and room; its `exp` bounds the new credentials. */
  token: z.string().max(LIMITS.token).optional(),
});
export type IceServersRequest = z.infer<typeof iceServersRequestSchema>;

export const iceServersResultSchema = z.object({
  iceServers: z.array(iceServerSchema),
  /** When the TURN credentials expire (seconds since epoch); absent without TURN credentials. */
  expiresAt: z.number().int().optional(),
});
export type IceServersResult = z.infer<typeof iceServersResultSchema>;
