import type { FastifyReply } from 'fastify';
import { httpStatusOf, ParleyError, type ErrorCode } from '@parley-rtc/protocol';
import type { Logger } from '../util/logger.ts';

/** HTTP status for a catalogue code (the catalogue in the protocol package holds them). */
export function statusFor(code: ErrorCode): number {
  return httpStatusOf(code);
}

/** Sends `{error:{code,message}}` with a matching status; unexpected errors are logged, not leaked. */
export function sendError(reply: FastifyReply, err: unknown, log: Logger): FastifyReply {
  let error: ParleyError;
  if (err instanceof ParleyError) {
    error = err;
  } else {
    const status = (err as { statusCode?: unknown } | null)?.statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 404 ? 'NOT_FOUND' : status === 413 ? 'PAYLOAD_TOO_LARGE' : status === 415 ? 'UNSUPPORTED' : 'INVALID_PAYLOAD';
      error = new ParleyError(code, (err as Error).message);
    } else {
      log.error({ err }, 'unexpected HTTP error');
      error = new ParleyError('INTERNAL');
    }
  }
  return reply.status(statusFor(error.code)).send({ error: error.toWire() });
}
