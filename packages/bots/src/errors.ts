/** How bots and the CLIs name an error: the server's code (ROOM_FULL …) or the client's reason (timeout …). */

/** Describes any error in one line, with the server's code when it has one. */
export function describeError(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' && err instanceof Error)
    return `${err.code}: ${err.message}`;
  return err instanceof Error ? err.message : String(err);
}

/** The code to count a failure under (the server's error code, or the client's reason). */
export function errorKey(err: unknown): string {
  if (err && typeof err === 'object') {
    if ('code' in err && typeof err.code === 'string') return err.code;
    if ('reason' in err && typeof err.reason === 'string') return err.reason;
  }
  return 'ERROR';
}
