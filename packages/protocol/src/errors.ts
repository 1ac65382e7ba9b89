import * as z from 'zod';

/**
 * The wire-safe error catalogue. Every error a client can receive carries one of these codes;
 * docs/errors.md documents each one. Codes are stable: never rename, only add.
 */
export const ERROR_CODES = {
  INVALID_PAYLOAD: 'The message does not match its schema.',
  PAYLOAD_TOO_LARGE: 'The message or upload is larger than the configured limit.',
  NOT_IN_ROOM: 'This action needs the socket to have joined a room first.',
  ALREADY_IN_ROOM: 'The socket has already joined a room; leave it first.',
  PEER_NOT_FOUND: 'The target peer is not in the sender’s room.',
  ROOM_NOT_FOUND: 'No such room.',
  ROOM_FULL: 'The room has reached its participant limit.',
  ROOM_LOCKED: 'The room is locked.',
  BAD_PASSWORD: 'The room password is wrong.',
  TOO_MANY_ROOMS: 'This node hosts the maximum number of rooms.',
  UNAUTHORIZED: 'A valid token is required.',
  TOKEN_INVALID: 'The token is malformed or its signature is wrong.',
  TOKEN_EXPIRED: 'The token has expired.',
  FORBIDDEN: 'The token does not grant this action.',
  RATE_LIMITED: 'Too many requests; slow down and retry later.',
  NOT_FOUND: 'The requested resource does not exist.',
  RANGE_NOT_SATISFIABLE: 'The requested byte range is malformed or lies outside the file.',
  BAD_SDP: 'The session description could not be parsed or has nothing usable.',
  UNSUPPORTED: 'The request asks for something this server does not support.',
  MEDIA_UNAVAILABLE: 'The media source could not be started.',
  STREAM_BUSY: 'The stream already has a publisher (or is a configured source).',
  STORAGE_FAILED: 'The entry could not be stored; it was not delivered.',
  SHUTTING_DOWN: 'The server is shutting down.',
  VERSION_MISMATCH: 'The client speaks an incompatible protocol version.',
  INTERNAL: 'An unexpected server error.',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export const errorCodeSchema = z.enum(Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]]);

export const wireErrorSchema = z.object({
  code: errorCodeSchema,
  message: z.string(),
  /** Optional machine-readable detail, e.g. the schema path that failed or a retry delay. */
  details: z.record(z.string(), z.unknown()).optional(),
});
export type WireError = z.infer<typeof wireErrorSchema>;

/** An error that carries a catalogue code; thrown inside the server and client, sent as WireError. */
export class ParleyError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>, cause?: unknown) {
    super(message ?? ERROR_CODES[code], cause === undefined ? undefined : { cause });
    this.name = 'ParleyError';
    this.code = code;
    this.details = details;
  }

  toWire(): WireError {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }

  static fromWire(error: WireError): ParleyError {
    return new ParleyError(error.code, error.message, error.details);
  }
}

/** Acknowledgement shape for every request/response event. */
export type Ack<T> = { ok: true; data: T } | { ok: false; error: WireError };

export function ackSchema<T extends z.ZodType>(data: T) {
  return z.discriminatedUnion('ok', [
    z.object({ ok: z.literal(true), data }),
    z.object({ ok: z.literal(false), error: wireErrorSchema }),
  ]);
}
