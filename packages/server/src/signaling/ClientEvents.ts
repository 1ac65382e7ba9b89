import type { z } from 'zod';
import { CLIENT_EVENT_SCHEMAS, ParleyError, type Ack, type ClientEventName, type ClientToServerEvents } from '@parley-rtc/protocol';
import type { Metrics } from '../metrics/Metrics.ts';
import { timeJoinAck } from '../metrics/joinLatency.ts';
import { RateLimiter } from '../ratelimit/RateLimiter.ts';
import type { Caller } from './Caller.ts';
import { handle } from './handler.ts';

/** The data of a successful ack to client event `E` (e.g. `JoinResult` for `join`). */
export type AckData<E extends ClientEventName> = Parameters<Parameters<ClientToServerEvents[E]>[1]>[0] extends Ack<infer T> ? T : never;

/** Runs one client event for a caller; the payload is already parsed by the event's schema. */
export type ClientEventHandler<E extends ClientEventName, S extends z.ZodType> = (
  caller: Caller,
  req: z.infer<S>,
) => AckData<E> | Promise<AckData<E>>;

interface Entry {
  schema: z.ZodType;
  fn: (caller: Caller, req: unknown) => unknown;
}

const ERRORS_HELP = 'Errors answered to clients, by code.';

/**
 * The one dispatcher of client events: each event name has one handler (core or feature), found
 * when the event arrives. Every event is rate-limited per socket, counted, parsed with its schema
 * and answered through its ack (`handle()`); a protocol event nobody handles answers UNSUPPORTED
 * ("not enabled on this server"), an unknown event name is dropped (UNSUPPORTED if it wants an ack).
 */
export class ClientEvents {
  readonly #entries = new Map<string, Entry>();
  readonly #rate: RateLimiter;
  readonly #metrics: Metrics;

  constructor(opts: { metrics: Metrics; eventRate: { ratePerSec: number; burst: number } }) {
    this.#metrics = opts.metrics;
    this.#rate = new RateLimiter(opts.eventRate);
  }

  /** Handles `event` with `fn` after `schema` parsed its payload; one handler per event (else TypeError). */
  on<E extends ClientEventName, S extends z.ZodType>(event: E, schema: S, fn: ClientEventHandler<E, S>): void {
    if (this.#entries.has(event)) throw new TypeError(`client event ${event} already has a handler`);
    this.#entries.set(event, { schema, fn: fn as Entry['fn'] });
  }

  /** Dispatches the events of a new socket. */
  attach(caller: Caller): void {
    const { socket } = caller;
    socket.onAny((event: unknown, ...args: unknown[]) => {
      const entry = typeof event === 'string' ? this.#entryFor(event) : undefined;
      if (typeof event === 'string' && entry) {
        this.#run(caller, event, entry, args[0], args[1]);
        return;
      }
      caller.log.debug({ event }, 'unknown event dropped');
      const ack = args[args.length - 1];
      if (typeof ack === 'function') {
        const err = new ParleyError('UNSUPPORTED', `unknown event ${String(event).slice(0, 64)}`);
        (ack as (r: unknown) => void)({ ok: false, error: err.toWire() });
      }
    });
    socket.on('disconnect', () => void this.#rate.forget(socket.id));
  }

  /** Releases the rate limiter's records. */
  close(): void {
    this.#rate.close();
  }

  #entryFor(event: string): Entry | undefined {
    const entry = this.#entries.get(event);
    if (entry || !Object.hasOwn(CLIENT_EVENT_SCHEMAS, event)) return entry;
    // A protocol event of a feature this server does not run: members learn it is not enabled.
    return {
      schema: CLIENT_EVENT_SCHEMAS[event as ClientEventName],
      fn: (caller) => {
        caller.self();
        throw new ParleyError('UNSUPPORTED', `${event} is not enabled on this server`);
      },
    };
  }

  #run(caller: Caller, event: string, entry: Entry, payload: unknown, ack: unknown): void {
    const metrics = this.#metrics;
    metrics.inc('parley_signaling_events_total', 'Signaling events received, by event.', { event });
    ack = timeJoinAck(metrics, event, ack);
    // Takes answer in call order per socket, so a socket's events keep their order.
    void this.#rate.take(caller.socket.id).then((retryAfterMs) => {
      if (retryAfterMs > 0) {
        metrics.inc('parley_errors_total', ERRORS_HELP, { code: 'RATE_LIMITED' });
        if (typeof ack === 'function') {
          const error = new ParleyError('RATE_LIMITED', `too many events; retry in ${retryAfterMs} ms`, { retryAfterMs });
          (ack as (r: unknown) => void)({ ok: false, error: error.toWire() });
        }
        return;
      }
      const listener = handle(
        entry.schema,
        (req) => entry.fn(caller, req),
        caller.log,
        caller.logContext,
        (code) => metrics.inc('parley_errors_total', ERRORS_HELP, { code }),
      );
      listener(payload, ack);
    });
  }
}
