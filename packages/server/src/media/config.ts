/** The `media` section of the server configuration. */
import { z } from 'zod';

/** Stream names in URLs and config: letters, digits, `_`, `-`. */
export const streamNameSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'stream names use A-Z a-z 0-9 _ - (max 64)');

export const mediaSourceSchema = z.strictObject({
  kind: z.enum(['testsrc', 'file']),
  /** File to stream (kind `file`). */
  path: z.string().optional(),
  /** Repeat the file forever. */
  loop: z.boolean().default(false),
});
export type MediaSourceConfig = z.infer<typeof mediaSourceSchema>;

export const mediaConfigSchema = z.strictObject({
  /** Stream name → source. Default: `test`, a test pattern with a 440 Hz tone. */
  sources: z
    .record(streamNameSchema, mediaSourceSchema)
    .refine((r) => Object.values(r).every((s) => s.kind !== 'file' || s.path), 'file sources need a path')
    .default({ test: { kind: 'testsrc', loop: false } }),
  /** Stream sent by POST /offer when the body names none. */
  defaultStream: z.string().default('test'),
  ffmpegPath: z.string().default('ffmpeg'),
  ffprobePath: z.string().default('ffprobe'),
  /** Local address for ICE host candidates (e.g. 127.0.0.1 in tests); all interfaces when unset. */
  bindAddress: z.string().optional(),
  portRangeBegin: z.number().int().min(1024).max(65535).optional(),
  portRangeEnd: z.number().int().min(1024).max(65535).optional(),
  /** Most concurrent server-side peers (viewers + publishers). */
  maxPeers: z.number().int().min(1).default(500),
  /** Media sessions (WHIP, WHEP, /offer) one client address may hold at once. */
  maxPeersPerClient: z.number().int().min(1).default(10),
  /**
   * A looping source (test pattern, looped file) keeps its ffmpeg running this long after its last
   * viewer leaves, so a viewer who comes back (reload, reconnect) starts at once from the cached
   * key frame instead of waiting for ffmpeg to start. 0 stops it at once.
   */
  sourceIdleMs: z.number().int().min(0).max(600_000).default(5000),
  /** Rooms with more members than this are told to use the SFU instead of a peer-to-peer mesh. */
  sfuMeshMaxPeers: z.number().int().min(0).max(10_000).default(4),
  /** Record every WHIP stream automatically. */
  recordWhip: z.boolean().default(false),
  /** Where recordings go; defaults to `<dataDir>/recordings`. */
  recordingsDir: z.string().optional(),
  /** Delete stream recordings (`/api/recordings`) this long after they ended; unset keeps them. Room recordings: `roomRecording.retentionMs`. */
  recordingRetentionMs: z.number().int().min(1).optional(),
  /** Room recordings (docs/recording.md). */
  roomRecording: z
    .strictObject({
      /** Stop a recording (with a RECORDING_SIZE_CAP error event) once its track files reach this many bytes. */
      maxBytes: z.number().int().min(1).optional(),
      /** Compose one file per room when a recording ends. */
      compose: z.boolean().default(true),
      /** Compositions (ffmpeg) running at once; the others wait in line. */
      composeConcurrency: z.number().int().min(1).max(16).default(1),
      /** Size and frame rate of the composed video. */
      width: z.number().int().min(64).max(3840).default(1280),
      height: z.number().int().min(64).max(2160).default(720),
      fps: z.number().int().min(1).max(60).default(25),
      /** Delete room recordings (all their files) this long after they ended; unset keeps them. */
      retentionMs: z.number().int().min(1).optional(),
      /** How long a track's frames wait for the publisher's first RTCP sender report before arrival time places them. */
      senderReportWaitMs: z.number().int().min(0).max(30_000).default(3000),
    })
    .prefault({}),
  testsrc: z
    .strictObject({
      width: z.number().int().min(16).max(1920).default(640),
      height: z.number().int().min(16).max(1080).default(360),
      fps: z.number().int().min(1).max(60).default(30),
      videoKbps: z.number().int().min(50).max(10_000).default(800),
    })
    .default({ width: 640, height: 360, fps: 30, videoKbps: 800 }),
});
export type MediaConfig = z.infer<typeof mediaConfigSchema>;
