import type { FastifyReply } from 'fastify';
import { ParleyError, type ErrorCode } from '@parley-rtc/protocol';
import type { Logger } from '../util/logger.ts';

const STATUS: Partial<Record<ErrorCode, number>> = {
  INVALID_PAYLOAD: 400,
  BAD_SDP: 400,
  UNSUPPORTED: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  RANGE_NOT_SATISFIABLE: 416,
  ROOM_NOT_FOUND: 404,
  PEER_NOT_FOUND: 404,
  RATE_LIMITED: 429,
  ROOM_FULL: 409,
  NOT_IN_ROOM: 409,
  ALREADY_IN_ROOM: 409,
  BAD_PASSWORD: 403,
  TOO_MANY_ROOMS: 503,
  VERSION_MISMATCH: 400,
  ROOM_LOCKED: 423,
  SHUTTING_DOWN: 503,
  MEDIA_UNAVAILABLE: 503,
  STREAM_BUSY: 409,
  STORAGE_FAILED: 503,
};

/** HTTP status for a catalogue code. */
export function statusFor(code: ErrorCode): number {
  return STATUS[code] ?? 500;
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
