/**
 * One recording of one room: a TrackRecorder per published track (tracks that start later join,
 * tracks that end are finalized), all on one RoomClock, and on `stop()` the room's chat over the
 * same period (chat.json and chat.vtt) and the manifest (`recording.json`, the server API's view).
 * Files live in `<dir>/<id>/`.
 */
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RecordingFile, RoomRecording as RoomRecordingInfo, RoomRecordingTrack } from '@parley-rtc/protocol';
import type { LogStore } from '../../../roomlog/LogStore.ts';
import type { Publication } from '../../../sfu/RouterTypes.ts';
import type { MemberInfo } from '../../../signaling/types.ts';
import { RoomClock } from './RoomClock.ts';
import { TrackRecorder } from './TrackRecorder.ts';
import { chatFiles } from './chatExport.ts';

export interface RoomRecordingOptions {
  id: string;
  room: string;
  dir: string;
  startedBy: RoomRecordingInfo['startedBy'];
  store: LogStore;
  senderReportWaitMs: number;
  /** A track could not be written (disk full): the owner stops the recording. */
  onWriteError: (err: Error) => void;
}

interface TrackEntry {
  meta: Omit<RoomRecordingTrack, 'bytes' | 'startMs' | 'endMs' | 'segments' | 'sync' | 'layerSwitches'>;
  recorder: TrackRecorder | undefined;
}

export class RoomRecording {
  readonly id: string;
  readonly room: string;
  readonly dir: string;
  readonly startedAt = Date.now();
  readonly clock = new RoomClock();
  readonly #opts: RoomRecordingOptions;
  readonly #tracks = new Map<string, TrackEntry>();
  /** Active-speaker changes (room ms, member id or null). */
  readonly speakers: Array<{ atMs: number; member: string | null }> = [];
  #firstSeq: number | undefined;
  #endedAt: number | undefined;
  #stopped = false;

  constructor(opts: RoomRecordingOptions) {
    this.#opts = opts;
    this.id = opts.id;
    this.room = opts.room;
    this.dir = join(opts.dir, opts.id);
    mkdirSync(this.dir, { recursive: true });
    void opts.store.lastSeq(opts.room).then(
      (seq) => (this.#firstSeq ??= seq),
      () => undefined,
    );
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Bytes of the track files so far. */
  get bytes(): number {
    let n = 0;
    for (const t of this.#tracks.values()) n += t.recorder?.bytes ?? 0;
    return n;
  }

  /** Starts writing a publication (idempotent per producer id). */
  addTrack(publication: Publication, member: MemberInfo, source: string): void {
    if (this.#stopped || this.#tracks.has(publication.id)) return;
    const n = this.#tracks.size + 1;
    // WebM has no H.264: those tracks are Matroska files
    const file = `track-${n}-${publication.kind}.${publication.codec.name === 'h264' ? 'mkv' : 'webm'}`;
    const supported = TrackRecorder.supports(publication);
    const meta: TrackEntry['meta'] = {
      id: publication.id,
      member: { id: member.id, name: member.name },
      kind: publication.kind,
      source,
      codec: publication.codec.name,
      file,
      ...(supported ? {} : { skipped: `${publication.codec.name} is not recorded by this version (VP8, H.264 and Opus are)` }),
    };
    const recorder = supported
      ? new TrackRecorder({
          publication,
          member: member.id,
          path: join(this.dir, file),
          clock: this.clock,
          srWaitMs: this.#opts.senderReportWaitMs,
          onError: (err) => this.#opts.onWriteError(err),
        })
      : undefined;
    this.#tracks.set(publication.id, { meta, recorder });
  }

  /** The SFU's active speaker changed to this producer (an audio track of the room) or to nobody. */
  speaker(producerId: string | undefined): void {
    if (this.#stopped) return;
    const member = producerId === undefined ? null : (this.#tracks.get(producerId)?.meta.member.id ?? null);
    if (this.speakers.at(-1)?.member === member) return;
    this.speakers.push({ atMs: Math.round(this.clock.now()), member });
  }

  /** A publication ended: its file is finalized. */
  endTrack(producerId: string): void {
    this.#tracks.get(producerId)?.recorder?.close();
  }

  /** Finalizes every track, writes the chat files. Idempotent. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#endedAt = Date.now();
    for (const t of this.#tracks.values()) t.recorder?.close();
    try {
      const entries = await this.#opts.store.range(this.room, { after: this.#firstSeq ?? 0, limit: 10_000 });
      const { json, vtt } = chatFiles(entries, this.startedAt, this.#endedAt);
      writeFileSync(join(this.dir, 'chat.json'), json);
      writeFileSync(join(this.dir, 'chat.vtt'), vtt);
    } catch {
      // no chat files (the log store or the disk failed); the media files stand
    }
  }

  tracks(): RoomRecordingTrack[] {
    return [...this.#tracks.values()].map(({ meta, recorder }) => {
      const t = recorder?.timing;
      const written = t?.startMs !== undefined;
      return {
        ...meta,
        file: written ? meta.file : null,
        bytes: recorder?.bytes ?? 0,
        startMs: t?.startMs ?? null,
        endMs: t?.endMs === undefined ? null : t.endMs + (meta.kind === 'audio' ? 20 : 40),
        segments: t?.segments.map(([a, b]) => [a, b] as [number, number]) ?? [],
        sync: t?.sync ?? 'pending',
        layerSwitches: t?.layerSwitches ?? 0,
      };
    });
  }

  /** The per-track and chat files on disk. */
  files(): RecordingFile[] {
    const out: RecordingFile[] = [];
    for (const t of this.tracks())
      if (t.file)
        out.push({
          name: t.file,
          kind: 'track',
          bytes: sizeOf(join(this.dir, t.file)),
          contentType: t.file.endsWith('.mkv') ? `${t.kind}/x-matroska` : `${t.kind}/webm`,
        });
    for (const [name, contentType] of [
      ['chat.json', 'application/json'],
      ['chat.vtt', 'text/vtt'],
    ] as const) {
      const bytes = sizeOf(join(this.dir, name));
      if (bytes >= 0 && this.#stopped) out.push({ name, kind: 'chat', bytes, contentType });
    }
    return out.filter((f) => f.bytes >= 0);
  }

  get endedAt(): number | undefined {
    return this.#endedAt;
  }

  durationMs(): number {
    return (this.#endedAt ?? Date.now()) - this.startedAt;
  }
}

function sizeOf(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return -1;
  }
}
