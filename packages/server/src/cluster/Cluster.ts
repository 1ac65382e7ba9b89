/**
 * Cluster mode (`redis.url`): the Redis connections, the Socket.IO adapter that carries room
 * broadcasts and targeted sends between nodes (`@socket.io/redis-streams-adapter`: a Redis stream,
 * so messages sent while Redis restarts are delivered once it is back), the shared membership and
 * the node registry. Absent on one node.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import type { ParleyConfig } from '../config.ts';
import type { RoomRegistry } from '../signaling/RoomRegistry.ts';
import type { Logger } from '../util/logger.ts';
import { NodeRegistry, type NodeInfo, type NodeLoad } from './NodeRegistry.ts';
import { RedisMembership } from './RedisMembership.ts';
import { LogDelivery } from './LogDelivery.ts';
import type { LogEntry } from '@parley-rtc/protocol';
import type { LogStore } from '../roomlog/LogStore.ts';
import { closeRedis, connectRedis, type RedisClient } from './redisClient.ts';

export class Cluster {
  readonly nodeId: string;
  readonly membership: RedisMembership;
  #nodes: NodeRegistry | undefined;
  #delivery: LogDelivery | undefined;
  #reader: RedisClient | undefined;
  readonly #deadListeners = new Set<(node: string) => void>();
  #closing: Promise<void> | undefined;

  private constructor(
    private readonly config: ParleyConfig,
    private readonly client: RedisClient,
    private readonly sub: RedisClient,
    registry: RoomRegistry,
    private readonly log: Logger,
  ) {
    this.nodeId =
      config.cluster.nodeId ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 40)}-${randomBytes(3).toString('hex')}`;
    this.membership = new RedisMembership({
      nodeId: this.nodeId,
      client,
      sub,
      registry,
      log,
      resumeGraceMs: config.limits.resumeGraceMs,
    });
  }

  /** Connects to Redis and mirrors the cluster's rooms into `registry`. */
  static async connect(config: ParleyConfig, registry: RoomRegistry, log: Logger): Promise<Cluster> {
    const url = config.redis.url;
    if (url === undefined) throw new Error('cluster mode needs redis.url');
    const clusterLog = log.child({ module: 'cluster' });
    const client = await connectRedis({ url, log: clusterLog, name: 'commands' });
    let sub: RedisClient;
    try {
      sub = await connectRedis({ url, log: clusterLog, name: 'membership' });
    } catch (err) {
      await closeRedis(client);
      throw err;
    }
    const cluster = new Cluster(config, client, sub, registry, clusterLog);
    try {
      await cluster.membership.start();
    } catch (err) {
      await cluster.close();
      throw err;
    }
    return cluster;
  }

  /**
   * Starts live delivery of room-log entries: `deliver` hands an entry to every node in seq order;
   * `emitLocal` sends it to this node's members of the room.
   */
  async startDelivery(store: LogStore, emitLocal: (room: string, entry: LogEntry) => void): Promise<void> {
    const reader = (this.#reader = await connectRedis({ url: this.config.redis.url ?? '', log: this.log, name: 'log-reader' }));
    this.#delivery = new LogDelivery({ client: this.client, reader, store, log: this.log, emitLocal });
    await this.#delivery.start();
  }

  /** See LogDelivery.prime. */
  async primeDelivery(room: string, lastSeq: number): Promise<void> {
    await this.#delivery?.prime(room, lastSeq);
  }

  deliver(room: string, entry: LogEntry): void {
    this.#delivery?.deliver(room, entry);
  }

  /** The Socket.IO adapter factory for `new Server(…, { adapter })`. */
  adapter(): ReturnType<typeof createAdapter> {
    return createAdapter(this.client, { streamName: 'parley:signaling', maxLen: 100_000 });
  }

  /** Starts heartbeats (once the node knows its address) and watching the other nodes. */
  async startHeartbeat(address: string, load: () => Omit<NodeLoad, 'cpu'>): Promise<void> {
    const { cluster } = this.config;
    this.#nodes = new NodeRegistry({
      client: this.client,
      nodeId: this.nodeId,
      address: cluster.address ?? address,
      heartbeatMs: cluster.heartbeatMs,
      deadAfterMs: cluster.deadAfterMs,
      load,
      onDead: (node) => {
        this.membership.nodeDied(node);
        for (const listener of this.#deadListeners) {
          try {
            listener(node);
          } catch (err) {
            this.log.error({ err, node }, 'node-down listener failed');
          }
        }
      },
      log: this.log,
    });
    await this.#nodes.start();
  }

  /** The commands connection (features that need Redis duplicate it for subscriptions). */
  get redis(): RedisClient {
    return this.client;
  }

  /** Calls `listener` once per node the registry finds dead (the SFU relay drops its links); returns `off`. */
  onNodeDead(listener: (node: string) => void): () => void {
    this.#deadListeners.add(listener);
    return () => this.#deadListeners.delete(listener);
  }

  /** The live nodes (GET /api/v1/nodes). */
  nodes(): Promise<NodeInfo[]> {
    if (!this.#nodes) return Promise.resolve([]);
    return this.#nodes.list();
  }

  /** Tells the cluster this node admits nobody new (it is shutting down). */
  async drain(): Promise<void> {
    await this.#nodes?.drain().catch(() => undefined);
  }

  /** Leaves the node list and closes the Redis connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.membership.close();
      this.#delivery?.close();
      await this.#nodes?.close();
      if (this.#reader) this.#reader.destroy();
      await closeRedis(this.sub);
      await closeRedis(this.client);
    })();
    return this.#closing;
  }
}
