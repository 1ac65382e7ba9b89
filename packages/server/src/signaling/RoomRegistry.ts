import { ParleyError, type PeerInfo } from '@parley/protocol';
import type { Grants } from '../auth/grants.ts';

export interface Member extends PeerInfo {
  /** When the member joined (ms since epoch). */
  joinedAt: number;
  /** Token subject ('anonymous' in open mode). */
  identity: string;
  grants: Grants;
}

/** One room's live membership on this node. The durable part of a room lives in the LogStore. */
export class LiveRoom {
  readonly members = new Map<string, Member>();
  constructor(readonly name: string) {}

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

/** Live rooms and which room each peer is in. Empty rooms are dropped. */
export class RoomRegistry {
  readonly #rooms = new Map<string, LiveRoom>();
  readonly #roomOf = new Map<string, LiveRoom>();
  constructor(private readonly limits: RegistryLimits) {}

  get size(): number {
    return this.#rooms.size;
  }

  get peerCount(): number {
    return this.#roomOf.size;
  }

  room(name: string): LiveRoom | undefined {
    return this.#rooms.get(name);
  }

  roomOf(peerId: string): LiveRoom | undefined {
    return this.#roomOf.get(peerId);
  }

  rooms(): IterableIterator<LiveRoom> {
    return this.#rooms.values();
  }

  /** Adds a peer to a room, creating the room; throws ROOM_FULL / TOO_MANY_ROOMS / ALREADY_IN_ROOM. */
  add(roomName: string, peer: PeerInfo, auth: { identity: string; grants: Grants }): LiveRoom {
    if (this.#roomOf.has(peer.id)) throw new ParleyError('ALREADY_IN_ROOM');
    let room = this.#rooms.get(roomName);
    if (!room) {
      if (this.#rooms.size >= this.limits.maxRooms) throw new ParleyError('TOO_MANY_ROOMS');
      room = new LiveRoom(roomName);
      this.#rooms.set(roomName, room);
    }
    if (room.members.size >= this.limits.maxPeersPerRoom) {
      throw new ParleyError('ROOM_FULL', `room ${roomName} is full (${this.limits.maxPeersPerRoom} peers)`);
    }
    room.members.set(peer.id, { ...peer, ...auth, joinedAt: Date.now() });
    this.#roomOf.set(peer.id, room);
    return room;
  }

  /** Removes a peer; returns the room it was in, if any. */
  remove(peerId: string): LiveRoom | undefined {
    const room = this.#roomOf.get(peerId);
    if (!room) return undefined;
    this.#roomOf.delete(peerId);
    room.members.delete(peerId);
    if (room.members.size === 0) this.#rooms.delete(room.name);
    return room;
  }
}
