/**
 * Drives aiortc_room_client.py (Debian's python3-aiortc) from node tests: a WHIP publisher or a
 * WHEP viewer that reports what it sent and decoded as JSON lines. `close()` closes its stdin (it
 * DELETEs its resource and exits) and, past a deadline, kills it by PID.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@parley-rtc/test-support/poll';

const PYTHON = '/usr/bin/python3';
const SCRIPT = fileURLToPath(new URL('./aiortc_room_client.py', import.meta.url));

/** Why aiortc tests cannot run here, or undefined when they can. */
export const aiortcMissing: string | undefined = (() => {
  const r = spawnSync(PYTHON, ['-c', 'import aiortc, numpy'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'python3-aiortc is not installed (apt-get install -y python3-aiortc)';
})();

export interface AiortcStats {
  state: string;
  video: number;
  audio: number;
  width: number;
  height: number;
  /** Mean luma of the left edge of the last decoded picture (tells the test's publishers apart). */
  luma: number;
  /** The received video's codec (`vp8`, `h264`), once a frame arrived. */
  codec: string | null;
}

export interface AiortcAnswered {
  status: number;
  location: string | null;
  etag: string | null;
  contentType: string | null;
  /** The error body when the POST failed. */
  body: string | null;
}

export class AiortcClient {
  readonly #child: ChildProcess;
  readonly #exited: Promise<void>;
  answered: AiortcAnswered | undefined;
  patched: number | undefined;
  stats: AiortcStats | undefined;
  readonly stderr: string[] = [];

  constructor(mode: 'whip' | 'whep', url: string, flags: string[] = []) {
    this.#child = spawn(PYTHON, [SCRIPT, mode, url, ...flags], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.#exited = new Promise((resolve) => this.#child.once('exit', () => resolve()));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => {
      let msg: { event?: string } & Record<string, unknown>;
      try {
        msg = JSON.parse(line) as typeof msg;
      } catch {
        return;
      }
      if (msg.event === 'answered') this.answered = msg as unknown as AiortcAnswered;
      else if (msg.event === 'patched') this.patched = msg.status as number;
      else if (msg.event === 'stats') this.stats = msg as unknown as AiortcStats;
    });
    createInterface({ input: this.#child.stderr! }).on('line', (line) => this.stderr.push(line));
  }

  get running(): boolean {
    return this.#child.exitCode === null && this.#child.signalCode === null;
  }

  describe(): string {
    return JSON.stringify({ answered: this.answered, stats: this.stats, stderr: this.stderr.slice(-5) });
  }

  async waitAnswered(timeoutMs = 20_000): Promise<AiortcAnswered> {
    await waitFor(
      () => this.answered !== undefined || !this.running,
      timeoutMs,
      'the aiortc client to POST its offer',
      () => this.describe(),
    );
    if (!this.answered) throw new Error(`the aiortc client exited: ${this.describe()}`);
    return this.answered;
  }

  /** Waits until `check(stats)` holds (the client reports twice a second). */
  async waitStats(what: string, check: (s: AiortcStats) => boolean, timeoutMs = 30_000): Promise<AiortcStats> {
    await waitFor(
      () => (this.stats !== undefined && check(this.stats)) || !this.running,
      timeoutMs,
      what,
      () => this.describe(),
    );
    if (!this.stats || !check(this.stats)) throw new Error(`the aiortc client exited before ${what}: ${this.describe()}`);
    return this.stats;
  }

  /** Frames decoded from now on: resolves once `n` more video frames arrived. */
  async moreVideo(n: number, timeoutMs = 30_000): Promise<void> {
    const from = this.stats?.video ?? 0;
    await this.waitStats(`${n} more decoded video frames`, (s) => s.video >= from + n, timeoutMs);
  }

  /** Idempotent: closes stdin (the client DELETEs and exits), then kills it after `graceMs`. */
  async close(graceMs = 5000): Promise<void> {
    if (this.running) this.#child.stdin?.end();
    const timer = setTimeout(() => {
      if (this.running && this.#child.pid !== undefined) process.kill(this.#child.pid, 'SIGKILL');
    }, graceMs);
    await this.#exited;
    clearTimeout(timer);
  }
}
