import * as z from 'zod';

/**
 * Messages peers send each other on the `parley` data channel of each PeerLink. They never pass
 * through the server, so the server's protocol package does not describe them (yet); they are
 * validated here like any other network input.
 */
export const PEER_CHANNEL_LABEL = 'parley';
/** Both sides create the channel with this id (negotiated), so glare cannot create two. */
export const PEER_CHANNEL_ID = 0;
/** @internal */
export const MAX_PEER_MESSAGE_BYTES = 4096;

/** What a peer publishes about its own media, so others can label tiles and show mute icons. */
export interface PeerMediaState {
  /** The microphone is on (not muted). */
  audio: boolean;
  /** The camera is on (not muted). */
  video: boolean;
  /** The MediaStream id that carries the camera (and mic) tracks. */
  cameraStream: string | null;
  /** The MediaStream id that carries the screen share, when sharing. */
  screenStream: string | null;
}

const streamId = z.string().min(1).max(128);

/** @internal */
export const peerMediaStateSchema = z.object({
  audio: z.boolean(),
  video: z.boolean(),
  cameraStream: streamId.nullable(),
  screenStream: streamId.nullable(),
}) satisfies z.ZodType<PeerMediaState>;

/** @internal */
export const peerMessageSchema = z.discriminatedUnion('t', [z.object({ t: z.literal('state'), state: peerMediaStateSchema })]);
/** @internal */
export type PeerMessage = z.infer<typeof peerMessageSchema>;

/** @internal */
export const EMPTY_MEDIA_STATE: PeerMediaState = { audio: false, video: false, cameraStream: null, screenStream: null };

/**
 * Parses one data-channel message; returns undefined for anything malformed or oversized.
 * @internal
 */
export function parsePeerMessage(data: unknown): PeerMessage | undefined {
  if (typeof data !== 'string' || data.length > MAX_PEER_MESSAGE_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  const parsed = peerMessageSchema.safeParse(json);
  return parsed.success ? parsed.data : undefined;
}
