import type { Metrics } from './Metrics.ts';

/** The outcome label of a join ack: `ok`, or the error code it answered. */
function outcomeOf(res: unknown): string {
  if (typeof res !== 'object' || res === null || !('ok' in res)) return 'unknown';
  if (res.ok === true) return 'ok';
  const error = 'error' in res ? res.error : undefined;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'unknown';
}

/**
 * For a `join` request, wraps its ack so answering it records `parley_join_duration_seconds`:
 * from the request's arrival to its answer (rate limit, token check, admission, log catch-up), by
 * outcome. Any other event's ack comes back unchanged.
 */
export function timeJoinAck(metrics: Metrics, event: string, ack: unknown): unknown {
  if (event !== 'join' || typeof ack !== 'function') return ack;
  const started = performance.now();
  return (res: unknown) => {
    const seconds = (performance.now() - started) / 1000;
    metrics.observe('parley_join_duration_seconds', 'Time from a join request to its answer, by outcome.', seconds, {
      outcome: outcomeOf(res),
    });
    Reflect.apply(ack, undefined, [res]);
  };
}
