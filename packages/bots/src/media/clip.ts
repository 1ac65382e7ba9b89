/**
 * Pre-encoded media for headless participants: VP8 video in IVF and Opus audio in Ogg, made once
 * with ffmpeg (from a test pattern or from any file ffmpeg reads) and cached, then read into RTP
 * payloads so that sending costs no encoding at run time.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { isVp8KeyFrame, packetizeVp8 } from '@parley-rtc/rtc/rtp/vp8';

const run = promisify(execFile);

/** One encoded frame, already split into RTP payloads. */
export interface ClipFrame {
  payloads: Buffer[];
  key: boolean;
  /** How long the frame lasts, in RTP clock ticks. */
  duration: number;
}

export interface EncodedClip {
  kind: 'audio' | 'video';
  codec: 'vp8' | 'opus';
  clockRate: number;
  frames: ClipFrame[];
  width?: number;
  height?: number;
}

export interface VideoClipOptions {
  /** `testsrc` (a moving test pattern), a VP8 `.ivf` file (sent as it is), or any file ffmpeg can read. */
  source: string;
  width?: number;
  height?: number;
  fps?: number;
  bitrateKbps?: number;
  /** Key frame interval in frames. */
  gop?: number;
  /** Length of the loop, in seconds. */
  seconds?: number;
}

export interface AudioClipOptions {
  /** `tone` (a 440 Hz sine that beeps), `silence`, or the path of any file ffmpeg can read. */
  source: string;
  seconds?: number;
}

/** Where prepared clips are cached (PARLEY_BOT_CACHE, or the temp directory). */
export function clipCacheDir(): string {
  return process.env['PARLEY_BOT_CACHE'] ?? join(tmpdir(), 'parley-bot-media');
}

/** A clear error when ffmpeg is not installed. */
export class FfmpegMissingError extends Error {
  constructor(cause: unknown) {
    super("ffmpeg is needed to prepare the bots' media (Debian: apt-get install ffmpeg)", { cause });
    this.name = 'FfmpegMissingError';
  }
}

async function ffmpeg(args: string[], out: string): Promise<void> {
  const tmp = `${out}.${process.pid}.tmp`;
  try {
    await run('ffmpeg', ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y', ...args, tmp]);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new FfmpegMissingError(err);
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`ffmpeg could not prepare ${out}: ${stderr.trim().split('\n').slice(-3).join(' ')}`, { cause: err });
  }
  renameSync(tmp, out);
}

function cachePath(kind: string, key: unknown, ext: string): string {
  const dir = clipCacheDir();
  mkdirSync(dir, { recursive: true });
  const hash = createHash('sha256').update(JSON.stringify(key)).digest('hex').slice(0, 16);
  return join(dir, `${kind}-${hash}.${ext}`);
}

/** A file's identity for the cache key: its absolute path, size and modification time. */
function fileKey(source: string): unknown {
  const path = resolve(source);
  const st = statSync(path);
  return { path, size: st.size, mtime: st.mtimeMs };
}

/** Encodes (once, cached) and loads a VP8 clip. */
export async function prepareVideoClip(options: VideoClipOptions): Promise<EncodedClip> {
  // An IVF file is VP8 already: sent as it is, whatever the size and rate options say.
  if (options.source.toLowerCase().endsWith('.ivf')) return readIvf(readFileSync(options.source));
  const o = { width: 320, height: 240, fps: 30, bitrateKbps: 400, gop: 60, seconds: 10, ...options };
  const testsrc = o.source === 'testsrc';
  const key = { v: 1, ...o, source: testsrc ? 'testsrc' : fileKey(o.source) };
  const path = cachePath('video', key, 'ivf');
  if (!existsSync(path)) {
    const input = testsrc
      ? ['-f', 'lavfi', '-i', `testsrc2=size=${o.width}x${o.height}:rate=${o.fps}`]
      : ['-stream_loop', '-1', '-i', o.source];
    await ffmpeg(
      [
        ...input,
        '-t',
        String(o.seconds),
        '-an',
        '-vf',
        `scale=${o.width}:${o.height},fps=${o.fps}`,
        '-c:v',
        'libvpx',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        `${o.bitrateKbps}k`,
        '-g',
        String(o.gop),
        '-keyint_min',
        String(o.gop),
        '-auto-alt-ref',
        '0',
        '-f',
        'ivf',
      ],
      path,
    );
  }
  return readIvf(readFileSync(path));
}

/** Encodes (once, cached) and loads an Opus clip; `silence` needs no ffmpeg. */
export async function prepareAudioClip(options: AudioClipOptions): Promise<EncodedClip> {
  const seconds = options.seconds ?? 10;
  if (options.source === 'silence') return silenceClip(seconds);
  const tone = options.source === 'tone';
  const key = { v: 1, seconds, source: tone ? 'tone' : fileKey(options.source) };
  const path = cachePath('audio', key, 'ogg');
  if (!existsSync(path)) {
    // The tone beeps (0.5 s on, 0.5 s off) so that receivers and the SFU's speaker detection see both.
    const input = tone
      ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000,volume='if(lt(mod(t,1),0.5),1,0)':eval=frame`]
      : ['-stream_loop', '-1', '-i', options.source];
    await ffmpeg(
      [
        ...input,
        '-t',
        String(seconds),
        '-vn',
        '-ac',
        '2',
        '-ar',
        '48000',
        '-c:a',
        'libopus',
        '-b:a',
        '48k',
        '-frame_duration',
        '20',
        '-application',
        'voip',
        '-f',
        'ogg',
      ],
      path,
    );
  }
  return trimTo(readOggOpus(readFileSync(path)), seconds);
}

/**
 * The clip cut to `seconds`: the Opus encoder's delay makes ffmpeg write one packet more than the
 * duration asked for, and a looping bot would drift by that packet on every loop.
 */
function trimTo(clip: EncodedClip, seconds: number): EncodedClip {
  const limit = seconds * clip.clockRate;
  let total = 0;
  let n = 0;
  while (n < clip.frames.length && total + clip.frames[n]!.duration <= limit) total += clip.frames[n++]!.duration;
  return n === clip.frames.length ? clip : { ...clip, frames: clip.frames.slice(0, n) };
}

/** Reads an IVF file of VP8 frames. */
export function readIvf(buf: Buffer): EncodedClip {
  if (buf.length < 32 || buf.toString('ascii', 0, 4) !== 'DKIF') throw new Error('not an IVF file');
  if (buf.toString('ascii', 8, 12) !== 'VP80') throw new Error(`IVF codec ${buf.toString('ascii', 8, 12)} is not VP8`);
  const rate = buf.readUInt32LE(16);
  const scale = buf.readUInt32LE(20);
  if (rate === 0 || scale === 0) throw new Error('IVF file without a frame rate');
  const duration = Math.round((90_000 * scale) / rate);
  const frames: ClipFrame[] = [];
  for (let off = buf.readUInt16LE(6); off + 12 <= buf.length;) {
    const size = buf.readUInt32LE(off);
    const data = buf.subarray(off + 12, off + 12 + size);
    if (data.length < size) break;
    frames.push({ payloads: packetizeVp8(data), key: isVp8KeyFrame(data), duration });
    off += 12 + size;
  }
  if (!frames.some((f) => f.key)) throw new Error('IVF file without a key frame');
  return { kind: 'video', codec: 'vp8', clockRate: 90_000, frames, width: buf.readUInt16LE(12), height: buf.readUInt16LE(14) };
}

/** Reads the Opus packets of an Ogg file (RFC 7845), skipping the two header packets. */
export function readOggOpus(buf: Buffer): EncodedClip {
  const packets: Buffer[] = [];
  let partial: Buffer[] = [];
  for (let off = 0; off + 27 <= buf.length;) {
    if (buf.toString('ascii', off, off + 4) !== 'OggS') throw new Error(`Ogg: no page at byte ${off}`);
    const segments = buf[off + 26]!;
    const table = buf.subarray(off + 27, off + 27 + segments);
    let body = off + 27 + segments;
    for (const lacing of table) {
      partial.push(buf.subarray(body, body + lacing));
      body += lacing;
      if (lacing < 255) {
        packets.push(Buffer.concat(partial));
        partial = [];
      }
    }
    off = body;
  }
  if (packets[0]?.toString('ascii', 0, 8) !== 'OpusHead') throw new Error('not an Ogg Opus file');
  const frames = packets
    .slice(2)
    .filter((p) => p.length > 0)
    .map((p) => ({ payloads: [p], key: true, duration: opusPacketSamples(p) }));
  if (frames.length === 0) throw new Error('Ogg Opus file without audio');
  return { kind: 'audio', codec: 'opus', clockRate: 48_000, frames };
}

/** Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 §3.1). */
export function opusPacketSamples(packet: Uint8Array): number {
  const toc = packet[0] ?? 0;
  const config = toc >> 3;
  const frameSamples =
    config < 12 ? [480, 960, 1920, 2880][config % 4]! : config < 16 ? [480, 960][config % 2]! : [120, 240, 480, 960][config % 4]!;
  const code = toc & 3;
  const count = code === 0 ? 1 : code === 3 ? (packet[1] ?? 0) & 0x3f : 2;
  return frameSamples * Math.max(1, count);
}

/** 20 ms Opus silence frames (CELT, no ffmpeg needed). */
export function silenceClip(seconds: number): EncodedClip {
  const frame = Buffer.from([0xf8, 0xff, 0xfe]);
  const n = Math.max(1, Math.round(seconds * 50));
  return {
    kind: 'audio',
    codec: 'opus',
    clockRate: 48_000,
    frames: Array.from({ length: n }, () => ({ payloads: [frame], key: true, duration: 960 })),
  };
}
