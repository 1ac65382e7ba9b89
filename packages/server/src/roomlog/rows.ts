import { logEntrySchema, type LogEntry } from '@parley-rtc/protocol';
import type { RoomFile, RoomStats } from './LogStore.ts';

/** A stored row as both backends return it (PostgreSQL returns BIGINT as strings). */
export interface EntryRow {
  seq: number | string;
  ts: number | string;
  kind: string;
  sender_id: string;
  sender_name: string;
  payload: string;
}

/** Rebuilds a wire entry from its row; a row that does not decode is a corrupted store. */
export function rowToEntry(row: EntryRow): LogEntry {
  const payload: unknown = JSON.parse(row.payload);
  const candidate = {
    seq: Number(row.seq),
    ts: Number(row.ts),
    kind: row.kind,
    from: { id: row.sender_id, name: row.sender_name },
    ...(typeof payload === 'object' && payload !== null ? payload : {}),
  };
  return logEntrySchema.parse(candidate);
}

/** A `file` entry's row as a RoomFile; throws if the row is not a file entry. */
export function rowToRoomFile(room: string, row: EntryRow): RoomFile {
  const entry = rowToEntry(row);
  if (entry.kind !== 'file') throw new Error(`room_files points at a ${entry.kind} entry (${room}#${entry.seq})`);
  return { room, seq: entry.seq, file: entry.file };
}

/** The statistics query's row in both backends. */
export interface StatsRow {
  name: string;
  messages: number | string;
  bytes: number | string;
  last_seq: number | string;
  created_at: number | string;
  last_activity_at: number | string;
  participants: number | string;
  files: number | string;
  file_bytes: number | string;
}

export function rowToStats(row: StatsRow): RoomStats {
  return {
    room: row.name,
    messages: Number(row.messages),
    bytes: Number(row.bytes),
    lastSeq: Number(row.last_seq),
    participantsSeen: Number(row.participants),
    files: Number(row.files),
    fileBytes: Number(row.file_bytes),
    createdAt: Number(row.created_at),
    lastActivityAt: Number(row.last_activity_at),
  };
}
