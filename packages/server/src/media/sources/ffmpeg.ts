/** Locating ffmpeg/ffprobe, probing files, and building the ffmpeg command lines for sources. */
import { execFile, spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';
import { ParleyError } from '@parley-rtc/protocol';
import { z } from 'zod';
import type { CodecSpec } from '@parley-rtc/rtc/sdp';

/** Resolves a binary name through PATH; throws MEDIA_UNAVAILABLE when it is not installed. */
export function resolveBinary(name: string, what: string): string {
  const candidates =
    isAbsolute(name) || name.includes('/') ? [name] : (process.env['PATH'] ?? '').split(delimiter).map((d) => join(d, name));
  for (const c of candidates) {
    try {
      accessSync(c, constants.X_OK);
      return c;
    } catch {
      // next
    }
  }
  throw new ParleyError('MEDIA_UNAVAILABLE', `${what} needs ${name}, which is not installed (install ffmpeg or set media.ffmpegPath)`);
}

const SETPRIV = '/usr/bin/setpriv';
const hasSetpriv = existsSync(SETPRIV);

/**
 * Spawns a helper process (ffmpeg) that dies with us: through util-linux's `setpriv --pdeathsig
 * KILL`, which execs the binary with PR_SET_PDEATHSIG, so even a SIGKILLed Parley leaves no
 * orphaned encoder behind. Falls back to a plain spawn where setpriv is missing.
 */
export function spawnTied(binary: string, args: string[], options: SpawnOptions): ChildProcess {
  return hasSetpriv ? spawn(SETPRIV, ['--pdeathsig', 'KILL', binary, ...args], options) : spawn(binary, args, options);
}

const probeSchema = z.object({
  streams: z
    .array(
      z.object({
        index: z.number(),
        codec_type: z.string().optional(),
        codec_name: z.string().optional(),
        profile: z.string().optional(),
        level: z.number().optional(),
        channels: z.number().optional(),
      }),
    )
    .default([]),
  format: z.object({ duration: z.string().optional(), format_name: z.string().optional() }).optional(),
});
export type ProbeResult = z.infer<typeof probeSchema>;

/** Runs ffprobe on a file (bounded time and output). */
export function probeFile(ffprobe: string, path: string, timeoutMs = 10_000): Promise<ProbeResult> {
  return new Promise((resolve, reject) => {
    execFile(
      ffprobe,
      [
        '-v',
        'error',
        '-show_entries',
        'stream=index,codec_type,codec_name,profile,level,channels:format=duration,format_name',
        '-of',
        'json',
        path,
      ],
      { timeout: timeoutMs, maxBuffer: 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          reject(new ParleyError('MEDIA_UNAVAILABLE', `cannot read media file: ${stderr.trim().split('\n').pop() ?? err.message}`));
          return;
        }
        try {
          resolve(probeSchema.parse(JSON.parse(stdout)));
        } catch (e) {
          reject(new ParleyError('MEDIA_UNAVAILABLE', `unexpected ffprobe output: ${(e as Error).message}`));
        }
      },
    );
  });
}

function h264ProfileLevelId(profile: string | undefined, level: number | undefined): string {
  const p = (profile ?? '').toLowerCase();
  const prefix = p.includes('high') ? '6400' : p.includes('main') ? '4d00' : p.includes('constrained') ? '42e0' : '4200';
  const lvl = level !== undefined && level > 0 && level < 256 ? level : 31;
  return prefix + lvl.toString(16).padStart(2, '0');
}

export interface SourcePlan {
  video: CodecSpec | undefined;
  audio: CodecSpec | undefined;
  /** ffmpeg arguments without the outputs. */
  inputArgs: string[];
  videoArgs: string[];
  audioArgs: string[];
}

export interface TestsrcOptions {
  width: number;
  height: number;
  fps: number;
  videoKbps: number;
}

const VP8_ENCODE = (kbps: number, fps: number) => [
  '-c:v',
  'libvpx',
  '-deadline',
  'realtime',
  '-cpu-used',
  '8',
  '-threads',
  '1',
  '-b:v',
  `${kbps}k`,
  '-g',
  String(fps),
  '-auto-alt-ref',
  '0',
  '-error-resilient',
  '1',
  '-pix_fmt',
  'yuv420p',
];
const OPUS_ENCODE = ['-c:a', 'libopus', '-ar', '48000', '-ac', '2', '-b:a', '64k', '-application', 'lowdelay'];
const VP8: CodecSpec = { kind: 'video', name: 'vp8', clockRate: 90000 };
const OPUS: CodecSpec = { kind: 'audio', name: 'opus', clockRate: 48000, channels: 2 };

/** A test pattern with a 440 Hz tone, encoded live to VP8 + Opus. */
export function testsrcPlan(o: TestsrcOptions): SourcePlan {
  return {
    video: VP8,
    audio: OPUS,
    inputArgs: [
      '-re',
      '-f',
      'lavfi',
      '-i',
      `testsrc=size=${o.width}x${o.height}:rate=${o.fps}`,
      '-re',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000',
    ],
    videoArgs: ['-map', '0:v:0', ...VP8_ENCODE(o.videoKbps, o.fps)],
    audioArgs: ['-map', '1:a:0', ...OPUS_ENCODE],
  };
}

/**
 * A file: VP8, H.264 and Opus are sent as they are (`-c copy`), anything else is transcoded to
 * VP8/Opus. `loop` repeats the file forever.
 */
export function filePlan(path: string, probe: ProbeResult, loop: boolean, videoKbps: number): SourcePlan {
  const v = probe.streams.find((s) => s.codec_type === 'video');
  const a = probe.streams.find((s) => s.codec_type === 'audio');
  if (!v && !a) throw new ParleyError('MEDIA_UNAVAILABLE', 'the media file has neither video nor audio');
  const inputArgs = ['-re', ...(loop ? ['-stream_loop', '-1'] : []), '-i', path];
  let video: CodecSpec | undefined;
  let videoArgs: string[] = [];
  if (v) {
    if (v.codec_name === 'vp8') {
      video = VP8;
      videoArgs = ['-map', '0:v:0', '-c:v', 'copy'];
    } else if (v.codec_name === 'h264') {
      video = { kind: 'video', name: 'h264', clockRate: 90000, profileLevelId: h264ProfileLevelId(v.profile, v.level) };
      videoArgs = ['-map', '0:v:0', '-c:v', 'copy', '-bsf:v', 'h264_mp4toannexb'];
    } else {
      video = VP8;
      videoArgs = ['-map', '0:v:0', ...VP8_ENCODE(videoKbps, 30)];
    }
  }
  let audio: CodecSpec | undefined;
  let audioArgs: string[] = [];
  if (a) {
    audio = OPUS;
    audioArgs = a.codec_name === 'opus' ? ['-map', '0:a:0', '-c:a', 'copy'] : ['-map', '0:a:0', ...OPUS_ENCODE];
  }
  return { video, audio, inputArgs, videoArgs, audioArgs };
}

/** The RTP output for one track, sent to a loopback UDP port we listen on. */
export function rtpOutputArgs(payloadType: number, ssrc: number, port: number): string[] {
  return [
    '-payload_type',
    String(payloadType),
    '-ssrc',
    String(ssrc),
    '-f',
    'rtp',
    `rtp://127.0.0.1:${port}?pkt_size=1200&rtcpport=${port}`,
  ];
}
