import { RateLimiterMemory, RateLimiterRedis, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { RedisClient } from '../cluster/redisClient.ts';

/** Options of one rate-limiter-flexible limiter; `duration` is in seconds (fractions allowed). */
export interface LimiterOptions {
  keyPrefix: string;
  points: number;
  duration: number;
}

/** Makes one rate-limiter-flexible limiter. */
export type LimiterStore = (options: LimiterOptions) => RateLimiterAbstract;

/** Counts in this process: right for one node, and for per-socket limits everywhere. */
export const memoryStore: LimiterStore = (options) => new RateLimiterMemory(options);

/**
 * Counts in Redis, shared by every node (cluster mode: per-IP HTTP and connection rates).
 * Redis keys expire in whole seconds, so a window shorter than a second (or not a whole number
 * of seconds) is stretched to whole seconds with its points scaled alike: 1 point per 20 ms
 * becomes 50 points per second. The long-run rate is the same; within one window the points may
 * be spent at once.
 *
 * While Redis is unreachable (node-redis not ready, or a command fails) each limiter falls back
 * to an in-memory twin with the exact limit: every node limits on its own, as a single node does,
 * instead of refusing everyone (fail open to per-node limits, not to no limits).
 */
export function redisStore(client: RedisClient): LimiterStore {
  return (options) => {
    const seconds = Math.max(1, Math.ceil(options.duration));
    const points = Math.max(1, Math.round((options.points * seconds) / options.duration));
    return new RateLimiterRedis({
      storeClient: client,
      useRedisPackage: true,
      rejectIfRedisNotReady: true,
      keyPrefix: options.keyPrefix,
      points,
      duration: seconds,
      insuranceLimiter: new RateLimiterMemory(options),
    });
  };
}
