/** A room recording's chat: the log's chat entries of the period as JSON and as WebVTT captions. */
import type { LogEntry } from '@parley-rtc/protocol';

function vttTime(ms: number): string {
  const t = Math.max(0, Math.round(ms));
  const h = Math.floor(t / 3_600_000);
  const m = Math.floor((t % 3_600_000) / 60_000);
  const s = Math.floor((t % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(s)}.${pad(t % 1000, 3)}`;
}

/** `atMs` of each message is its time since the recording started; captions show for 4 s. */
export function chatFiles(entries: readonly LogEntry[], startedAt: number, endedAt: number): { json: string; vtt: string } {
  const chat = entries
    .filter((e) => e.kind === 'chat' && e.ts >= startedAt - 1000 && e.ts <= endedAt)
    .map((e) => ({ seq: e.seq, ts: e.ts, atMs: Math.max(0, e.ts - startedAt), from: e.from, text: e.kind === 'chat' ? e.text : '' }));
  const cues = chat.map((c) => `${vttTime(c.atMs)} --> ${vttTime(c.atMs + 4000)}\n${c.from.name}: ${c.text.replace(/-->/g, '->')}\n`);
  return { json: JSON.stringify({ messages: chat }, null, 1), vtt: `WEBVTT\n\n${cues.join('\n')}` };
}
