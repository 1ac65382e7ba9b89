import type { z } from 'zod';
import { ParleyError, type Ack, type WireError } from '@parley-rtc/protocol';
import type { Logger } from '../util/logger.ts';

export type AckCallback = (res: Ack<unknown>) => void;

/** Turns anything thrown into a wire-safe error; unexpected errors are logged, never sent raw. */
export function toWireError(err: unknown, log: Logger, context: Record<string, unknown>): WireError {
  if (err instanceof ParleyError) return err.toWire();
  log.error({ ...context, err }, 'unexpected error in handler');
  return new ParleyError('INTERNAL').toWire();
}

export function invalidPayload(error: z.ZodError): ParleyError {
  const first = error.issues[0];
  const path = first?.path.join('.') ?? '';
  const message = first ? `${path ? `${path}: ` : ''}${first.message}` : 'invalid payload';
  return new ParleyError('INVALID_PAYLOAD', message, {
    issues: error.issues.slice(0, 5).map((i) => ({ path: i.path.join('.'), message: i.message })),
  });
}

/**
 * Wraps a socket event handler: validates the payload with its protocol schema, runs the handler,
 * and answers the ack with `{ok:true,data}` or a catalogue error. The ack argument itself is
 * untrusted: a missing or non-function ack means the reply is dropped, never that we throw.
 */
export function handle<S extends z.ZodType, R>(
  schema: S,
  fn: (payload: z.infer<S>) => Promise<R> | R,
  log: Logger,
  context: () => Record<string, unknown>,
  onError: (code: string) => void = () => {},
): (payload: unknown, ack: unknown) => void {
  return (payload, ack) => {
    const send: AckCallback = typeof ack === 'function' ? (ack as AckCallback) : () => {};
    const reply: AckCallback = (res) => {
      if (!res.ok) onError(res.error.code);
      send(res);
    };
    const parsed = schema.safeParse(payload);
    if (!parsed.success) {
      reply({ ok: false, error: invalidPayload(parsed.error).toWire() });
      return;
    }
    // Unknown fields are dropped by the schema (a newer client may send optional ones); say which.
    const known: unknown = parsed.data;
    if (typeof payload === 'object' && payload !== null && typeof known === 'object' && known !== null) {
      const unknown = Object.keys(payload).filter((k) => !(k in known));
      if (unknown.length > 0) log.debug({ ...context(), unknown: unknown.slice(0, 10) }, 'ignored unknown fields');
    }
    Promise.resolve()
      .then(() => fn(parsed.data))
      .then(
        (data) => reply({ ok: true, data: data ?? null }),
        (err: unknown) => reply({ ok: false, error: toWireError(err, log, context()) }),
      );
  };
}
