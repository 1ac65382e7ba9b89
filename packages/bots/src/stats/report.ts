/** What a bot reports (Bot.stats()) and how the CLIs print it. */
import type { KindTotals } from './Receivers.ts';

export interface ReceivedKind extends KindTotals {
  /** Milliseconds from our join to the first complete frame of this kind from that member. */
  firstFrameMs: number | undefined;
}

export interface ReceivedFrom {
  peerId: string;
  /** Undefined once the member has left. */
  name: string | undefined;
  video: ReceivedKind;
  audio: ReceivedKind;
}

export interface BotStats {
  id: string | undefined;
  name: string;
  room: string;
  state: string;
  mode: 'mesh' | 'sfu';
  /** Other members in the room now. */
  members: number;
  joinedMsAgo: number | undefined;
  sent: Partial<Record<'audio' | 'video', { frames: number; packets: number }>>;
  received: ReceivedFrom[];
  chat: { sent: number; received: number };
  /** Problems the bot worked around (most recent 50). */
  errors: string[];
  closeReason: string | undefined;
}

/** Percentiles of a list of numbers (nearest rank); undefined for an empty list. */
export function percentile(values: readonly number[], p: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Loss in percent: lost / (received + lost). */
export function lossPercent(received: number, lost: number): number {
  return received + lost === 0 ? 0 : (100 * lost) / (received + lost);
}

/** Formats a number for tables: fixed decimals, or `-` when unknown. */
export function fmt(value: number | undefined, decimals = 0): string {
  return value === undefined || !Number.isFinite(value) ? '-' : value.toFixed(decimals);
}

/** Renders rows as an aligned plain-text table (first row is the header). */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')).join('\n');
}

/**
 * One line per member a bot receives from, with rates over the interval since `previous`
 * (the snapshot printed last time): video fps and kbit/s, audio kbit/s, loss and jitter.
 */
export function describeReception(now: BotStats, previous: BotStats | undefined, intervalMs: number): string[] {
  const before = new Map(previous?.received.map((r) => [r.peerId, r]));
  const sec = Math.max(intervalMs, 1) / 1000;
  return now.received
    .filter((r) => r.name !== undefined)
    .map((r) => {
      const b = before.get(r.peerId);
      const fps = (r.video.frames - (b?.video.frames ?? 0)) / sec;
      const vkbps = ((r.video.bytes - (b?.video.bytes ?? 0)) * 8) / 1000 / sec;
      const akbps = ((r.audio.bytes - (b?.audio.bytes ?? 0)) * 8) / 1000 / sec;
      const loss = lossPercent(r.video.packets + r.audio.packets, r.video.lost + r.audio.lost);
      return `  from ${r.name}: video ${fmt(fps, 1)} fps ${fmt(vkbps)} kbit/s (${r.video.keyFrames} key frames), audio ${fmt(akbps)} kbit/s, loss ${fmt(loss, 2)} %, jitter ${fmt(Math.max(r.video.jitterMs, r.audio.jitterMs), 1)} ms`;
    });
}
