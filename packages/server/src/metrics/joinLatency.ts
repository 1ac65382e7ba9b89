import type { Server } from 'socket.io';
import type { Metrics } from './Metrics.ts';

/** The outcome label of a join ack: `ok`, or the error code it answered. */
function outcomeOf(res: unknown): string {
  if (typeof res !== 'object' || res === null || !('ok' in res)) return 'unknown';
  if (res.ok === true) return 'ok';
  const error = 'error' in res ? res.error : undefined;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' ? error.code : 'unknown';
}

/**
 * Records `parley_join_duration_seconds`: from a `join` request's arrival to its ack (token check,
 * room admission, log catch-up), by outcome. It wraps the ack in a Socket.IO middleware, so the
 * signaling handlers stay unaware of it.
 */
export function observeJoinLatency(io: Server, metrics: Metrics): void {
  io.on('connection', (socket) => {
    socket.use((packet, next) => {
      const last = packet.length - 1;
      const ack: unknown = packet[last];
      if (packet[0] === 'join' && last > 0 && typeof ack === 'function') {
        const started = performance.now();
        packet[last] = (res: unknown) => {
          metrics.observe('parley_join_duration_seconds', 'Time from a join request to its answer, by outcome.', (performance.now() - started) / 1000, {
            outcome: outcomeOf(res),
          });
          Reflect.apply(ack, undefined, [res]);
        };
      }
      next();
    });
  });
}
