import * as z from 'zod';

/** Room recordings (docs/recording.md): the server API's view of one, and the room's indicator. */

export const recordingIdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/);

export const roomRecordingTrackSchema = z.object({
  /** The SFU producer id (as in `sfu_producer`). */
  id: z.string(),
  member: z.object({ id: z.string(), name: z.string() }),
  kind: z.enum(['audio', 'video']),
  source: z.string(),
  codec: z.string(),
  /** The per-track file's name (download it under `files/<name>`); null when nothing was written. */
  file: z.string().nullable(),
  bytes: z.number().int(),
  /** Where the track sits on the room clock (ms since the recording started). */
  startMs: z.number().nullable(),
  endMs: z.number().nullable(),
  /** Room-ms intervals in which the track carried media (a mute or a pause splits them). */
  segments: z.array(z.tuple([z.number(), z.number()])),
  /** `sr`: placed by the publisher's RTCP sender reports; `arrival`: it sent none, placed by arrival time. */
  sync: z.enum(['pending', 'sr', 'arrival']),
  layerSwitches: z.number().int(),
  /** Why the track was not recorded (e.g. H.264, which this version does not write). */
  skipped: z.string().optional(),
});
export type RoomRecordingTrack = z.infer<typeof roomRecordingTrackSchema>;

export const recordingFileSchema = z.object({
  name: z.string(),
  kind: z.enum(['composed', 'track', 'chat']),
  bytes: z.number().int(),
  contentType: z.string(),
});
export type RecordingFile = z.infer<typeof recordingFileSchema>;

export const roomRecordingSchema = z.object({
  id: recordingIdSchema,
  room: z.string(),
  /** recording → composing → done; `failed` (with `error`) when writing or composing failed; `empty` when no track was written. */
  state: z.enum(['recording', 'composing', 'done', 'failed', 'empty']),
  startedBy: z.enum(['api', 'member', 'policy']),
  startedAt: z.number(),
  endedAt: z.number().nullable(),
  durationMs: z.number(),
  bytes: z.number().int(),
  /** Composition progress, 0–1 (1 once composed). */
  progress: z.number().min(0).max(1),
  error: z.string().optional(),
  /** Why it stopped: `api`, `member`, `room-empty`, `size-cap`, `disk-full`, `shutdown`. */
  stopReason: z.string().optional(),
  tracks: z.array(roomRecordingTrackSchema),
  /** Who spoke from when (room ms; null: nobody), from the SFU's active-speaker detection. */
  speakers: z.array(z.object({ atMs: z.number(), member: z.string().nullable() })).optional(),
  files: z.array(recordingFileSchema),
  /** Play the composed file over WHEP / POST /offer with this stream name. */
  stream: z.string().nullable(),
});
export type RoomRecording = z.infer<typeof roomRecordingSchema>;

/** Server event `recording_state`: the room's recording indicator (on change, and to each member on join). */
export const recordingStateSchema = z.object({
  recording: z.boolean(),
  id: recordingIdSchema.nullable(),
  startedAt: z.number().nullable(),
  /** Set when a recording stopped because of a problem (disk full, size cap). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});
export type RecordingState = z.infer<typeof recordingStateSchema>;

/** Client events `recording_start` / `recording_stop` (need the `record` grant). */
export const recordingControlRequestSchema = z.object({});
