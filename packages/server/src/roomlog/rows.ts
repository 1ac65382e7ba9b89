import { logEntrySchema, type LogEntry } from '@parley/protocol';

/** A stored row as both backends return it. */
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
