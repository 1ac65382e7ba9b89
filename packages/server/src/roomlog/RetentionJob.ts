import type { Logger } from '../util/logger.ts';
import type { LogStore, PrunePolicy } from './LogStore.ts';

export interface RetentionLimits {
  maxAgeMs?: number | undefined;
  maxBytes?: number | undefined;
}

export interface RetentionConfig extends RetentionLimits {
  intervalMs: number;
  /** Per-room overrides; a field set here replaces the global one. */
  rooms: Record<string, RetentionLimits>;
}

export interface RetentionReport {
  rooms: number;
  entries: number;
  filesDeleted: number;
}

export interface RetentionJobOptions {
  store: LogStore;
  config: RetentionConfig;
  /** Deletes blobs that lost their last reference; returns how many were deleted. */
  releaseFiles: (sha256s: string[]) => Promise<number>;
  log: Logger;
  now?: () => number;
}

/** The limits that apply to one room. */
export function policyFor(config: RetentionConfig, room: string): RetentionLimits {
  const override = config.rooms[room];
  return {
    maxAgeMs: override?.maxAgeMs ?? config.maxAgeMs,
    maxBytes: override?.maxBytes ?? config.maxBytes,
  };
}

/** Whether retention has anything to enforce at all. */
export function retentionEnabled(config: RetentionConfig): boolean {
  return (
    config.maxAgeMs !== undefined ||
    config.maxBytes !== undefined ||
    Object.values(config.rooms).some((r) => r.maxAgeMs !== undefined || r.maxBytes !== undefined)
  );
}

/**
 * Enforces per-room max age and max size every `intervalMs`: cuts each room's oldest entries,
 * then deletes files nothing references any more. Runs never overlap; `stop()` clears the
 * timer and waits for a running pass.
 */
export class RetentionJob {
  readonly #options: RetentionJobOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<RetentionReport> | undefined;
  #stopped = true;

  constructor(options: RetentionJobOptions) {
    this.#options = options;
  }

  get running(): boolean {
    return !this.#stopped;
  }

  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#schedule();
  }

  /** Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => {});
  }

  /** One pass over every room; concurrent calls share the running pass. */
  runOnce(): Promise<RetentionReport> {
    this.#running ??= this.#pass().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.runOnce()
        .then(
          (report) => {
            if (report.entries > 0 || report.filesDeleted > 0) this.#options.log.info(report, 'retention pass');
          },
          (err: unknown) => this.#options.log.error({ err }, 'retention pass failed'),
        )
        .finally(() => this.#schedule());
    }, this.#options.config.intervalMs);
    this.#timer.unref();
  }

  async #pass(): Promise<RetentionReport> {
    const { store, config, releaseFiles } = this.#options;
    const now = (this.#options.now ?? Date.now)();
    const report: RetentionReport = { rooms: 0, entries: 0, filesDeleted: 0 };
    for (const room of await store.listRooms()) {
      const limits = policyFor(config, room);
      const policy: PrunePolicy = {};
      if (limits.maxAgeMs !== undefined) policy.beforeTs = now - limits.maxAgeMs;
      if (limits.maxBytes !== undefined) policy.maxBytes = limits.maxBytes;
      if (policy.beforeTs === undefined && policy.maxBytes === undefined) continue;
      const result = await store.prune(room, policy);
      if (result.entries === 0) continue;
      report.rooms++;
      report.entries += result.entries;
      report.filesDeleted += await releaseFiles(result.releasedFiles);
    }
    return report;
  }
}
