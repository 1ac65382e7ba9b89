/**
 * The control messages SFU nodes exchange about media links (over a `NodeBus`, docs/sfu.md "Rooms
 * across nodes"). They come from other nodes: parsed with zod, never cast.
 *
 * - `relay_open` (far → near): relay producer `producerId` of `room` to me; my link listens at `link`.
 * - `relay_opened` (near → far): it comes with SSRC `ssrc` and this codec; my link listens at `link`.
 * - `relay_failed` (near → far): it cannot (unknown producer, closed router, ...).
 * - `relay_close` (either way): stop relaying it (far: no subscriber left; near: the producer closed).
 */
import { z } from 'zod';
import { errorCodeSchema } from '@parley-rtc/protocol';

const id = z.string().regex(/^[\w-]{1,64}$/);
const endpoint = z.object({ address: z.string().min(1).max(64), port: z.number().int().min(1).max(65535) });
const codec = z.object({
  kind: z.enum(['audio', 'video']),
  name: z.enum(['vp8', 'h264', 'opus']),
  clockRate: z.number().int().positive(),
  channels: z.number().int().positive().optional(),
  profileLevelId: z
    .string()
    .regex(/^[0-9a-fA-F]{6}$/)
    .optional(),
});

export const relayMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('relay_open'), requestId: id, room: z.string().min(1).max(256), producerId: id, link: endpoint }),
  z.object({
    type: z.literal('relay_opened'),
    requestId: id,
    ssrc: z.number().int().min(0).max(0xffffffff),
    payloadType: z.number().int().min(0).max(127),
    connectionId: z.string().min(1).max(128),
    codec,
    link: endpoint,
  }),
  z.object({ type: z.literal('relay_failed'), requestId: id, code: errorCodeSchema, message: z.string().max(500) }),
  z.object({ type: z.literal('relay_close'), room: z.string().min(1).max(256), producerId: id }),
]);

export type RelayMessage = z.infer<typeof relayMessageSchema>;

/** What travels on the bus: the sender's node id and one message. */
export const busEnvelopeSchema = z.object({ from: z.string().min(1).max(128), message: relayMessageSchema });
