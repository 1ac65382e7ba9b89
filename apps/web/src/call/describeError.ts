import { ClientError, ParleyError } from '@parley-rtc/client';

/** A message for the user about a failed server request. */
export function describeError(err: unknown): string {
  if (err instanceof ParleyError) return `${err.message} (${err.code})`;
  if (err instanceof ClientError) {
    if (err.reason === 'timeout' || err.reason === 'disconnected')
      return 'Cannot reach the Parley server. Check your connection and try again.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
