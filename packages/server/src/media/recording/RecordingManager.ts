/**
 * Recordings on disk: `<dir>/<id>.webm` (VP8/Opus) or `<id>.mkv` (H.264) plus `<id>.json`
 * metadata. Starts and stops Recorders, lists finished and running recordings, deletes them (on
 * request, or by retention once they ended `retentionMs` ago), and finalizes every running one on
 * close. Composed room recordings are listed here too (stream `room:<room>`) but belong to the
 * room recordings, which delete them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParleyError } from '@parley-rtc/protocol';
import { z } from 'zod';
import type { Logger } from '../../util/logger.ts';
import type { StreamSource } from '../sources/StreamSource.ts';
import { Recorder, recordingFormat } from './Recorder.ts';

export const recordingIdSchema = z.string().regex(/^[a-z0-9-]{1,64}$/);

const recordingInfoSchema = z.object({
  id: recordingIdSchema,
  stream: z.string(),
  startedAt: z.string(),
  endedAt: z.string().optional(),
  durationMs: z.number(),
  bytes: z.number(),
  state: z.enum(['recording', 'done', 'empty']),
  /** The file type; metadata written before H.264 recordings has none (WebM). */
  container: z.enum(['webm', 'mkv']).default('webm'),
  /** The video codec, null for audio only (metadata written before H.264 recordings: VP8). */
  video: z.enum(['vp8', 'h264']).nullable().default('vp8'),
});
export type RecordingInfo = z.infer<typeof recordingInfoSchema>;

/** A finished recording's file for download and playback. */
export interface RecordingFile {
  path: string;
  contentType: 'video/webm' | 'video/x-matroska';
  /** The download's file name. */
  filename: string;
}

export class RecordingManager {
  readonly dir: string;
  readonly #active = new Map<string, { recorder: Recorder; info: RecordingInfo }>();
  readonly #log: Logger;
  #closed = false;

  readonly #onFinished: ((info: RecordingInfo) => void) | undefined;
  readonly #retentionMs: number | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;

  constructor(dir: string, log: Logger, onFinished?: (info: RecordingInfo) => void, retentionMs?: number) {
    this.dir = dir;
    this.#log = log;
    this.#onFinished = onFinished;
    this.#retentionMs = retentionMs;
    mkdirSync(dir, { recursive: true });
    if (retentionMs !== undefined) {
      this.#sweepTimer = setInterval(() => this.sweep(), Math.min(retentionMs, 3_600_000));
      this.#sweepTimer.unref();
    }
  }

  #pathOf(info: Pick<RecordingInfo, 'id' | 'container'>): string {
    return join(this.dir, `${info.id}.${info.container}`);
  }

  /** Starts recording `source`; throws UNSUPPORTED for codecs it cannot record without transcoding (VP8, H.264 and Opus it can). */
  start(source: StreamSource): RecordingInfo {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    for (const { info } of this.#active.values()) {
      if (info.stream === source.name) return { ...info };
    }
    const format = recordingFormat(source);
    const id = `${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const info: RecordingInfo = {
      id,
      stream: source.name,
      startedAt: new Date().toISOString(),
      durationMs: 0,
      bytes: 0,
      state: 'recording',
      container: format.container,
      video: format.video ?? null,
    };
    const recorder = new Recorder(source, this.#pathOf(info), (reason) => {
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
    if (!wrote) rmSync(this.#pathOf(info), { force: true });
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

  /** The file of a finished recording, undefined unless it is done and has a non-empty file. */
  fileOf(id: string): RecordingFile | undefined {
    const info = this.get(id);
    if (info?.state !== 'done') return undefined;
    const path = this.#pathOf(info);
    if (!existsSync(path) || statSync(path).size === 0) return undefined;
    const contentType = info.container === 'mkv' ? 'video/x-matroska' : 'video/webm';
    return { path, contentType, filename: `${info.stream.replace(/[^A-Za-z0-9_.-]/g, '_')}-${id}.${info.container}` };
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

  /**
   * Deletes a recording's file and metadata (a running one is stopped first). False when there is
   * no such recording; FORBIDDEN for a composed room recording (the room's recordings own it).
   */
  remove(id: string): boolean {
    const info = this.get(id);
    if (!info) return false;
    if (isRoomComposition(info)) {
      throw new ParleyError(
        'FORBIDDEN',
        `${id} is a room recording's composed file: delete it with DELETE /api/v1/rooms/:room/recordings/${id}`,
      );
    }
    if (this.#active.has(id)) this.stop(id);
    rmSync(this.#pathOf(info), { force: true });
    rmSync(join(this.dir, `${id}.json`), { force: true });
    this.#log.info({ id, stream: info.stream }, 'recording deleted');
    return true;
  }

  /** Retention: deletes stream recordings that ended more than `retentionMs` ago; returns how many. */
  sweep(now = Date.now()): number {
    const keep = this.#retentionMs;
    if (keep === undefined || this.#closed) return 0;
    let n = 0;
    for (const info of this.list()) {
      if (info.state === 'recording' || isRoomComposition(info) || info.endedAt === undefined) continue;
      if (now - Date.parse(info.endedAt) <= keep) continue;
      try {
        if (this.remove(info.id)) n++;
      } catch (err) {
        this.#log.warn({ err, id: info.id }, 'retention could not delete a recording');
      }
    }
    return n;
  }

  #writeInfo(info: RecordingInfo): void {
    try {
      writeFileSync(join(this.dir, `${info.id}.json`), JSON.stringify(info));
    } catch (err) {
      this.#log.error({ err, id: info.id }, 'cannot write recording metadata');
    }
  }

  /** Finalizes every running recording and stops retention. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#sweepTimer) clearInterval(this.#sweepTimer);
    this.#sweepTimer = undefined;
    for (const id of [...this.#active.keys()]) this.stop(id);
  }
}

/** A room recording's composed file, registered here for playback and listing (RoomRecordings). */
function isRoomComposition(info: RecordingInfo): boolean {
  return info.stream.startsWith('room:');
}
