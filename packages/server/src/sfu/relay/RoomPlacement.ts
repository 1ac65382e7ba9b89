/**
 * Which node is a room's SFU home (docs/sfu.md, "Rooms across nodes"): the room → node map in Redis,
 * LiveKit-style. The first node to ask records the least-loaded live node under a short lock
 * (`SET NX PX`), so nodes asking at once agree; the record is a lease (`ttlMs`) its home renews while
 * the room lives (`renew`), and a home that is no longer in the node list is replaced. The home decides
 * room-wide things (the mesh → SFU switch) and is where members go when one router is enough; members
 * served by other nodes reach its tracks over the media links (SfuRelay).
 *
 * The node list is the cluster's node registry (heartbeats, load); this file only reads it.
 */
import { randomUUID } from 'node:crypto';
import type { RedisClient } from './NodeBus.ts';

/** A live node and its load (any monotone measure: peers + SFU consumers, CPU…). */
export interface NodeLoad {
  id: string;
  load: number;
  /** A full or draining node takes no new rooms. */
  full?: boolean;
}

/** The live nodes of the cluster (the node registry implements it). */
export interface NodeList {
  nodes(): Promise<readonly NodeLoad[]>;
}

export interface RoomPlacementOptions {
  client: RedisClient;
  nodes: NodeList;
  /** How long a placement lasts unless its home renews it (default 30 s). */
  ttlMs?: number;
  /** How long the choosing lock is held at most (default 2 s). */
  lockMs?: number;
}

const homeKey = (room: string): string => `parley:room-node:${room}`;
const lockKey = (room: string): string => `parley:room-node-lock:${room}`;
/** Deletes / extends a key only while it holds the expected value. */
const DEL_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end";
const PEXPIRE_IF = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return 0 end";

export class RoomPlacement {
  readonly #client: RedisClient;
  readonly #nodes: NodeList;
  readonly #ttlMs: number;
  readonly #lockMs: number;

  constructor(opts: RoomPlacementOptions) {
    this.#client = opts.client;
    this.#nodes = opts.nodes;
    this.#ttlMs = opts.ttlMs ?? 30_000;
    this.#lockMs = opts.lockMs ?? 2000;
  }

  /** The room's home node now, without choosing one. */
  async current(room: string): Promise<string | undefined> {
    return (await this.#client.get(homeKey(room))) ?? undefined;
  }

  /**
   * The room's home: the recorded one while it is alive, else the least-loaded live node that is not
   * full (ties: lowest id), recorded for `ttlMs`. Throws when no node can take it.
   */
  async homeOf(room: string): Promise<string> {
    const deadline = Date.now() + this.#lockMs * 2;
    for (let wait = 5; ; wait = Math.min(100, wait * 2)) {
      const nodes = await this.#nodes.nodes();
      const home = await this.current(room);
      if (home !== undefined && nodes.some((n) => n.id === home)) return home;
      const token = randomUUID();
      const locked = await this.#client.set(lockKey(room), token, { condition: 'NX', expiration: { type: 'PX', value: this.#lockMs } });
      if (locked === 'OK') {
        try {
          return await this.#choose(room, home);
        } finally {
          await this.#client.eval(DEL_IF, { keys: [lockKey(room)], arguments: [token] });
        }
      }
      // another node is choosing: its record appears within the lock's lifetime
      if (Date.now() > deadline) throw new Error(`no placement for room ${room}: its lock stayed taken`);
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
  }

  async #choose(room: string, stale: string | undefined): Promise<string> {
    const nodes = await this.#nodes.nodes();
    const home = await this.current(room); // someone may have chosen while we took the lock
    if (home !== undefined && home !== stale && nodes.some((n) => n.id === home)) return home;
    const candidates = nodes.filter((n) => !n.full).sort((a, b) => a.load - b.load || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const chosen = candidates[0];
    if (!chosen) throw new Error(`no node can take room ${room}`);
    await this.#client.set(homeKey(room), chosen.id, { expiration: { type: 'PX', value: this.#ttlMs } });
    return chosen.id;
  }

  /** The home extends its lease (false: it is no longer the room's home). */
  async renew(room: string, nodeId: string): Promise<boolean> {
    return Number(await this.#client.eval(PEXPIRE_IF, { keys: [homeKey(room)], arguments: [nodeId, String(this.#ttlMs)] })) === 1;
  }

  /** The home gives the room up (its last member left, or it drains); only the home can. */
  async release(room: string, nodeId: string): Promise<boolean> {
    return Number(await this.#client.eval(DEL_IF, { keys: [homeKey(room)], arguments: [nodeId] })) === 1;
  }
}
