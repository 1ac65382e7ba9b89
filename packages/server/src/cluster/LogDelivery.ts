/**
 * Live delivery of room-log entries across nodes, exactly once per member and in sequence order.
 * PostgreSQL gives each entry its seq; two nodes appending to one room may then deliver in either
 * order. So the writer hands the entry to a Lua script that releases a room's entries strictly in
 * seq order into one Redis stream (holding back those that arrive early); every node reads that
 * stream and emits each entry to its own members of the room. An entry whose writer died between
 * storing and handing over would hold its room back: after `repairAfterMs` without progress, any
 * node waiting on it reads the missing entries from the log store and hands them over itself.
 */
import { logEntrySchema, type LogEntry } from '@parley-rtc/protocol';
import { z } from 'zod';
import type { LogStore } from '../roomlog/LogStore.ts';
import type { Logger } from '../util/logger.ts';
import type { RedisClient } from './redisClient.ts';

const STREAM = 'parley:log';
const delivered = (room: string) => `parley:delivered:${room}`;
const pending = (room: string) => `parley:pending:${room}`;

/**
 * KEYS: delivered seq, pending hash, stream. ARGV: seq, entry JSON, room, stream max length.
 * A room Redis has never seen starts right before the first seq handed over.
 */
const DELIVER = `
local seq = tonumber(ARGV[1])
local last = tonumber(redis.call('GET', KEYS[1]) or tostring(seq - 1))
if seq <= last then return {tostring(last), '0'} end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local nxt = last + 1
local n = 0
while true do
  local p = redis.call('HGET', KEYS[2], tostring(nxt))
  if not p then break end
  redis.call('HDEL', KEYS[2], tostring(nxt))
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*', 'room', ARGV[3], 'entry', p)
  nxt = nxt + 1
  n = n + 1
end
redis.call('SET', KEYS[1], tostring(nxt - 1))
return {tostring(nxt - 1), tostring(n)}
`;

const replySchema = z.tuple([z.string(), z.string()]);
const streamSchema = z
  .array(z.object({ messages: z.array(z.object({ id: z.string(), message: z.record(z.string(), z.string()) })) }))
  .nullable();

export interface LogDeliveryOptions {
  client: RedisClient;
  /** A connection of its own: reading the stream blocks it. */
  reader: RedisClient;
  store: LogStore;
  log: Logger;
  /** Emits an entry to this node's members of the room. */
  emitLocal: (room: string, entry: LogEntry) => void;
  repairAfterMs?: number;
}

export class LogDelivery {
  readonly #o: LogDeliveryOptions;
  readonly #repairs = new Map<string, NodeJS.Timeout>();
  #offset = '$';
  #closed = false;

  constructor(options: LogDeliveryOptions) {
    this.#o = options;
  }

  /** Starts reading the stream (from now on). */
  start(): void {
    void this.#read();
  }

  /**
   * Hands a stored entry over for delivery to the whole room, on every node. A command lost with
   * its connection (Redis restarting) is sent again until it lands: handing over is idempotent.
   */
  deliver(room: string, entry: LogEntry): void {
    const attempt = (n: number): void => {
      this.#handOver(room, entry).catch((err: unknown) => {
        if (this.#closed) return;
        if (n === 0) this.#o.log.warn({ err, room, seq: entry.seq }, 'could not hand an entry over; retrying');
        if (n < 100) setTimeout(() => attempt(n + 1), Math.min(100 * 2 ** n, 2000)).unref();
      });
    };
    attempt(0);
  }

  close(): void {
    this.#closed = true;
    for (const t of this.#repairs.values()) clearTimeout(t);
    this.#repairs.clear();
  }

  async #handOver(room: string, entry: LogEntry): Promise<void> {
    const reply = await this.#o.client.eval(DELIVER, {
      keys: [delivered(room), pending(room), STREAM],
      arguments: [String(entry.seq), JSON.stringify(entry), room, '100000'],
    });
    const [last, released] = replySchema.parse(reply);
    // Held back behind a missing seq: make sure someone fills the gap if its writer does not.
    if (released === '0' && Number(last) < entry.seq) this.#scheduleRepair(room, Number(last));
  }

  #scheduleRepair(room: string, last: number): void {
    if (this.#closed || this.#repairs.has(room)) return;
    const timer = setTimeout(() => {
      this.#repairs.delete(room);
      this.#repair(room, last).catch((err: unknown) => this.#o.log.warn({ err, room }, 'could not repair live delivery'));
    }, this.#o.repairAfterMs ?? 1000);
    timer.unref();
    this.#repairs.set(room, timer);
  }

  /** Hands over, from the log store, the entries after `last` if delivery has not moved since. */
  async #repair(room: string, last: number): Promise<void> {
    const now = Number((await this.#o.client.get(delivered(room))) ?? last);
    if (now !== last) return;
    const missing = await this.#o.store.range(room, { after: last, limit: 1000 });
    this.#o.log.warn(
      { room, after: last, entries: missing.length },
      'live delivery was held back by a lost entry; handing it over from the log',
    );
    for (const entry of missing) await this.#handOver(room, entry);
  }

  async #read(): Promise<void> {
    const { reader, log, emitLocal } = this.#o;
    while (!this.#closed) {
      try {
        const reply = await reader.xRead([{ key: STREAM, id: this.#offset }], { BLOCK: 2000, COUNT: 200 });
        const parsed = streamSchema.safeParse(reply);
        if (!parsed.success) continue;
        for (const { id, message } of parsed.data?.[0]?.messages ?? []) {
          this.#offset = id;
          const room = message['room'];
          const text = message['entry'];
          if (room === undefined || text === undefined) continue;
          try {
            const entry = logEntrySchema.safeParse(JSON.parse(text));
            if (entry.success) emitLocal(room, entry.data);
          } catch (err) {
            log.error({ err, room }, 'could not deliver an entry');
          }
        }
      } catch (err) {
        if (this.#closed) return;
        log.debug({ err }, 'reading the log stream failed (redis away?)');
        await new Promise((resolve) => setTimeout(resolve, 200).unref());
      }
    }
  }
}
