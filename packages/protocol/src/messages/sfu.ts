import { z } from 'zod';
import { LIMITS } from '../limits.ts';

/** Ids of SFU producers/peers: letters, digits, `-`, `_` (server-generated). */
const sfuId = z.string().regex(/^[\w-]{1,64}$/);
const sdp = z.string().min(1).max(LIMITS.sdp);

/** Publish media through the room's SFU: a WebRTC offer whose sections send VP8/H.264/Opus. */
export const sfuPublishRequestSchema = z.strictObject({ sdp });
export type SfuPublishRequest = z.infer<typeof sfuPublishRequestSchema>;

/** Receive producers through the SFU: an offer whose receiving sections take `producerIds` in order. */
export const sfuSubscribeRequestSchema = z.strictObject({ sdp, producerIds: z.array(sfuId).min(1).max(16) });
export type SfuSubscribeRequest = z.infer<typeof sfuSubscribeRequestSchema>;

/** Close one of the caller's own SFU connections (stop publishing or subscribing). */
export const sfuCloseRequestSchema = z.strictObject({ peerId: sfuId });
export type SfuCloseRequest = z.infer<typeof sfuCloseRequestSchema>;

export interface SfuProducerInfo {
  /** Producer id (subscribe with it). */
  id: string;
  /** Socket id of the publishing room member. */
  peer: string;
  kind: 'audio' | 'video';
}

export interface SfuPublishResult {
  /** The server-side connection; pass it to `sfu_close`. */
  peerId: string;
  answer: string;
  producers: SfuProducerInfo[];
}

export interface SfuSubscribeResult {
  peerId: string;
  answer: string;
  consumers: Array<{ id: string; producerId: string; kind: 'audio' | 'video'; mid: string }>;
}

/** How the room's media flows: peer-to-peer mesh, or everyone through the SFU (larger rooms). */
export interface SfuMode {
  mode: 'mesh' | 'sfu';
  /** Rooms with more members than this use the SFU. */
  meshMaxPeers: number;
  peers: number;
}
