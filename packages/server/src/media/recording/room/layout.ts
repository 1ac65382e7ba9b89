/**
 * Where each video track goes in the composed picture over time. The time line is cut wherever the
 * set of video tracks carrying media changes, and (with many tracks) wherever the active speaker
 * changes for good; each interval is a grid of equal tiles, or, with `FEATURE_MIN` or more tiles
 * and a speaker whose video is on, the speaker in a large tile with the others in a column.
 */
import type { RoomRecordingTrack } from '@parley-rtc/protocol';

/** From this many tiles on, the active speaker gets the large tile. */
export const FEATURE_MIN = 4;
/** A speaker change shorter than this is not shown (no flapping layouts). */
export const SPEAKER_HOLD_MS = 2000;

export interface Interval {
  from: number;
  to: number;
  /** Indexes into the video tracks. */
  active: number[];
  /** The index of the featured (speaking) track, if the interval has a large tile. */
  featured?: number;
}

export interface Cell {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface SpeakerChange {
  atMs: number;
  /** The member speaking from then on (null: nobody). */
  member: string | null;
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** Speaker changes that last at least SPEAKER_HOLD_MS (the last one always). */
export function heldSpeakers(changes: readonly SpeakerChange[]): SpeakerChange[] {
  return changes.filter((c, i) => {
    const next = changes[i + 1];
    return next === undefined || next.atMs - c.atMs >= SPEAKER_HOLD_MS;
  });
}

type VideoTrack = Pick<RoomRecordingTrack, 'segments'> & { member?: { id: string } };

/** The layout intervals of a recording (room ms). */
export function layoutIntervals(videos: readonly VideoTrack[], durationMs: number, speakers: readonly SpeakerChange[] = []): Interval[] {
  const held = heldSpeakers(speakers);
  const points = new Set<number>([0, durationMs]);
  for (const v of videos) for (const [a, b] of v.segments) for (const p of [a, b]) if (p > 0 && p < durationMs) points.add(p);
  for (const s of held) if (s.atMs > 0 && s.atMs < durationMs) points.add(s.atMs);
  const sorted = [...points].sort((a, b) => a - b);
  const out: Interval[] = [];
  for (let i = 0; i + 1 < sorted.length; i++) {
    const from = sorted[i]!;
    const to = sorted[i + 1]!;
    const mid = (from + to) / 2;
    const active = videos.flatMap((v, idx) => (v.segments.some(([a, b]) => a <= mid && mid <= b) ? [idx] : []));
    const speaker = held.filter((s) => s.atMs <= mid).at(-1)?.member ?? null;
    const featuredIdx = active.length >= FEATURE_MIN && speaker ? active.find((idx) => videos[idx]!.member?.id === speaker) : undefined;
    const iv: Interval = featuredIdx === undefined ? { from, to, active } : { from, to, active, featured: featuredIdx };
    const last = out[out.length - 1];
    if (last && last.to === from && last.active.join() === active.join() && last.featured === iv.featured) last.to = to;
    else out.push(iv);
  }
  return out.filter((i) => i.active.length > 0);
}

/** A grid of `n` equal tiles in a `width`×`height` canvas: cell i's rectangle. */
export function gridCell(n: number, i: number, width: number, height: number): Cell {
  const cols = Math.ceil(Math.sqrt(n));
  const rows = Math.ceil(n / cols);
  const w = even(width / cols);
  const h = even(height / rows);
  const row = Math.floor(i / cols);
  // the last row's tiles are centred when it is not full
  const inRow = row === rows - 1 ? n - row * cols : cols;
  const x = Math.floor((width - inRow * w) / 2) + (i % cols) * w;
  return { x, y: Math.floor((height - rows * h) / 2) + row * h, w, h };
}

/** Track `v`'s rectangle in interval `iv`. */
export function cellOf(iv: Interval, v: number, width: number, height: number): Cell {
  if (iv.featured === undefined) return gridCell(iv.active.length, iv.active.indexOf(v), width, height);
  const bigW = even((width * 3) / 4);
  if (v === iv.featured) return { x: 0, y: 0, w: bigW, h: even(height) };
  const others = iv.active.filter((x) => x !== iv.featured);
  const h = even(height / others.length);
  return { x: bigW, y: others.indexOf(v) * h, w: even(width - bigW), h };
}
