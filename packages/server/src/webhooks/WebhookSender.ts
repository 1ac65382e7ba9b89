import { randomUUID } from 'node:crypto';
import {
  signWebhook,
  WEBHOOK_KEY_HEADER,
  WEBHOOK_SIGNATURE_HEADER,
  type WebhookEvent,
  type WebhookEventName,
} from '@parley-rtc/protocol/webhooks';
import type { Logger } from '../util/logger.ts';
import type { Metrics } from '../metrics/Metrics.ts';

export interface WebhookSenderOptions {
  urls: readonly string[];
  /** The events to send; anything else passed to `send()` is dropped. */
  events: ReadonlySet<WebhookEventName>;
  secret: string;
  /** The API key whose secret signs (sent as Parley-Key), when one does. */
  keyId?: string;
  /** Attempts per event and URL before it is given up (logged and counted). */
  maxAttempts: number;
  /** First retry delay; doubles per attempt up to 30 s. */
  retryBaseMs: number;
  /** Per-request timeout. */
  timeoutMs: number;
  /** Events a room may have waiting per URL; beyond that new ones are dropped (logged, counted). */
  maxQueue: number;
  /** Events waiting across all rooms and receivers; beyond that new ones are dropped (logged, counted). */
  maxPending: number;
  /** Deliveries in flight at once, across rooms (each room still goes in order). */
  maxConcurrent: number;
  log: Logger;
  metrics: Metrics;
}

/** The part of an event the caller provides; id, time and sequence are added here. */
export type WebhookEventInput = Omit<WebhookEvent, 'id' | 'createdAt' | 'seq'>;

interface Queue {
  readonly items: WebhookEvent[];
  running: boolean;
}

const MAX_RETRY_DELAY_MS = 30_000;
const MAX_TRACKED_ROOMS = 10_000;

/**
 * Delivers webhook events: in order per room and URL, each retried with exponential backoff while
 * the receiver fails, without ever making the caller wait (`send()` only queues). One room's slow
 * receiver does not hold up other rooms' events. `close()` gives in-flight deliveries a short
 * grace, then aborts them.
 */
export class WebhookSender {
  readonly #opts: WebhookSenderOptions;
  readonly #queues = new Map<string, Queue>();
  readonly #seq = new Map<string, number>();
  readonly #abort = new AbortController();
  readonly #timers = new Set<NodeJS.Timeout>();
  readonly #idle = new Set<() => void>();
  #closed: string | undefined;
  #pending = 0;
  #inFlight = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(options: WebhookSenderOptions) {
    this.#opts = options;
  }

  /** True when `event` is configured to be sent (callers may skip building bodies otherwise). */
  wants(event: WebhookEventName): boolean {
    return this.#closed === undefined && this.#opts.events.has(event) && this.#opts.urls.length > 0;
  }

  /** Queues an event for every URL; returns at once. */
  send(input: WebhookEventInput): void {
    // A room's count restarts with the room; forget it at its end even when room_finished is not sent.
    if (!this.wants(input.event)) {
      if (input.event === 'room_finished') this.#seq.delete(input.room);
      return;
    }
    const seq = (this.#seq.get(input.room) ?? 0) + 1;
    if (input.event === 'room_finished') this.#seq.delete(input.room);
    else this.#seq.set(input.room, seq);
    // Rooms that never finish (stream recordings): keep the count bounded, oldest first.
    if (this.#seq.size > MAX_TRACKED_ROOMS) this.#seq.delete(this.#seq.keys().next().value!);
    const event: WebhookEvent = { id: randomUUID(), createdAt: Date.now(), seq, ...input };
    for (const url of this.#opts.urls) {
      const key = `${url}\n${input.room}`;
      let queue = this.#queues.get(key);
      if (!queue) {
        queue = { items: [], running: false };
        this.#queues.set(key, queue);
      }
      if (queue.items.length >= this.#opts.maxQueue || this.#pending >= this.#opts.maxPending) {
        this.#opts.log.warn({ url, room: input.room, event: input.event }, 'webhook queue full; event dropped');
        this.#count('dropped');
        continue;
      }
      queue.items.push(event);
      this.#pending++;
      if (!queue.running) void this.#drain(key, url, queue);
    }
  }

  /** Resolves when nothing is queued or in flight (tests, graceful shutdown). */
  whenIdle(): Promise<void> {
    if (this.#queues.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idle.add(resolve));
  }

  /** Stops sending: waits up to `graceMs` for queued events, then aborts the rest. Idempotent. */
  async close(reason: string, graceMs = 2000): Promise<void> {
    if (this.#closed !== undefined) return;
    this.#closed = reason;
    if (this.#queues.size > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.whenIdle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
      clearTimeout(timer);
    }
    if (this.#pending > 0) this.#opts.log.warn({ pending: this.#pending, reason }, 'webhook events not delivered before shutdown');
    this.#abort.abort(new Error(`webhook sender closed: ${reason}`));
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    this.#queues.clear();
    this.#pending = 0;
    for (const wake of this.#waiting.splice(0)) wake();
    for (const resolve of this.#idle) resolve();
    this.#idle.clear();
  }

  async #drain(key: string, url: string, queue: Queue): Promise<void> {
    queue.running = true;
    while (queue.items.length > 0 && !this.#abort.signal.aborted) {
      const event = queue.items[0]!;
      await this.#slot();
      try {
        await this.#deliver(url, event);
      } finally {
        this.#release();
      }
      queue.items.shift();
      this.#pending--;
    }
    queue.running = false;
    if (this.#queues.get(key) === queue && queue.items.length === 0) this.#queues.delete(key);
    if (this.#queues.size === 0) {
      for (const resolve of this.#idle) resolve();
      this.#idle.clear();
    }
  }

  /** Waits for one of `maxConcurrent` delivery slots (at once when the sender is closing). */
  #slot(): Promise<void> {
    if (this.#inFlight < this.#opts.maxConcurrent || this.#abort.signal.aborted) {
      this.#inFlight++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.#waiting.push(() => (this.#inFlight++, resolve())));
  }

  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }

  async #deliver(url: string, event: WebhookEvent): Promise<void> {
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt++) {
      if (this.#abort.signal.aborted) return;
      let failure: string;
      try {
        const headers: Record<string, string> = {
          'content-type': 'application/json',
          [WEBHOOK_SIGNATURE_HEADER]: await signWebhook(body, this.#opts.secret),
        };
        if (this.#opts.keyId) headers[WEBHOOK_KEY_HEADER] = this.#opts.keyId;
        const res = await fetch(url, {
          method: 'POST',
          headers,
          body,
          signal: AbortSignal.any([this.#abort.signal, AbortSignal.timeout(this.#opts.timeoutMs)]),
        });
        await res.body?.cancel();
        if (res.ok) {
          this.#count('delivered');
          return;
        }
        failure = `HTTP ${res.status}`;
      } catch (err) {
        if (this.#abort.signal.aborted) return;
        failure = err instanceof Error ? err.message : String(err);
      }
      if (attempt >= this.#opts.maxAttempts) {
        this.#opts.log.warn({ url, event: event.event, room: event.room, attempts: attempt, failure }, 'webhook given up');
        this.#count('failed');
        return;
      }
      const delay = Math.min(this.#opts.retryBaseMs * 2 ** (attempt - 1), MAX_RETRY_DELAY_MS);
      this.#opts.log.info({ url, event: event.event, room: event.room, attempt, failure, retryInMs: delay }, 'webhook failed; retrying');
      this.#count('retried');
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.#timers.delete(timer);
          this.#abort.signal.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, delay);
        this.#timers.add(timer);
        this.#abort.signal.addEventListener('abort', done, { once: true });
      });
    }
  }

  #count(outcome: 'delivered' | 'retried' | 'failed' | 'dropped'): void {
    this.#opts.metrics.inc('parley_webhooks_total', 'Webhook deliveries, by outcome.', { outcome });
  }
}
