import * as z from 'zod';
import { LIMITS } from '../limits.ts';

/** Ids of SFU connections, producers and consumers: letters, digits, `-`, `_` (server-generated). */
const sfuId = z.string().regex(/^[\w-]{1,64}$/);
const sdp = z.string().min(1).max(LIMITS.sdp);

/** What a published track is: a camera, a microphone or a shared screen. */
export const mediaSourceSchema = z.enum(['camera', 'microphone', 'screen']);
export type MediaSource = z.infer<typeof mediaSourceSchema>;

/**
 * Publish media through the room's SFU: a WebRTC offer whose sections send VP8/H.264/Opus.
 * A video section may be simulcast (`a=rid` … `send` and `a=simulcast:send`, up to 3 layers, listed
 * low to high); `source` labels every track of the offer (default: camera / microphone).
 */
export const sfuPublishRequestSchema = z.object({ sdp, source: mediaSourceSchema.optional() });
export type SfuPublishRequest = z.infer<typeof sfuPublishRequestSchema>;

/** Receive producers through the SFU: an offer whose receiving sections take `producerIds` in order. */
export const sfuSubscribeRequestSchema = z.object({ sdp, producerIds: z.array(sfuId).min(1).max(LIMITS.sfuSubscribeProducers) });
export type SfuSubscribeRequest = z.infer<typeof sfuSubscribeRequestSchema>;

/**
 * How large the caller shows some of its video consumers, in device pixels (0×0: no preference).
 * For simulcast producers the SFU forwards the smallest layer that covers this size (and that the
 * subscriber's bandwidth allows).
 */
export const sfuVideoSizeRequestSchema = z.object({
  consumerIds: z.array(sfuId).min(1).max(LIMITS.sfuConsumersPerRequest),
  width: z.number().int().min(0).max(LIMITS.videoSizePx),
  height: z.number().int().min(0).max(LIMITS.videoSizePx),
});
export type SfuVideoSizeRequest = z.infer<typeof sfuVideoSizeRequestSchema>;

/** Close one of the caller's own SFU connections (stop publishing or subscribing). */
/**
 * Open (or replace) this member's data connection to the SFU: an offer with the two negotiated
 * app-data channels (DATA_CHANNELS, ids 1 and 2) and no media. One per member; a new one replaces it.
 */
export const sfuDataRequestSchema = z.object({ sdp });
export type SfuDataRequest = z.infer<typeof sfuDataRequestSchema>;

/** The `sfu_data` result. */
export const sfuDataResultSchema = z.object({ connectionId: sfuId, answer: sdp });
export type SfuDataResult = z.infer<typeof sfuDataResultSchema>;

export const sfuCloseRequestSchema = z.object({ connectionId: sfuId });
export type SfuCloseRequest = z.infer<typeof sfuCloseRequestSchema>;

/** Pause or resume forwarding of some of your consumers (e.g. tiles scrolled out of view). */
export const sfuPauseRequestSchema = z.object({
  consumerIds: z.array(sfuId).min(1).max(LIMITS.sfuConsumersPerRequest),
  paused: z.boolean(),
});
export type SfuPauseRequest = z.infer<typeof sfuPauseRequestSchema>;

const peerId = z.string().min(1).max(64);
const kind = z.enum(['audio', 'video']);

/** `sfu_producer`: a room member publishes a track through the SFU. */
export const sfuProducerInfoSchema = z.object({
  /** Producer id (subscribe with it). */
  id: sfuId,
  /** Peer id of the publishing room member. */
  peer: peerId,
  kind,
  source: mediaSourceSchema,
  /** Simulcast layers the publisher sends (1 without simulcast). */
  layers: z.number().int().min(1).max(3),
});
export type SfuProducerInfo = z.infer<typeof sfuProducerInfoSchema>;

/** `sfu_producer_closed`: that producer is gone (unpublished, connection failed, member left). */
export const sfuProducerClosedSchema = z.object({ id: sfuId, peer: peerId });
export type SfuProducerClosed = z.infer<typeof sfuProducerClosedSchema>;

/** The `sfu_publish` result. */
export const sfuPublishResultSchema = z.object({
  /** The SFU connection; pass it to `sfu_close`. */
  connectionId: sfuId,
  answer: sdp,
  producers: z.array(sfuProducerInfoSchema).max(64),
});
export type SfuPublishResult = z.infer<typeof sfuPublishResultSchema>;

/** The `sfu_subscribe` result: which section (`mid`) carries which producer. */
export const sfuSubscribeResultSchema = z.object({
  /** The SFU connection; pass it to `sfu_close`. */
  connectionId: sfuId,
  answer: sdp,
  consumers: z.array(z.object({ id: sfuId, producerId: sfuId, kind, mid: z.string().min(1).max(64) })).max(64),
});
export type SfuSubscribeResult = z.infer<typeof sfuSubscribeResultSchema>;

/** How the room's media flows: peer-to-peer mesh, or everyone through the SFU (larger rooms). */
export const sfuModeSchema = z.object({
  mode: z.enum(['mesh', 'sfu']),
  /** Rooms with more members than this use the SFU. */
  meshMaxPeers: z.number().int().nonnegative(),
  peers: z.number().int().nonnegative(),
});
export type SfuMode = z.infer<typeof sfuModeSchema>;

const speakerSchema = z.object({
  /** Peer id of the room member. */
  peer: peerId,
  /** Their audio producer. */
  producerId: sfuId,
  /** Mean audio level over the last ~1.5 s in -dBov (0 loudest, 127 silence). */
  level: z.number().min(0).max(127),
});
export type Speaker = z.infer<typeof speakerSchema>;

/**
 * `sfu_speakers`: who speaks in the room, from the audio levels SFU publishers send (RFC 6464).
 * Sent when the active (dominant) speaker or the set of speakers changes.
 */
export const sfuSpeakersSchema = z.object({
  active: speakerSchema.nullable(),
  /** Everyone speaking, loudest first. */
  speakers: z.array(speakerSchema).max(64),
});
export type SfuSpeakers = z.infer<typeof sfuSpeakersSchema>;
