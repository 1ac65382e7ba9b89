/**
 * Media for A/V sync tests: a VP8 clip (every frame a key frame) that is black except for a white
 * flash, and an audio file that is silent except for a 1 kHz beep, both at the same times in a
 * loop; and detectors that find flashes (signalstats YAVG) and beeps (silencedetect) in a file.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const LOOP_S = 3;
export const FLASH_AT_S = 1;

/** Writes flash.ivf (or dark.ivf without the flash) and beep.wav (or quiet.wav) into `dir`. */
export async function makeSyncClip(dir: string, withEvent: boolean): Promise<{ video: string; audio: string }> {
  const video = join(dir, withEvent ? 'flash.ivf' : 'dark.ivf');
  const audio = join(dir, withEvent ? 'beep.wav' : 'quiet.wav');
  const on = `between(t,${FLASH_AT_S},${FLASH_AT_S + 0.099})`;
  const vf = withEvent ? `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='${on}'` : 'null';
  await run('ffmpeg', [
    ...['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `color=c=black:s=320x240:r=30:d=${LOOP_S}`],
    ...['-vf', vf, '-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '300k', '-g', '1', '-auto-alt-ref', '0'],
    ...['-f', 'ivf', video],
  ]);
  const af = withEvent ? `volume='if(${on.replace(/,/g, '\\,')},1,0)':eval=frame` : 'volume=0';
  await run('ffmpeg', [
    ...['-nostdin', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `sine=frequency=1000:sample_rate=48000:duration=${LOOP_S}`],
    ...['-af', af, '-ac', '2', audio],
  ]);
  return { video, audio };
}

/** Times (s) at which the picture's mean luma jumps above `threshold`. */
export async function flashOnsets(file: string, threshold = 60): Promise<number[]> {
  const { stdout } = await run(
    'ffmpeg',
    [
      '-nostdin',
      '-v',
      'error',
      '-i',
      file,
      '-an',
      '-vf',
      'signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-',
      '-f',
      'null',
      '-',
    ],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const out: number[] = [];
  let time = 0;
  let bright = false;
  for (const line of stdout.split('\n')) {
    const t = /pts_time:([\d.]+)/.exec(line);
    if (t) time = Number(t[1]);
    const y = /YAVG=([\d.]+)/.exec(line);
    if (y) {
      const now = Number(y[1]) > threshold;
      if (now && !bright) out.push(time);
      bright = now;
    }
  }
  return out;
}

/** Times (s) at which sound starts after at least 0.3 s of silence. */
export async function beepOnsets(file: string): Promise<number[]> {
  const { stderr } = await run(
    'ffmpeg',
    ['-nostdin', '-v', 'info', '-i', file, '-vn', '-af', 'asetnsamples=n=48,silencedetect=n=-35dB:d=0.3', '-f', 'null', '-'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  return [...stderr.matchAll(/silence_end: ([\d.]+)/g)].map((m) => Number(m[1]));
}

export interface ProbedStream {
  codec_type: string;
  codec_name: string;
  width?: number;
  height?: number;
}

/** Seconds of a file (container duration), its container format, its stream kinds and streams. */
export async function probe(file: string): Promise<{ duration: number; format: string; kinds: string[]; streams: ProbedStream[] }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-show_entries',
    'format=duration,format_name:stream=codec_type,codec_name,width,height',
    '-of',
    'json',
    file,
  ]);
  const j = JSON.parse(stdout) as { format: { duration?: string; format_name: string }; streams: ProbedStream[] };
  return {
    duration: Number(j.format.duration ?? 0),
    format: j.format.format_name,
    kinds: j.streams.map((s) => s.codec_type),
    streams: j.streams,
  };
}

/** The first video stream as ffprobe sees it after decoding every frame (`nb_read_frames` counted). */
export async function probeVideoFrames(file: string): Promise<{ codec_name: string; width: number; height: number; frames: number }> {
  const { stdout } = await run('ffprobe', [
    '-v',
    'error',
    '-count_frames',
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=codec_name,width,height,nb_read_frames',
    '-of',
    'json',
    file,
  ]);
  const [s] = (JSON.parse(stdout) as { streams: Array<{ codec_name: string; width: number; height: number; nb_read_frames: string }> })
    .streams;
  if (!s) throw new Error(`${file} has no video stream`);
  return { codec_name: s.codec_name, width: s.width, height: s.height, frames: Number(s.nb_read_frames) };
}

/** Decodes every frame; throws with ffmpeg's errors if any. */
export async function decodeFully(file: string): Promise<void> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', file, '-f', 'null', '-']);
  if (stderr.trim() !== '') throw new Error(`${file} does not decode cleanly: ${stderr.trim().split('\n').slice(0, 3).join(' ')}`);
}
