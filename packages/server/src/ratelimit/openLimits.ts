import type { ParleyConfig } from '../config.ts';
import { closeRedis, connectRedis } from '../cluster/redisClient.ts';
import type { Logger } from '../util/logger.ts';
import { MemoryConnectionCounter, type ConnectionCounter } from './ConnectionCounter.ts';
import { memoryStore, redisStore, type LimiterStore } from './limiterStore.ts';
import { RedisConnectionCounter } from './RedisConnectionCounter.ts';

/** Where the per-address limits count: this process, or (cluster mode) Redis. */
export interface SharedLimits {
  /** For the per-IP HTTP and connection rates. */
  store: LimiterStore;
  /** For the per-IP connection cap. */
  connections: ConnectionCounter;
  /** Idempotent. */
  close(): Promise<void>;
}

/**
 * Memory on one node; in cluster mode (`redis.url`) a Redis connection of its own, so the
 * per-address limits hold across nodes. Leases of open connections last `cluster.deadAfterMs`
 * and are renewed every `cluster.heartbeatMs`, like the node's heartbeat.
 */
export async function openLimits(config: Pick<ParleyConfig, 'redis' | 'cluster' | 'rateLimits'>, log: Logger): Promise<SharedLimits> {
  const max = config.rateLimits.maxConnectionsPerIp;
  if (config.redis.url === undefined) {
    const connections = new MemoryConnectionCounter(max);
    return { store: memoryStore, connections, close: () => connections.close() };
  }
  const client = await connectRedis({ url: config.redis.url, log, name: 'limits' });
  const connections = new RedisConnectionCounter({
    client,
    max,
    leaseMs: config.cluster.deadAfterMs,
    renewMs: config.cluster.heartbeatMs,
    log,
  });
  let closing: Promise<void> | undefined;
  return {
    store: redisStore(client),
    connections,
    close: () => (closing ??= connections.close().then(() => closeRedis(client))),
  };
}
