/**
 * The cluster's nodes (as LiveKit keeps them): every node writes its id, address and load to Redis
 * every `heartbeatMs`, with a liveness key that expires after `deadAfterMs`. Each node sweeps the
 * list at the same pace; a node whose liveness key is gone is dead: `onDead` runs once per node on
 * each survivor, and the first survivor to notice takes it off the list.
 */
import { z } from 'zod';
import type { Logger } from '../util/logger.ts';
import type { RedisClient } from './redisClient.ts';
import { keys } from './seatScripts.ts';

export const nodeInfoSchema = z.object({
  id: z.string(),
  address: z.string(),
  startedAt: z.number(),
  /** When the node last wrote its heartbeat (its own clock, ms). */
  at: z.number(),
  draining: z.boolean(),
  load: z.object({ rooms: z.number(), members: z.number(), sfuConsumers: z.number(), cpu: z.number() }),
});
export type NodeInfo = z.infer<typeof nodeInfoSchema>;
export type NodeLoad = NodeInfo['load'];

export interface NodeRegistryOptions {
  client: RedisClient;
  nodeId: string;
  address: string;
  heartbeatMs: number;
  deadAfterMs: number;
  load: () => Omit<NodeLoad, 'cpu'>;
  onDead: (node: string) => void;
  log: Logger;
}

export class NodeRegistry {
  readonly #o: NodeRegistryOptions;
  readonly #startedAt = Date.now();
  readonly #dead = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #cpu = process.cpuUsage();
  #cpuAt = performance.now();
  #draining = false;
  #closed = false;

  constructor(options: NodeRegistryOptions) {
    this.#o = options;
  }

  /** Writes the first heartbeat, sweeps once, then keeps doing both every `heartbeatMs`. */
  async start(): Promise<void> {
    await this.#beat();
    await this.#sweep();
    const tick = () => {
      if (this.#closed) return;
      Promise.all([this.#beat(), this.#sweep()])
        .catch((err: unknown) => this.#o.log.debug({ err }, 'heartbeat failed (redis away?)'))
        .finally(() => {
          if (!this.#closed) this.#timer = setTimeout(tick, this.#o.heartbeatMs).unref();
        });
    };
    this.#timer = setTimeout(tick, this.#o.heartbeatMs).unref();
  }

  /** Marks this node draining in its heartbeats (it admits no joins). */
  drain(): Promise<void> {
    this.#draining = true;
    return this.#beat();
  }

  /** The nodes that are alive now. */
  async list(): Promise<NodeInfo[]> {
    const { client } = this.#o;
    const all = await client.hGetAll(keys.nodes);
    const out: NodeInfo[] = [];
    for (const text of Object.values(all)) {
      const info = parseInfo(text);
      if (info && (await client.exists(keys.alive(info.id))) === 1) out.push(info);
    }
    return out.sort((a, b) => a.id.localeCompare(b.id));
  }

  /**
   * Stops the heartbeat and ends this node's liveness at once, so the others notice at their next
   * sweep (instead of after `deadAfterMs`) and expire the seats its members do not resume. Idempotent.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    const { client, nodeId } = this.#o;
    if (!client.isReady) return;
    await client.del(keys.alive(nodeId)).catch(() => undefined);
  }

  async #beat(): Promise<void> {
    const { client, nodeId, address, deadAfterMs } = this.#o;
    const info: NodeInfo = {
      id: nodeId,
      address,
      startedAt: this.#startedAt,
      at: Date.now(),
      draining: this.#draining,
      load: { ...this.#o.load(), cpu: this.#cpuShare() },
    };
    await Promise.all([client.pSetEx(keys.alive(nodeId), deadAfterMs, '1'), client.hSet(keys.nodes, nodeId, JSON.stringify(info))]);
  }

  async #sweep(): Promise<void> {
    const { client, nodeId, log } = this.#o;
    const ids = await client.hKeys(keys.nodes);
    for (const id of ids) {
      if (id === nodeId || this.#dead.has(id)) continue;
      if ((await client.exists(keys.alive(id))) === 1) continue;
      this.#dead.add(id);
      log.warn({ node: id }, 'cluster node is dead (no heartbeat)');
      await client.hDel(keys.nodes, id);
      this.#o.onDead(id);
    }
  }

  /** This process's CPU use since the last heartbeat, as a share of one core (0..cores). */
  #cpuShare(): number {
    const now = performance.now();
    const used = process.cpuUsage(this.#cpu);
    const share = (used.user + used.system) / 1000 / Math.max(now - this.#cpuAt, 1);
    this.#cpu = process.cpuUsage();
    this.#cpuAt = now;
    return Math.round(share * 1000) / 1000;
  }
}

function parseInfo(text: string): NodeInfo | undefined {
  try {
    const parsed = nodeInfoSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
