import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../cluster/redisClient.ts';
import type { Logger } from '../util/logger.ts';
import { MemoryConnectionCounter, type ConnectionCounter } from './ConnectionCounter.ts';

/**
 * Admits one connection: drops expired leases, refuses at the cap, else adds a lease. Times are
 * Redis' own clock (TIME), so the nodes' clocks need not agree.
 * KEYS[1] the address's sorted set; ARGV: lease ms, cap, member.
 */
const ACQUIRE = `
local t = redis.call('TIME')
local now = t[1] * 1000 + math.floor(t[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[1]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1`;

/** Renews this node's leases of one address (adding any Redis lost). KEYS[1]; ARGV: lease ms, members… */
const RENEW = `
local t = redis.call('TIME')
local expires = t[1] * 1000 + math.floor(t[2] / 1000) + tonumber(ARGV[1])
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expires, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return #ARGV - 1`;

export interface RedisConnectionCounterOptions {
  client: RedisClient;
  max: number;
  /** A lease not renewed for this long is a dead node's: it stops counting (cluster.deadAfterMs). */
  leaseMs: number;
  /** How often leases are renewed (cluster.heartbeatMs). */
  renewMs: number;
  /** A Redis call slower than this counts as Redis being down. Default 1000 ms. */
  timeoutMs?: number;
  log: Logger;
}

/**
 * The per-address connection cap of a cluster: one sorted set per address in Redis
 * (`parley:conn:<ip>`), one member per open connection (`<process>:<socket id>`) scored by when
 * its lease ends. Each node renews its own connections' leases every `renewMs`; a node that dies
 * stops renewing, and its connections stop counting `leaseMs` later, so the count cannot leak.
 *
 * While Redis is unreachable the cap holds per node (this node's own connections are counted
 * against it, as on a single node): fail open to per-node limits. Connections admitted then are
 * added to Redis by the next renewal once it is back.
 */
export class RedisConnectionCounter implements ConnectionCounter {
  readonly #opts: RedisConnectionCounterOptions;
  readonly #prefix = randomUUID();
  /** This process's open connections, whatever admitted them. */
  readonly #local: MemoryConnectionCounter;
  readonly #timer: NodeJS.Timeout;
  #degraded = false;
  #closed = false;

  constructor(opts: RedisConnectionCounterOptions) {
    this.#opts = opts;
    this.#local = new MemoryConnectionCounter(opts.max);
    this.#timer = setInterval(() => void this.#renew(), opts.renewMs);
    this.#timer.unref();
  }

  async acquire(ip: string, id: string): Promise<boolean> {
    if (this.#opts.client.isReady) {
      try {
        const admitted = await this.#call(
          this.#opts.client.eval(ACQUIRE, {
            keys: [keyOf(ip)],
            arguments: [String(this.#opts.leaseMs), String(this.#opts.max), this.#member(id)],
          }),
        );
        this.#healthy();
        if (admitted !== 1) return false;
        this.#local.add(ip, id);
        return true;
      } catch (err) {
        this.#degrade(err);
      }
    } else {
      this.#degrade(new Error('redis is not connected'));
    }
    return this.#local.acquire(ip, id);
  }

  release(ip: string, id: string): void {
    this.#local.release(ip, id);
    if (this.#closed || !this.#opts.client.isReady) return;
    // A lost ZREM only means the lease runs out on its own.
    this.#opts.client.zRem(keyOf(ip), this.#member(id)).catch(() => {});
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    clearInterval(this.#timer);
    const mine = this.#local.entries();
    const gone = this.#opts.client.isReady
      ? Promise.all(
          mine.map(([ip, ids]) =>
            this.#opts.client.zRem(
              keyOf(ip),
              ids.map((id) => this.#member(id)),
            ),
          ),
        ).then(
          () => undefined,
          () => undefined,
        )
      : Promise.resolve();
    return gone.then(() => this.#local.close());
  }

  async #renew(): Promise<void> {
    if (this.#closed || !this.#opts.client.isReady) return;
    try {
      await Promise.all(
        this.#local.entries().map(([ip, ids]) =>
          this.#call(
            this.#opts.client.eval(RENEW, {
              keys: [keyOf(ip)],
              arguments: [String(this.#opts.leaseMs), ...ids.map((id) => this.#member(id))],
            }),
          ),
        ),
      );
      this.#healthy();
    } catch (err) {
      this.#degrade(err);
    }
  }

  #member(id: string): string {
    return `${this.#prefix}:${id}`;
  }

  /** Rejects when Redis does not answer within timeoutMs. */
  async #call<T>(reply: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('redis did not answer in time')), this.#opts.timeoutMs ?? 1000);
    });
    try {
      return await Promise.race([reply, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  #degrade(err: unknown): void {
    if (this.#degraded) return;
    this.#degraded = true;
    this.#opts.log.warn({ err }, 'redis unavailable: the per-address connection cap holds per node until it is back');
  }

  #healthy(): void {
    if (!this.#degraded) return;
    this.#degraded = false;
    this.#opts.log.info('redis is back: the per-address connection cap holds across nodes again');
  }
}

function keyOf(ip: string): string {
  return `parley:conn:${ip}`;
}
