import * as z from 'zod';
import { LIMITS } from '../limits.ts';

const seq = z.number().int().nonnegative();
const sender = z.object({ id: z.string(), name: z.string() });

/** A chat message's id, chosen by its sender (a UUID without dashes, or any 8–64 letters, digits, "_" or "-"). */
export const chatMessageIdSchema = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'chat message ids are 8–64 letters, digits, "_" or "-"');

export const chatRequestSchema = z.object({
  text: z.string().trim().min(1).max(LIMITS.chatText),
  /** Set when the message also went over the data channel: receivers match the two copies by it. */
  id: chatMessageIdSchema.optional(),
});
export type ChatRequest = z.infer<typeof chatRequestSchema>;

/** Any JSON value, checked for size by the server after parsing. */
export const jsonValueSchema: z.ZodType<unknown> = z.json();

export const roomEventRequestSchema = z.object({
  type: z
    .string()
    .min(1)
    .max(LIMITS.eventType)
    .regex(/^[A-Za-z0-9_.:-]+$/, 'event types use letters, digits and "_.:-"'),
  body: jsonValueSchema,
});
export type RoomEventRequest = z.infer<typeof roomEventRequestSchema>;

export const historyRequestSchema = z.object({
  /** Return entries with seq < before (omit for the newest). */
  before: seq.optional(),
  limit: z.number().int().min(1).max(LIMITS.historyPage).optional(),
});
export type HistoryRequest = z.infer<typeof historyRequestSchema>;

export const fileInfoSchema = z.object({
  id: z.string(),
  name: z.string().max(LIMITS.fileName),
  size: z.number().int().nonnegative(),
  type: z.string().max(LIMITS.mimeType),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type FileInfo = z.infer<typeof fileInfoSchema>;

const entryBase = { seq, ts: z.number().int(), from: sender };

export const chatEntrySchema = z.object({ ...entryBase, kind: z.literal('chat'), text: z.string(), id: z.string().optional() });
export const eventEntrySchema = z.object({
  ...entryBase,
  kind: z.literal('event'),
  type: z.string(),
  body: jsonValueSchema,
});
export const fileEntrySchema = z.object({ ...entryBase, kind: z.literal('file'), file: fileInfoSchema });

/** One entry of a room's durable, gap-free, ordered log. */
export const logEntrySchema = z.discriminatedUnion('kind', [chatEntrySchema, eventEntrySchema, fileEntrySchema]);
export type ChatEntry = z.infer<typeof chatEntrySchema>;
export type EventEntry = z.infer<typeof eventEntrySchema>;
export type FileEntry = z.infer<typeof fileEntrySchema>;
export type LogEntry = z.infer<typeof logEntrySchema>;

/** What the server broadcasts as `room_event`: an application event or a shared file. */
export const roomEventEntrySchema = z.discriminatedUnion('kind', [eventEntrySchema, fileEntrySchema]);

/** Ack for an appended entry: the sequence number it was stored under. */
export const appendResultSchema = z.object({ seq, ts: z.number().int() });
export type AppendResult = z.infer<typeof appendResultSchema>;

export const historyResultSchema = z.object({ entries: z.array(logEntrySchema), lastSeq: seq });
export type HistoryResult = z.infer<typeof historyResultSchema>;
