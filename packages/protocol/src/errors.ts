import * as z from 'zod';

/**
 * The wire-safe error catalogue. Every error a client can receive carries one of these codes, with
 * the HTTP status it gets on HTTP routes; docs/errors.md documents each one. Codes are stable:
 * never rename, only add.
 */
export const ERROR_CATALOGUE = {
  INVALID_PAYLOAD: { status: 400, message: 'The message does not match its schema.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The message or upload is larger than the configured limit.' },
  NOT_IN_ROOM: { status: 409, message: 'This action needs the socket to have joined a room first.' },
  ALREADY_IN_ROOM: { status: 409, message: 'The socket has already joined a room; leave it first.' },
  PEER_NOT_FOUND: { status: 404, message: 'The target peer is not in the sender’s room.' },
  ROOM_NOT_FOUND: { status: 404, message: 'No such room.' },
  ROOM_FULL: { status: 409, message: 'The room has reached its participant limit.' },
  ROOM_LOCKED: { status: 423, message: 'The room is locked.' },
  BAD_PASSWORD: { status: 403, message: 'The room password is wrong.' },
  TOO_MANY_ROOMS: { status: 503, message: 'This node hosts the maximum number of rooms.' },
  UNAUTHORIZED: { status: 401, message: 'A valid token is required.' },
  TOKEN_INVALID: { status: 401, message: 'The token is malformed or its signature is wrong.' },
  TOKEN_EXPIRED: { status: 401, message: 'The token has expired.' },
  FORBIDDEN: { status: 403, message: 'The token does not grant this action.' },
  RATE_LIMITED: { status: 429, message: 'Too many requests; slow down and retry later.' },
  NOT_FOUND: { status: 404, message: 'The requested resource does not exist.' },
  RANGE_NOT_SATISFIABLE: { status: 416, message: 'The requested byte range is malformed or lies outside the file.' },
  BAD_SDP: { status: 400, message: 'The session description could not be parsed or has nothing usable.' },
  UNSUPPORTED: { status: 415, message: 'The request asks for something this server does not support.' },
  MEDIA_UNAVAILABLE: { status: 503, message: 'The media source could not be started.' },
  STREAM_BUSY: { status: 409, message: 'The stream already has a publisher (or is a configured source).' },
  STORAGE_FAILED: { status: 503, message: 'The entry could not be stored; it was not delivered.' },
  SHUTTING_DOWN: { status: 503, message: 'The server is shutting down.' },
  VERSION_MISMATCH: { status: 400, message: 'The client speaks an incompatible protocol version.' },
  NOTHING_PUBLISHED: { status: 404, message: 'The room or member publishes nothing that can be watched.' },
  STREAM_KEY_INVALID: { status: 401, message: 'The stream key is unknown or was revoked.' },
  PRECONDITION_FAILED: { status: 412, message: 'The resource changed since the client last saw it (stale ETag).' },
  RECORDING_NOT_FOUND: { status: 404, message: 'No such recording of this room.' },
  RECORDING_DISK_FULL: { status: 507, message: 'A room recording was stopped: the disk is full.' },
  RECORDING_SIZE_CAP: { status: 507, message: 'A room recording was stopped: it reached its configured size cap.' },
  INTERNAL: { status: 500, message: 'An unexpected server error.' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

/** Code → default message (the catalogue without statuses). */
export const ERROR_CODES = Object.fromEntries(Object.entries(ERROR_CATALOGUE).map(([code, entry]) => [code, entry.message])) as {
  readonly [C in ErrorCode]: (typeof ERROR_CATALOGUE)[C]['message'];
};

/** The HTTP status an error code is answered with on HTTP routes. */
export function httpStatusOf(code: ErrorCode): number {
  return ERROR_CATALOGUE[code].status;
}

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
  return z.discriminatedUnion('ok', [z.object({ ok: z.literal(true), data }), z.object({ ok: z.literal(false), error: wireErrorSchema })]);
}
