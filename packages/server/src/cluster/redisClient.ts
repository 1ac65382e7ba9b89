/**
 * The one place a Redis connection is made (cluster mode: `redis.url`). node-redis reconnects by
 * itself with a capped back-off and queues commands while it is away, so a Redis restart delays
 * cluster traffic instead of dropping it; callers that must not wait use `isReady`.
 */
import { createClient } from 'redis';
import type { Logger } from '../util/logger.ts';

/** A node-redis client with the default modules and RESP3 (as `createClient({ url })` makes). */
export type RedisClient = ReturnType<typeof makeClient>;

const makeClient = (url: string, name: string) =>
  createClient({ url, name: `parley:${name}`, socket: { reconnectStrategy: reconnectDelay, connectTimeout: 5000 } });

export interface RedisConnectOptions {
  url: string;
  log: Logger;
  /** Names the connection in logs and in Redis' CLIENT LIST (`parley:<name>`). */
  name: string;
}

/** Back-off between reconnection attempts: 50 ms, 100 ms, … capped at 1 s. */
export const reconnectDelay = (retries: number): number => Math.min(50 * 2 ** retries, 1000);

/**
 * Connects to Redis; resolves once the first connection is up (rejects if it cannot be made).
 * Errors after that are logged once per outage, and the client keeps reconnecting until `close`.
 */
export async function connectRedis({ url, log, name }: RedisConnectOptions): Promise<RedisClient> {
  const client = makeClient(url, name);
  let down = false;
  client.on('error', (err: unknown) => {
    if (down) return;
    down = true;
    log.warn({ err, redis: name }, 'redis connection lost; reconnecting');
  });
  client.on('ready', () => {
    if (!down) return;
    down = false;
    log.info({ redis: name }, 'redis connection restored');
  });
  try {
    await client.connect();
  } catch (err) {
    client.destroy();
    throw new Error(`cannot connect to Redis at ${redactUrl(url)}: ${(err as Error).message}`, { cause: err });
  }
  return client;
}

/** Closes a client: waits for queued replies when connected, drops it otherwise. Idempotent. */
export async function closeRedis(client: RedisClient): Promise<void> {
  if (!client.isOpen) return;
  if (client.isReady) {
    try {
      await client.close();
      return;
    } catch {
      // fall through: drop the connection
    }
  }
  client.destroy();
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}
