import { randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';
import { ParleyError, type PeerInfo, type RoomState } from '@parley-rtc/protocol';
import type { Grants } from '../auth/grants.ts';
import type { MediaFlags } from '@parley-rtc/protocol';

export interface Member extends PeerInfo {
  /** When the member joined (ms since epoch). */
  joinedAt: number;
  /** Token subject ('anonymous' in open mode). */
  identity: string;
  grants: Grants;
  /** Set once the server API changed `grants`: a new connection of the same identity keeps them. */
  grantsFromApi?: boolean;
  /** The secret a reconnecting client presents to resume this session. */
  resumeKey: string;
  /**
   * The member's HTTP credential for this room (room log, files, uploads), from the join ack.
   * Separate from `resumeKey`: it travels in file links, and must not let its holder take the session.
   */
  sessionKey: string;
  /** The member's media flags, once it sent `media_state`. */
  media?: MediaFlags;
  /** The token's `exp` (seconds since epoch; undefined in open mode): TURN credentials end by then. */
  expiresAt: number | undefined;
  /** The Socket.IO socket currently carrying this session; undefined while detached. */
  socketId: string | undefined;
  /** While detached: since when (ms since epoch). */
  detachedAt?: number | undefined;
  /** While detached: the timer that ends the session when the grace period runs out. */
  graceTimer?: NodeJS.Timeout | undefined;
  /** Cluster mode: the node carrying this seat, when it is not this one (a mirrored member). */
  node?: string | undefined;
  /** Cluster mode: the seat's epoch in Redis (bumped each time it moves to another socket). */
  epoch?: number | undefined;
}

/** One room's live membership and settings on this node. The durable part lives in the LogStore. */
export class LiveRoom {
  /** member id → member */
  readonly members = new Map<string, Member>();
  readonly createdAt = Date.now();
  locked = false;
  maxParticipants: number;
  /** Created through the server API: kept (with its settings) while empty, until deleted. */
  managed = false;
  /** This room's mesh → SFU threshold, when the server API set one (else the server's). */
  meshLimit: number | undefined;
  #password: { salt: Buffer; hash: Buffer } | undefined;

  constructor(
    readonly name: string,
    maxParticipants: number,
  ) {
    this.maxParticipants = maxParticipants;
  }

  get state(): RoomState {
    return { locked: this.locked, hasPassword: this.#password !== undefined, maxParticipants: this.maxParticipants };
  }

  setPassword(password: string | undefined): void {
    if (password === undefined) {
      this.#password = undefined;
      return;
    }
    const salt = randomBytes(16);
    this.#password = { salt, hash: scryptSync(password, salt, 32) };
  }

  /** The password's salt and hash (hex, `salt:hash`), to share with other nodes; undefined when none is set. */
  get passwordRecord(): string | undefined {
    return this.#password && `${this.#password.salt.toString('hex')}:${this.#password.hash.toString('hex')}`;
  }

  set passwordRecord(record: string | undefined) {
    const [salt, hash] = record?.split(':') ?? [];
    this.#password = salt && hash ? { salt: Buffer.from(salt, 'hex'), hash: Buffer.from(hash, 'hex') } : undefined;
  }

  /** Constant-time check; true when no password is set. */
  passwordMatches(password: string | undefined): boolean {
    if (!this.#password) return true;
    if (password === undefined) return false;
    return timingSafeEqual(scryptSync(password, this.#password.salt, 32), this.#password.hash);
  }

  /** The seat whose socket dropped longest ago (waiting for a resume), if any. */
  oldestDetached(): Member | undefined {
    let oldest: Member | undefined;
    for (const m of this.members.values()) {
      if (m.socketId !== undefined || m.detachedAt === undefined) continue;
      if (!oldest || m.detachedAt < oldest.detachedAt!) oldest = m;
    }
    return oldest;
  }

  /** A seat held by this token identity (auth mode only: in open mode everyone is 'anonymous'). */
  seatOf(identity: string): Member | undefined {
    for (const m of this.members.values()) if (m.identity === identity) return m;
    return undefined;
  }

  peers(except?: string): PeerInfo[] {
    const out: PeerInfo[] = [];
    for (const m of this.members.values()) if (m.id !== except) out.push({ id: m.id, name: m.name });
    return out;
  }
}

export interface RegistryLimits {
  maxPeersPerRoom: number;
  maxRooms: number;
}

/** Live rooms and which room each member is in (by member id). Empty rooms are dropped unless managed. */
export class RoomRegistry {
  readonly #rooms = new Map<string, LiveRoom>();
  readonly #roomOf = new Map<string, LiveRoom>();
  /** Sessions ended by the server (kick, room deleted), remembered for a while: member id → why, until when. */
  readonly #ended = new Map<string, { reason: string; until: number }>();
  constructor(private readonly limits: RegistryLimits) {}

  get size(): number {
    return this.#rooms.size;
  }

  /** Members in a room on this node (not those it mirrors from other nodes). */
  get memberCount(): number {
    let n = 0;
    for (const [id, room] of this.#roomOf) if (room.members.get(id)?.node === undefined) n++;
    return n;
  }

  room(name: string): LiveRoom | undefined {
    return this.#rooms.get(name);
  }

  roomOf(memberId: string): LiveRoom | undefined {
    return this.#roomOf.get(memberId);
  }

  rooms(): IterableIterator<LiveRoom> {
    return this.#rooms.values();
  }

  /** Creates a managed room (or marks an existing one managed). Throws TOO_MANY_ROOMS. */
  create(roomName: string): { room: LiveRoom; created: boolean } {
    const existing = this.#rooms.get(roomName);
    if (existing) {
      existing.managed = true;
      return { room: existing, created: false };
    }
    if (this.#rooms.size >= this.limits.maxRooms) throw new ParleyError('TOO_MANY_ROOMS');
    const room = new LiveRoom(roomName, this.limits.maxPeersPerRoom);
    room.managed = true;
    this.#rooms.set(roomName, room);
    return { room, created: true };
  }

  /** The room, created (unmanaged, not counted against `maxRooms`) when this node has no copy of it: cluster mode. */
  ensure(roomName: string): LiveRoom {
    let room = this.#rooms.get(roomName);
    if (!room) {
      room = new LiveRoom(roomName, this.limits.maxPeersPerRoom);
      this.#rooms.set(roomName, room);
    }
    return room;
  }

  /** Forgets an empty room, managed or not (its members must have been removed first). */
  drop(roomName: string): void {
    const room = this.#rooms.get(roomName);
    if (room && room.members.size === 0) this.#rooms.delete(roomName);
  }

  /**
   * Adds a member to a room, creating the room. Throws ALREADY_IN_ROOM, TOO_MANY_ROOMS, ROOM_FULL,
   * and — for non-admins — ROOM_LOCKED and BAD_PASSWORD. When the room is full, detached seats
   * (sockets dropped, waiting for a resume) do not count against the joiner: `release` ends the
   * oldest of them (it must remove the member) until a seat is free, and only then is it ROOM_FULL.
   */
  add(
    roomName: string,
    member: PeerInfo,
    auth: { identity: string; grants: Grants; expiresAt: number | undefined; resumeKey: string; sessionKey: string; socketId: string },
    password?: string,
    release: (memberId: string) => void = (id) => void this.remove(id),
  ): LiveRoom {
    if (this.#roomOf.has(member.id)) throw new ParleyError('ALREADY_IN_ROOM');
    let room = this.#rooms.get(roomName);
    if (!room) {
      if (this.#rooms.size >= this.limits.maxRooms) throw new ParleyError('TOO_MANY_ROOMS');
      room = new LiveRoom(roomName, this.limits.maxPeersPerRoom);
      this.#rooms.set(roomName, room);
    }
    if (!auth.grants.admin) {
      if (room.locked) throw new ParleyError('ROOM_LOCKED', `room ${roomName} is locked`);
      if (!room.passwordMatches(password)) {
        throw new ParleyError('BAD_PASSWORD', password === undefined ? 'this room needs a password' : 'wrong room password');
      }
    }
    const capacity = Math.min(room.maxParticipants, this.limits.maxPeersPerRoom);
    for (let ghost = room.oldestDetached(); room.members.size >= capacity && ghost; ghost = room.oldestDetached()) {
      release(ghost.id);
      if (room.members.has(ghost.id)) break; // the release did not remove it: do not spin
    }
    if (room.members.size >= capacity) {
      throw new ParleyError('ROOM_FULL', `room ${roomName} is full (${room.members.size} peers)`);
    }
    // Releasing the last member forgets an unmanaged room; this join keeps it.
    if (!this.#rooms.has(roomName)) this.#rooms.set(roomName, room);
    room.members.set(member.id, { ...member, ...auth, joinedAt: Date.now() });
    this.#roomOf.set(member.id, room);
    return room;
  }

  /**
   * Cluster mode: puts a member as another node (or Redis) reports it, creating its room; a
   * member this node carries keeps its socket and timers unless the seat moved to another node.
   */
  mirror(roomName: string, member: Member): LiveRoom {
    const room = this.ensure(roomName);
    const current = room.members.get(member.id);
    if (current && current.node === undefined && member.node === undefined) {
      Object.assign(current, { ...member, socketId: current.socketId, graceTimer: current.graceTimer, detachedAt: current.detachedAt });
      return room;
    }
    if (current) clearTimeout(current.graceTimer);
    room.members.set(member.id, member);
    this.#roomOf.set(member.id, room);
    return room;
  }

  /**
   * Remembers for `forMs` that a session was ended on purpose, so a client that was offline then
   * cannot resume it (it would otherwise come back as a fresh session, or re-create a deleted room).
   */
  markEnded(memberId: string, reason: string, forMs: number): void {
    const now = Date.now();
    for (const [id, e] of this.#ended) if (e.until <= now) this.#ended.delete(id);
    this.#ended.set(memberId, { reason, until: now + forMs });
  }

  /** Why a recently ended session ended, if it was ended on purpose and not long ago. */
  endedReason(memberId: string): string | undefined {
    const e = this.#ended.get(memberId);
    if (e && e.until <= Date.now()) this.#ended.delete(memberId);
    return e && e.until > Date.now() ? e.reason : undefined;
  }

  /** Removes a member; returns the room it was in, if any. */
  remove(memberId: string): LiveRoom | undefined {
    const room = this.#roomOf.get(memberId);
    if (!room) return undefined;
    clearTimeout(room.members.get(memberId)?.graceTimer);
    this.#roomOf.delete(memberId);
    room.members.delete(memberId);
    if (room.members.size === 0 && !room.managed) this.#rooms.delete(room.name);
    return room;
  }
}
