/** A member's seat as Redis holds it (cluster mode): the session, which node carries it, and its epoch. */
import { z } from 'zod';
import { mediaFlagsSchema } from '@parley-rtc/protocol';
import { grantsSchema } from '../auth/grants.ts';
import type { Member } from '../signaling/RoomRegistry.ts';

export const seatSchema = z.object({
  id: z.string(),
  name: z.string(),
  identity: z.string(),
  grants: grantsSchema,
  grantsFromApi: z.boolean().optional(),
  resumeKey: z.string(),
  sessionKey: z.string(),
  media: mediaFlagsSchema.optional(),
  expiresAt: z.number().nullable(),
  joinedAt: z.number(),
  /** The node whose socket carries the session (or carried it, while detached). */
  node: z.string(),
  /** Bumped whenever the seat moves to another socket: a change made for an older epoch is refused. */
  epoch: z.number().int(),
  /** Since when the seat waits for a resume (ms since epoch); null while a socket carries it. */
  detachedAt: z.number().nullable(),
});
export type SeatRecord = z.infer<typeof seatSchema>;

/** Parses a seat read from Redis; undefined (and nothing thrown) for anything else. */
export function parseSeat(text: string | null | undefined): SeatRecord | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    const parsed = seatSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The seat of a member this node carries (or last carried). */
export function seatOf(member: Member, node: string): SeatRecord {
  return {
    id: member.id,
    name: member.name,
    identity: member.identity,
    grants: member.grants,
    ...(member.grantsFromApi ? { grantsFromApi: true } : {}),
    resumeKey: member.resumeKey,
    sessionKey: member.sessionKey,
    ...(member.media ? { media: member.media } : {}),
    expiresAt: member.expiresAt ?? null,
    joinedAt: member.joinedAt,
    node: member.node ?? node,
    epoch: member.epoch ?? 1,
    detachedAt: member.detachedAt ?? null,
  };
}

/** A member as this node's registry mirrors it: remote seats carry the node that holds them. */
export function memberOf(seat: SeatRecord, self: string): Member {
  return {
    id: seat.id,
    name: seat.name,
    identity: seat.identity,
    grants: seat.grants,
    ...(seat.grantsFromApi ? { grantsFromApi: true } : {}),
    resumeKey: seat.resumeKey,
    sessionKey: seat.sessionKey,
    ...(seat.media ? { media: seat.media } : {}),
    expiresAt: seat.expiresAt ?? undefined,
    joinedAt: seat.joinedAt,
    socketId: undefined,
    ...(seat.node === self ? {} : { node: seat.node }),
    epoch: seat.epoch,
    ...(seat.detachedAt !== null ? { detachedAt: seat.detachedAt } : {}),
  };
}
