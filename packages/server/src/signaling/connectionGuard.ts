import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { ParleyError } from '@parley-rtc/protocol';
import { RateLimiter } from '../ratelimit/RateLimiter.ts';
import type { Metrics } from '../metrics/Metrics.ts';

export interface ConnectionLimits {
  connectionsPerMin: number;
  connectionBurst: number;
  maxConnectionsPerIp: number;
}

/**
 * Socket.IO middleware limiting new connections per IP (rate) and open connections per IP.
 * A refused handshake gets a connect_error whose `data` is the wire error. `addressOf` names the
 * client of a handshake request (the TCP peer, or the client behind a trusted proxy); without it
 * the TCP peer counts.
 */
export function guardConnections(
  io: Server,
  limits: ConnectionLimits,
  metrics: Metrics,
  addressOf: (req: IncomingMessage) => string | undefined = (req) => req.socket.remoteAddress,
): { close(): void } {
  const rate = new RateLimiter({ ratePerSec: limits.connectionsPerMin / 60, burst: limits.connectionBurst });
  const open = new Map<string, number>();
  const admit = async (socket: Socket, next: (err?: Error) => void): Promise<void> => {
    const ip = addressOf(socket.request) ?? socket.handshake.address;
    const refuse = (error: ParleyError) => {
      metrics.inc('parley_errors_total', 'Errors answered to clients, by code.', { code: error.code });
      next(Object.assign(new Error(error.message), { data: error.toWire() }));
    };
    const retryAfterMs = await rate.take(ip);
    if (retryAfterMs > 0)
      return refuse(new ParleyError('RATE_LIMITED', `too many connections; retry in ${retryAfterMs} ms`, { retryAfterMs }));
    const count = open.get(ip) ?? 0;
    if (count >= limits.maxConnectionsPerIp) {
      return refuse(new ParleyError('RATE_LIMITED', `at most ${limits.maxConnectionsPerIp} connections per address`));
    }
    open.set(ip, count + 1);
    socket.once('disconnect', () => {
      const n = (open.get(ip) ?? 1) - 1;
      if (n <= 0) open.delete(ip);
      else open.set(ip, n);
    });
    next();
  };
  // Socket.IO ignores a middleware's promise: a failure goes to `next` (the client gets a
  // connect_error) rather than becoming an unhandled rejection that leaves the handshake hanging.
  io.use((socket, next) => {
    admit(socket, next).catch((err: unknown) => next(err instanceof Error ? err : new Error(String(err))));
  });
  return {
    close: () => {
      rate.close();
      open.clear();
    },
  };
}
