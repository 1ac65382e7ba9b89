import { RateLimiterMemory, type RateLimiterAbstract } from 'rate-limiter-flexible';

/** Makes one rate-limiter-flexible limiter; `duration` is in seconds (fractions allowed). */
export type LimiterStore = (options: { keyPrefix: string; points: number; duration: number }) => RateLimiterAbstract;

/** Counts in this process: right for one node, and for per-socket limits everywhere. */
export const memoryStore: LimiterStore = (options) => new RateLimiterMemory(options);

/**
 * The store for limits that should hold across nodes (per-IP HTTP and connection rates). Memory
 * today; when a Redis setting exists, this is where `RateLimiterRedis` is built from it.
 */
export function limiterStoreFor(_config: { rateLimits: object }): LimiterStore {
  return memoryStore;
}
