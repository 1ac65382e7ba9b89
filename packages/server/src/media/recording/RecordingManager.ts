/**
 * Recordings on disk: `<dir>/<id>.webm` plus `<id>.json` metadata. Starts and stops Recorders,
 * lists finished and running recordings, and finalizes every running one on close.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParleyError } from '@parley-rtc/protocol';
import { z } from 'zod';
import type { Logger } from '../../util/logger.ts';
import type { StreamSource } from '../sources/StreamSource.ts';
import { Recorder } from './Recorder.ts';

export const recordingIdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/);

const recordingInfoSchema = z.object({
  id: recordingIdSchema,
  stream: z.string(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  durationMs: z.number(),
  bytes: z.number(),
  state: z.enum(['recording', 'done', 'empty']),
});
export type RecordingInfo = z.infer<typeof recordingInfoSchema>;

export class RecordingManager {
  readonly dir: string;
  readonly #active = new Map<string, { recorder: Recorder; info: RecordingInfo }>();
  readonly #log: Logger;
  #closed = false;

  readonly #onFinished: ((info: RecordingInfo) => void) | undefined;

  constructor(dir: string, log: Logger, onFinished?: (info: RecordingInfo) => void) {
    this.dir = dir;
    this.#log = log;
    this.#onFinished = onFinished;
    mkdirSync(dir, { recursive: true });
  }

  pathOf(id: string): string {
    return join(this.dir, `${id}.webm`);
  }

  /** Starts recording `source`; throws UNSUPPORTED for codecs WebM cannot hold without transcoding. */
  start(source: StreamSource): RecordingInfo {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    for (const { info } of this.#active.values()) {
      if (info.stream === source.name) return { ...info };
    }
    const id = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const info: RecordingInfo = {
      id,
      stream: source.name,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      bytes: 0,
      state: 'recording',
    };
    const recorder = new Recorder(source, this.pathOf(id), (reason) => {
      this.#log.info({ id, reason }, 'recorded stream ended');
      this.stop(id);
    });
    this.#active.set(id, { recorder, info });
    this.#writeInfo(info);
    this.#log.info({ id, stream: source.name }, 'recording started');
    return { ...info };
  }

  /** Stops and finalizes a running recording; returns its final info. */
  stop(id: string): RecordingInfo {
    const entry = this.#active.get(id);
    if (!entry) {
      const done = this.get(id);
      if (done) return done;
      throw new ParleyError('NOT_FOUND', `no recording ${id}`);
    }
    this.#active.delete(id);
    const wrote = entry.recorder.finish();
    const info: RecordingInfo = {
      ...entry.info,
      endedAt: new Date().toISOString(),
      durationMs: entry.recorder.durationMs,
      bytes: entry.recorder.bytes,
      state: wrote ? 'done' : 'empty',
    };
    if (!wrote) rmSync(this.pathOf(id), { force: true });
    this.#writeInfo(info);
    this.#log.info({ id, durationMs: info.durationMs }, 'recording stopped');
    try {
      this.#onFinished?.(info);
    } catch (err) {
      this.#log.error({ err, id }, 'recording-finished listener failed');
    }
    return info;
  }

  /** Stops recordings of a stream (when its publisher leaves). */
  stopStream(stream: string): void {
    for (const [id, { info }] of [...this.#active]) if (info.stream === stream) this.stop(id);
  }

  get(id: string): RecordingInfo | undefined {
    if (!recordingIdSchema.safeParse(id).success) return undefined;
    const active = this.#active.get(id);
    if (active) return { ...active.info, durationMs: active.recorder.durationMs, bytes: active.recorder.bytes };
    const file = join(this.dir, `${id}.json`);
    if (!existsSync(file)) return undefined;
    try {
      return recordingInfoSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
    } catch {
      return undefined;
    }
  }

  /** Finished recordings with a playable file. */
  isPlayable(id: string): boolean {
    const info = this.get(id);
    return info?.state === 'done' && existsSync(this.pathOf(id)) && statSync(this.pathOf(id)).size > 0;
  }

  list(): RecordingInfo[] {
    const out: RecordingInfo[] = [];
    for (const name of readdirSync(this.dir)) {
      if (!name.endsWith('.json')) continue;
      const info = this.get(name.slice(0, -5));
      if (info) out.push(info);
    }
    return out.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  #writeInfo(info: RecordingInfo): void {
    try {
      writeFileSync(join(this.dir, `${info.id}.json`), JSON.stringify(info));
    } catch (err) {
      this.#log.error({ err, id: info.id }, 'cannot write recording metadata');
    }
  }

  /** Finalizes every running recording. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#active.keys()]) this.stop(id);
  }
}
