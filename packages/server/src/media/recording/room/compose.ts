/**
 * The composition of a room recording: one ffmpeg run over the per-track files, with a filter
 * graph built from each track's timing on the room clock. Video: a black canvas; the layout
 * changes whenever the set of tracks that carry media changes (a grid of equal tiles for the
 * tracks active in that interval); each tile is the track's frames shifted to their room time
 * (`setpts`) and overlaid only while that interval lasts. Audio: each track shifted to its room
 * time (`adelay`), gaps filled with silence (`aresample=async`), then mixed (`amix`). Layout: layout.ts. Output: VP8
 * + Opus WebM, so `recording:<id>` plays it without transcoding.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { RoomRecordingTrack } from '@parley-rtc/protocol';
import { cellOf, layoutIntervals, type SpeakerChange } from './layout.ts';

export { gridCell, layoutIntervals } from './layout.ts';

export interface ComposeInput {
  /** Tracks with files, and the path of each. */
  tracks: ReadonlyArray<RoomRecordingTrack & { path: string }>;
  durationMs: number;
  /** Who spoke when (room ms): with many tiles the speaker gets the large one. */
  speakers?: readonly SpeakerChange[];
  width: number;
  height: number;
  fps: number;
  output: string;
}

const sec = (ms: number) => (Math.max(0, ms) / 1000).toFixed(3);

/** ffmpeg arguments for the composition (inputs, filter graph, VP8/Opus WebM output). */
export function composeArgs(input: ComposeInput): string[] {
  const { width: W, height: H, fps } = input;
  const dur = sec(input.durationMs);
  const videos = input.tracks.filter((t) => t.kind === 'video');
  const audios = input.tracks.filter((t) => t.kind === 'audio');
  const args = ['-nostdin', '-hide_banner', '-loglevel', 'error', '-y'];
  for (const t of [...videos, ...audios]) args.push('-i', t.path);
  const f: string[] = [`color=c=black:s=${W}x${H}:r=${fps}:d=${dur}[base0]`];
  const intervals = layoutIntervals(videos, input.durationMs, input.speakers);
  const uses = videos.map((_, v) => intervals.filter((iv) => iv.active.includes(v)));
  let base = 0;
  videos.forEach((t, v) => {
    const n = uses[v]!.length;
    if (n === 0) return;
    const shifted = `[${v}:v]setpts=PTS-STARTPTS+${sec(t.startMs ?? 0)}/TB,fps=${fps}`;
    f.push(n === 1 ? `${shifted}[v${v}_0]` : `${shifted},split=${n}${uses[v]!.map((_, k) => `[v${v}_${k}]`).join('')}`);
    uses[v]!.forEach((iv, k) => {
      const cell = cellOf(iv, v, W, H);
      f.push(
        `[v${v}_${k}]scale=${cell.w}:${cell.h}:force_original_aspect_ratio=decrease,` +
          `pad=${cell.w}:${cell.h}:(ow-iw)/2:(oh-ih)/2[t${v}_${k}]`,
      );
      f.push(
        `[base${base}][t${v}_${k}]overlay=${cell.x}:${cell.y}:eof_action=pass:enable='between(t,${sec(iv.from)},${sec(iv.to)})'[base${base + 1}]`,
      );
      base++;
    });
  });
  f.push(`[base${base}]format=yuv420p[vout]`);
  if (audios.length === 0) f.push(`anullsrc=r=48000:cl=stereo,atrim=0:${dur}[aout]`);
  else {
    audios.forEach((t, a) => {
      const ms = Math.round(t.startMs ?? 0);
      f.push(`[${videos.length + a}:a]aresample=48000:async=1:first_pts=0,adelay=${ms}:all=1[a${a}]`);
    });
    const inputs = audios.map((_, a) => `[a${a}]`).join('');
    const mix = audios.length === 1 ? inputs : `${inputs}amix=inputs=${audios.length}:duration=longest:normalize=0,`;
    f.push(`${mix}apad=whole_dur=${dur},atrim=0:${dur}[aout]`);
  }
  args.push('-filter_complex', f.join(';'), '-map', '[vout]', '-map', '[aout]', '-t', dur);
  args.push('-c:v', 'libvpx', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1500k', '-g', String(fps * 2), '-auto-alt-ref', '0');
  args.push('-c:a', 'libopus', '-b:a', '64k', '-ar', '48000', '-ac', '2', '-progress', 'pipe:1', '-nostats', '-f', 'webm', input.output);
  return args;
}

/** One running composition; `done` settles when ffmpeg exits. `cancel()` kills it. */
export class Composition {
  readonly done: Promise<void>;
  #child: ChildProcess | undefined;
  progress = 0;

  constructor(ffmpeg: string, input: ComposeInput, onProgress?: (p: number) => void) {
    const args = composeArgs(input);
    this.done = new Promise((resolve, reject) => {
      const child = spawn(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      this.#child = child;
      let err = '';
      child.stderr.on('data', (d: Buffer) => {
        err = (err + d.toString()).slice(-2000);
      });
      child.stdout.on('data', (d: Buffer) => {
        const m = /out_time_us=(\d+)/.exec(
          d
            .toString()
            .split('\n')
            .reverse()
            .find((l) => l.startsWith('out_time_us=')) ?? '',
        );
        if (m && input.durationMs > 0) {
          this.progress = Math.min(0.99, Number(m[1]) / 1000 / input.durationMs);
          onProgress?.(this.progress);
        }
      });
      child.on('error', reject);
      child.on('close', (code, signal) => {
        this.#child = undefined;
        if (code === 0) resolve();
        else
          reject(
            new Error(`ffmpeg ${signal ? `was killed (${signal})` : `exited with ${code}`}: ${err.trim().split('\n').slice(-3).join(' ')}`),
          );
      });
    });
  }

  cancel(): void {
    this.#child?.kill('SIGKILL');
  }
}
