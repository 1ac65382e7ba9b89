/**
 * Shared room membership in Redis (cluster mode). Seats are a hash per room (member id → seat
 * JSON) changed only by Lua scripts (seatScripts.ts), so limits hold for the whole cluster. Every
 * change is published on one channel; each node mirrors all rooms' seats into its RoomRegistry
 * from those messages, and re-reads everything from Redis when its subscription (re)starts.
 */
import { ParleyError } from '@parley-rtc/protocol';
import { z } from 'zod';
import type { LiveRoom, Member, RoomRegistry } from '../signaling/RoomRegistry.ts';
import type { SeatRemoval, SharedMembership } from '../signaling/SharedMembership.ts';
import type { Logger } from '../util/logger.ts';
import type { RedisClient } from './redisClient.ts';
import { memberOf, parseSeat, seatOf, seatSchema, type SeatRecord } from './seatRecord.ts';
import { ADMIT, REMOVE, RESTORE, SWAP, keys } from './seatScripts.ts';

const settingsSchema = z.object({ locked: z.boolean(), max: z.number().int(), pw: z.string().optional() });
const messageSchema = z.discriminatedUnion('t', [
  z.object({ t: z.literal('seat'), from: z.string(), room: z.string(), seat: seatSchema }),
  z.object({ t: z.literal('gone'), from: z.string(), room: z.string(), id: z.string() }),
  z.object({ t: z.literal('settings'), from: z.string(), room: z.string(), settings: settingsSchema }),
]);
type Message = z.infer<typeof messageSchema>;

export interface RedisMembershipOptions {
  nodeId: string;
  /** Commands and publishing. */
  client: RedisClient;
  /** A second connection for the subscription. */
  sub: RedisClient;
  registry: RoomRegistry;
  log: Logger;
  /** How long the seats of a dead node wait for their members to resume elsewhere. */
  resumeGraceMs: number;
}

export class RedisMembership implements SharedMembership {
  readonly nodeId: string;
  readonly #o: RedisMembershipOptions;
  readonly #removed = new Set<(room: string, member: Member, how: SeatRemoval) => void>();
  #closed = false;

  constructor(options: RedisMembershipOptions) {
    this.#o = options;
    this.nodeId = options.nodeId;
  }

  /** Subscribes and mirrors every room; again (with the local seats re-asserted) after each reconnection. */
  async start(): Promise<void> {
    const { sub, log } = this.#o;
    await sub.subscribe(keys.channel, (text) => this.#receive(text));
    sub.on('ready', () => {
      if (this.#closed) return;
      this.resync().catch((err: unknown) => log.warn({ err }, 'cluster resync failed'));
    });
    await this.resync();
  }

  close(): void {
    this.#closed = true;
  }

  onRemoved(listener: (room: string, member: Member, how: SeatRemoval) => void): void {
    this.#removed.add(listener);
  }

  async loadRoom(name: string): Promise<LiveRoom> {
    const raw = await this.#o.client.hGetAll(keys.settings(name));
    const room = this.#o.registry.ensure(name);
    room.locked = raw['locked'] === '1';
    const max = Number(raw['max']);
    if (Number.isInteger(max) && max > 0) room.maxParticipants = max;
    room.passwordRecord = raw['pw'] || undefined;
    return room;
  }

  async admit(room: LiveRoom, member: Member, admin: boolean, capacity: number): Promise<string[]> {
    const seat: SeatRecord = { ...seatOf(member, this.nodeId), epoch: 1 };
    const reply = await this.#o.client.eval(ADMIT, {
      keys: [keys.settings(room.name), keys.members(room.name)],
      arguments: [member.id, JSON.stringify(seat), admin ? '1' : '0', String(capacity)],
    });
    const [status, a, b] = z.array(z.string()).parse(reply);
    if (status === 'LOCKED') throw new ParleyError('ROOM_LOCKED', `room ${room.name} is locked`);
    if (status === 'FULL') throw new ParleyError('ROOM_FULL', `room ${room.name} is full (${a} peers)`);
    const released = jsonArray(a).filter((id): id is string => typeof id === 'string');
    for (const id of released) {
      this.#publish({ t: 'gone', from: this.nodeId, room: room.name, id });
      const ghost = room.members.get(id);
      if (!ghost) continue;
      this.#o.registry.remove(id);
      this.#emitRemoved(room.name, ghost, 'expired');
    }
    for (const text of jsonArray(b)) {
      const s = parseSeat(typeof text === 'string' ? text : undefined);
      if (s && s.id !== member.id) this.#o.registry.mirror(room.name, memberOf(s, this.nodeId));
    }
    member.epoch = 1;
    this.#o.registry.mirror(room.name, member);
    this.#publish({ t: 'seat', from: this.nodeId, room: room.name, seat });
    return released;
  }

  async seat(room: string, memberId: string): Promise<Member | undefined> {
    const s = parseSeat(await this.#o.client.hGet(keys.members(room), memberId));
    return s && this.#mirror(room, s);
  }

  async seatOfIdentity(room: string, identity: string): Promise<Member | undefined> {
    for (const text of await this.#o.client.hVals(keys.members(room))) {
      const s = parseSeat(text);
      if (s?.identity === identity) return this.#mirror(room, s);
    }
    return undefined;
  }

  async claim(room: string, member: Member): Promise<boolean> {
    const expected = member.epoch ?? 1;
    const seat: SeatRecord = { ...seatOf(member, this.nodeId), node: this.nodeId, epoch: expected + 1, detachedAt: null };
    const swapped = await this.#o.client.eval(SWAP, {
      keys: [keys.members(room)],
      arguments: [member.id, String(expected), JSON.stringify(seat)],
    });
    if (swapped !== 1) return false;
    clearTimeout(member.graceTimer);
    Object.assign(member, { node: undefined, epoch: seat.epoch, detachedAt: undefined, graceTimer: undefined });
    this.#o.registry.mirror(room, member);
    this.#publish({ t: 'seat', from: this.nodeId, room, seat });
    return true;
  }

  save(room: string, member: Member): void {
    const seat = seatOf(member, this.nodeId);
    this.#o.client
      .eval(SWAP, { keys: [keys.members(room)], arguments: [member.id, String(seat.epoch), JSON.stringify(seat)] })
      .then((swapped) => swapped === 1 && this.#publish({ t: 'seat', from: this.nodeId, room, seat }))
      .catch((err: unknown) => this.#o.log.warn({ err, room, memberId: member.id }, 'could not save a seat'));
  }

  async remove(room: string, memberId: string, epoch: number | undefined): Promise<boolean> {
    const removed = await this.#o.client.eval(REMOVE, {
      keys: [keys.members(room)],
      arguments: [memberId, epoch === undefined ? '' : String(epoch)],
    });
    if (removed !== 1) return false;
    this.#publish({ t: 'gone', from: this.nodeId, room, id: memberId });
    return true;
  }

  async isMember(room: string, memberId: string): Promise<boolean> {
    return (await this.#o.client.hExists(keys.members(room), memberId)) === 1;
  }

  saveSettings(room: LiveRoom): void {
    const settings = { locked: room.locked, max: room.maxParticipants, ...(room.passwordRecord ? { pw: room.passwordRecord } : {}) };
    const { client, log } = this.#o;
    void client
      .multi()
      .hSet(keys.settings(room.name), { locked: settings.locked ? '1' : '0', max: String(settings.max), pw: settings.pw ?? '' })
      .exec()
      .then(() => this.#publish({ t: 'settings', from: this.nodeId, room: room.name, settings }))
      .catch((err: unknown) => log.warn({ err, room: room.name }, 'could not save room settings'));
  }

  markEnded(memberId: string, reason: string, forMs: number): void {
    this.#o.client
      .pSetEx(keys.ended(memberId), forMs, reason)
      .catch((err: unknown) => this.#o.log.warn({ err }, 'could not mark a session ended'));
  }

  async endedReason(memberId: string): Promise<string | undefined> {
    return (await this.#o.client.get(keys.ended(memberId))) ?? undefined;
  }

  /**
   * A node died: the seats it carried wait `resumeGraceMs` for their members to resume on another
   * node, then this node tries to remove each (only one node's removal wins; it tells the room).
   */
  nodeDied(node: string): void {
    const { registry, resumeGraceMs, log } = this.#o;
    for (const room of registry.rooms()) {
      for (const m of room.members.values()) {
        if (m.node !== node || m.graceTimer) continue;
        m.detachedAt ??= Date.now();
        const epoch = m.epoch;
        m.graceTimer = setTimeout(() => {
          m.graceTimer = undefined;
          this.remove(room.name, m.id, epoch).then(
            (removed) => {
              if (!removed) return;
              registry.remove(m.id);
              log.info({ room: room.name, memberId: m.id, node }, 'seat of a dead node expired');
              this.#emitRemoved(room.name, m, 'expired');
            },
            (err: unknown) => log.warn({ err, memberId: m.id }, 'could not expire a seat'),
          );
        }, resumeGraceMs);
        m.graceTimer.unref();
      }
    }
  }

  /**
   * Mirrors every room's seats from Redis, drops mirrored seats Redis no longer has, and writes
   * back the seats this node carries that Redis lost (a Redis restart without persistence).
   */
  async resync(): Promise<void> {
    const { client, registry } = this.#o;
    const seen = new Set<string>();
    for await (const batch of client.scanIterator({ MATCH: keys.membersPattern, COUNT: 200 })) {
      for (const key of batch) {
        const room = key.slice(keys.membersPrefix.length);
        await this.loadRoom(room);
        for (const text of await client.hVals(key)) {
          const s = parseSeat(text);
          if (!s) continue;
          seen.add(s.id);
          if (s.node !== this.nodeId || registry.room(room)?.members.get(s.id)?.node !== undefined) this.#mirror(room, s);
        }
      }
    }
    for (const room of [...registry.rooms()]) {
      for (const m of [...room.members.values()]) {
        if (seen.has(m.id)) continue;
        if (m.node !== undefined) {
          registry.remove(m.id);
          this.#emitRemoved(room.name, m, 'gone');
        } else {
          const seat = seatOf(m, this.nodeId);
          await client.eval(RESTORE, { keys: [keys.members(room.name)], arguments: [m.id, JSON.stringify(seat)] });
          this.#publish({ t: 'seat', from: this.nodeId, room: room.name, seat });
        }
      }
    }
  }

  #mirror(room: string, seat: SeatRecord): Member {
    const member = memberOf(seat, this.nodeId);
    this.#o.registry.mirror(room, member);
    return this.#o.registry.room(room)?.members.get(seat.id) ?? member;
  }

  #publish(message: Message): void {
    this.#o.client
      .publish(keys.channel, JSON.stringify(message))
      .catch((err: unknown) => this.#o.log.warn({ err }, 'could not publish a seat change'));
  }

  #receive(text: string): void {
    let message: Message;
    try {
      const parsed = messageSchema.safeParse(JSON.parse(text));
      if (!parsed.success) return;
      message = parsed.data;
    } catch {
      return;
    }
    if (message.from === this.nodeId) return;
    const { registry } = this.#o;
    switch (message.t) {
      case 'seat':
        this.#mirror(message.room, message.seat);
        break;
      case 'gone': {
        const member = registry.roomOf(message.id)?.members.get(message.id);
        if (!member || registry.roomOf(message.id)?.name !== message.room) return;
        registry.remove(message.id);
        this.#emitRemoved(message.room, member, 'gone');
        break;
      }
      case 'settings': {
        const room = registry.room(message.room);
        if (!room) return;
        room.locked = message.settings.locked;
        room.maxParticipants = message.settings.max;
        room.passwordRecord = message.settings.pw;
        break;
      }
    }
  }

  #emitRemoved(room: string, member: Member, how: SeatRemoval): void {
    for (const listener of this.#removed) {
      try {
        listener(room, member, how);
      } catch (err) {
        this.#o.log.error({ err, room }, 'seat removal listener failed');
      }
    }
  }
}

function jsonArray(text: string | undefined): unknown[] {
  try {
    const value: unknown = JSON.parse(text ?? '[]');
    return Array.isArray(value) ? value : []; // Lua's cjson writes an empty table as {}
  } catch {
    return [];
  }
}
