/**
 * Room recordings on this node: start/stop (server API, members with the `record` grant, or the
 * room's policy), the room's recording indicator (`recording_state`), the limits (size cap, disk
 * full: stopped with an error event), composition jobs (at most `composeConcurrency` at once; the
 * rest wait in line; interrupted ones are composed again at the next start), the
 * `roomRecordingFinished` server event (webhook `recording_finished`) and retention.
 *
 * On disk (the stream recordings' directory): `<id>/` holds the per-track files, chat.json,
 * chat.vtt and recording.json (the server API's view); the composed file is `<id>.webm` with an
 * `<id>.json` in the stream recordings' format, so `recording:<id>` plays it over WHEP and /offer.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ParleyError, roomRecordingSchema, type RecordingState, type RoomRecording as RoomRecordingInfo } from '@parley-rtc/protocol';
import type { LogStore } from '../../../roomlog/LogStore.ts';
import type { ServerEvents } from '../../../serverEvents.ts';
import type { Router } from '../../../sfu/Router.ts';
import type { SfuRooms } from '../../../sfu/SfuRooms.ts';
import type { Signaling } from '../../../signaling/Signaling.ts';
import type { Logger } from '../../../util/logger.ts';
import type { MediaConfig } from '../../config.ts';
import { Composition } from './compose.ts';
import { RoomRecording } from './RoomRecording.ts';

export interface RoomRecordingsOptions {
  dir: string;
  config: MediaConfig['roomRecording'];
  ffmpegPath: string;
  sfu: Pick<SfuRooms, 'publications' | 'holdSfu' | 'router' | 'on'>;
  signaling: Pick<Signaling, 'emitTo' | 'onMembership' | 'registry'>;
  events: ServerEvents;
  store: LogStore;
  log: Logger;
}

interface Entry {
  info: RoomRecordingInfo;
  rec: RoomRecording | undefined;
  composition: Composition | undefined;
  /** Stops following the router's active speaker. */
  offSpeakers?: (() => void) | undefined;
  /** Keeps the room in SFU mode while it is recorded (every track must pass the server). */
  hold?: { release: () => void } | undefined;
}

type StopError = { code: 'RECORDING_DISK_FULL' | 'RECORDING_SIZE_CAP' | 'INTERNAL'; message: string };

export class RoomRecordings {
  readonly dir: string;
  readonly #o: RoomRecordingsOptions;
  readonly #entries = new Map<string, Entry>();
  /** room → id of its running recording */
  readonly #active = new Map<string, string>();
  readonly #queue: string[] = [];
  readonly #offs: Array<() => void> = [];
  readonly #timers: NodeJS.Timeout[] = [];
  #running = 0;
  #closed = false;
  /** The most compositions that ran at once (metrics, tests). */
  peakComposing = 0;

  constructor(opts: RoomRecordingsOptions) {
    this.#o = opts;
    this.dir = opts.dir;
    mkdirSync(this.dir, { recursive: true });
    const ev = opts.events;
    this.#offs.push(
      ev.on('trackPublished', (room, member, track) => {
        const rec = this.#recordingOf(room);
        const pub = rec && opts.sfu.router(room)?.publication(track.id);
        if (rec && pub) rec.addTrack(pub, member, track.source);
      }),
      ev.on('trackUnpublished', (room, _member, track) => this.#recordingOf(room)?.endTrack(track.id)),
      // a room in mesh mode gets its router on the first publish after the recording started
      opts.sfu.on('router', (room, router) => {
        const id = this.#active.get(room);
        if (id) this.#followSpeakers(this.#entries.get(id)!, router);
      }),
      opts.signaling.onMembership({
        joined: (memberId, room) => {
          this.#applyPolicy(room);
          const id = this.#active.get(room);
          if (id) opts.signaling.emitTo(memberId, 'recording_state', this.#state(this.#entries.get(id)!));
        },
        resumed: (memberId, room) => {
          const id = this.#active.get(room);
          if (id) opts.signaling.emitTo(memberId, 'recording_state', this.#state(this.#entries.get(id)!));
        },
        roomSettingsChanged: (room) => this.#applyPolicy(room),
        left: (_memberId, room, members) => {
          const id = this.#active.get(room);
          if (id && members === 0) this.stop(id, 'room-empty');
        },
      }),
    );
    const tick = setInterval(() => this.#checkSizes(), 1000);
    tick.unref();
    this.#timers.push(tick);
    if (opts.config.retentionMs !== undefined) {
      const sweep = setInterval(() => this.sweep(), Math.min(opts.config.retentionMs, 3_600_000));
      sweep.unref();
      this.#timers.push(sweep);
    }
    // compositions a shutdown interrupted
    for (const info of this.#listDisk()) if (info.state === 'composing') this.#enqueue(info.id);
  }

  /** Room policy `alwaysRecord`: record while anyone is in the room; turning it off stops what it started. */
  #applyPolicy(room: string): void {
    if (this.#closed) return;
    const live = this.#o.signaling.registry.room(room);
    const id = this.#active.get(room);
    if (live?.alwaysRecord && live.members.size > 0 && !id) this.start(room, 'policy');
    else if (live && !live.alwaysRecord && id && this.#entries.get(id)?.info.startedBy === 'policy') this.stop(id, 'policy');
  }

  #recordingOf(room: string): RoomRecording | undefined {
    const id = this.#active.get(room);
    return id ? this.#entries.get(id)?.rec : undefined;
  }

  /** Starts recording a live room; the running recording when there is one. ROOM_NOT_FOUND for no such room. */
  start(room: string, startedBy: RoomRecordingInfo['startedBy']): RoomRecordingInfo {
    if (this.#closed) throw new ParleyError('SHUTTING_DOWN');
    if (!this.#o.signaling.registry.room(room)) throw new ParleyError('ROOM_NOT_FOUND', `no room ${room}`);
    const running = this.#active.get(room);
    if (running) return this.#view(this.#entries.get(running)!);
    const id = `room-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}-${randomBytes(3).toString('hex')}`;
    const rec = new RoomRecording({
      id,
      room,
      dir: this.dir,
      startedBy,
      store: this.#o.store,
      senderReportWaitMs: this.#o.config.senderReportWaitMs,
      onWriteError: (err) => this.#writeFailed(id, err),
    });
    const info: RoomRecordingInfo = {
      id,
      room,
      state: 'recording',
      startedBy,
      startedAt: rec.startedAt,
      endedAt: null,
      durationMs: 0,
      bytes: 0,
      progress: 0,
      tracks: [],
      files: [],
      stream: null,
    };
    const entry: Entry = { info, rec, composition: undefined };
    this.#entries.set(id, entry);
    this.#active.set(room, id);
    // every track must pass the server: a mesh room switches to the SFU while it is recorded
    entry.hold = this.#o.sfu.holdSfu(room, `recording:${id}`);
    for (const p of this.#o.sfu.publications(room)) rec.addTrack(p.publication, p.member, p.info.source);
    const router = this.#o.sfu.router(room);
    if (router) this.#followSpeakers(entry, router);
    this.#save(entry);
    this.#o.signaling.emitTo(room, 'recording_state', this.#state(entry));
    this.#o.log.info({ id, room, startedBy }, 'room recording started');
    return this.#view(entry);
  }

  /** Stops a running recording (composition follows); a finished one is returned as it is. */
  stop(id: string, reason: string, error?: StopError): RoomRecordingInfo {
    const entry = this.#entries.get(id);
    const rec = entry?.rec;
    if (!entry || !rec || rec.stopped) {
      const info = this.get(id);
      if (!info) throw new ParleyError('RECORDING_NOT_FOUND', `no recording ${id}`);
      return info;
    }
    if (this.#active.get(rec.room) === id) this.#active.delete(rec.room);
    entry.offSpeakers?.();
    const done = rec.stop();
    entry.hold?.release();
    entry.hold = undefined;
    entry.info.stopReason = reason;
    if (error) entry.info.error = `${error.code}: ${error.message}`;
    const written = rec.tracks().some((t) => t.file !== null);
    const compose = written && this.#o.config.compose && error?.code !== 'RECORDING_DISK_FULL';
    entry.info.state = !written ? 'empty' : error?.code === 'RECORDING_DISK_FULL' ? 'failed' : compose ? 'composing' : 'done';
    if (!compose) entry.info.progress = 1;
    this.#o.signaling.emitTo(rec.room, 'recording_state', { ...this.#state(entry), ...(error ? { error } : {}) });
    this.#o.log.info({ id, room: rec.room, reason, error }, 'room recording stopped');
    void done.then(() => {
      if (this.#entries.get(id) !== entry) return; // deleted meanwhile
      this.#save(entry);
      if (compose) this.#enqueue(id);
      else this.#finished(entry);
    });
    this.#save(entry);
    return this.#view(entry);
  }

  #followSpeakers(entry: Entry, router: Router): void {
    entry.offSpeakers?.();
    const rec = entry.rec;
    if (!rec) return;
    rec.speaker(router.activeSpeaker);
    entry.offSpeakers = router.on('speakers', (active) => rec.speaker(active?.producerId));
  }

  #writeFailed(id: string, err: Error): void {
    const code = (err as NodeJS.ErrnoException).code;
    const full = code === 'ENOSPC' || code === 'EDQUOT';
    this.#o.log.error({ err, id }, 'room recording could not write');
    // after the current packet's fan-out
    queueMicrotask(() =>
      this.stop(id, full ? 'disk-full' : 'write-error', {
        code: full ? 'RECORDING_DISK_FULL' : 'INTERNAL',
        message: full ? 'the disk is full' : `a track could not be written (${code ?? err.message})`,
      }),
    );
  }

  #checkSizes(): void {
    const cap = this.#o.config.maxBytes;
    if (cap === undefined) return;
    for (const id of [...this.#active.values()]) {
      const rec = this.#entries.get(id)?.rec;
      if (rec && rec.bytes >= cap)
        this.stop(id, 'size-cap', { code: 'RECORDING_SIZE_CAP', message: `the recording reached its size cap of ${cap} bytes` });
    }
  }

  #enqueue(id: string): void {
    if (this.#closed || this.#queue.includes(id)) return;
    this.#queue.push(id);
    this.#pump();
  }

  #pump(): void {
    while (!this.#closed && this.#running < this.#o.config.composeConcurrency && this.#queue.length > 0) {
      const id = this.#queue.shift()!;
      const entry = this.#entries.get(id) ?? this.#load(id);
      if (!entry) continue;
      this.#running++;
      this.peakComposing = Math.max(this.peakComposing, this.#running);
      void this.#compose(entry).finally(() => {
        this.#running--;
        this.#pump();
      });
    }
  }

  async #compose(entry: Entry): Promise<void> {
    const { id } = entry.info;
    const trackDir = join(this.dir, id);
    const tracks = entry.info.tracks.filter((t) => t.file !== null).map((t) => ({ ...t, path: join(trackDir, t.file!) }));
    const tmp = join(this.dir, `${id}.webm.part`);
    const { width, height, fps } = this.#o.config;
    const started = performance.now();
    const job = new Composition(
      this.#o.ffmpegPath,
      { tracks, durationMs: entry.info.durationMs, speakers: entry.info.speakers ?? [], width, height, fps, output: tmp },
      (p) => (entry.info.progress = p),
    );
    entry.composition = job;
    try {
      await job.done;
      renameSync(tmp, join(this.dir, `${id}.webm`));
      entry.info.state = 'done';
      entry.info.progress = 1;
      this.#writeStreamInfo(entry.info);
      this.#o.log.info({ id, ms: Math.round(performance.now() - started), durationMs: entry.info.durationMs }, 'room recording composed');
    } catch (err) {
      rmSync(tmp, { force: true });
      if (this.#closed) return; // interrupted: composed again at the next start
      entry.info.state = 'failed';
      entry.info.error = `composition failed: ${(err as Error).message}`;
      this.#o.log.error({ err, id }, 'room recording composition failed');
    } finally {
      entry.composition = undefined;
    }
    this.#save(entry);
    this.#finished(entry);
  }

  #finished(entry: Entry): void {
    const i = this.#view(entry);
    this.#o.events.emit('roomRecordingFinished', i.room, {
      id: i.id,
      bytes: i.files.reduce((n, f) => n + f.bytes, 0),
      durationMs: i.durationMs,
      state: i.state,
      ...(i.error ? { error: i.error } : {}),
    });
  }

  /** The composed file as a stream recording (`recording:<id>` playback, /api/recordings). */
  #writeStreamInfo(info: RoomRecordingInfo): void {
    const path = join(this.dir, `${info.id}.webm`);
    const stream = {
      id: info.id,
      stream: `room:${info.room}`,
      startedAt: new Date(info.startedAt).toISOString(),
      endedAt: new Date(info.endedAt ?? info.startedAt).toISOString(),
      durationMs: info.durationMs,
      bytes: existsSync(path) ? statSync(path).size : 0,
      state: 'done',
    };
    writeFileSync(join(this.dir, `${info.id}.json`), JSON.stringify(stream));
  }

  #view(entry: Entry): RoomRecordingInfo {
    const { rec, info } = entry;
    if (rec) {
      info.tracks = rec.tracks();
      info.speakers = [...rec.speakers];
      info.bytes = rec.bytes;
      info.durationMs = Math.round(rec.durationMs());
      info.endedAt = rec.endedAt ?? null;
    }
    const composed = join(this.dir, `${info.id}.webm`);
    const files = rec ? rec.files() : info.files.filter((f) => f.kind !== 'composed');
    if (info.state === 'done' && existsSync(composed))
      files.unshift({ name: 'composed.webm', kind: 'composed', bytes: statSync(composed).size, contentType: 'video/webm' });
    info.files = files;
    info.stream = files.some((f) => f.kind === 'composed') ? `recording:${info.id}` : null;
    return structuredClone(info);
  }

  #state(entry: Entry): RecordingState {
    const live = entry.rec !== undefined && !entry.rec.stopped;
    return { recording: live, id: entry.info.id, startedAt: entry.info.startedAt };
  }

  #save(entry: Entry): void {
    try {
      writeFileSync(join(this.dir, entry.info.id, 'recording.json'), JSON.stringify(this.#view(entry)));
    } catch (err) {
      this.#o.log.error({ err, id: entry.info.id }, 'cannot write room recording metadata');
    }
  }

  #load(id: string): Entry | undefined {
    if (!/^room-[a-z0-9-]{1,58}$/.test(id)) return undefined;
    try {
      const info = roomRecordingSchema.parse(JSON.parse(readFileSync(join(this.dir, id, 'recording.json'), 'utf8')));
      const entry: Entry = { info, rec: undefined, composition: undefined };
      this.#entries.set(id, entry);
      return entry;
    } catch {
      return undefined;
    }
  }

  #listDisk(): RoomRecordingInfo[] {
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((n) => n.startsWith('room-') && !n.includes('.'));
    } catch {
      return [];
    }
    return names.flatMap((n) => {
      const e = this.#entries.get(n) ?? this.#load(n);
      return e ? [e.info] : [];
    });
  }

  /** The id of the room's running recording, if any. */
  activeIn(room: string): string | undefined {
    return this.#active.get(room);
  }

  get(id: string): RoomRecordingInfo | undefined {
    const e = this.#entries.get(id) ?? this.#load(id);
    return e && this.#view(e);
  }

  /** A room's recordings (or every room's), newest first. */
  list(room?: string): RoomRecordingInfo[] {
    return this.#listDisk()
      .filter((i) => room === undefined || i.room === room)
      .map((i) => this.get(i.id)!)
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /** Where a listed file is on disk (undefined for a name the recording does not list). */
  filePath(id: string, name: string): { path: string; contentType: string } | undefined {
    const f = this.get(id)?.files.find((x) => x.name === name);
    if (!f) return undefined;
    return { path: f.kind === 'composed' ? join(this.dir, `${id}.webm`) : join(this.dir, id, f.name), contentType: f.contentType };
  }

  /** Deletes a recording's files (stopping it, or its composition, first). */
  delete(id: string): boolean {
    const entry = this.#entries.get(id) ?? this.#load(id);
    if (!entry) return false;
    this.#entries.delete(id);
    if (entry.rec && !entry.rec.stopped) {
      this.#entries.set(id, entry);
      this.stop(id, 'deleted');
      this.#entries.delete(id);
    }
    const q = this.#queue.indexOf(id);
    if (q !== -1) this.#queue.splice(q, 1);
    entry.composition?.cancel();
    rmSync(join(this.dir, id), { recursive: true, force: true });
    for (const ext of ['webm', 'json', 'webm.part']) rmSync(join(this.dir, `${id}.${ext}`), { force: true });
    this.#o.log.info({ id }, 'room recording deleted');
    return true;
  }

  /** Retention: deletes recordings that ended more than `retentionMs` ago. */
  sweep(now = Date.now()): number {
    const keep = this.#o.config.retentionMs;
    if (keep === undefined) return 0;
    let n = 0;
    for (const i of this.list())
      if ((i.state === 'done' || i.state === 'failed' || i.state === 'empty') && i.endedAt !== null && now - i.endedAt > keep)
        n += this.delete(i.id) ? 1 : 0;
    return n;
  }

  /** Compositions running now (tests and metrics). */
  get composing(): number {
    return this.#running;
  }

  /** Stops every recording (their compositions run at the next start), kills running compositions. Idempotent. */
  close(): void {
    if (this.#closed) return;
    for (const id of [...this.#active.values()]) this.stop(id, 'shutdown');
    this.#closed = true;
    for (const off of this.#offs) off();
    for (const t of this.#timers) clearInterval(t);
    for (const e of this.#entries.values()) e.composition?.cancel();
  }
}
