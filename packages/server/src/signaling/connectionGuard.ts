import type { IncomingMessage } from 'node:http';
import type { Server, Socket } from 'socket.io';
import { ParleyError } from '@parley-rtc/protocol';
import { RateLimiter } from '../ratelimit/RateLimiter.ts';
import { MemoryConnectionCounter, type ConnectionCounter } from '../ratelimit/ConnectionCounter.ts';
import { memoryStore, type LimiterStore } from '../ratelimit/limiterStore.ts';
import type { Metrics } from '../metrics/Metrics.ts';

export interface ConnectionLimits {
  connectionsPerMin: number;
  connectionBurst: number;
  maxConnectionsPerIp: number;
}

/** Where the guard counts: this process (the default), or Redis in cluster mode (ratelimit/openLimits.ts). */
export interface ConnectionGuardBacking {
  store: LimiterStore;
  connections: ConnectionCounter;
}

/**
 * Socket.IO middleware limiting new connections per IP (rate) and open connections per IP.
 * A refused handshake gets a connect_error whose `data` is the wire error. `addressOf` names the
 * client of a handshake request (the TCP peer, or the client behind a trusted proxy); without it
 * the TCP peer counts. The counts are `backing`'s: shared by every node in cluster mode.
 */
export function guardConnections(
  io: Server,
  limits: ConnectionLimits,
  metrics: Metrics,
  addressOf: (req: IncomingMessage) => string | undefined = (req) => req.socket.remoteAddress,
  backing: ConnectionGuardBacking = { store: memoryStore, connections: new MemoryConnectionCounter(limits.maxConnectionsPerIp) },
): { close(): void } {
  const rate = new RateLimiter({ ratePerSec: limits.connectionsPerMin / 60, burst: limits.connectionBurst }, backing.store, 'connections');
  const open = backing.connections;
  const admit = async (socket: Socket, next: (err?: Error) => void): Promise<void> => {
    const ip = addressOf(socket.request) ?? socket.handshake.address;
    const refuse = (error: ParleyError) => {
      metrics.inc('parley_errors_total', 'Errors answered to clients, by code.', { code: error.code });
      next(Object.assign(new Error(error.message), { data: error.toWire() }));
    };
    const retryAfterMs = await rate.take(ip);
    if (retryAfterMs > 0)
      return refuse(new ParleyError('RATE_LIMITED', `too many connections; retry in ${retryAfterMs} ms`, { retryAfterMs }));
    if (!(await open.acquire(ip, socket.id))) {
      return refuse(new ParleyError('RATE_LIMITED', `at most ${limits.maxConnectionsPerIp} connections per address`));
    }
    // The client may have gone while we counted: Socket.IO then drops the socket without a
    // disconnect event, so uncount it here (the check and next() run in one tick).
    if (socket.conn.readyState !== 'open') {
      open.release(ip, socket.id);
      return next(new Error('the connection closed during the handshake'));
    }
    socket.once('disconnect', () => open.release(ip, socket.id));
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
    },
  };
}
