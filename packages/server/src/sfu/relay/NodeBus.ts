/**
 * How SFU nodes talk about media links: messages to one node, and where a room's producers are
 * published. `RedisNodeBus` does it over Redis (node-redis): pub/sub with one channel per node
 * (`parley:node:<id>`) and a hash per room (`parley:sfu:producers:<room>`: producer id → node id).
 * The cluster core can hand its own Redis client in (`client`); without one the bus opens its own.
 */
import { createClient } from 'redis';
import { busEnvelopeSchema, type RelayMessage } from './messages.ts';

export interface NodeBus {
  readonly nodeId: string;
  /** Sends one message to a node (delivered at most once; lost while the node is not listening). */
  send(toNode: string, message: RelayMessage): Promise<void>;
  /** Messages to this node, already validated. Returns its `off`. */
  onMessage(handler: (fromNode: string, message: RelayMessage) => void): () => void;
  /** Records (or, with undefined, forgets) the node whose router has a room's producer. */
  setProducerNode(room: string, producerId: string, nodeId: string | undefined): Promise<void>;
  producerNode(room: string, producerId: string): Promise<string | undefined>;
  /** Idempotent. */
  close(): Promise<void>;
}

const makeClient = (url: string | undefined) => createClient({ url });
/** A node-redis client as `createClient({ url })` makes it (default modules; the cluster core's client has this type). */
export type RedisClient = ReturnType<typeof makeClient>;

export interface RedisNodeBusOptions {
  nodeId: string;
  /** redis://… (used when no client is given). */
  url?: string;
  /** A connected client to share (the bus duplicates it for its subscription and does not close it). */
  client?: RedisClient;
  /** Messages that failed validation are reported here. */
  onInvalid?: (from: unknown, error: unknown) => void;
}

const channelOf = (nodeId: string): string => `parley:node:${nodeId}`;
const producersKey = (room: string): string => `parley:sfu:producers:${room}`;
const announcedKey = (room: string): string => `parley:sfu:announced:${room}`;

export class RedisNodeBus implements NodeBus {
  readonly nodeId: string;
  readonly #client: RedisClient;
  readonly #sub: RedisClient;
  readonly #ownsClient: boolean;
  readonly #handlers = new Set<(from: string, message: RelayMessage) => void>();
  readonly #onInvalid: RedisNodeBusOptions['onInvalid'];
  #closed = false;

  private constructor(opts: RedisNodeBusOptions, client: RedisClient, ownsClient: boolean) {
    this.nodeId = opts.nodeId;
    this.#client = client;
    this.#ownsClient = ownsClient;
    this.#sub = client.duplicate();
    this.#onInvalid = opts.onInvalid;
  }

  /** Connects (its own client when none is given) and subscribes to this node's channel. */
  static async open(opts: RedisNodeBusOptions): Promise<RedisNodeBus> {
    const client = opts.client ?? makeClient(opts.url);
    const bus = new RedisNodeBus(opts, client, !opts.client);
    // node-redis reconnects by itself; errors while it does are expected, not fatal
    for (const c of bus.#ownsClient ? [client, bus.#sub] : [bus.#sub]) c.on('error', () => {});
    if (bus.#ownsClient) await client.connect();
    await bus.#sub.connect();
    await bus.#sub.subscribe(channelOf(opts.nodeId), (raw) => bus.#deliver(raw));
    return bus;
  }

  #deliver(raw: string): void {
    let parsed;
    try {
      parsed = busEnvelopeSchema.safeParse(JSON.parse(raw));
    } catch (err) {
      this.#onInvalid?.(undefined, err);
      return;
    }
    if (!parsed.success) {
      this.#onInvalid?.(undefined, parsed.error);
      return;
    }
    for (const h of this.#handlers) h(parsed.data.from, parsed.data.message);
  }

  async send(toNode: string, message: RelayMessage): Promise<void> {
    if (this.#closed) return;
    await this.#client.publish(channelOf(toNode), JSON.stringify({ from: this.nodeId, message }));
  }

  onMessage(handler: (fromNode: string, message: RelayMessage) => void): () => void {
    this.#handlers.add(handler);
    return () => this.#handlers.delete(handler);
  }

  async setProducerNode(room: string, producerId: string, nodeId: string | undefined): Promise<void> {
    if (this.#closed) return;
    if (nodeId === undefined) await this.#client.hDel(producersKey(room), producerId);
    else await this.#client.hSet(producersKey(room), producerId, nodeId);
  }

  async producerNode(room: string, producerId: string): Promise<string | undefined> {
    return (await this.#client.hGet(producersKey(room), producerId)) ?? undefined;
  }

  /** Keeps (or, with undefined, drops) what a room's members are told of a producer (`sfu_producer`), for joiners on other nodes. */
  async setAnnouncement(room: string, producerId: string, announcement: unknown): Promise<void> {
    if (this.#closed) return;
    if (announcement === undefined) await this.#client.hDel(announcedKey(room), producerId);
    else await this.#client.hSet(announcedKey(room), producerId, JSON.stringify(announcement));
  }

  /** The announcements of a room's producers published on other nodes (unchecked JSON: parse it). */
  async remoteAnnouncements(room: string): Promise<unknown[]> {
    const [nodes, announced] = await Promise.all([this.#client.hGetAll(producersKey(room)), this.#client.hGetAll(announcedKey(room))]);
    const out: unknown[] = [];
    for (const [id, text] of Object.entries(announced)) {
      if (nodes[id] === undefined || nodes[id] === this.nodeId) continue;
      try {
        out.push(JSON.parse(text));
      } catch {
        // skipped: not JSON
      }
    }
    return out;
  }

  /** Removes a (dead) node's producers from every room's directory; returns how many. Idempotent. */
  async forgetNode(nodeId: string): Promise<number> {
    let removed = 0;
    for await (const batch of this.#client.scanIterator({ MATCH: producersKey('*'), COUNT: 200 })) {
      for (const key of batch) {
        const entries = await this.#client.hGetAll(key);
        const ids = Object.keys(entries).filter((id) => entries[id] === nodeId);
        if (ids.length) removed += await this.#client.hDel(key, ids);
        if (ids.length) await this.#client.hDel(announcedKey(key.slice(producersKey('').length)), ids);
      }
    }
    return removed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers.clear();
    await this.#sub.close().catch(() => {});
    if (this.#ownsClient) await this.#client.close().catch(() => {});
  }
}
