import { ParleyError } from '@parley-rtc/protocol';

export { ParleyError };

/** Why a client-side operation failed without the server answering with a catalogue error. */
export type ClientErrorReason =
  /** The server did not acknowledge within the deadline. */
  | 'timeout'
  /** The socket is not connected (or was closed while waiting). */
  | 'disconnected'
  /** The server answered with something that does not match the protocol schema. */
  | 'invalid-response'
  /** The object was closed; it cannot be used any more. */
  | 'closed'
  /** `connect()` was called on a room that is already connecting or connected. */
  | 'invalid-state'
  /** The caller cancelled the operation (an AbortSignal fired). */
  | 'aborted';

/** A failure detected by the SDK itself. Server-side refusals arrive as `ParleyError` instead. */
export class ClientError extends Error {
  override name = 'ClientError';
  constructor(
    readonly reason: ClientErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Why local media could not be started. */
export type MediaErrorReason = 'denied' | 'not-found' | 'in-use' | 'overconstrained' | 'unsupported' | 'unknown';

const REASON_BY_NAME: Partial<Record<string, MediaErrorReason>> = {
  NotAllowedError: 'denied',
  SecurityError: 'denied',
  NotFoundError: 'not-found',
  OverconstrainedError: 'overconstrained',
  NotReadableError: 'in-use',
  AbortError: 'in-use',
  NotSupportedError: 'unsupported',
  TypeError: 'unsupported',
};

/** getUserMedia / getDisplayMedia failed; `reason` is the classified DOMException name. */
export class MediaAccessError extends Error {
  override name = 'MediaAccessError';
  constructor(
    readonly kind: 'audio' | 'video' | 'screen',
    readonly reason: MediaErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  static from(kind: 'audio' | 'video' | 'screen', err: unknown): MediaAccessError {
    const name = err instanceof Error ? err.name : '';
    const reason = REASON_BY_NAME[name] ?? 'unknown';
    const text = err instanceof Error ? err.message : String(err);
    return new MediaAccessError(kind, reason, `${kind}: ${reason}${text ? ` (${text})` : ''}`, { cause: err });
  }
}
